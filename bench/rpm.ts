// RPM source benchmark (`npm run bench -- rpm`):
//  1. verify + parse + resolve `kernel-core systemd bash` against the real CentOS Stream 9 BaseOS
//     repodata (../shared/corpus; unsigned, so "verify" is repomd.xml and the checksum and
//     open-checksum of every metadata file read), side by side with dnf (python3-dnf,
//     metadata only: fill_sack + install + resolve, test/rpm-resolve/dnf-oracle.py) on the same
//     files: whole processes taking turns round after round, the phases each process timed
//     itself, and ours repeated warm in one process. Target: under 0.5 s and faster than dnf.
//  2. unpacking the fixture mirror's kernel-core and systemd natively next to
//     `rpm2cpio pkg | cpio -idm` of the same file, fresh directories each run (target ratio <= 1.5).
//  3. peak memory (VmHWM) of a child process parsing a ~50 MB primary.xml (the corpus's packages
//     repeated under new names, as test/rpm-repodata/memory.test.ts makes it), next to a baseline
//     child that loads the same modules and parses nothing.
// Everything made goes under one temporary directory, removed at the end.
//
// Run directly, this file is also the measured child process (its static imports are what the
// child needs, nothing more; the rest is imported when the benchmark runs):
//   node dist/bench/rpm.js resolve <repo-dir> <request>...   one cold verify + parse + resolve
//   node dist/bench/rpm.js parse-memory <primary> <expected-json>
//   node dist/bench/rpm.js baseline-memory
// Each prints one JSON line.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { RpmPackageMeta } from '../stages/sources/rpm/model.js';
import { findFileProviders } from '../stages/sources/rpm/repodata/filelists.js';
import { readPrimary } from '../stages/sources/rpm/repodata/primary.js';
import { parseRepomd, repomdEntry } from '../stages/sources/rpm/repodata/repomd.js';
import { streamVerifiedText, type ExpectedFile } from '../stages/sources/rpm/repodata/verified-file.js';
import { resolveRpmPackages } from '../stages/sources/rpm/resolve.js';
import { writePrimaryCopies } from '../fixtures/rpm/big-primary.js';

const SELF = fileURLToPath(import.meta.url);
const REQUESTS = ['kernel-core', 'systemd', 'bash'];
const PYTHON = '/usr/bin/python3';
const run = promisify(execFile);

// ---- the measured children ------------------------------------------------------------------

interface ResolveRun {
  /** Phases in ms: repomd.xml + primary.xml verified and parsed; the resolve (filelists lookups included). */
  verifyAndParseMs: number;
  resolveMs: number;
  totalMs: number;
  packagesInRepo: number;
  fileLookups: number;
  /** The install set as dnf prints it: `epoch:name-version-release.arch`, sorted. */
  nevras: string[];
}

/** Reads a repository from disk the way the pipeline does (checksums first) and resolves `requests`. */
async function verifyParseResolve(repoDir: string, requests: readonly string[]): Promise<ResolveRun> {
  const t0 = performance.now();
  const repomdPath = join(repoDir, 'repodata', 'repomd.xml');
  const repomd = parseRepomd(readFileSync(repomdPath), repomdPath);
  const primary = repomdEntry(repomd, 'primary', repomdPath);
  const filelists = repomdEntry(repomd, 'filelists', repomdPath);
  const packages = await readPrimary(join(repoDir, primary.location), primary, primary.location);
  const t1 = performance.now();
  const resolution = await resolveRpmPackages({
    repositories: [{ name: 'baseos', priority: 99, packages }],
    requests,
    fileProviders: (paths) => findFileProviders(join(repoDir, filelists.location), filelists, filelists.location, new Set(paths)),
  });
  const t2 = performance.now();
  return {
    verifyAndParseMs: t1 - t0,
    resolveMs: t2 - t1,
    totalMs: t2 - t0,
    packagesInRepo: packages.length,
    fileLookups: resolution.stats.fileLookups,
    nevras: resolution.packages.map(({ package: p }) => `${p.evr.epoch}:${p.name}-${p.evr.version}-${p.evr.release}.${p.arch}`).sort(),
  };
}

/** Peak and current resident set of this process, from /proc (KiB). */
function residentKiB(): { vmHwm: number; vmRss: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match) throw new Error(`/proc/self/status: no ${name} line`);
    return Number(match[1]);
  };
  return { vmHwm: field('VmHWM'), vmRss: field('VmRSS') };
}

async function child(mode: string, args: string[]): Promise<void> {
  let result: object;
  if (mode === 'resolve') {
    const [repoDir, ...requests] = args;
    if (!repoDir || requests.length === 0) throw new Error('usage: rpm.js resolve <repo-dir> <request>...');
    result = await verifyParseResolve(repoDir, requests);
  } else if (mode === 'parse-memory') {
    const [path, expectedJson] = args;
    if (!path || !expectedJson) throw new Error('usage: rpm.js parse-memory <primary> <expected-json>');
    const before = residentKiB();
    const started = performance.now();
    const packages: RpmPackageMeta[] = await readPrimary(path, JSON.parse(expectedJson) as ExpectedFile, path);
    const ms = performance.now() - started;
    result = { count: packages.length, ms, rssBeforeKiB: before.vmRss, ...residentKiB() };
  } else if (mode === 'baseline-memory') {
    result = residentKiB();
  } else {
    throw new Error(`rpm.js: unknown mode '${mode}' (resolve, parse-memory, baseline-memory)`);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---- the benchmark --------------------------------------------------------------------------

const MB = 1e6;

/** A measured command: its wall time counts, unless it returns the span (ms) it timed itself. */
type Turn = () => Promise<number | void>;

/**
 * Rounds of commands taking turns (the order flipped each round, so neither always goes first on
 * a noisy machine); round 0 only warms caches and is not counted.
 */
async function takeTurns<K extends string>(commands: Record<K, Turn>, rounds: number): Promise<Record<K, number[]>> {
  const names = Object.keys(commands) as K[];
  const times = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r <= rounds; r++) {
    for (const name of r % 2 === 0 ? names : [...names].reverse()) {
      const started = performance.now();
      const span = await commands[name]();
      if (r > 0) times[name].push(typeof span === 'number' ? span : performance.now() - started);
    }
  }
  return times;
}

async function resolveBench(corpus: string, work: string, rounds: number) {
  const { median, round } = await import('./stats.js');
  const { projectRoot } = await import('../fixtures/paths.js');
  const root = projectRoot();
  const oracle = join(root, 'test', 'rpm-resolve', 'dnf-oracle.py');
  const dnfPresent = (() => {
    try {
      execFileSync(PYTHON, ['-c', 'import dnf'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  // dnf's temporary root (cache, solv files) goes under our work directory.
  const env = { ...process.env, TMPDIR: work };
  const ours: ResolveRun[] = [];
  const dnf: { fillSackMs: number; resolveMs: number; nevras: string[] }[] = [];
  const ourArgs = [SELF, 'resolve', corpus, ...REQUESTS];
  const dnfArgs = [oracle, corpus, '--time', ...REQUESTS];
  const commands = {
    ours: async () => {
      const { stdout } = await run(process.execPath, ourArgs, { maxBuffer: 1 << 24 });
      ours.push(JSON.parse(stdout) as ResolveRun);
    },
    ...(dnfPresent
      ? {
          dnf: async () => {
            const { stdout, stderr } = await run(PYTHON, dnfArgs, { env, maxBuffer: 1 << 24 });
            const phase = (name: string): number => {
              const match = new RegExp(`^${name} ([\\d.]+)$`, 'm').exec(stderr);
              if (!match) throw new Error(`dnf-oracle.py printed no ${name}: ${stderr}`);
              return Number(match[1]);
            };
            dnf.push({ fillSackMs: phase('load_ms'), resolveMs: phase('resolve_ms'), nevras: stdout.split('\n').filter(Boolean) });
          },
        }
      : {}),
    nodeStart: async () => void (await run(process.execPath, ['-e', '0'])),
    ...(dnfPresent ? { pythonImportDnf: async () => void (await run(PYTHON, ['-c', 'import dnf'], { env })) } : {}),
  } as Record<'ours' | 'dnf' | 'nodeStart' | 'pythonImportDnf', Turn>;
  const wall = await takeTurns(commands, rounds);
  // Each child also ran once in the warm-up round: its own timings count from the second on.
  ours.shift();
  dnf.shift();

  // Ours again, repeated in this one process: what a longer-lived process pays once warm. Beside
  // it, primary.xml's checksums and decompression alone (no XML parsing): the rest is the parser.
  const warm: ResolveRun[] = [];
  const verifyOnly: number[] = [];
  const repomdPath = join(corpus, 'repodata', 'repomd.xml');
  const primary = repomdEntry(parseRepomd(readFileSync(repomdPath), repomdPath), 'primary', repomdPath);
  for (let r = 0; r <= rounds; r++) {
    const one = await verifyParseResolve(corpus, REQUESTS);
    const started = performance.now();
    await streamVerifiedText(join(corpus, primary.location), primary, primary.location, () => {});
    if (r > 0) {
      warm.push(one);
      verifyOnly.push(performance.now() - started);
    }
  }

  const m = (values: number[]) => round(median(values));
  const last = ours[ours.length - 1]!;
  const ourCold = {
    verifyAndParse: m(ours.map((o) => o.verifyAndParseMs)),
    resolve: m(ours.map((o) => o.resolveMs)),
    total: m(ours.map((o) => o.totalMs)),
  };
  const ourWholeMs = m(wall.ours);
  const show = (args: string[]) => args.map((a) => (a.startsWith('/') ? relative(root, a) || '.' : a)).join(' ');
  const result: Record<string, unknown> = {
    repository: 'CentOS Stream 9 BaseOS (../shared/corpus/centos-stream-9-baseos, unsigned: repomd.xml parsed, checksums and open-checksums checked)',
    requested: REQUESTS,
    packagesInRepo: last.packagesInRepo,
    packages: last.nevras.length,
    fileLookups: last.fileLookups,
    rounds,
    commands: {
      ours: `node ${show(ourArgs)}`,
      ...(dnfPresent ? { dnf: `${PYTHON} ${show(dnfArgs)}` } : {}),
      nodeStart: 'node -e 0',
      ...(dnfPresent ? { pythonImportDnf: `${PYTHON} -c 'import dnf'` } : {}),
    },
    wholeProcessMs: Object.fromEntries(Object.entries(wall).map(([name, times]) => [name, m(times)])),
    inProcessColdMs: { ours: ourCold },
    inProcessWarmMs: {
      ours: { verifyAndParse: m(warm.map((o) => o.verifyAndParseMs)), resolve: m(warm.map((o) => o.resolveMs)), total: m(warm.map((o) => o.totalMs)) },
      oursPrimaryChecksumsAndDecompressionOnly: m(verifyOnly),
    },
    target: 'whole process < 500 ms and faster than dnf (ratio ours/dnf < 1)',
    note: 'ours runs from tsc output (dist/, unbundled); dnf starts from an empty cache each run (fill_sack writes its solv files), as ours parses from scratch',
  };
  if (dnfPresent) {
    const dnfCold = {
      fillSack: m(dnf.map((d) => d.fillSackMs)),
      installAndResolve: m(dnf.map((d) => d.resolveMs)),
      total: m(dnf.map((d) => d.fillSackMs + d.resolveMs)),
    };
    (result.inProcessColdMs as Record<string, unknown>).dnf = dnfCold;
    const dnfWholeMs = m(wall.dnf);
    result.ratioOursToDnf = {
      wholeProcess: round(ourWholeMs / dnfWholeMs, 2),
      parse: round(ourCold.verifyAndParse / dnfCold.fillSack, 2),
      resolve: round(ourCold.resolve / dnfCold.installAndResolve, 2),
      inProcessTotal: round(ourCold.total / dnfCold.total, 2),
    };
    const dnfSet = dnf[dnf.length - 1]!.nevras;
    result.sameInstallSetAsDnf = dnfSet.length === last.nevras.length && dnfSet.every((n, i) => n === last.nevras[i]);
    result.targetMet = ourWholeMs < 500 && ourWholeMs < dnfWholeMs;
  } else {
    result.dnf = `skipped: ${PYTHON} cannot import dnf (apt-get install python3-dnf)`;
    result.targetMet = ourWholeMs < 500;
  }
  return result;
}

async function unpackBench(work: string, rounds: number) {
  const { median, round } = await import('./stats.js');
  const { ensureRpmMirror } = await import('../fixtures/rpm/build-mirror.js');
  const { unpackRpm } = await import('../stages/sources/rpm/package.js');
  const { loadKeyringFiles } = await import('../formats/openpgp/index.js');
  const mirror = await ensureRpmMirror((line) => console.log(`rpm mirror: ${line}`));
  const keyring = await loadKeyringFiles(Object.values(mirror.keys));
  const results: object[] = [];
  for (const name of ['kernel-core', 'systemd']) {
    const p = mirror.packages.find((q) => q.name === name);
    if (!p) throw new Error(`the fixture RPM mirror (${mirror.root}) has no ${name} package`);
    const rpmPath = join(mirror.repos[p.repo], p.location);
    const expected = { name: p.name, evr: { epoch: p.epoch ?? 0, version: p.version, release: p.release }, arch: p.arch, size: p.size, sha256: p.sha256 };
    let bytes = 0;
    let files = 0;
    let n = 0;
    const fresh = (side: string): string => {
      const dir = join(work, `unpack-${side}-${n++}`);
      mkdirSync(dir);
      // Neither side pays for the previous run's writeback.
      execFileSync('sync');
      return dir;
    };
    // Only the unpack is timed: directory set-up, sync and removal are outside the span.
    const times = await takeTurns(
      {
        unpackRpm: async () => {
          const out = fresh('ours');
          const started = performance.now();
          const { stats } = await unpackRpm({ rpmPath, expected, keyring, outDir: out });
          const ms = performance.now() - started;
          bytes = stats.bytes;
          files = stats.files;
          rmSync(out, { recursive: true, force: true });
          return ms;
        },
        rpm2cpio: async () => {
          const out = fresh('cpio');
          const started = performance.now();
          execFileSync('bash', ['-o', 'pipefail', '-c', 'rpm2cpio "$1" | cpio -idm --quiet', 'bash', rpmPath], { cwd: out, stdio: ['ignore', 'ignore', 'pipe'] });
          const ms = performance.now() - started;
          rmSync(out, { recursive: true, force: true });
          return ms;
        },
      },
      rounds,
    );
    const o = median(times.unpackRpm);
    const c = median(times.rpm2cpio);
    results.push({
      package: `${name} (fixture mirror, ${p.payload} payload, signed ${p.signer})`,
      rpmMB: round(p.size / MB),
      unpackedMB: round(bytes / MB),
      files,
      rounds,
      unpackRpmMedianMs: round(o),
      rpm2cpioCpioMedianMs: round(c),
      ratio: round(o / c, 2),
      unpackRpmMBps: round(bytes / MB / (o / 1000)),
      rpm2cpioCpioMBps: round(bytes / MB / (c / 1000)),
      target: 'ratio <= 1.5',
      targetMet: o / c <= 1.5,
    });
  }
  return {
    commands: { ours: 'unpackRpm({ rpmPath, expected, keyring, outDir }) (signature, digests, manifest.json, rpminfo.json)', reference: 'rpm2cpio PKG | cpio -idm --quiet' },
    packages: results,
  };
}

async function memoryBench(corpus: string, work: string, rounds: number) {
  const { median, round } = await import('./stats.js');
  const repomdPath = join(corpus, 'repodata', 'repomd.xml');
  const primary = repomdEntry(parseRepomd(readFileSync(repomdPath), repomdPath), 'primary', repomdPath);
  const path = join(work, 'primary.xml.gz');
  const expected = await writePrimaryCopies(join(corpus, primary.location), path, 6);
  const baseline: { vmHwm: number; vmRss: number }[] = [];
  const parsed: { count: number; ms: number; rssBeforeKiB: number; vmHwm: number; vmRss: number }[] = [];
  await takeTurns(
    {
      baseline: async () => {
        const { stdout } = await run(process.execPath, [SELF, 'baseline-memory']);
        baseline.push(JSON.parse(stdout) as (typeof baseline)[number]);
      },
      parse: async () => {
        const { stdout } = await run(process.execPath, [SELF, 'parse-memory', path, JSON.stringify(expected)]);
        const one = JSON.parse(stdout) as (typeof parsed)[number];
        if (one.count !== expected.packages) throw new Error(`${path}: the child parsed ${one.count} packages, the file has ${expected.packages}`);
        parsed.push(one);
      },
    },
    rounds,
  );
  baseline.shift();
  parsed.shift();
  const MiB = (kib: number) => round(kib / 1024);
  const baselineHwm = median(baseline.map((b) => b.vmHwm));
  const parseHwm = median(parsed.map((p) => p.vmHwm));
  return {
    primaryXml: { openMB: round(expected.openSize / MB), gzipMB: round(expected.size / MB), packages: expected.packages, madeOf: '6 renamed copies of the CentOS Stream 9 BaseOS packages' },
    rounds,
    commands: { parse: 'node dist/bench/rpm.js parse-memory <primary.xml.gz> <repomd facts>', baseline: 'node dist/bench/rpm.js baseline-memory (same modules loaded, nothing parsed)' },
    parseMedianMs: round(median(parsed.map((p) => p.ms))),
    peakRssMiB: { baselineChild: MiB(baselineHwm), parseChild: MiB(parseHwm) },
    peakRssGrowthOverBaselineMiB: MiB(parseHwm - baselineHwm),
    peakRssGrowthInChildMiB: MiB(median(parsed.map((p) => p.vmHwm - p.rssBeforeKiB))),
    residentAfterParseMiB: MiB(median(parsed.map((p) => p.vmRss))),
  };
}

export async function benchRpm(): Promise<object> {
  const { projectRoot } = await import('../fixtures/paths.js');
  const { writeResult } = await import('./stats.js');
  const corpus = join(projectRoot(), '..', 'shared', 'corpus', 'centos-stream-9-baseos');
  const corpusPresent = existsSync(join(corpus, 'repodata', 'repomd.xml'));
  const work = mkdtempSync(join(tmpdir(), 'pipeline-bench-rpm-'));
  const results: Record<string, unknown> = {};
  try {
    const absent = `skipped: ${corpus} is absent`;
    results.resolve = corpusPresent ? await resolveBench(corpus, work, 11) : absent;
    results.unpack = await unpackBench(work, 7);
    results.memory = corpusPresent ? await memoryBench(corpus, work, 3) : absent;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const path = await writeResult('rpm', results);
  console.log(JSON.stringify(results, null, 2));
  console.log(`written to ${path}`);
  return results;
}

if (process.argv[1] === SELF) {
  const [mode, ...args] = process.argv.slice(2);
  await child(mode ?? '', args);
}
