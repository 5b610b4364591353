// The remote store over a real nginx (WebDAV, Bazel's HTTP cache protocol), with a small graph of
// shell nodes: two machines sharing one remote, verification of every entry, poisoning, faults
// of the server (dead, erroring, hanging, cutting bodies short), read-only clients, and what must
// never leave the machine.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../graph/build.js';
import type { BuildEvent } from '../../graph/events.js';
import type { NodeSpec } from '../../graph/node.js';
import { decodeActionResult, encodeActionResult } from '../../graph/remote/action-result.js';
import { RemoteStore, remoteActionKey, type RemoteCacheSettings } from '../../graph/remote/remote-store.js';
import { parsePublicId, signEntry, signingKeyFromPem, type SigningKey } from '../../graph/remote/signed-entry.js';
import { Session } from '../../graph/session.js';
import { FaultProxy } from '../../fixtures/fault-proxy.js';
import { deadUrl } from '../../fixtures/http-server.js';
import { startWebdavCache, type WebdavCache } from '../../fixtures/webdav-cache.js';
import { shNode, tempProject } from '../engine/helpers.js';

const newKey = (): SigningKey => signingKeyFromPem(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 'test key');
const signer = newKey();
const SECRET_PEM = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

let server: WebdavCache;
let project: string;
let machines = 0;

function graph(): NodeSpec[] {
  return [
    shNode('tree', 'mkdir -p $OUT/sub/empty && printf "one\\n" > $OUT/sub/a && printf "#!/bin/sh\\n" > $OUT/run && chmod 755 $OUT/run && chmod 600 $OUT/sub/a && ln -s sub/a $OUT/link'),
    shNode('big', 'yes pipeline-remote-cache | head -c 3000000 > $OUT/blob'),
    shNode('sum', 'cat $D_tree/sub/a $D_big/blob | sha256sum > $OUT/sum', { deps: { tree: 'tree', big: 'big' } }),
    shNode('private', 'printf "machine-specific\\n" > $OUT/id', { localOnly: true }),
    // A node that (wrongly) copies the secret file it reads into its output.
    shNode('leaky', 'cp "$ROOT/secret.pem" $OUT/copy', { secrets: { key: '' }, secretFiles: ['key'], params: { leak: true } }),
    shNode('final', 'cat $D_sum/sum > $OUT/final', { deps: { sum: 'sum' } }),
  ];
}

/** A machine: its own empty local cache, the given remote settings. */
async function machine(settings: Partial<RemoteCacheSettings> & { url: string }, options: { nodes?: NodeSpec[]; keepLocal?: string[] } = {}) {
  const cacheDir = join(project, `machine-${machines++}`);
  const remote = {
    readOnly: false,
    required: false,
    timeoutMs: 5000,
    concurrency: 4,
    retries: 1,
    backoffMs: 20,
    signingKey: signer,
    trusted: new Map([[signer.publicId, parsePublicId(signer.publicId)]]),
    secrets: [],
    ...settings,
  } satisfies RemoteCacheSettings;
  const session = await Session.open({ root: project, cacheDir, store: (local) => new RemoteStore(local, remote) });
  const events: BuildEvent[] = [];
  const nodes = (options.nodes ?? graph()).map((n) => (n.secretFiles ? { ...n, secrets: { key: join(project, 'secret.pem') } } : n));
  const result = await build(session, nodes, { jobs: 2, onEvent: (e) => events.push(e), keepLocal: options.keepLocal });
  await session.close();
  // A lazily taken remote hit that had to be built after all has two node events: the last one counts.
  const node = (id: string) => events.findLast((e) => e.event === 'node' && e.id === id) as Extract<BuildEvent, { event: 'node' }>;
  const warnings = events.filter((e): e is Extract<BuildEvent, { event: 'warning' }> => e.event === 'warning');
  const remoteEvent = events.find((e): e is Extract<BuildEvent, { event: 'remote' }> => e.event === 'remote');
  return { session, result, events, node, warnings, remote: remoteEvent!, cacheDir };
}

const outputs = (m: Awaited<ReturnType<typeof machine>>) => Object.fromEntries([...m.result.outcomes].map(([id, o]) => [id, o.output]));

/** Where a node's entry and archive are on the server, from the machine's build record. */
async function serverFiles(m: Awaited<ReturnType<typeof machine>>, id: string) {
  const record = await m.session.records.read(id);
  const ac = join(server.storage, 'ac', remoteActionKey(record!.latest.material));
  const message = decodeActionResult(await readFile(ac));
  return { ac, cas: join(server.storage, 'cas', message.outputFiles[0].digest.hash), message };
}

let first: Awaited<ReturnType<typeof machine>>;

beforeAll(async () => {
  project = await tempProject({ 'secret.pem': SECRET_PEM });
  server = await startWebdavCache();
  first = await machine({ url: server.url });
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe('a remote cache shared by two machines', () => {
  it('the first machine builds everything and uploads what may leave it, blob before entry', async () => {
    expect(first.result.ok).toBe(true);
    expect(Object.values(Object.fromEntries([...first.result.outcomes].map(([id, o]) => [id, o.status])))).toEqual(Array(6).fill('built'));
    expect(first.remote).toMatchObject({ url: server.url, hits: 0, uploaded: 4, rejected: 0 });
    expect(first.warnings.map((w) => [w.id, w.message])).toEqual([['leaky', expect.stringMatching(/not uploaded: the output holds the secret file secret.pem/)]]);
    const log = await server.accessLog();
    const puts = log.filter((e) => e.method === 'PUT');
    expect(puts).toHaveLength(8);
    // Each entry goes up after its archive.
    for (const id of ['tree', 'big', 'sum', 'final']) {
      const { ac, cas } = await serverFiles(first, id);
      const acAt = log.findIndex((e) => e.method === 'PUT' && e.path.endsWith(ac.split('/').pop()!));
      const casAt = log.findIndex((e) => e.method === 'PUT' && e.path.endsWith(cas.split('/').pop()!));
      expect(casAt).toBeGreaterThanOrEqual(0);
      expect(casAt).toBeLessThan(acAt);
    }
    // Nothing on the server holds the secret's bytes.
    const body = SECRET_PEM.split('\n')[1];
    for (const e of puts) expect((await readFile(join(server.storage, e.path.replace(/^\/cache\//, '')))).includes(body)).toBe(false);
  });

  it('the second machine takes every shareable node from the remote, verified, with the same outputs', async () => {
    const second = await machine({ url: server.url });
    expect(second.result.ok).toBe(true);
    for (const id of ['tree', 'big', 'sum', 'final']) expect(second.node(id)).toMatchObject({ status: 'cached', remote: true });
    // What stays local is built here.
    expect(second.node('private').status).toBe('built');
    expect(second.node('leaky').status).toBe('built');
    expect(outputs(second)).toEqual(outputs(first));
    expect(second.remote).toMatchObject({ hits: 4, rejected: 0 });
    expect(second.remote.bytesDown).toBeGreaterThan(3_000_000);
    // Modes, symlinks and empty directories came through (the tree digest says so; spot-check).
    const tree = second.result.outcomes.get('tree')!.path!;
    expect((await import('node:fs')).statSync(join(tree, 'run')).mode & 0o777).toBe(0o755);
    expect((await import('node:fs')).readlinkSync(join(tree, 'link'))).toBe('sub/a');
  });

  it('a read-only machine writes nothing, even for what it had to build', async () => {
    const before = (await server.accessLog()).filter((e) => e.method === 'PUT').length;
    const third = await machine({ url: server.url, readOnly: true });
    expect(third.result.ok).toBe(true);
    expect(third.remote.uploaded).toBe(0);
    expect((await server.accessLog()).filter((e) => e.method === 'PUT').length).toBe(before);
  });
});

describe('outputs stay on the server until something here needs them', () => {
  it('only the outputs asked for are downloaded; the rest are known by their signed digests', async () => {
    const m = await machine({ url: server.url }, { keepLocal: ['final'] });
    expect(m.result.ok).toBe(true);
    for (const id of ['tree', 'big', 'sum', 'final']) expect(m.node(id)).toMatchObject({ status: 'cached', remote: true });
    expect(m.remote).toMatchObject({ hits: 4, downloaded: 1 });
    expect(m.remote.bytesDown).toBeLessThan(100_000);
    expect(m.result.outcomes.get('final')!.path).toBeTruthy();
    expect(m.result.outcomes.get('big')!.path).toBeUndefined();
    expect(outputs(m)).toEqual(outputs(first));
  });

  it('a node that runs here brings its dependencies\' outputs over first', async () => {
    const nodes = [...graph(), shNode('extra', 'wc -c < $D_big/blob > $OUT/n', { deps: { big: 'big' } })];
    const m = await machine({ url: server.url }, { nodes, keepLocal: ['extra'] });
    expect(m.result.ok).toBe(true);
    expect(m.node('extra').status).toBe('built');
    expect(m.remote).toMatchObject({ downloaded: 1 });
    expect(await readFile(join(m.result.outcomes.get('extra')!.path!, 'n'), 'utf8')).toBe('3000000\n');
  });

  it('a node that is not reproducible, built here after its remote copy was refused, fails its dependent with the reason', async () => {
    const nodes = [shNode('random', 'head -c 64 /dev/urandom > $OUT/r'), shNode('user', 'cat $D_random/r > $OUT/u', { deps: { random: 'random' } })];
    const writer = await machine({ url: server.url }, { nodes });
    expect(writer.remote.uploaded).toBe(2);
    const random = await serverFiles(writer, 'random');
    await writeFile(random.cas, Buffer.alloc(64, 1));
    const user = await serverFiles(writer, 'user');
    await writeFile(user.ac, 'not an entry');
    const m = await machine({ url: server.url, readOnly: true }, { nodes, keepLocal: ['user'] });
    expect(m.result.ok).toBe(false);
    expect(m.warnings.map((w) => w.id)).toEqual(expect.arrayContaining(['random', 'user']));
    expect(m.node('user').status).toBe('failed');
    expect(m.node('user').error).toMatch(/random was built here because its remote copy could not be used, and its output .* differs from the remote entry's/);
  });
});

describe('poisoned entries are refused, reported and built locally', () => {
  it('a changed blob, an entry signed by an unknown key and an unsigned entry', async () => {
    const big = await serverFiles(first, 'big');
    const bytes = await readFile(big.cas);
    bytes[100] ^= 0xff;
    await writeFile(big.cas, bytes);

    const sum = await serverFiles(first, 'sum');
    const signed = JSON.parse(sum.message.stdoutRaw!.toString());
    await writeFile(sum.ac, encodeActionResult({ ...sum.message, stdoutRaw: Buffer.from(JSON.stringify(signEntry(signed.entry, newKey()))) }));

    const final = await serverFiles(first, 'final');
    await writeFile(final.ac, encodeActionResult({ ...final.message, stdoutRaw: Buffer.from(JSON.stringify({ entry: signed.entry })) }));

    const m = await machine({ url: server.url });
    expect(m.result.ok).toBe(true);
    const refused = Object.fromEntries(m.warnings.filter((w) => w.id !== 'leaky').map((w) => [w.id, w.message]));
    expect(refused.big).toMatch(/refused.*(sha256|digest)/);
    expect(refused.sum).toMatch(/refused.*signed by a key this machine does not trust/);
    expect(refused.final).toMatch(/refused.*(unsigned|not a pipeline cache entry)/);
    for (const id of ['big', 'sum', 'final']) expect(m.node(id).status).toBe('built');
    expect(m.node('tree')).toMatchObject({ status: 'cached', remote: true });
    // Rebuilt here, same bytes; nothing corrupt reached the local store.
    expect(outputs(m)).toEqual(outputs(first));
    expect(m.remote).toMatchObject({ rejected: 3 });
    // The writer repaired the server: the blob has its name's bytes again, the entries are signed by a trusted key.
    expect(createHash('sha256').update(await readFile(big.cas)).digest('hex')).toBe(big.cas.split('/').pop());
    const again = await machine({ url: server.url });
    expect(again.warnings.filter((w) => w.id !== 'leaky')).toEqual([]);
    for (const id of ['big', 'sum', 'final']) expect(again.node(id)).toMatchObject({ status: 'cached', remote: true });
  });
});

describe('server faults degrade to local building with one warning', () => {
  it('a dead server', async () => {
    const m = await machine({ url: `${await deadUrl()}/cache` });
    expect(m.result.ok).toBe(true);
    expect(m.warnings.filter((w) => w.id !== 'leaky')).toHaveLength(1);
    expect(m.warnings[0].message).toMatch(/remote cache unavailable .*building locally/);
    expect(m.remote.unavailable).toBeTruthy();
  });

  for (const [what, action] of [
    ['answers 500 to everything', { status: 500 }],
    ['drops every connection', 'reset'],
    ['hangs', 'hang'],
  ] as const) {
    it(`a server that ${what}`, async () => {
      const proxy = await FaultProxy.start(server.url);
      try {
        proxy.setRules([{ action }]);
        const m = await machine({ url: proxy.url, timeoutMs: 400 });
        expect(m.result.ok).toBe(true);
        const general = m.warnings.filter((w) => !w.id);
        expect(general).toHaveLength(1);
        expect(m.remote.unavailable).toBeTruthy();
        for (const id of ['tree', 'big', 'sum', 'final']) expect(m.node(id).status).toBe('built');
        expect(outputs(m)).toEqual(outputs(first));
      } finally {
        await proxy.stop();
      }
    });
  }

  it('a body cut short once is retried; cut short every time, the remote is given up with one warning', async () => {
    const proxy = await FaultProxy.start(server.url);
    try {
      const big = new RegExp((await serverFiles(first, 'big')).cas.split('/').pop()!);
      proxy.setRules([{ method: /GET/, path: big, action: 'truncate', times: 1 }]);
      const once = await machine({ url: proxy.url });
      expect(once.warnings.filter((w) => w.id !== 'leaky')).toEqual([]);
      for (const id of ['tree', 'big', 'sum', 'final']) expect(once.node(id)).toMatchObject({ status: 'cached', remote: true });

      proxy.setRules([{ method: /GET/, path: big, action: 'truncate' }]);
      const always = await machine({ url: proxy.url });
      expect(always.result.ok).toBe(true);
      expect(always.node('big').status).toBe('built');
      expect(always.warnings.filter((w) => w.id !== 'leaky').map((w) => w.message)).toEqual([expect.stringMatching(/remote cache unavailable \(GET .* the body ended early/)]);
      expect(outputs(always)).toEqual(outputs(first));
    } finally {
      await proxy.stop();
    }
  });

  it('with required set, a fault fails the build and says why', async () => {
    const m = await machine({ url: `${await deadUrl()}/cache`, required: true });
    expect(m.result.ok).toBe(false);
    const failed = [...m.result.outcomes.values()].find((o) => o.status === 'failed');
    expect(failed?.error?.message).toMatch(/remote cache failed and --remote-cache-required is set/);
  });
});
