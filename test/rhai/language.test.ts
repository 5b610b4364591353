// Language features, one snippet each.
import { describe, expect, it } from 'vitest';
import { RhaiChar, RhaiFnPtr, parseRhai } from '../../rhai/index.js';
import { failure, js, run } from './helpers.js';

describe('literals and comments', () => {
  it('reads integers in every base, with separators, as bigint', () => {
    expect(run('1_000 + 0xff + 0o17 + 0b101')).toBe(1000n + 255n + 15n + 5n);
    expect(run('-9223372036854775808')).toBe(-(2n ** 63n));
  });
  it('reads floats and mixes ints and floats into floats', () => {
    expect(run('1.5e2 + 1')).toBe(151);
    expect(run('5 / 2')).toBe(2n);
    expect(run('-7 / 2')).toBe(-3n);
    expect(run('5.0 / 2')).toBe(2.5);
    expect(run('7 % 3')).toBe(1n);
    expect(run('2 ** 10')).toBe(1024n);
  });
  it('fails on i64 overflow', () => {
    expect(failure('9223372036854775807 + 1').message).toBe('test.rhai:1:21: integer overflow');
    expect(failure('let x = 1 / 0;').reason).toBe('division by zero');
  });
  it('decodes string escapes, chars and unit', () => {
    expect(run(String.raw`"a\tb\n\"q\" \\ \u{1F600} \x41 \u00e9"`)).toBe('a\tb\n"q" \\ 😀 A é');
    expect(run("'a'")).toEqual(new RhaiChar('a'));
    expect(run("'\\n'")).toEqual(new RhaiChar('\n'));
    expect(run('()')).toBeUndefined();
    expect(run('true && !false')).toBe(true);
  });
  it('interpolates template strings over several lines', () => {
    expect(run('let v = "1.2"; let n = 3; `v${v}\n-${n + 1}-${ #{a: 1}.a }`')).toBe('v1.2\n-4-1');
    expect(run('`line one\nline ${"two"}`')).toBe('line one\nline two');
  });
  it('skips comments, nested block comments, and keeps //! lines as module doc', () => {
    const p = parseRhai('//! extends: base.rhai\n//!   second  \n/* a /* nested */ comment */\n/// doc of f\nfn f() { 1 } // trailing\n', 'x.rhai');
    expect(p.moduleDoc).toEqual(['extends: base.rhai', 'second']);
    expect(p.functions[0]!.doc).toEqual(['doc of f']);
  });
});

describe('variables and operators', () => {
  it('follows Rhai precedence', () => {
    expect(run('1 + 2 * 3')).toBe(7n);
    expect(run('2 * 3 ** 2')).toBe(18n);
    expect(run('2 ** 3 ** 2')).toBe(512n);
    expect(run('1 << 2 + 1')).toBe(5n); // shifts bind tighter than +
    expect(run('1 < 2 == true')).toBe(true);
    expect(run('true || false && false')).toBe(true);
    expect(run('6 & 3 | 8')).toBe(10n);
    expect(run('-2 * -3')).toBe(6n);
    expect(run('-1.abs()')).toBe(-1n);
    expect(run('!(1 > 2)')).toBe(true);
  });
  it('has const, shadowing and compound assignment', () => {
    expect(run('let x = 1; let x = x + 1; x *= 10; x -= 1; x <<= 1; x')).toBe(38n);
    expect(run('let s = "a"; s += "b"; s += 1; s')).toBe('ab1');
    expect(failure('const X = 1; X = 2;').message).toBe("test.rhai:1:14: cannot assign to constant 'X'");
  });
  it('concatenates strings with anything', () => {
    expect(run('"v" + 1 + 2.5 + true + \'c\' + ()')).toBe('v12.5truec');
    expect(run('1 + "x"')).toBe('1x');
    expect(run("'a' + 'b'")).toBe('ab');
  });
  it('has in, ?? and ?.', () => {
    expect(js('["x" in "xyz", 2 in [1, 2], "k" in #{k: 1}, "z" in #{k: 1}, 3 in 1..5]')).toEqual([true, true, true, false, true]);
    expect(run('let m = #{}; m.a ?? "default"')).toBe('default');
    expect(run('let m = #{}; m.a?.b')).toBeUndefined();
    expect(run('let a = (); a?[0]')).toBeUndefined();
  });
});

describe('control flow', () => {
  it('uses if as an expression and blocks as values', () => {
    expect(run('let x = 5; let y = if x > 3 { "big" } else if x > 1 { "mid" } else { "small" }; y')).toBe('big');
    expect(run('let v = { let a = 2; a * 3 }; v')).toBe(6n);
    expect(run('let v = { 1; }; v')).toBeUndefined();
  });
  it('loops: for over arrays, ranges, strings, with index; while; loop with break value; do', () => {
    expect(run('let s = 0; for x in [1, 2, 3] { s += x } s')).toBe(6n);
    expect(js('let out = []; for (x, i) in ["a", "b"] { out.push(`${i}${x}`) } out')).toEqual(['0a', '1b']);
    expect(run('let s = 0; for i in 0..4 { s += i } s')).toBe(6n);
    expect(run('let s = 0; for i in 0..=4 { s += i } s')).toBe(10n);
    expect(run('let s = 0; for i in range(1, 3) { s += i } s')).toBe(3n);
    expect(js('let out = []; for c in "ab" { out.push(c) } out')).toEqual(['a', 'b']);
    expect(run('let i = 0; while i < 10 { i += 1; if i == 5 { break; } } i')).toBe(5n);
    expect(run('let i = 0; let r = loop { i += 1; if i > 3 { break i * 10; } }; r')).toBe(40n);
    expect(run('let n = 0; for i in 0..10 { if i % 2 == 0 { continue; } n += 1; } n')).toBe(5n);
    expect(run('let i = 0; do { i += 1 } while i < 3; i')).toBe(3n);
    expect(run('let i = 0; do { i += 1 } until i >= 7; i')).toBe(7n);
  });
  it('switches', () => {
    const f = 'fn f(x) { switch x { 1 | 2 => "small", 3..=9 => "mid", "s" => { "str" } _ if x == 100 => "hundred", _ => "other" } }';
    expect(js(`${f} [f(1), f(2), f(5), f("s"), f(100), f(50)]`)).toEqual(['small', 'small', 'mid', 'str', 'hundred', 'other']);
  });
  it('refuses break outside a loop at parse time', () => {
    expect(() => parseRhai('fn f() { break; }', 'b.rhai')).toThrow("b.rhai:1:10: syntax error: 'break' outside a loop");
  });
  it('returns early and throws/catches values and runtime errors', () => {
    expect(run('fn f(x) { if x { return 1; } 2 } f(true) + f(false)')).toBe(3n);
    expect(run('try { throw "boom"; } catch (e) { "caught " + e }')).toBe('caught boom');
    expect(js('try { throw #{code: 2}; } catch (e) { e }')).toEqual({ code: 2 });
    expect(run('try { let x = [1][5]; } catch (e) { e }')).toBe('array index 5 out of bounds (length 1)');
    expect(run('try { nope(); } catch { "no var" }')).toBe('no var');
    expect(run('let x = 1; try { let x = 2; throw x; } catch (e) { x + e }')).toBe(3n);
  });
});

describe('collections', () => {
  it('indexes arrays (negative from the end), maps and strings', () => {
    expect(js('let a = [1, 2, 3]; [a[0], a[-1], #{"b c": 2}["b c"], "héllo"[1], #{}.missing]')).toEqual([1, 3, 2, 'é', null]);
  });
  it('assigns to index and property paths', () => {
    expect(js('let m = #{a: #{b: 0}, list: [1, 2]}; m.a.b = 1; m.list[0] += 2; m["c"] = [0]; m.c[0] = "x"; m')).toEqual({
      a: { b: 1 },
      list: [3, 2],
      c: ['x'],
    });
    expect(run('let s = "abc"; s[1] = \'X\'; s')).toBe('aXc');
  });
  it('keeps map insertion order', () => {
    expect(Object.keys(js('let m = #{z: 1, a: 2}; m.m = 3; m') as object)).toEqual(['z', 'a', 'm']);
  });
  it('copies arrays and maps on assignment', () => {
    expect(js('let a = [1]; let b = a; b.push(2); [a, b]')).toEqual([[1], [1, 2]]);
  });
  it('passes maps to functions by value', () => {
    const src = `
      fn change(ctx) { ctx.version = "2"; ctx.list.push(9); ctx }
      let ctx = #{ version: "1", list: [] };
      let changed = change(ctx);
      [ctx, changed]`;
    expect(js(src)).toEqual([{ version: '1', list: [] }, { version: '2', list: [9] }]);
  });
  it('lets methods change the variable they are called on', () => {
    expect(js('let a = [3, 1, 2]; a.push(0); a.sort(); a')).toEqual([0, 1, 2, 3]);
    expect(js('let m = #{a: [1]}; m.a.push(2); m')).toEqual({ a: [1, 2] });
    expect(run('let s = "  hi  "; s.trim(); s')).toBe('hi');
    expect(run('let s = "a-b-c"; let r = s.replace("-", "+"); [s, r]')).toEqual(['a+b+c', undefined]);
    expect(js('const A = [1]; A.push(2); A')).toEqual([1]);
  });
});

describe('functions', () => {
  it('overloads by arity and calls f(x, a) as x.f(a)', () => {
    expect(run('fn f(a) { 1 } fn f(a, b) { 2 } f(0) * 10 + f(0, 0) + 0.f(1) * 100')).toBe(212n);
  });
  it('binds this when a function is called as a method', () => {
    expect(js('fn bump() { this.n += 1; } let m = #{n: 1}; m.bump(); m.bump(); m')).toEqual({ n: 3 });
  });
  it('does not see the caller\'s variables but sees global constants and host constants', () => {
    expect(failure('fn f() { x } let x = 1; f()').reason).toBe('variable not found: x');
    expect(run('const K = 5; fn f() { K + H } f()', { constants: { H: 1n } })).toBe(6n);
  });
  it('has closures capturing by value, function pointers, curry and call', () => {
    expect(run('let add = |x, y| x + y; add.call(1, 2)')).toBe(3n);
    expect(run('let k = 10; let f = |x| { let y = x * 2; y + k }; let k = 0; f.call(1)')).toBe(12n);
    expect(run('fn double(x) { x * 2 } let f = Fn("double"); f.call(4) + call(f, 1)')).toBe(10n);
    expect(run('let f = |a, b| a - b; let g = f.curry(10); g.call(3)')).toBe(7n);
    expect(run('Fn("x")')).toBeInstanceOf(RhaiFnPtr);
    expect(js('[1, 2, 3].map(|x| x * x).filter(|x| x > 1).reduce(|s, x| s + x, 0)')).toBe(13);
    expect(js('fn inc(x) { x + 1 } [1, 2].map(Fn("inc"))')).toEqual([2, 3]);
    expect(js('[5, 6].map(|x, i| x * i)')).toEqual([0, 6]);
  });
  it('recursion works', () => {
    expect(run('fn fib(n) { if n < 2 { n } else { fib(n - 1) + fib(n - 2) } } fib(15)')).toBe(610n);
  });
  it('type_of, to_string, conversions, is_def_var', () => {
    expect(js('[type_of(1), type_of(1.0), type_of("s"), type_of(\'c\'), type_of([]), type_of(#{}), type_of(()), type_of(true), type_of(|| 1)]')).toEqual([
      'i64', 'f64', 'string', 'char', 'array', 'map', '()', 'bool', 'Fn',
    ]);
    expect(js('[1.to_string(), 2.0.to_string(), "42".to_int(), 3.9.to_int(), 1.to_float(), to_string([1, "a"])]')).toEqual([
      '1', '2.0', 42, 3, 1, '[1, "a"]',
    ]);
    expect(run('let a = 1; is_def_var("a") && !is_def_var("b")')).toBe(true);
  });
  it('prints through the print hook', () => {
    const out: string[] = [];
    run('print("hi " + 1); debug("q")', { print: (t) => out.push(t) });
    expect(out).toEqual(['hi 1', '"q"']);
  });
  it('refuses import and eval', () => {
    expect(() => parseRhai('import "x" as y;', 'i.rhai')).toThrow(/i\.rhai:1:1: syntax error: 'import' is not supported/);
    expect(failure('eval("1")').reason).toBe('eval is not supported');
  });
});

describe('odds and ends', () => {
  it('marks private functions and continues strings over lines', () => {
    const p = parseRhai('private fn helper() { 1 }\nfn pub() { helper() }', 'p.rhai');
    expect(p.functions.map((f) => [f.name, f.private])).toEqual([
      ['helper', true],
      ['pub', false],
    ]);
    expect(run('"one \\\n     two"')).toBe('one two');
  });
  it('returns the value of a final top-level expression, and stops at a top-level return', () => {
    expect(run('let a = 2; a * 21')).toBe(42n);
    expect(run('let a = 1; if a == 1 { return "early"; } "late"')).toBe('early');
  });
});
