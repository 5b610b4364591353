// Remote cache benchmark (issue 13): the demo built from an empty local cache with a warm remote
// (a real nginx WebDAV server on 127.0.0.1), against a cold build with no remote. Medians of whole
// `pipeline build` processes; bytes moved and requests from the build's `remote` event; the
// engine's overhead per remote hit is the warm build's time beyond a no-op build, per hit, with the
// time spent waiting on requests split out.
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureDemoMirror } from '../fixtures/build-mirror.js';
import { demoProject } from '../fixtures/demo-project.js';
import { projectRoot } from '../fixtures/paths.js';
import { startWebdavCache } from '../fixtures/webdav-cache.js';
import { build } from '../graph/build.js';
import type { NodeSpec } from '../graph/node.js';
import { RemoteStore } from '../graph/remote/remote-store.js';
import { parsePublicId, signingKeyFromPem } from '../graph/remote/signed-entry.js';
import { Session } from '../graph/session.js';
import { median, round, writeResult } from './stats.js';

const run = promisify(execFile);
const PIPELINE = join(projectRoot(), 'bin', 'pipeline.js');

interface Timed {
  ms: number;
  remote?: { hits: number; uploaded: number; bytesDown: number; bytesUp: number; requestMs: number };
  built: number;
}

async function timedBuild(project: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Timed> {
  const started = performance.now();
  const { stdout } = await run(process.execPath, [PIPELINE, 'build', 'demo', '--json', ...args], { cwd: project, env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  const ms = performance.now() - started;
  const events = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  return { ms, remote: events.find((e) => e.event === 'remote'), built: events.filter((e) => e.event === 'node' && e.status === 'built').length };
}

export async function benchRemote(repeats = 3): Promise<object> {
  const mirror = await ensureDemoMirror();
  const project = await demoProject('pipeline-bench-remote-');
  const server = await startWebdavCache();
  try {
    const flag = ['--mirror', `demo=${mirror.root}`];
    await run(process.execPath, [PIPELINE, 'lock', 'demo', ...flag], { cwd: project });
    const keyFile = join(project, 'cache-signing.pem');
    await writeFile(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const env = { PIPELINE_CACHE_SIGNING_KEY: keyFile };
    const fresh = () => rm(join(project, 'out'), { recursive: true, force: true });

    const cold: number[] = [];
    for (let r = 0; r < repeats; r++) {
      await fresh();
      cold.push((await timedBuild(project, flag)).ms);
    }
    const noop: number[] = [];
    for (let r = 0; r < repeats; r++) noop.push((await timedBuild(project, flag)).ms);

    await fresh();
    const upload = await timedBuild(project, [...flag, '--remote-cache', server.url], env);

    const warm: Timed[] = [];
    for (let r = 0; r < repeats; r++) {
      await fresh();
      warm.push(await timedBuild(project, [...flag, '--remote-cache', server.url, '--remote-cache-read-only'], env));
    }
    const warmMs = median(warm.map((w) => w.ms));
    const hits = median(warm.map((w) => w.remote?.hits ?? 0));
    const perHit = (warmMs - median(noop)) / Math.max(1, hits);
    const engine = await enginePerHit(project, server.url, repeats);
    const result = {
      repeats,
      coldBuildMs: round(median(cold)),
      noopBuildMs: round(median(noop)),
      coldBuildUploadingMs: round(upload.ms),
      uploaded: upload.remote?.uploaded,
      bytesUp: upload.remote?.bytesUp,
      warmRemoteBuildMs: round(warmMs),
      warmRemoteNodesBuilt: median(warm.map((w) => w.built)),
      remoteHits: hits,
      bytesDown: median(warm.map((w) => w.remote?.bytesDown ?? 0)),
      // Everything a job needs locally (artifacts) comes down; other hits stay on the server.
      ratioWarmRemoteToCold: round(warmMs / median(cold), 3),
      remoteDownloaded: median(warm.map((w) => (w.remote as { downloaded?: number } | undefined)?.downloaded ?? 0)),
      perRemoteHitMs: round(perHit),
      enginePerRemoteHit: engine,
      server: 'nginx (Debian 12) WebDAV on 127.0.0.1',
      targets: { ratioWarmRemoteToCold: '<= 0.25' },
    };
    const path = await writeResult('remote', result);
    console.log(JSON.stringify(result, null, 2));
    console.log(`written to ${path}`);
    return result;
  } finally {
    await server.stop();
    await rm(project, { recursive: true, force: true });
  }
}

/**
 * The engine's own cost per remote hit, in process: a chain-free graph of small nodes uploaded
 * once, then built from an empty local cache against the warm remote (an entry request and an
 * Ed25519 verification per node, outputs left on the server), and again with every output
 * brought down (archive request, sha256, tar, tree digest, local publish).
 */
async function enginePerHit(project: string, url: string, repeats: number): Promise<object> {
  const count = 300;
  const nodes: NodeSpec[] = Array.from({ length: count }, (_, i) => ({
    id: `leaf-${i}`,
    kind: 'bench-leaf',
    version: 1,
    params: { i },
    async run(ctx) {
      await writeFile(join(ctx.out, 'value'), `leaf ${i}\n`);
    },
  }));
  const key = signingKeyFromPem(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 'bench key');
  const settings = { url, readOnly: false, required: false, signingKey: key, trusted: new Map([[key.publicId, parsePublicId(key.publicId)]]), secrets: [] };
  let runs = 0;
  const timed = async (keepLocal: string[] | undefined, readOnly: boolean) => {
    const session = await Session.open({ root: project, cacheDir: join(project, `engine-cache-${runs++}`), store: (local) => new RemoteStore(local, { ...settings, readOnly }) });
    const started = performance.now();
    await build(session, nodes, { keepLocal });
    const ms = performance.now() - started;
    await session.close();
    return ms;
  };
  await timed(undefined, false); // fill the remote
  const lazy: number[] = [];
  const eager: number[] = [];
  for (let r = 0; r < repeats; r++) {
    lazy.push(await timed([], true));
    eager.push(await timed(undefined, true));
  }
  return { nodes: count, entryOnlyMs: round2(median(lazy) / count), withDownloadMs: round2(median(eager) / count) };
}

const round2 = (n: number) => Math.round(n * 100) / 100;
