// The apk-index, apk-fetch and apk-unpack nodes run by the real engine against the demo mirror
// served on 127.0.0.1: built, cached, early cutoff on an unchanged index, and a refused package
// leaves no cache entry.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../graph/build.js';
import type { NodeSpec } from '../../graph/node.js';
import { Session } from '../../graph/session.js';
import { readManifest } from '../../stages/shared/manifest.js';
import { apkIndexNode } from '../../stages/sources/apk/index-file.js';
import { apkFetchNode, apkUnpackNode } from '../../stages/sources/apk/package.js';
import { buildApk } from '../../fixtures/alpine/abuild.js';
import type { IndexPackage } from '../../fixtures/alpine/apkindex-writer.js';
import { DEMO_KEYS_DIR, demoSigner, generateSigner } from '../../fixtures/alpine/signer.js';
import { ensureDemoMirror, type DemoMirror } from '../../fixtures/build-mirror.js';
import { StaticHttpServer } from '../../fixtures/http-server.js';
import { fixturesDir, projectRoot } from '../../fixtures/paths.js';

let mirror: DemoMirror;
let server: StaticHttpServer;
let project: string;
let repoUrl: string;

beforeAll(async () => {
  mirror = await ensureDemoMirror();
  server = await StaticHttpServer.start(mirror.root);
  repoUrl = `${server.url}/v3.23/main/x86_64`;
  project = mkdtempSync(join(fixturesDir(), '.apk-nodes-'));
  mkdirSync(join(project, DEMO_KEYS_DIR), { recursive: true });
  cpSync(join(projectRoot(), DEMO_KEYS_DIR), join(project, DEMO_KEYS_DIR), { recursive: true });
}, 600_000);

afterAll(async () => {
  await server?.stop();
  if (project) rmSync(project, { recursive: true, force: true });
});

function pkg(name: string): IndexPackage {
  return mirror.packages.find((p) => p.name === name)!;
}

function packageNodes(p: Pick<IndexPackage, 'name' | 'version' | 'size' | 'checksum'>, url = repoUrl, maxUnpackedBytes?: number): NodeSpec[] {
  const expected = { name: p.name, version: p.version, size: p.size, checksum: p.checksum };
  const fetch = apkFetchNode({ ...expected, repositoryUrl: url, keysDir: DEMO_KEYS_DIR });
  const limit = maxUnpackedBytes === undefined ? {} : { maxUnpackedBytes };
  return [fetch, apkUnpackNode({ ...expected, fetchNode: fetch.id, keysDir: DEMO_KEYS_DIR, ...limit })];
}

async function withSession<T>(fn: (session: Session) => Promise<T>): Promise<T> {
  const session = await Session.open({ root: project, callerEnv: { PATH: process.env.PATH } });
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

describe('apk nodes through the engine', () => {
  it('index, fetch and unpack build, then come from the cache; the index reruns with early cutoff', async () => {
    const graph = [apkIndexNode({ repository: 'main', url: repoUrl, keysDir: DEMO_KEYS_DIR }), ...packageNodes(pkg('busybox'))];
    await withSession(async (session) => {
      const first = await build(session, graph, { jobs: 2 });
      const failures = [...first.outcomes.values()].filter((o) => o.error).map((o) => `${o.id}: ${o.error?.message}`);
      expect(first.ok, failures.join('\n')).toBe(true);
      const index = first.outcomes.get('apk-index:main')!.path!;
      expect(readFileSync(join(index, 'APKINDEX'), 'utf8')).toContain(`C:${pkg('busybox').checksum}\nP:busybox\n`);
      expect(JSON.parse(readFileSync(join(index, 'signature.json'), 'utf8')).keyName).toMatch(/^pipeline-demo-/);
      const unpacked = first.outcomes.get(`apk:busybox@${pkg('busybox').version}`)!.path!;
      const manifest = await readManifest(join(unpacked, 'manifest.json'));
      expect(manifest.entries.find((e) => e.path === 'bin/sh')).toMatchObject({ type: 'symlink', target: '/bin/busybox' });
      expect(readFileSync(join(unpacked, 'scripts', 'post-install'), 'utf8')).toContain('--install -s');

      const requestsBefore = server.requests.length;
      const second = await build(session, graph, { jobs: 2 });
      expect(Object.fromEntries([...second.outcomes.values()].map((o) => [o.id, o.status]))).toEqual({
        'apk-index:main': 'built',
        [`apk-fetch:busybox@${pkg('busybox').version}`]: 'cached',
        [`apk:busybox@${pkg('busybox').version}`]: 'cached',
      });
      // Only the index was downloaded again.
      expect(server.requests.slice(requestsBefore)).toEqual(['/v3.23/main/x86_64/APKINDEX.tar.gz']);
    });
  }, 120_000);

  it('a package that is not the one the lock names fails its fetch node and leaves no cache entry', async () => {
    // Another mirror serves a different package under the right name and size: the download
    // succeeds, the fetch node's control checksum check refuses it before it can be cached.
    const real = pkg('syslinux');
    const evilDir = mkdtempSync(join(fixturesDir(), '.evil-mirror-'));
    try {
      const bytes = readFileSync(join(mirror.repoDir, `syslinux-${real.version}.apk`));
      const other = await buildApk({
        name: 'syslinux',
        version: real.version,
        description: 'impostor',
        url: 'https://example.invalid',
        license: 'MIT',
        epoch: 1767225600,
        files: [{ path: 'usr/share/syslinux/isolinux.bin', type: 'file', mode: 0o644, content: Buffer.alloc(bytes.length - 2000, 1) }],
      });
      const same = Buffer.alloc(bytes.length);
      other.bytes.copy(same, 0, 0, Math.min(other.bytes.length, same.length));
      mkdirSync(join(evilDir, 'repo'));
      writeFileSync(join(evilDir, 'repo', `syslinux-${real.version}.apk`), same);
      const evilServer = await StaticHttpServer.start(evilDir);
      try {
        const graph = packageNodes(real, `${evilServer.url}/repo`);
        await withSession(async (session) => {
          for (let attempt = 0; attempt < 2; attempt++) {
            const result = await build(session, graph, { jobs: 2 });
            const fetch = result.outcomes.get(`apk-fetch:syslinux@${real.version}`)!;
            expect(result.ok).toBe(false);
            expect(fetch.status).toBe('failed');
            expect(fetch.path).toBeUndefined();
            expect(fetch.error!.message).toMatch(/syslinux-6\.04_git20190206-r3: control checksum .* differs from the index's/);
            expect(result.outcomes.get(`apk:syslinux@${real.version}`)!.status).toBe('skipped');
          }
        });
      } finally {
        await evilServer.stop();
      }
    } finally {
      rmSync(evilDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('a package shorter than the lock declares fails its fetch node at once, naming the package first (HTTP and file mirrors)', async () => {
    const p = pkg('syslinux');
    const path = `/v3.23/main/x86_64/syslinux-${p.version}.apk`;
    const declared = { ...p, size: p.size + 100 };
    for (const url of [repoUrl, pathToFileURL(mirror.repoDir).toString()]) {
      const requestsBefore = server.requests.length;
      await withSession(async (session) => {
        const started = performance.now();
        const result = await build(session, packageNodes(declared, url), { jobs: 2 });
        const fetch = result.outcomes.get(`apk-fetch:syslinux@${p.version}`)!;
        expect(fetch.status).toBe('failed');
        expect(fetch.error!.message).toContain(`syslinux-${p.version}: ${url}/syslinux-${p.version}.apk: got ${p.size} bytes, the index declares ${p.size + 100}`);
        expect(fetch.error!.message).not.toContain('attempts');
        // An integrity failure is final: no backoff (the first retry would wait 500 ms).
        expect(performance.now() - started).toBeLessThan(2000);
      });
      const fetched = server.requests.slice(requestsBefore).filter((r) => r === path);
      expect(fetched).toHaveLength(url === repoUrl ? 1 : 0);
    }
  }, 120_000);

  it('a decompression bomb fails its unpack node, naming the package: nothing of it is cached or left behind', async () => {
    const bombDir = mkdtempSync(join(fixturesDir(), '.bomb-mirror-'));
    try {
      const bomb = await buildApk(
        {
          name: 'bomb',
          version: '1-r0',
          description: 'declares 1 KiB, unpacks 64 MiB',
          url: 'https://example.invalid',
          license: 'MIT',
          epoch: 1767225600,
          files: [{ path: 'zeros', type: 'file', mode: 0o644, content: Buffer.alloc(64 << 20) }],
        },
        { editPkgInfo: (text) => text.replace(/^size = \d+$/m, 'size = 1024') },
      );
      writeFileSync(join(bombDir, bomb.fileName), bomb.bytes);
      const graph = packageNodes({ name: 'bomb', version: '1-r0', size: bomb.bytes.length, checksum: bomb.checksum }, pathToFileURL(bombDir).toString());
      await withSession(async (session) => {
        const result = await build(session, graph, { jobs: 2 });
        // The download is what the index lists, signed: the fetch node keeps it.
        expect(result.outcomes.get('apk-fetch:bomb@1-r0')!.status).toBe('built');
        const unpack = result.outcomes.get('apk:bomb@1-r0')!;
        expect(unpack.status).toBe('failed');
        expect(unpack.path).toBeUndefined();
        expect(unpack.error!.message).toMatch(/bomb-1-r0: the data member unpacks to more than \d+ bytes, past what its declared installed size of 1024 bytes allows/);
        // The engine discarded the work area; nothing else was written.
        expect(readdirSync(join(session.cacheDir, 'tmp'))).toEqual([]);
      });
    } finally {
      rmSync(bombDir, { recursive: true, force: true });
    }
  }, 120_000);

  it("the variant's ceiling reaches the unpack node and its key", async () => {
    const p = pkg('linux-lts');
    const [, lowered] = packageNodes(p, repoUrl, 8 << 20);
    const [, standard] = packageNodes(p);
    expect((lowered!.params as { maxUnpackedBytes: number }).maxUnpackedBytes).toBe(8 << 20);
    expect((standard!.params as { maxUnpackedBytes: number }).maxUnpackedBytes).toBe(2 * 1024 ** 3);
    await withSession(async (session) => {
      const result = await build(session, packageNodes(p, repoUrl, 8 << 20), { jobs: 2 });
      const unpack = result.outcomes.get(`apk:linux-lts@${p.version}`)!;
      expect(unpack.status).toBe('failed');
      expect(unpack.error!.message).toMatch(
        /linux-lts-6\.1\.192-r3: \.PKGINFO declares an installed size of \d+ bytes, more than the 8388608 bytes a package may unpack to \(alpine\.max_unpacked_size in the variant\)/,
      );
    });
  }, 120_000);

  it('trust errors name the keys directory relative to the project root, never the machine path', async () => {
    mkdirSync(join(project, 'variants/keys/empty'), { recursive: true });
    const strangerDir = mkdtempSync(join(fixturesDir(), '.stranger-mirror-'));
    try {
      const signed = await buildApk(
        { name: 'stranger', version: '1-r0', description: 'signed by an unknown key', url: 'https://example.invalid', license: 'MIT', epoch: 1767225600, files: [] },
        { signers: [generateSigner('mallory-00000000.rsa.pub').signer] },
      );
      writeFileSync(join(strangerDir, signed.fileName), signed.bytes);
      const graph = [
        apkIndexNode({ repository: 'main', url: repoUrl, keysDir: 'variants/keys/empty' }),
        ...packageNodes({ name: 'stranger', version: '1-r0', size: signed.bytes.length, checksum: signed.checksum }, pathToFileURL(strangerDir).toString()),
      ];
      await withSession(async (session) => {
        const result = await build(session, graph, { jobs: 2, keepGoing: true });
        const index = result.outcomes.get('apk-index:main')!.error!.message;
        expect(index).toContain("no *.rsa.pub keys in variants/keys/empty: put the repository's public keys there");
        const fetch = result.outcomes.get('apk-fetch:stranger@1-r0')!.error!.message;
        expect(fetch).toContain(`is signed by mallory-00000000.rsa.pub, which is not among the trusted keys (${demoSigner().keyName} from ${DEMO_KEYS_DIR})`);
        for (const message of [index, fetch]) expect(message).not.toContain(project);
      });
    } finally {
      rmSync(strangerDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('a mirror that sends more than the declared size fails the fetch node', async () => {
    const p = pkg('systemd-efistub');
    server.setFault(`/v3.23/main/x86_64/systemd-efistub-${p.version}.apk`, { kind: 'append', bytes: Buffer.alloc(10, 1) });
    try {
      await withSession(async (session) => {
        const result = await build(session, packageNodes(p), { jobs: 2 });
        const fetch = result.outcomes.get(`apk-fetch:systemd-efistub@${p.version}`)!;
        expect(fetch.status).toBe('failed');
        expect(fetch.error!.message).toMatch(/more data than the declared \d+ bytes/);
        expect(result.outcomes.get(`apk:systemd-efistub@${p.version}`)!.status).toBe('skipped');
      });
    } finally {
      server.clearFaults();
    }
  }, 120_000);
});
