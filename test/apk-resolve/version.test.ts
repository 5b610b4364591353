import { describe, expect, it } from 'vitest';
import {
  DEPMASK_ANY,
  DEPMASK_CHECKSUM,
  VERSION_CONFLICT,
  VERSION_EQUAL,
  VERSION_FUZZY,
  VERSION_GREATER,
  VERSION_LESS,
  compareVersions,
  isValidVersion,
  operatorMask,
  operatorString,
  versionMatches,
} from '../../stages/sources/apk/version.js';

// Orderings apk-tools' own test data checks (test/version.data in apk-tools), plus real
// Alpine versions. `a < b` means compareVersions(a, b) === -1.
const ORDER: [string, '<' | '=' | '>', string][] = [
  ['2.34', '>', '0.1.0_alpha'],
  ['23_foo', '>', '4_beta'],
  ['1.0', '<', '1.0bc'], // 1.0bc is invalid: compared up to the invalid part
  ['0.1.0_alpha', '=', '0.1.0_alpha'],
  ['0.1.0_alpha', '<', '0.1.3_alpha'],
  ['0.1.0_alpha2', '>', '0.1.0_alpha'],
  ['0.1.0_alpha', '<', '2.2.39-r1'],
  ['1.0.4-r3', '<', '1.0.4-r4'],
  ['1.1', '>', '1.1_alpha1'],
  ['1.2.1', '>', '1.2'],
  ['1.2', '<', '1.3_alpha'],
  ['1.3_alpha2', '<', '1.3_alpha3'],
  ['0.7.0', '<', '0.8_beta1'],
  ['3.10.18-r1', '>', '2.3.0b-r1'],
  ['2.3.0b-r1', '<', '2.3.0b-r2'],
  ['0.12.3', '>', '0.12'],
  ['0.12', '<', '0.13_beta1'],
  ['0.13_beta5', '>', '0.9.12'],
  ['0.0.16', '<', '0.6'],
  ['1.2.11', '<', '1.2.12.1'],
  ['1.2.12.1', '<', '1.2.13'],
  ['0.2.0-r1', '<', '3.1_p16'],
  ['3.1_p16', '<', '3.1_p17'],
  ['1.06-r6', '<', '006'],
  ['006', '>', '1.0.0'],
  ['1.2.2-r1', '>', '1.2.2'],
  ['9.3.4-r2', '>', '9.3.4'],
  ['2.59', '<', '20050718-r1'],
  ['3.9.8-r5', '>', '2.01.01_alpha10'],
  ['1.0', '>', '0.99.3.20040818'],
  ['1.39', '>', '1.00_beta2'],
  ['1.02', '<', '1.03-r1'],
  ['4.2.52_p2-r1', '<', '4.2.52_p4-r2'],
  ['1.02.07', '<', '1.02.10-r1'],
  ['2.18.3-r10', '>', '1.05-r18'],
  ['2.8', '<', '2.20.1'],
  ['20060720', '>', '3.0.20060720'],
  ['2.5.1-r8', '<', '2.5.1a-r1'],
  ['1.3.5-r10', '>', '1.3.5-r8'],
  ['20040401', '>', '2.0.0_rc3-r1'],
  ['3.0.0-r2', '<', '021109-r3'],
  ['0.9.16-r1', '<', '3.9_pre20060124'],
  ['0.01', '<', '0.06'],
  ['1.1.7', '<', '6b-r7'],
  ['0.10.0-r1', '>', '0.10.0'],
  ['0.10.0', '<', '0.10.1_rc1'],
  ['1.1a', '<', '1.3a'],
  ['0.15.1b-r2', '>', '0.15.1b'],
  ['1.4.11', '<', '22.7-r1'],
  ['22.7-r1', '<', '22.7.3-r1'],
  ['2.1_pre20', '<', '2.1_pre26'],
  ['2.10.1', '>', '02.08.01b'],
  ['1.6d', '>', '1.2.07.8'],
  ['1.2.07.8', '<', '1.2.12.04'],
  ['1.2.12.04', '<', '1.2.12.05'],
  ['0.1_pre20060810', '<', '0.1_pre20060817'],
  ['3.3.17', '>', '0.59s-r11'],
  ['0.20070118', '<', '0.20070207_rc1'],
  ['0.20070207_rc1', '<', '1.0'],
  ['4.5_p1-r1', '>', '4.5_p1'],
  ['0.9.8c-r1', '<', '0.9.8d'],
  ['1.7', '<', '1.7b'],
  ['1.8.5', '<', '1.8.5_p2'],
  ['2.9.11_pre20051101-r3', '>', '2.9.11_pre20051101'],
  ['1.6.8_p12-r1', '>', '1.6.8_p9-r2'],
  ['0.9.28.1', '<', '087-r1'],
  ['104-r11', '>', '104-r9'],
  ['2.12r-r4', '<', '2.12r-r5'],
  ['7.0.17', '<', '7.0.174'],
  ['1.3-r0', '<', '1.3.1-r0'],
  ['1.3_pre1-r1', '<', '1.3.2'],
  ['1.0_p10-r0', '>', '1.0_p9-r0'],
  ['0.1.0_alpha_pre2', '<', '0.1.0_alpha'],
  ['1.0.0_pre20191002222144-r0', '<', '1.0.0_pre20210530193627-r0'],
  ['6.0_pre1', '<', '6.0'],
  ['6.0_p1', '>', '6.0'],
  ['8.2.0', '<', '8.2.001'],
  ['8.2.0015', '<', '8.2.002'],
  // ~<commit> (apk 2.14+)
  ['1.0~1234', '<', '1.0~2345'],
  ['1.0~1234-r1', '<', '1.0~2345-r0'],
  ['1.0~1234-r1', '>', '1.0~1234-r0'],
  // Real Alpine 3.16 versions
  ['11.2.1_git20220219-r2', '>', '11.2.1-r2'],
  ['6.3_p20220521-r0', '>', '6.3-r0'],
  ['6.04_pre1-r10', '<', '6.04-r0'],
  ['9.0_p1-r2', '>', '9.0-r9'],
  ['20210910.3.1-r0', '>', '20210910.3-r0'],
  // Beyond 64 bits: still ordered numerically
  ['1.99999999999999999999999', '<', '1.100000000000000000000000'],
];

const SYMBOL = { '-1': '<', '0': '=', '1': '>' } as const;

describe('compareVersions (apk ordering)', () => {
  it.each(ORDER)('%s %s %s', (a, op, b) => {
    expect(SYMBOL[String(compareVersions(a, b)) as '-1' | '0' | '1']).toBe(op);
    // and the reverse
    const reverse = op === '<' ? '>' : op === '>' ? '<' : '=';
    expect(SYMBOL[String(compareVersions(b, a)) as '-1' | '0' | '1']).toBe(reverse);
  });

  it('sorts a list the way apk lists versions', () => {
    const versions = ['1.0', '1.0_rc1', '1.0-r1', '1.0_p1', '1.0_alpha', '0.9', '1.0.1', '1.0_beta2', '1.0_beta10', '1.0a'];
    expect([...versions].sort(compareVersions)).toEqual([
      '0.9',
      '1.0_alpha',
      '1.0_beta2',
      '1.0_beta10',
      '1.0_rc1',
      '1.0',
      '1.0-r1',
      '1.0_p1',
      '1.0a',
      '1.0.1',
    ]);
  });
});

describe('isValidVersion', () => {
  const valid = ['1.2', '0.1_pre2', '0.1_pre2~1234abcd', '0.1_p1_pre2', '0.1_alpha1_pre2', '0.1_git20240101_pre1', '1.35.0-r17', '2.3.0b-r1', '6.04_pre1-r10'];
  const invalid = [
    '',
    '0.1bc',
    '0.1bc1',
    '0.1a1',
    '0.1a.1',
    '0.1_pre2~',
    '0.1_pre2~1234xbcd',
    '0.1_pre2~1234abcd_pre1',
    '0.1_pre2-r1~1234xbcd',
    '0.1_foobar',
    '0.1_foobar1',
    '0.1-pre1.1',
    '0.1-r',
    '0.1-r2_pre1',
    '0.1-r2_p3_pre1',
    '0.1-r2-r3',
    '0.1-r2.1',
    '.1',
    'a',
    '_pre1',
    '-r1',
    '0.1_',
    '0.1_-r0',
    '0.1__alpha',
    '0.1_1_alpha',
  ];
  it.each(valid)('accepts %j', (v) => expect(isValidVersion(v)).toBe(true));
  it.each(invalid)('rejects %j', (v) => expect(isValidVersion(v)).toBe(false));
});

describe('operators', () => {
  const match = (a: string | null, op: string, b: string | null): boolean => versionMatches(a, operatorMask(op), b);

  it('parses and prints every operator apk knows', () => {
    expect(operatorMask('=')).toBe(VERSION_EQUAL);
    expect(operatorMask('<')).toBe(VERSION_LESS);
    expect(operatorMask('>')).toBe(VERSION_GREATER);
    expect(operatorMask('<=')).toBe(VERSION_LESS | VERSION_EQUAL);
    expect(operatorMask('>=')).toBe(VERSION_GREATER | VERSION_EQUAL);
    expect(operatorMask('~')).toBe(VERSION_FUZZY | VERSION_EQUAL);
    expect(operatorMask('>~')).toBe(VERSION_GREATER | VERSION_FUZZY | VERSION_EQUAL);
    expect(operatorMask('<~')).toBe(VERSION_LESS | VERSION_FUZZY | VERSION_EQUAL);
    expect(operatorMask('><')).toBe(DEPMASK_CHECKSUM);
    expect(operatorMask('!')).toBe(0);
    for (const op of ['=', '<', '>', '<=', '>=', '~', '>~', '<~', '><']) expect(operatorString(operatorMask(op))).toBe(op);
    expect(operatorString(DEPMASK_ANY)).toBe('');
  });

  it('matches = < > <= >=', () => {
    expect(match('1.2-r0', '=', '1.2-r0')).toBe(true);
    expect(match('1.2-r1', '=', '1.2-r0')).toBe(false);
    expect(match('1.2', '<', '1.10')).toBe(true);
    expect(match('1.10', '>', '1.9')).toBe(true);
    expect(match('1.9', '>=', '1.9')).toBe(true);
    expect(match('1.9_rc1', '>=', '1.9')).toBe(false);
    expect(match('1.9_p1', '>=', '1.9')).toBe(true);
    expect(match('2', '<=', '1.9')).toBe(false);
  });

  it('matches ~ as a prefix, and >~ <~ (apk test data)', () => {
    for (const a of ['3.6.0', '3.6.9', '3.6_pre1', '3.6.0_pre1', '3.6.9_post1', '3.6']) expect(match(a, '~', '3.6')).toBe(true);
    expect(match('3.6.0', '~', '3.6.0')).toBe(true);
    for (const [a, b] of [['3.6.0', '3.8'], ['3.6.9', '3.8'], ['3.8', '3.8.1'], ['3.8.0', '3.8.1'], ['3.8.0.1', '3.8.1'], ['3.6_pre1', '3.8'], ['3.6.0_pre1', '3.8'], ['3.6.9_post1', '3.8']] as const) {
      expect(match(a, '~', b)).toBe(false);
    }
    expect(match('3.5', '<~', '3.6')).toBe(true);
    expect(match('3.6.2', '<~', '3.6')).toBe(true);
    expect(match('3.7', '<~', '3.6')).toBe(false);
    expect(match('3.7', '>~', '3.6')).toBe(true);
    expect(match('3.6.2', '>~', '3.6')).toBe(true);
    expect(match('3.5', '>~', '3.6')).toBe(false);
  });

  it('treats a provider without version as matching every versioned operator, as apk does', () => {
    expect(match(null, '>=', '2')).toBe(true);
    expect(match(null, '<', '2')).toBe(true);
    expect(match(null, '=', '2')).toBe(true);
  });

  it('inverts a match for a conflict', () => {
    expect(versionMatches('1.0', DEPMASK_ANY | VERSION_CONFLICT, null)).toBe(false);
    expect(versionMatches('1.0', operatorMask('<') | VERSION_CONFLICT, '2')).toBe(false);
    expect(versionMatches('3.0', operatorMask('<') | VERSION_CONFLICT, '2')).toBe(true);
  });
});
