// Standard functions of strings, arrays, maps and numbers.
import { describe, expect, it } from 'vitest';
import { js, run } from './helpers.js';

describe('string methods', () => {
  it('measures, searches and slices by characters', () => {
    expect(js('let s = "héllo"; [s.len(), s.len, "".is_empty(), s.contains("ll"), s.contains(\'h\'), s.starts_with("hé"), s.ends_with("lo")]')).toEqual([
      5, 5, true, true, true, true, true,
    ]);
    expect(js('let s = "hello world"; [s.index_of("o"), s.index_of(\'o\', 5), s.index_of("z"), s.sub_string(6), s.sub_string(0, 5), s.sub_string(-5, 3)]')).toEqual([
      4, 7, -1, 'world', 'hello', 'wor',
    ]);
    expect(js('["a,b,,c".split(","), "a b".split(\' \'), "abc".split(1), "k=v=w".split("=", 2), "ab".chars()]')).toEqual([
      ['a', 'b', '', 'c'],
      ['a', 'b'],
      ['a', 'bc'],
      ['k', 'v=w'],
      ['a', 'b'],
    ]);
  });
  it('changes strings in place where Rhai does', () => {
    expect(js('let s = "x.y.z"; s.replace(".", "/"); let u = "Ab".to_upper(); let l = "Ab".to_lower(); let p = "7"; p.pad(3, \'0\'); [s, u, l, p]')).toEqual([
      'x/y/z', 'AB', 'ab', '700',
    ]);
    expect(js('let m = #{ s: "  a  " }; m.s.trim(); m.s')).toBe('a');
  });
});

describe('array methods', () => {
  it('adds, removes and searches', () => {
    expect(js('let a = [1, 2, 3]; a.insert(0, 0); let p = a.pop(); let s = a.shift(); let r = a.remove(0); [a, p, s, r, [].pop()]')).toEqual([[2], 3, 0, 1, null]);
    expect(js('let a = [1, 2]; a.append([3, 4]); a += 5; a += [6]; [a, a.contains(3), a.index_of(4), a.index_of(9), a.len(), [].is_empty()]')).toEqual([
      [1, 2, 3, 4, 5, 6], true, 3, -1, 6, true,
    ]);
    expect(js('let a = [1, 2, 3, 4]; let t = a.split_off(2); [a, t, [1, 2, 3].extract(1), [1, 2, 3].extract(0, 2), [1] + [2]]')).toEqual([
      [1, 2], [3, 4], [2, 3], [1, 2], [1, 2],
    ]);
    expect(js('let a = ["b", "c", "a"]; a.sort(); let n = [3, 1, 2]; n.sort(|x, y| y - x); n.reverse(); let c = [1]; c.clear(); [a, n, c, ["x", 1].join("-")]')).toEqual([
      ['a', 'b', 'c'], [1, 2, 3], [], 'x-1',
    ]);
    expect(js('[[1, 2].some(|x| x > 1), [1, 2].all(|x| x > 1), [1, 2, 3].find(|x| x > 1), [1, 2, 3].reduce(|s, x| s + x, 10), [1].reduce(|s, x| type_of(s))]')).toEqual([true, false, 2, 16, "()"]);
  });
});

describe('map methods', () => {
  it('lists, tests, removes and merges', () => {
    expect(js('let m = #{a: 1, b: 2}; let r = m.remove("a"); [m.keys(), m.values(), m.len(), m.contains("b"), r, m.get("zz")]')).toEqual([['b'], [2], 1, true, 1, null]);
    expect(js('let m = #{a: 1}; m.mixin(#{b: 2}); m += #{c: 3}; let n = m + #{a: 9}; [m, n]')).toEqual([
      { a: 1, b: 2, c: 3 },
      { a: 9, b: 2, c: 3 },
    ]);
    expect(js('let out = []; let m = #{x: 1, y: 2}; for k in m.keys() { out.push(k + "=" + m[k]); } out')).toEqual(['x=1', 'y=2']);
  });
});

describe('numbers', () => {
  it('abs, min, max, conversions', () => {
    expect(js('[(-3).abs(), min(1, 2), max(1, 2.5), 3.max(7), 2.7.floor(), "0x1f".sub_string(2).parse_int(16), "2.5".to_float(), 7.to_float() / 2]')).toEqual([
      3, 1, 2.5, 7, 2, 31, 2.5, 3.5,
    ]);
    expect(run('10.0.to_string()')).toBe('10.0');
  });
});
