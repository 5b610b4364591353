// Two CI jobs on one remote cache, through the real `pipeline` command and a real nginx: the first
// builds the demo cold and uploads, the second (an empty local cache, another checkout) builds
// nothing and gets the same ISO; a second variant takes the shared package nodes; poisoned
// entries are refused and rebuilt; a server killed mid-build costs nothing but time; a read-only
// job writes nothing.
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeActionResult, encodeActionResult } from '../../graph/remote/action-result.js';
import { remoteActionKey } from '../../graph/remote/remote-store.js';
import { signEntry, signingKeyFromPem } from '../../graph/remote/signed-entry.js';
import { RecordBook } from '../../graph/records.js';
import { demoProject, serveDemoMirror, type DemoMirrorServer } from '../../fixtures/demo-project.js';
import { startWebdavCache, type WebdavCache } from '../../fixtures/webdav-cache.js';
import { generateKeyPairSync } from 'node:crypto';
import { cli, jsonEvents, spawnCli } from '../engine/helpers.js';

let mirror: DemoMirrorServer;
let server: WebdavCache;
let keyFile: string;
let publicId: string;
let jobs = 0;
let firstJob: Job;

interface Job {
  project: string;
  code: number;
  stderr: string;
  events: Array<Record<string, unknown>>;
  nodes: Array<Record<string, unknown>>;
  remote: Record<string, unknown>;
  warnings: Array<Record<string, unknown>>;
}

/** A fresh checkout of the demo project (the first job's lock committed), its own empty cache. */
async function checkout(): Promise<string> {
  const project = await demoProject(`pipeline-remote-job${jobs++}-`);
  if (firstJob) await copyFile(join(firstJob.project, 'variants/demo.lock.yaml'), join(project, 'variants/demo.lock.yaml'));
  return project;
}

async function job(args: string[], options: { project?: string; env?: NodeJS.ProcessEnv; url?: string } = {}): Promise<Job> {
  const project = options.project ?? (await checkout());
  const run = await cli([...args, '--json', '--mirror', mirror.flag, '--remote-cache', options.url ?? server.url], project, {
    PIPELINE_CACHE_SIGNING_KEY: keyFile,
    ...options.env,
  });
  const events = jsonEvents(run.stdout);
  return {
    project,
    code: run.code,
    stderr: run.stderr,
    events,
    nodes: events.filter((e) => e.event === 'node'),
    remote: events.find((e) => e.event === 'remote') ?? {},
    warnings: events.filter((e) => e.event === 'warning'),
  };
}

const iso = (project: string) => readFile(join(project, 'out/demo/demo.iso'));

beforeAll(async () => {
  mirror = await serveDemoMirror();
  server = await startWebdavCache();
  const keysDir = join(await demoProject('pipeline-remote-keys-'), 'keys');
  const made = await cli(['cache', 'keys', 'init', keysDir, '--json'], process.cwd());
  expect(made.code, made.stderr).toBe(0);
  ({ key: keyFile, public: publicId } = JSON.parse(made.stdout));
  const project = await checkout();
  const lock = await cli(['lock', 'demo', '--mirror', mirror.flag], project);
  expect(lock.code, lock.stderr).toBe(0);
  firstJob = await job(['build', 'demo'], { project });
}, 600_000);

afterAll(async () => {
  await server?.stop();
  await mirror?.server.stop();
});

describe('two CI jobs on one remote cache', () => {
  it('the first job builds cold and uploads every shareable node, signed', async () => {
    expect(firstJob.code, firstJob.stderr).toBe(0);
    expect(firstJob.nodes.every((n) => n.status === 'built')).toBe(true);
    expect(firstJob.remote).toMatchObject({ hits: 0, rejected: 0 });
    expect(firstJob.remote.uploaded).toBe(firstJob.nodes.length);
    expect(firstJob.warnings).toEqual([]);
    // The Secure Boot private key is nowhere on the server.
    const keyLine = (await readFile(join(firstJob.project, 'fixtures/keys/secureboot/db.key'), 'utf8')).split('\n')[1];
    expect(keyLine).toMatch(/^[A-Za-z0-9+/]{64}$/);
    const puts = (await server.accessLog()).filter((l) => l.method === 'PUT');
    expect(puts.length).toBeGreaterThan(2 * firstJob.nodes.length - 10);
    for (const e of puts) expect((await readFile(join(server.storage, e.path.replace(/^\/cache\//, '')))).includes(keyLine)).toBe(false);
  });

  it('the second job builds nothing: every node a verified remote hit, the ISO byte-identical', async () => {
    const second = await job(['build', 'demo']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.nodes.filter((n) => n.status === 'built')).toEqual([]);
    expect(second.nodes.every((n) => n.status === 'cached' && n.remote === true)).toBe(true);
    expect(second.remote).toMatchObject({ hits: second.nodes.length, rejected: 0, uploaded: 0 });
    // Only what the job reads came down (the artifacts' nodes), not the package trees under them.
    expect(second.remote.downloaded).toBeLessThan(second.nodes.length / 3);
    expect(second.remote.bytesDown).toBeLessThan((firstJob.remote.bytesUp as number) / 2);
    expect((await iso(second.project)).equals(await iso(firstJob.project))).toBe(true);
  });

  it('a second variant sharing the packages takes their fetch and unpack nodes from the remote', async () => {
    const project = await checkout();
    const demo = await readFile(join(project, 'variants/demo.yaml'), 'utf8');
    await writeFile(join(project, 'variants/demo2.yaml'), demo.replace(/^name: demo$/m, 'name: demo2'));
    const lock = await cli(['lock', 'demo2', '--mirror', mirror.flag], project);
    expect(lock.code, lock.stderr).toBe(0);
    const other = await job(['build', 'demo2'], { project });
    expect(other.code, other.stderr).toBe(0);
    const packageNodes = other.nodes.filter((n) => /^apk(-fetch)?:/.test(n.id as string));
    expect(packageNodes.length).toBeGreaterThan(10);
    for (const n of packageNodes) expect(n).toMatchObject({ status: 'cached', remote: true });
    expect(other.nodes.filter((n) => n.status === 'built').length).toBeGreaterThan(0);
  });
});

describe('poisoning', () => {
  it('a changed blob and an entry re-signed by an unknown key are refused, reported and rebuilt; the ISO is identical', async () => {
    const records = new RecordBook(join(firstJob.project, 'out/cache/records'));
    const entryOf = async (id: string) => {
      const ac = join(server.storage, 'ac', remoteActionKey((await records.read(id))!.latest.material));
      return { ac, message: decodeActionResult(await readFile(ac)) };
    };
    const squashfs = await entryOf('squashfs:demo');
    const blob = join(server.storage, 'cas', squashfs.message.outputFiles[0].digest.hash);
    const bytes = await readFile(blob);
    bytes[bytes.length >> 1] ^= 0x01;
    await writeFile(blob, bytes);
    const initramfs = await entryOf('initramfs:demo');
    const stranger = signingKeyFromPem(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 'stranger');
    const entry = JSON.parse(initramfs.message.stdoutRaw!.toString()).entry;
    await writeFile(initramfs.ac, encodeActionResult({ ...initramfs.message, stdoutRaw: Buffer.from(JSON.stringify(signEntry(entry, stranger))) }));

    const poisoned = await job(['build', 'demo']);
    expect(poisoned.code, poisoned.stderr).toBe(0);
    const warned = Object.fromEntries(poisoned.warnings.map((w) => [w.id, w.message]));
    expect(Object.keys(warned).sort(), JSON.stringify(poisoned.warnings)).toEqual(['initramfs:demo', 'squashfs:demo']);
    expect(warned['squashfs:demo']).toMatch(/refused/);
    expect(warned['initramfs:demo']).toMatch(/signed by a key this machine does not trust/);
    const status = Object.fromEntries(poisoned.nodes.map((n) => [n.id, n.status]));
    expect(status['squashfs:demo']).toBe('built');
    expect(status['initramfs:demo']).toBe('built');
    expect(poisoned.remote).toMatchObject({ rejected: 2 });
    expect((await iso(poisoned.project)).equals(await iso(firstJob.project))).toBe(true);
    // Not a word of it in the human output either: the job says what it refused.
    expect(poisoned.stderr).not.toContain(keyFile);
  });
});

describe('faults and read-only jobs', () => {
  it('the server killed in the middle of a build: the build still succeeds, with one warning', async () => {
    const doomed = await startWebdavCache();
    try {
      // Fill it first, so the killed job is taking hits when the server dies.
      const fill = await job(['build', 'demo'], { url: doomed.url });
      expect(fill.code, fill.stderr).toBe(0);
      const project = await checkout();
      const child = spawnCli(['build', 'demo', '--json', '--mirror', mirror.flag, '--remote-cache', doomed.url], project, { PIPELINE_CACHE_SIGNING_KEY: keyFile });
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      const events: Array<Record<string, unknown>> = [];
      let killed: Promise<void> | undefined;
      for await (const line of createInterface({ input: child.stdout! })) {
        if (!line.startsWith('{')) continue;
        const e = JSON.parse(line);
        events.push(e);
        if (e.event === 'node' && e.remote === true && !killed) killed = doomed.kill();
      }
      const code = await new Promise<number>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on('exit', (c) => resolve(c ?? -1))));
      await killed;
      expect(code, stderr).toBe(0);
      const warnings = events.filter((e) => e.event === 'warning');
      expect(warnings).toHaveLength(1);
      expect(warnings[0].message).toMatch(/remote cache unavailable/);
      expect(events.filter((e) => e.event === 'node' && e.remote === true).length).toBeGreaterThan(0);
      expect(events.filter((e) => e.event === 'node' && e.status === 'built').length).toBeGreaterThan(0);
      expect((await iso(project)).equals(await iso(firstJob.project))).toBe(true);
    } finally {
      await doomed.stop().catch(() => {});
    }
  });

  it('a read-only job (a pull request) writes nothing to the server', async () => {
    const project = await checkout();
    await writeFile(join(project, 'variants/overlays/demo/etc/motd'), 'a pull request changed this\n');
    const before = (await server.accessLog()).length;
    const pr = await job(['build', 'demo', '--remote-cache-read-only'], { project, env: { PIPELINE_CACHE_SIGNING_KEY: '', PIPELINE_CACHE_TRUSTED_KEYS: publicId } });
    expect(pr.code, pr.stderr).toBe(0);
    expect(pr.nodes.filter((n) => n.status === 'built').length).toBeGreaterThan(0);
    expect(pr.nodes.filter((n) => n.remote === true).length).toBeGreaterThan(10);
    const during = (await server.accessLog()).slice(before);
    expect(during.filter((e) => e.path.includes('/ac/')).length).toBeGreaterThan(10);
    expect(during.filter((e) => e.method !== 'GET' && e.method !== 'HEAD')).toEqual([]);
  });

  it('a remote that is required and dead fails the build with the reason', async () => {
    const project = await checkout();
    const dead = await job(['build', 'demo', '--remote-cache-required'], { project, url: 'http://127.0.0.1:9/cache' });
    expect(dead.code).toBe(1);
    expect(dead.stderr + JSON.stringify(dead.events)).toMatch(/remote cache failed and --remote-cache-required is set/);
    await rm(join(project, 'out'), { recursive: true, force: true });
  });
});
