// Signed repositories served over HTTP on 127.0.0.1: repomd.xml.asc made by gpg (RSA and Ed25519
// keys in a throwaway GNUPGHOME) is checked before anything else is read, so a changed repomd.xml
// or a signature by an untrusted key stops the fetch before primary.xml is requested. Then the
// rpm-repodata node through the real engine: built, its output loadable, and its key the same
// whichever mirror serves the repository.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../graph/build.js';
import { Session } from '../../graph/session.js';
import { loadKeyringFiles, PgpError, type PgpKeyring } from '../../formats/openpgp/index.js';
import { StaticHttpServer } from '../../fixtures/http-server.js';
import { fetchRepodata, loadRpmRepodata, rpmRepodataNode, RPM_REPODATA_STAGE } from '../../stages/sources/rpm/repodata/index-node.js';
import { buildTinyRpms, copyRepo, createrepo, repomdLocation, TestSigner } from './repo-builder.js';

function scratch(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

let root: string;
let server: StaticHttpServer;
let rsa: TestSigner;
let ed25519: TestSigner;
const keyFiles: Record<'rsa' | 'ed25519', string> = { rsa: '', ed25519: '' };
const keyrings: Partial<Record<'rsa' | 'ed25519', PgpKeyring>> = {};

/** A copy of the built repository under the served root, signed by `signer` (if any). */
function servedRepo(name: string, signer?: TestSigner, edit?: (repomd: string) => string): string {
  const dir = copyRepo(join(root, 'base'), join(root, name));
  if (signer) signer.sign(join(dir, 'repodata', 'repomd.xml'));
  if (edit) {
    const path = join(dir, 'repodata', 'repomd.xml');
    writeFileSync(path, edit(readFileSync(path, 'utf8')));
  }
  return `${server.url}/${name}`;
}

async function fetchWith(url: string, keyring: PgpKeyring, allowUnsigned = false) {
  return fetchRepodata({ repository: 'test', url, keyring, allowUnsigned, out: scratch('out-'), tmp: scratch('tmp-') });
}

beforeAll(async () => {
  root = scratch('served-');
  const base = join(root, 'base');
  mkdirSync(base);
  buildTinyRpms(base);
  createrepo(base, 'gz');
  rsa = TestSigner.create('rsa', 'repo-rsa');
  ed25519 = TestSigner.create('ed25519', 'repo-ed25519');
  for (const [kind, signer] of [['rsa', rsa], ['ed25519', ed25519]] as const) {
    keyFiles[kind] = join(root, `${kind}.asc`);
    writeFileSync(keyFiles[kind], signer.publicKey());
    keyrings[kind] = await loadKeyringFiles([keyFiles[kind]]);
  }
  server = await StaticHttpServer.start(root);
}, 180_000);

afterAll(async () => {
  await server?.stop();
  rsa?.close();
  ed25519?.close();
});

describe('repomd.xml.asc', () => {
  it.each(['rsa', 'ed25519'] as const)('a good %s signature passes and names its key', async (kind) => {
    const signer = kind === 'rsa' ? rsa : ed25519;
    const facts = await fetchWith(servedRepo(`good-${kind}`, signer), keyrings[kind]!);
    expect(facts.signature).toMatchObject({ fingerprint: signer.fingerprint, primary: signer.fingerprint, userIds: [`repo-${kind} <repo-${kind}@test.invalid>`] });
    expect(facts.packages).toBeGreaterThanOrEqual(2);
  });

  it('a repomd.xml changed after signing is refused before primary.xml is requested', async () => {
    const url = servedRepo('changed', rsa, (text) => text.replace(/<revision>\d+<\/revision>/, '<revision>1</revision>'));
    const before = server.requests.length;
    const err = await fetchWith(url, keyrings.rsa!).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgpError);
    expect((err as PgpError).reason).toBe('bad-signature');
    expect((err as Error).message).toContain('/changed/repodata/repomd.xml.asc');
    expect(server.requests.slice(before)).toEqual(['/changed/repodata/repomd.xml', '/changed/repodata/repomd.xml.asc']);
  });

  it('a signature by a key that is not trusted is refused before primary.xml is requested', async () => {
    const url = servedRepo('wrong-key', ed25519);
    const before = server.requests.length;
    const err = await fetchWith(url, keyrings.rsa!).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgpError);
    expect((err as PgpError).reason).toBe('unknown-key');
    expect(server.requests.slice(before).some((path) => path.includes('primary'))).toBe(false);
  });

  it('allowing unsigned metadata does not excuse a bad signature', async () => {
    const url = servedRepo('bad-but-allowed', rsa, (text) => text.replace('<revision>', '<revision>9'));
    await expect(fetchWith(url, keyrings.rsa!, true)).rejects.toThrow(PgpError);
  });

  it('a signed repository whose primary.xml.gz was cut short on the mirror: a clear error', async () => {
    const url = servedRepo('cut', rsa);
    server.setFault(`/cut/${repomdLocation(join(root, 'cut'), 'primary')}`, { kind: 'truncate', afterBytes: 200 });
    try {
      const err = (await fetchRepodata({ repository: 'test', url, keyring: keyrings.rsa!, out: scratch('out-'), tmp: scratch('tmp-') }).catch((e: unknown) => e)) as Error;
      expect(err.message).toMatch(/^test [0-9a-f]{64}-primary\.xml\.gz: http:\/\/127\.0\.0\.1:\d+\/cut\/repodata\/.*-primary\.xml\.gz: .* \(after 4 attempts\)$/);
    } finally {
      server.clearFaults();
    }
  }, 30_000);
});

describe('the rpm-repodata node through the engine', () => {
  it('builds, its output loads, and a mirror change keeps its key', async () => {
    const project = scratch('project-');
    mkdirSync(join(project, 'keys'));
    writeFileSync(join(project, 'keys', 'repo.asc'), readFileSync(keyFiles.rsa));
    const url = servedRepo('node', rsa);
    const other = await StaticHttpServer.start(root);
    const session = await Session.open({ root: project, callerEnv: { PATH: process.env.PATH } });
    try {
      const node = (at: string) => rpmRepodataNode({ repository: 'baseos', url: at, keys: [{ file: 'keys/repo.asc' }] });
      expect(node(url).kind).toBe(RPM_REPODATA_STAGE.kind);
      const first = await build(session, [node(url)], { jobs: 1 });
      const outcome = first.outcomes.get('rpm-repodata:baseos')!;
      expect(first.ok, outcome.error?.message).toBe(true);
      const repo = await loadRpmRepodata(outcome.path!);
      expect(repo.facts.signature?.fingerprint).toBe(rsa.fingerprint);
      expect(repo.packages.map((p) => p.name)).toContain('tiny-tools');
      expect(await repo.findFileProviders(new Set(['/usr/share/tiny/data.txt']))).toEqual(new Map([['/usr/share/tiny/data.txt', ['tiny-tools-0:1.0~rc1-1.noarch']]]));

      const moved = await build(session, [node(`${other.url}/node`)], { jobs: 1 });
      const again = moved.outcomes.get('rpm-repodata:baseos')!;
      expect(moved.ok, again.error?.message).toBe(true);
      expect(again.key).toBe(outcome.key);
      expect(again.output).toBe(outcome.output);
      expect(other.requests).toContain('/node/repodata/repomd.xml.asc');
    } finally {
      await session.close();
      await other.stop();
    }
  }, 60_000);

  it('refuses to be made without keys unless unsigned metadata is allowed', () => {
    expect(() => rpmRepodataNode({ repository: 'baseos', url: 'x', keys: [] })).toThrow(/rpm repository baseos: no trusted keys given/);
    expect(rpmRepodataNode({ repository: 'baseos', url: 'x', keys: [], allowUnsigned: true }).params).toMatchObject({ allowUnsigned: true });
  });
});
