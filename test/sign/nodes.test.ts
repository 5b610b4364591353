// The uki and sign node factories run by the real engine (graph/): a UKI from unpacked-package
// style dependency outputs, signed with a key whose path is a secret. Checks the outputs against
// the plain functions, caching, what reruns when the certificate changes, and that neither the
// key's path nor its content reaches the cache or the logs.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { build } from '../../graph/build.js';
import type { NodeSpec } from '../../graph/node.js';
import { Session } from '../../graph/session.js';
import { signFile, signNode } from '../../stages/sign.js';
import { ALPINE_KERNEL_PATH_IN_PACKAGE, buildUki, STUB_PATH_IN_PACKAGE, ukiNode } from '../../stages/uki.js';
import { backportsSystemdBoot, busyboxStatic, debianKernel, scratchDir } from '../uki/fixtures.js';
import { writeCmdlineInitrd } from '../uki/initrd.js';

const run = promisify(execFile);
let dir: string;
let files: { stub: string; kernel: string; initrd: string };
const CMDLINE = 'root=LABEL=system-a console=ttyS0';
const OS_RELEASE = 'ID=iuppiter\n';

beforeAll(async () => {
  dir = await scratchDir('nodes');
  files = { stub: (await backportsSystemdBoot()).stub, kernel: (await debianKernel()).vmlinuz, initrd: join(dir, 'initramfs.img') };
  await writeCmdlineInitrd(await busyboxStatic(), files.initrd);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A stand-in producer: copies fixture files into its output; keyed on their content only. */
async function filesNode(id: string, layout: Record<string, string>): Promise<NodeSpec> {
  const digests: Record<string, string> = {};
  for (const [rel, abs] of Object.entries(layout)) digests[rel] = createHash('sha256').update(await readFile(abs)).digest('hex');
  return {
    id, kind: 'fixture', version: 1, params: digests,
    async run(ctx) {
      for (const [rel, abs] of Object.entries(layout)) {
        await mkdir(dirname(join(ctx.out, rel)), { recursive: true });
        await copyFile(abs, join(ctx.out, rel));
      }
    },
  };
}

async function makeKey(name: string): Promise<{ key: string; crt: string }> {
  const key = { key: join(dir, `${name}.key`), crt: join(dir, `${name}.crt`) };
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key.key, '-out', key.crt, '-days', '30', '-subj', `/CN=${name}/`]);
  return key;
}

/** The graph, with the db certificate copied into the project (declared files are project-relative). */
async function graph(db: { key: string; crt: string }, root: string): Promise<NodeSpec[]> {
  const certificate = `keys/${basename(db.crt)}`;
  await mkdir(join(root, 'keys'), { recursive: true });
  await copyFile(db.crt, join(root, certificate));
  return [
    await filesNode('unpack:systemd-efistub', { [`root/${STUB_PATH_IN_PACKAGE}`]: files.stub }),
    await filesNode('unpack:linux-lts', { [`root/${ALPINE_KERNEL_PATH_IN_PACKAGE}`]: files.kernel }),
    await filesNode('initramfs:iuppiter', { 'initramfs.img': files.initrd }),
    ukiNode({
      id: 'uki:iuppiter:system-a',
      deps: { stub: 'unpack:systemd-efistub', kernel: 'unpack:linux-lts', initramfs: 'initramfs:iuppiter' },
      paths: { stub: `root/${STUB_PATH_IN_PACKAGE}`, kernel: `root/${ALPINE_KERNEL_PATH_IN_PACKAGE}`, initramfs: ['initramfs.img'] },
      cmdline: CMDLINE,
      osRelease: OS_RELEASE,
      output: 'iuppiter-system-a.efi',
    }),
    signNode({
      id: 'sign:iuppiter:system-a', unsigned: 'uki:iuppiter:system-a', input: 'iuppiter-system-a.efi',
      certificate, keyPath: db.key,
    }),
  ];
}

async function allFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name));
  }
  return out;
}

test('engine: uki -> sign builds, caches, reruns only sign on a new certificate, keeps the key out', async () => {
  const db = await makeKey('db');
  const root = join(dir, 'project');
  await mkdir(root, { recursive: true });
  const session = await Session.open({ root, callerEnv: { PATH: process.env.PATH, SOURCE_DATE_EPOCH: '1700000000' } });
  try {
    const first = await build(session, await graph(db, root), { jobs: 2 });
    const failures = [...first.outcomes.values()].filter((o) => o.error).map((o) => `${o.id}: ${o.error?.message}`);
    expect(first.ok, failures.join('\n')).toBe(true);
    const ukiOut = first.outcomes.get('uki:iuppiter:system-a')!.path!;
    const signedOut = first.outcomes.get('sign:iuppiter:system-a')!.path!;

    const direct = join(dir, 'direct.efi');
    await buildUki({ stub: files.stub, kernel: files.kernel, initrds: [files.initrd], cmdline: CMDLINE, osRelease: OS_RELEASE, sourceDateEpoch: 1700000000, output: direct });
    expect((await readFile(join(ukiOut, 'iuppiter-system-a.efi'))).equals(await readFile(direct))).toBe(true);
    const directSigned = join(dir, 'direct.signed.efi');
    await signFile({ input: direct, output: directSigned, keyPath: db.key, certPath: db.crt, signingTime: 1700000000 });
    const signed = join(signedOut, 'iuppiter-system-a.efi');
    expect((await readFile(signed)).equals(await readFile(directSigned))).toBe(true);
    await run('sbverify', ['--cert', db.crt, signed]);

    const second = await build(session, await graph(db, root), { jobs: 2 });
    expect([...second.outcomes.values()].map((o) => o.status)).toEqual(Array(5).fill('cached'));

    const other = await makeKey('db2');
    const third = await build(session, await graph(other, root), { jobs: 2 });
    expect(third.outcomes.get('uki:iuppiter:system-a')!.status).toBe('cached');
    expect(third.outcomes.get('sign:iuppiter:system-a')!.status).toBe('built');
    await run('sbverify', ['--cert', other.crt, join(third.outcomes.get('sign:iuppiter:system-a')!.path!, 'iuppiter-system-a.efi')]);

    // Neither key path nor key material anywhere in the cache or the logs.
    const keyMaterial = (await readFile(db.key, 'utf8')).split('\n')[1];
    for (const file of [...(await allFiles(session.cacheDir)), ...(await allFiles(session.logDir))]) {
      const text = (await readFile(file)).toString('latin1');
      expect(text.includes(db.key), `${file} mentions the key path`).toBe(false);
      expect(text.includes(other.key), `${file} mentions the key path`).toBe(false);
      expect(text.includes(keyMaterial), `${file} holds key material`).toBe(false);
    }
  } finally {
    await session.close();
  }
}, 120_000);

test('engine: a UKI node without SOURCE_DATE_EPOCH fails with the reason', async () => {
  const db = await makeKey('db3');
  const root = join(dir, 'project-no-sde');
  await mkdir(root, { recursive: true });
  const session = await Session.open({ root, callerEnv: { PATH: process.env.PATH } });
  try {
    const result = await build(session, await graph(db, root), { jobs: 2, keepGoing: true });
    const uki = result.outcomes.get('uki:iuppiter:system-a')!;
    expect(uki.status).toBe('failed');
    expect(uki.error?.message).toMatch(/uki:iuppiter:system-a: SOURCE_DATE_EPOCH must be set/);
    expect(result.outcomes.get('sign:iuppiter:system-a')!.status).toBe('skipped');
  } finally {
    await session.close();
  }
}, 60_000);
