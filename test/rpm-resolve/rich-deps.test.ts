import { describe, expect, it } from 'vitest';
import type { RpmDep } from '../../stages/sources/rpm/model.js';
import {
  RichDepError,
  evaluateRichDep,
  formatRichDep,
  isRichDep,
  parseRichDep,
  richAtoms,
} from '../../stages/sources/rpm/rich-deps.js';

function parseError(text: string): RichDepError {
  try {
    parseRichDep(text);
  } catch (error) {
    if (error instanceof RichDepError) return error;
    throw error;
  }
  throw new Error(`expected ${text} to be refused`);
}

/** Evaluates against a set of installed "packages", each providing the names listed. */
function holds(text: string, installed: Record<string, string[]>): boolean {
  const providers = (atom: RpmDep) => Object.entries(installed).filter(([, provides]) => provides.includes(atom.name)).map(([name]) => name);
  return evaluateRichDep(parseRichDep(text), providers);
}

describe('parsing', () => {
  it('parses the operators, chains of one operator, nesting and versioned atoms', () => {
    expect(parseRichDep('(foo >= 1.2 or bar)')).toEqual({
      kind: 'or',
      operands: [
        { kind: 'atom', dep: { name: 'foo', flags: 'GE', evr: { epoch: 0, version: '1.2' } } },
        { kind: 'atom', dep: { name: 'bar' } },
      ],
    });
    expect(parseRichDep('(a and b and c)')).toMatchObject({ kind: 'and', operands: [{}, {}, {}] });
    expect(parseRichDep('((linux-firmware >= 20200619) if linux-firmware)')).toMatchObject({
      kind: 'if',
      then: { kind: 'atom', dep: { name: 'linux-firmware', flags: 'GE', evr: { version: '20200619' } } },
      condition: { kind: 'atom', dep: { name: 'linux-firmware' } },
    });
    expect(parseRichDep('(a if b else c)')).toMatchObject({ kind: 'if', otherwise: { dep: { name: 'c' } } });
    expect(parseRichDep('(a unless b else c)')).toMatchObject({ kind: 'unless', otherwise: { dep: { name: 'c' } } });
    expect(parseRichDep('(kernel-core with kernel-core-uname-r)')).toMatchObject({ kind: 'with' });
    expect(parseRichDep('(pkg without pkg-devel)')).toMatchObject({ kind: 'without' });
    expect(parseRichDep('(glibc and (langpacks-core-de or langpacks-core-de_AT))')).toMatchObject({
      kind: 'and',
      operands: [{ kind: 'atom' }, { kind: 'or', operands: [{}, {}] }],
    });
  });

  it('keeps parentheses that belong to a name and reads epochs and releases', () => {
    const tree = parseRichDep('(libc.so.6(GLIBC_2.34)(64bit) or glibc = 1:2.34-21.el9)');
    expect(richAtoms(tree)).toEqual([
      { name: 'libc.so.6(GLIBC_2.34)(64bit)' },
      { name: 'glibc', flags: 'EQ', evr: { epoch: 1, version: '2.34', release: '21.el9' } },
    ]);
    // As in rpm, the comparison needs whitespace around it: without, it is part of the name.
    expect(parseRichDep('(foo <= 2)')).toEqual({ kind: 'atom', dep: { name: 'foo', flags: 'LE', evr: { epoch: 0, version: '2' } } });
    expect(parseRichDep('(foo<=2)')).toEqual({ kind: 'atom', dep: { name: 'foo<=2' } });
  });

  it('renders a tree back to rpm syntax', () => {
    const text = '((a >= 1:2-3 or b) if (c with d) else (e unless f))';
    expect(formatRichDep(parseRichDep(text))).toBe(text);
    expect(isRichDep('(a or b)')).toBe(true);
    expect(isRichDep('libfoo.so.1()(64bit)')).toBe(false);
  });

  it('refuses malformed expressions, naming the column and the reason', () => {
    expect(parseError('(a or b').message).toMatch(/missing "\)" for the "\(" at column 1/);
    expect(parseError('(a or b and c)').message).toMatch(/"and" cannot follow "or" here: add parentheses at column 9/);
    expect(parseError('(a xor b)').message).toMatch(/"xor" is not an operator/);
    expect(parseError('(a if b else c else d)').message).toMatch(/"else" cannot follow "if"/);
    expect(parseError('(a or)').message).toMatch(/expected a dependency name/);
    expect(parseError('(foo >= )').message).toMatch(/"foo >=" has no version/);
    expect(parseError('(foo >= x:1)').message).toMatch(/epoch "x" of "x:1" is not a number/);
    expect(parseError('(a or b) c').message).toMatch(/unexpected "c" after the closing "\)"/);
    expect(parseError('((a or b) with c)').message).toMatch(/operands of "with" must be package names/);
    expect(parseError('(lib(x or b)').message).toMatch(/unbalanced "\("/);
  });
});

describe('evaluation', () => {
  it('follows libsolv (what dnf runs): if, if-else, unless, unless-else, and, or', () => {
    expect(holds('(a if b)', {})).toBe(true);
    expect(holds('(a if b)', { B: ['b'] })).toBe(false);
    expect(holds('(a if b)', { A: ['a'], B: ['b'] })).toBe(true);
    expect(holds('(a if b else c)', { C: ['c'] })).toBe(true);
    expect(holds('(a if b else c)', {})).toBe(false);
    expect(holds('(a unless b)', {})).toBe(false);
    expect(holds('(a unless b)', { A: ['a'] })).toBe(true);
    expect(holds('(a unless b)', { A: ['a'], B: ['b'] })).toBe(false);
    expect(holds('(a unless b else c)', { B: ['b'], C: ['c'] })).toBe(true);
    expect(holds('(a unless b else c)', { B: ['b'], A: ['a'] })).toBe(false);
    expect(holds('(glibc and (langpacks-core-de or langpacks-core-de_AT))', { G: ['glibc'], L: ['langpacks-core-de_AT'] })).toBe(true);
    expect(holds('(glibc and (langpacks-core-de or langpacks-core-de_AT))', { G: ['glibc'] })).toBe(false);
  });

  it('needs one package to meet both sides of "with", and none of the right side of "without"', () => {
    expect(holds('(a with b)', { X: ['a'], Y: ['b'] })).toBe(false);
    expect(holds('(a with b)', { X: ['a', 'b'] })).toBe(true);
    expect(holds('(a without b)', { X: ['a', 'b'] })).toBe(false);
    expect(holds('(a without b)', { X: ['a', 'b'], Y: ['a'] })).toBe(true);
  });
});
