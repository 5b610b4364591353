// Alpine source benchmark:
//  - parse + verify + resolve against the real Alpine 3.16 main index (../shared/corpus) for the
//    Iuppiter-like set (median of 9; target under 300 ms);
//  - unpack throughput of a kernel package (the demo mirror's linux-lts, and one with Debian's
//    whole module tree) next to `tar -xzf` of the same data member in the same run (target ratio
//    at most 1.5).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readApkIndexPath } from '../stages/sources/apk/index-file.js';
import { locateApkMembers, unpackApk, type ApkExpectation } from '../stages/sources/apk/package.js';
import { timeParseAndResolve } from './resolve-timing.js';
import { loadTrustedKeys } from '../stages/sources/apk/trust.js';
import { buildApk } from '../fixtures/alpine/abuild.js';
import { linuxLtsSpec } from '../fixtures/alpine/demo-packages.js';
import { DEMO_KEYS_DIR, demoSigner } from '../fixtures/alpine/signer.js';
import { ensureDemoMirror } from '../fixtures/build-mirror.js';
import { fetchDeb, kernelPackageName } from '../fixtures/debs.js';
import { fixturesDir, projectRoot } from '../fixtures/paths.js';
import { median, round, writeResult } from './stats.js';

const CORPUS = join(projectRoot(), '..', 'shared', 'corpus', 'alpine-3.16-main-x86_64');
const SET = ['alpine-base', 'linux-lts', 'openrc', 'eudev', 'doas', 'dhcpcd', 'chrony', 'openssh', 'smartmontools', 'hdparm', 'syslinux'];

async function resolveTiming() {
  const keys = await loadTrustedKeys(join(projectRoot(), 'variants/keys/alpine'));
  const timing = await timeParseAndResolve({
    load: async () => [{ repository: { name: 'main', url: 'mirror://alpine/v3.16/main/x86_64' }, text: (await readApkIndexPath(join(CORPUS, 'APKINDEX.tar.gz'), keys)).text }],
    requests: SET,
    arch: 'x86_64',
    runs: 9,
  });
  return {
    requested: SET,
    packages: timing.packages,
    medianMs: { verifyAndRead: round(timing.loadMs), parse: round(timing.parseMs), resolve: round(timing.resolveMs), total: round(timing.totalMs) },
    coldFirstRunMs: round(timing.coldTotalMs),
    target: 'total < 300 ms',
  };
}

async function unpackTiming(label: string, apk: string, expected: ApkExpectation, keysDir: string, rounds: number) {
  const work = mkdtempSync(join(fixturesDir(), '.bench-unpack-'));
  try {
    const keys = await loadTrustedKeys(keysDir);
    const { data } = await locateApkMembers(apk);
    const dataGz = join(work, 'data.tar.gz');
    writeFileSync(dataGz, readFileSync(apk).subarray(...data));
    const ours: number[] = [];
    const tar: number[] = [];
    let bytes = 0;
    for (let r = 0; r < rounds; r++) {
      // Both sides start with no dirty pages: writeback of the previous run must not bill the next.
      execFileSync('sync');
      const a = join(work, `ours-${r}`);
      mkdirSync(a);
      let t = performance.now();
      bytes = (await unpackApk({ apkPath: apk, expected, keys, outDir: a })).stats.bytes;
      ours.push(performance.now() - t);
      const b = join(work, `tar-${r}`);
      mkdirSync(b);
      execFileSync('sync');
      t = performance.now();
      execFileSync('tar', ['--warning=no-unknown-keyword', '-xzf', dataGz, '-C', b]);
      tar.push(performance.now() - t);
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
      execFileSync('sync');
    }
    const o = median(ours);
    const g = median(tar);
    return { package: label, unpackedMB: round(bytes / 1e6), rounds, unpackApkMedianMs: round(o), tarMedianMs: round(g), ratio: round(o / g, 2), unpackApkMBps: round(bytes / 1e3 / o), target: 'ratio <= 1.5' };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export async function benchApk(): Promise<object> {
  const mirror = await ensureDemoMirror();
  const demoKernel = mirror.packages.find((p) => p.name === 'linux-lts')!;
  const results: Record<string, unknown> = {};
  results.resolve = readFileSyncSafe(join(CORPUS, 'APKINDEX.tar.gz')) ? await resolveTiming() : 'skipped: ../shared/corpus is absent';
  const unpack = [
    await unpackTiming(
      'linux-lts (demo mirror: kernel + 49 modules)',
      join(mirror.repoDir, `linux-lts-${demoKernel.version}.apk`),
      { name: demoKernel.name, version: demoKernel.version, size: demoKernel.size, checksum: demoKernel.checksum },
      join(projectRoot(), DEMO_KEYS_DIR),
      5,
    ),
  ];
  // A kernel package of real size: Debian's whole module tree, packaged the same way.
  const work = mkdtempSync(join(fixturesDir(), '.bench-bigkernel-'));
  try {
    const spec = await linuxLtsSpec(await fetchDeb(await kernelPackageName()), work, 'all');
    const built = await buildApk(spec, { signers: [demoSigner()] });
    const apk = join(work, 'linux-lts-all.apk');
    writeFileSync(apk, built.bytes);
    unpack.push(
      await unpackTiming('linux-lts (all of Debian 6.1\'s modules)', apk, { name: built.name, version: built.version, size: built.bytes.length, checksum: built.checksum }, join(projectRoot(), DEMO_KEYS_DIR), 3),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  results.unpack = unpack;
  const path = await writeResult('apk', results);
  console.log(JSON.stringify(results, null, 2));
  console.log(`written to ${path}`);
  return results;
}

function readFileSyncSafe(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch {
    return false;
  }
}
