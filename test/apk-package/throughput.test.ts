// unpackApk (verify + stream + hash + write) against `tar -xzf` of the same data member, in one
// run on the demo kernel package. Both must produce the same files; the timing is printed and
// not asserted here: the figures and the 1.5x target live in the benchmark (npm run bench -- apk).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { locateApkMembers, unpackApk } from '../../stages/sources/apk/package.js';
import { loadTrustedKeys } from '../../stages/sources/apk/trust.js';
import { DEMO_KEYS_DIR } from '../../fixtures/alpine/signer.js';
import { ensureDemoMirror, type DemoMirror } from '../../fixtures/build-mirror.js';
import { fixturesDir, projectRoot } from '../../fixtures/paths.js';

let mirror: DemoMirror;
let work: string;

beforeAll(async () => {
  mirror = await ensureDemoMirror();
  work = mkdtempSync(join(fixturesDir(), '.throughput-'));
}, 600_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('unpack throughput', () => {
  it('linux-lts: unpackApk writes the same files as tar -xzf of its data member', async () => {
    const p = mirror.packages.find((x) => x.name === 'linux-lts')!;
    const apk = join(mirror.repoDir, `${p.name}-${p.version}.apk`);
    const keys = await loadTrustedKeys(join(projectRoot(), DEMO_KEYS_DIR));
    const { data } = await locateApkMembers(apk);
    const dataGz = join(work, 'data.tar.gz');
    writeFileSync(dataGz, readFileSync(apk).subarray(...data));

    const ours: number[] = [];
    const tar: number[] = [];
    let bytes = 0;
    for (let round = 0; round < 3; round++) {
      const a = join(work, `ours-${round}`);
      mkdirSync(a);
      let start = performance.now();
      const result = await unpackApk({
        apkPath: apk,
        expected: { name: p.name, version: p.version, size: p.size, checksum: p.checksum },
        keys,
        outDir: a,
      });
      ours.push(performance.now() - start);
      bytes = result.stats.bytes;
      const b = join(work, `tar-${round}`);
      mkdirSync(b);
      start = performance.now();
      execFileSync('tar', ['--warning=no-unknown-keyword', '-xzf', dataGz, '-C', b]);
      tar.push(performance.now() - start);
    }
    // Same tree: every file's content digest, compared with the GNU tar extraction.
    const list = (dir: string) =>
      execFileSync('sh', ['-c', 'find . -type f -exec sha256sum {} + | sort -k2'], { cwd: dir, encoding: 'utf8' });
    expect(list(join(work, 'ours-0', 'root'))).toBe(list(join(work, 'tar-0')));

    const best = (xs: number[]) => Math.min(...xs);
    const ratio = best(ours) / best(tar);
    console.log(
      `linux-lts ${(bytes / 1e6).toFixed(1)} MB: unpackApk best ${best(ours).toFixed(0)} ms ` +
        `(${(bytes / 1e3 / best(ours)).toFixed(0)} MB/s), tar -xzf best ${best(tar).toFixed(0)} ms, ratio ${ratio.toFixed(2)} ` +
        `[runs: ours ${ours.map((x) => x.toFixed(0)).join('/')}, tar ${tar.map((x) => x.toFixed(0)).join('/')}]`,
    );
  }, 300_000);
});
