import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../fixtures/paths.js';
import { compareEvr, evrInRange, formatDep, rangesOverlap, rpmvercmp } from '../../stages/sources/rpm/version.js';

const TSV = join(projectRoot(), '..', 'shared', 'corpus', 'rpm-tests', 'rpmvercmp.tsv');
const present = existsSync(TSV);

describe.skipIf(!present)(present ? "rpm's own rpmvercmp cases" : `rpm's own rpmvercmp cases — SKIPPED: corpus absent (${TSV})`, () => {
  const rows = present
    ? readFileSync(TSV, 'utf8')
        .split('\n')
        .slice(1)
        .filter((l) => l.trim() !== '')
        .map((l) => l.split('\t') as [string, string, string])
    : [];

  it('has the cases of rpm tests/rpmvercmp.at, ~ and ^ included', () => {
    expect(rows.length).toBeGreaterThan(80);
    expect(rows.some(([a, b]) => a.includes('~') || b.includes('~'))).toBe(true);
    expect(rows.some(([a, b]) => a.includes('^') || b.includes('^'))).toBe(true);
  });

  it('orders every pair as rpm does, and the reverse pair the other way', () => {
    const wrong: string[] = [];
    for (const [a, b, expected] of rows) {
      const got = rpmvercmp(a, b);
      if (got !== Number(expected)) wrong.push(`rpmvercmp(${a}, ${b}) = ${got}, rpm says ${expected}`);
      const back = rpmvercmp(b, a);
      if (back !== -Number(expected) && !(back === 0 && Number(expected) === 0)) wrong.push(`rpmvercmp(${b}, ${a}) = ${back}, expected ${-Number(expected)}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('rpmvercmp', () => {
  it('sorts ~ before everything, the end included, and ^ after the end but before more version', () => {
    expect(rpmvercmp('1.0~rc1', '1.0')).toBe(-1);
    expect(rpmvercmp('1.0~rc1', '1.0~rc2')).toBe(-1);
    expect(rpmvercmp('1.0~~', '1.0~')).toBe(-1);
    expect(rpmvercmp('1.0^git1', '1.0')).toBe(1);
    expect(rpmvercmp('1.0^git1', '1.0.1')).toBe(-1);
    expect(rpmvercmp('1.0^', '1.0~')).toBe(1);
  });

  it('compares numbers without leading zeros and beyond 64 bits, letters below digits', () => {
    expect(rpmvercmp('1.001', '1.1')).toBe(0);
    expect(rpmvercmp('1.010', '1.9')).toBe(1);
    expect(rpmvercmp('123456789012345678901234567890', '123456789012345678901234567889')).toBe(1);
    expect(rpmvercmp('1.a', '1.1')).toBe(-1);
    expect(rpmvercmp('1a', '1.0')).toBe(-1);
    expect(rpmvercmp('A', 'a')).toBe(-1);
    // Separators only split: their kind and number do not matter.
    expect(rpmvercmp('1.2', '1_2')).toBe(0);
    expect(rpmvercmp('1..2', '1.2')).toBe(0);
  });
});

describe('EVR comparison and ranges', () => {
  const evr = (epoch: number, version: string, release?: string) => (release === undefined ? { epoch, version } : { epoch, version, release });

  it('compares the epoch first, then version, then release; a missing release matches any', () => {
    expect(compareEvr(evr(1, '1.0', '1'), evr(0, '9.9', '9'))).toBe(1);
    expect(compareEvr(evr(0, '1.10', '1'), evr(0, '1.9', '9'))).toBe(1);
    expect(compareEvr(evr(0, '1.0', '2.el9'), evr(0, '1.0', '10.el9'))).toBe(-1);
    expect(compareEvr(evr(0, '1.0'), evr(0, '1.0', '10.el9'))).toBe(0);
  });

  it('matches a versioned requirement against a versioned provide as rpm does', () => {
    const provide = { flags: 'EQ' as const, evr: evr(0, '2.34', '21.el9') };
    expect(rangesOverlap(provide, { flags: 'GE', evr: evr(0, '2.34') })).toBe(true);
    expect(rangesOverlap(provide, { flags: 'GT', evr: evr(0, '2.34') })).toBe(false);
    expect(rangesOverlap(provide, { flags: 'GT', evr: evr(0, '2.34', '20.el9') })).toBe(true);
    expect(rangesOverlap(provide, { flags: 'LT', evr: evr(0, '2.35') })).toBe(true);
    expect(rangesOverlap(provide, { flags: 'LE', evr: evr(0, '2.33', '99') })).toBe(false);
    expect(rangesOverlap(provide, { flags: 'EQ', evr: evr(1, '2.34', '21.el9') })).toBe(false);
    // Two open ranges overlap when they point the same way or cross.
    expect(rangesOverlap({ flags: 'GE', evr: evr(0, '1') }, { flags: 'LT', evr: evr(0, '2') })).toBe(true);
    expect(rangesOverlap({ flags: 'GE', evr: evr(0, '2') }, { flags: 'LT', evr: evr(0, '2') })).toBe(false);
  });

  it('lets an unversioned provide satisfy any versioned requirement, and any provide an unversioned one', () => {
    expect(rangesOverlap(null, { flags: 'GE', evr: evr(5, '100') })).toBe(true);
    expect(rangesOverlap({ flags: 'EQ', evr: evr(0, '1') }, null)).toBe(true);
  });

  it('checks a package EVR against an obsoletes range, and renders dependencies', () => {
    expect(evrInRange({ epoch: 0, version: '1.0', release: '3' }, { flags: 'LT', evr: evr(0, '1.0', '4') })).toBe(true);
    expect(evrInRange({ epoch: 0, version: '1.0', release: '4' }, { flags: 'LT', evr: evr(0, '1.0', '4') })).toBe(false);
    expect(formatDep({ name: 'glibc', flags: 'GE', evr: evr(2, '2.34', '1') })).toBe('glibc >= 2:2.34-1');
    expect(formatDep({ name: '/bin/sh' })).toBe('/bin/sh');
  });
});
