// Memory while primary.xml streams through the parser: what stays is the package objects, not the
// document. (1) A ~50 MB primary.xml (the corpus's packages repeated under new names) is parsed in
// a child Node process: its peak RSS growth and the heap its packages keep are printed for the
// benchmark record, and it must also parse with V8's old space capped at 64 MB. (2) The corpus's
// packages with 40 KiB descriptions (a 52 MB document): the heap kept afterwards must not grow
// with the descriptions, which it would if kept strings still pointed into the parser's chunks.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { build as esbuild } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../fixtures/paths.js';
import type { RpmPackageMeta } from '../../stages/sources/rpm/model.js';
import { readPrimary } from '../../stages/sources/rpm/repodata/primary.js';
import type { ExpectedFile } from '../../stages/sources/rpm/repodata/verified-file.js';
import { corpusFile, corpusPresent, CS9_DIR } from './corpus.js';
import { writePrimaryCopies } from '../../fixtures/rpm/big-primary.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function settledHeap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** primary.xml.gz made of `copies` rewrites of the corpus packages, with its repomd facts. */
function writePrimary(path: string, copies: number, rewrite: (block: string, copy: number) => string) {
  return writePrimaryCopies(corpusFile('primary').path, path, copies, rewrite);
}

/**
 * Parses while sampling RSS; gives the peak RSS growth and the heap the packages hold (with them,
 * then without them, each after a full GC). `check` sees the packages before they are dropped.
 */
async function measure(path: string, expected: ExpectedFile, check: (packages: RpmPackageMeta[]) => void): Promise<{ count: number; peakRss: number; keptHeap: number; ms: number }> {
  settledHeap();
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 2);
  const started = Date.now();
  // The packages live in this inner function only, so they are garbage once it returns.
  const parsed = await (async () => {
    const packages = await readPrimary(path, expected, path);
    const ms = Date.now() - started;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    check(packages);
    return { count: packages.length, ms, withPackages: settledHeap() };
  })();
  const keptHeap = parsed.withPackages - settledHeap();
  return { count: parsed.count, peakRss: peak - rssBefore, keptHeap, ms: parsed.ms };
}

const MB = 1 << 20;
const execFileAsync = promisify(execFile);

function digest(packages: RpmPackageMeta[]): string {
  const hash = createHash('sha256');
  for (const p of packages) hash.update(JSON.stringify(p));
  return hash.digest('hex');
}
const present = corpusPresent();
if (!present) console.warn(`skipping the primary.xml memory tests: ${CS9_DIR} is absent`);

/** Parses `path` in a child Node process (with `nodeFlags`) and gives what it cost. */
async function parseInChild(path: string, expected: ExpectedFile, nodeFlags: string[]): Promise<{ count: number; ms: number; peakRssGrowth: number; keptHeap: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'parse-child-'));
  const script = join(dir, 'parse-child.mjs');
  await esbuild({ entryPoints: [join(projectRoot(), 'test/rpm-repodata/parse-child.ts')], bundle: true, platform: 'node', format: 'esm', outfile: script, logLevel: 'silent' });
  const { stdout } = await execFileAsync(process.execPath, [...nodeFlags, '--expose-gc', script, path, JSON.stringify(expected)], { encoding: 'utf8' });
  return JSON.parse(stdout) as { count: number; ms: number; peakRssGrowth: number; keptHeap: number };
}

describe.skipIf(!present)('primary.xml memory', () => {
  let big: { path: string; expected: ExpectedFile & { openSize: number; packages: number } };
  beforeAll(async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'primary-')), 'primary.xml.gz');
    const expected = await writePrimary(path, 6, (block, copy) => block.replace(/<name>([^<]+)<\/name>/, `<name>$1-c${copy}</name>`));
    big = { path, expected };
  }, 120_000);

  it('a ~50 MB primary.xml: RSS growth reported; parses within a 64 MB old space', async () => {
    const { path, expected } = big;
    expect(expected.openSize).toBeGreaterThan(48 * MB);
    const free = await parseInChild(path, expected, []);
    expect(free.count).toBe(expected.packages);
    console.log(
      `primary.xml ${(expected.openSize / MB).toFixed(1)} MB (${(expected.size! / MB).toFixed(1)} MB gzip), ${free.count} packages: ` +
        `parsed in ${free.ms} ms, peak RSS growth ${(free.peakRssGrowth / MB).toFixed(1)} MB, heap kept by the packages ${(free.keptHeap / MB).toFixed(1)} MB`,
    );
    // The packages are the only thing that grows: well under the document's size.
    expect(free.keptHeap).toBeLessThan(expected.openSize / 2);
    // In a heap capped near what the packages need (22 MB here), the document (48 MB as a string)
    // could not be held next to them; streaming fits. A small young generation keeps V8 from
    // promoting the parser's short-lived strings by the megabyte.
    const capped = await parseInChild(path, expected, ['--max-semi-space-size=2', '--max-old-space-size=64']);
    expect(capped.count).toBe(expected.packages);
    console.log(`with a 64 MB old space: parsed in ${capped.ms} ms, peak RSS growth ${(capped.peakRssGrowth / MB).toFixed(1)} MB`);
  }, 120_000);

  it('the packages of one parse in this process: as expected, and the heap they keep', async () => {
    const { path, expected } = big;
    const { count, keptHeap } = await measure(path, expected, (packages) => {
      expect(packages).toHaveLength(expected.packages);
      expect(packages[1125].name).toBe('ModemManager-c1');
    });
    expect(count).toBe(expected.packages);
    expect(keptHeap).toBeLessThan(expected.openSize / 2);
  }, 120_000);

  it('descriptions are never kept: 40 KiB of description per package costs no heap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'primary-'));
    const plain = await writePrimary(join(dir, 'plain.xml.gz'), 1, (block) => block);
    const padding = 'x'.repeat(40 << 10);
    const padded = await writePrimary(join(dir, 'padded.xml.gz'), 1, (block) => block.replace('</description>', `${padding}</description>`));
    expect(padded.openSize).toBeGreaterThan(plain.openSize + 40 * MB);
    let first = '';
    const small = await measure(join(dir, 'plain.xml.gz'), plain, (packages) => (first = digest(packages)));
    const large = await measure(join(dir, 'padded.xml.gz'), padded, (packages) => expect(digest(packages)).toBe(first));
    console.log(`heap kept: ${(small.keptHeap / MB).toFixed(1)} MB for a ${(plain.openSize / MB).toFixed(1)} MB primary.xml, ${(large.keptHeap / MB).toFixed(1)} MB for ${(padded.openSize / MB).toFixed(1)} MB`);
    expect(large.keptHeap).toBeLessThan(small.keptHeap * 1.25 + 2 * MB);
  }, 120_000);
});
