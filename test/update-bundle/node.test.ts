// The update-bundle node (stages/update-bundle.ts) run by the real engine: stand-in producers give
// it two real squashfs layers and two slot UKIs, the demo's db certificate is a declared project
// file and its private key a secret file. Checks the bundle against the plain functions, caching,
// the extra layer of the boot tests' derived bundles (read back with unsquashfs from its offset in
// slot.img), reproducibility across two caches, and that the key stays out of cache and logs.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../graph/build.js';
import type { NodeSpec } from '../../graph/node.js';
import { Session } from '../../graph/session.js';
import { parseSlotHeader, SLOT_HEADER_BYTES, writeSlotImage } from '../../formats/slot-layers.js';
import { loadUpdateSigningKey, readUpdateBundleManifest, updatePublicKeyPem, verifyUpdateBundle, writeUpdateBundle } from '../../formats/update-bundle.js';
import { UPDATE_BUNDLE_STAGE, updateBundleNode, type UpdateBundleNodeOptions } from '../../stages/update-bundle.js';
import { stageKind } from '../../stages/index.js';
import { demoDbKey, EPOCH, makeInputs, run, type Inputs } from './fixtures.js';

let work: string;
let inputs: Inputs;
const db = demoDbKey();
const CERTIFICATE = 'keys/db.crt';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'update-bundle-node-'));
  inputs = await makeInputs(join(work, 'inputs'));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** A stand-in producer: copies fixture files into its output; keyed on their content only. */
async function filesNode(id: string, layout: Record<string, string>): Promise<NodeSpec> {
  const digests: Record<string, string> = {};
  for (const [rel, abs] of Object.entries(layout)) digests[rel] = createHash('sha256').update(await readFile(abs)).digest('hex');
  return {
    id,
    kind: 'fixture',
    version: 1,
    params: digests,
    async run(ctx) {
      for (const [rel, abs] of Object.entries(layout)) {
        await mkdir(dirname(join(ctx.out, rel)), { recursive: true });
        await copyFile(abs, join(ctx.out, rel));
      }
    },
  };
}

const EXTRA = {
  files: {
    'etc/update-marker': { content: 'bundle 1.1\n', mode: 0o644 },
    'usr/local/bin/next': { content: '#!/bin/sh\necho next\n', mode: 0o755 },
  },
};

function bundleOptions(over: Partial<UpdateBundleNodeOptions> = {}): UpdateBundleNodeOptions {
  return {
    id: 'update:demo',
    variant: 'demo',
    os: 'demo',
    version: '1',
    epoch: EPOCH,
    layers: [
      { node: 'squashfs:demo', file: 'filesystem.squashfs' },
      { node: 'squashfs:demo:upper', file: 'overlayfs.squashfs' },
    ],
    systemA: { node: 'sign:demo:uki-system-a', file: 'uki.efi' },
    systemB: { node: 'sign:demo:uki-system-b', file: 'uki.efi' },
    certificate: CERTIFICATE,
    keyPath: db.key,
    hints: { key: 'the demo db key', certificate: 'the demo db certificate' },
    ...over,
  };
}

/** Producers, the bundle, and a derived bundle with an extra layer; the certificate copied into the project. */
async function graph(root: string): Promise<NodeSpec[]> {
  await mkdir(join(root, 'keys'), { recursive: true });
  await copyFile(db.crt, join(root, CERTIFICATE));
  return [
    await filesNode('squashfs:demo', { 'filesystem.squashfs': inputs.base }),
    await filesNode('squashfs:demo:upper', { 'overlayfs.squashfs': inputs.upper }),
    await filesNode('sign:demo:uki-system-a', { 'uki.efi': inputs.systemA }),
    await filesNode('sign:demo:uki-system-b', { 'uki.efi': inputs.systemB }),
    updateBundleNode(bundleOptions()),
    updateBundleNode(bundleOptions({ id: 'update:demo:next', version: '1.1', variantName: 'demo-next', extraLayer: EXTRA })),
  ];
}

async function allFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name));
  }
  return out;
}

async function buildIn(root: string) {
  const session = await Session.open({ root, callerEnv: { PATH: process.env.PATH } });
  try {
    const result = await build(session, await graph(root), { jobs: 2 });
    const failures = [...result.outcomes.values()].filter((o) => o.error).map((o) => `${o.id}: ${o.error?.message}`);
    expect(result.ok, failures.join('\n')).toBe(true);
    return { result, cacheDir: session.cacheDir, logDir: session.logDir };
  } finally {
    await session.close();
  }
}

describe('the update-bundle node', () => {
  it('declares mksquashfs only with an extra layer, and its kind is listed', () => {
    expect(stageKind('update-bundle')).toBe(UPDATE_BUNDLE_STAGE);
    const plain = updateBundleNode(bundleOptions());
    expect(plain.tools).toEqual([]);
    expect(plain.kind).toBe('update-bundle');
    expect(plain.env).toEqual({ SOURCE_DATE_EPOCH: String(EPOCH) });
    expect(JSON.stringify(plain.params)).not.toContain(db.key);
    expect(updateBundleNode(bundleOptions({ extraLayer: EXTRA })).tools).toEqual(['mksquashfs']);
  });

  it('refuses a bad version, OS id, layer list or extra-layer path when the graph is made', () => {
    expect(() => updateBundleNode(bundleOptions({ version: '1.0-rc1' }))).toThrow('update:demo: version "1.0-rc1" must be digits separated by single dots (1, 1.1, 10.0.2), at most 32 characters');
    expect(() => updateBundleNode(bundleOptions({ os: 'Demo OS' }))).toThrow(/update:demo: OS id "Demo OS" must be lower-case/);
    expect(() => updateBundleNode(bundleOptions({ layers: [] }))).toThrow('update:demo: an update bundle needs at least one root layer');
    for (const path of ['/etc/x', 'etc/../x', 'etc//x', './x']) {
      expect(() => updateBundleNode(bundleOptions({ extraLayer: { files: { [path]: { content: '', mode: 0o644 } } } }))).toThrow(/must be relative to the root/);
    }
    expect(() => updateBundleNode(bundleOptions({ extraLayer: { files: { etc: { content: '', mode: 0o644 }, 'etc/x': { content: '', mode: 0o644 } } } }))).toThrow('update:demo: extraLayer etc is a file, but etc/x needs it to be a directory');
    expect(() => updateBundleNode(bundleOptions({ extraLayer: { files: { x: { content: '', mode: 0o10000 } } } }))).toThrow(/mode 4096 is not within/);
    expect(() => updateBundleNode(bundleOptions({ extraLayer: { files: {} } }))).toThrow('update:demo: extraLayer has no files');
  });

  it('builds, verifies, equals the plain functions, and is cached the second time', async () => {
    const root = join(work, 'project');
    const { result, cacheDir, logDir } = await buildIn(root);
    const out = result.outcomes.get('update:demo')!.path!;
    expect(await readdir(out)).toEqual(['demo-1.update']);
    const bundle = join(out, 'demo-1.update');
    const publicKey = updatePublicKeyPem(await readFile(db.crt));
    const manifest = await verifyUpdateBundle(bundle, publicKey);
    expect(manifest).toMatchObject({ variant: 'demo', os: 'demo', version: '1', epoch: EPOCH });

    // The same bytes as the plain functions give.
    const slot = join(work, 'direct-slot.img');
    await writeSlotImage([inputs.base, inputs.upper], slot);
    const direct = join(work, 'direct.update');
    await writeUpdateBundle({ output: direct, variant: 'demo', os: 'demo', version: '1', epoch: EPOCH, systemA: inputs.systemA, systemB: inputs.systemB, slotImage: slot, sign: await loadUpdateSigningKey(db.key, db.crt) });
    expect((await readFile(bundle)).equals(await readFile(direct))).toBe(true);

    const { result: second } = await buildIn(root);
    expect([...second.outcomes.values()].map((o) => `${o.id} ${o.status}`).sort()).toEqual([...result.outcomes.keys()].map((id) => `${id} cached`).sort());

    // Neither the key's path nor its material anywhere in the cache or the logs.
    const keyMaterial = (await readFile(db.key, 'utf8')).split('\n')[1];
    for (const file of [...(await allFiles(cacheDir)), ...(await allFiles(logDir))]) {
      const text = (await readFile(file)).toString('latin1');
      expect(text.includes(db.key), `${file} mentions the key path`).toBe(false);
      expect(text.includes(keyMaterial), `${file} holds key material`).toBe(false);
    }
  });

  it('an extra layer: one more squashfs on top in slot.img, root-owned, at the epoch, byte-reproducible', async () => {
    const first = (await buildIn(join(work, 'project-x'))).result.outcomes.get('update:demo:next')!.path!;
    const second = (await buildIn(join(work, 'project-y'))).result.outcomes.get('update:demo:next')!.path!;
    expect(await readdir(first)).toEqual(['demo-next-1.1.update']);
    const bundle = join(first, 'demo-next-1.1.update');
    expect((await readFile(bundle)).equals(await readFile(join(second, 'demo-next-1.1.update')))).toBe(true);

    const manifest = await verifyUpdateBundle(bundle, updatePublicKeyPem(await readFile(db.crt)));
    // variantName names the file only; the manifest carries the variant recab compares with its own.
    expect(manifest).toMatchObject({ variant: 'demo', version: '1.1' });
    expect((await readUpdateBundleManifest(bundle)).manifest).toEqual(manifest);

    const out = await mkdtemp(join(work, 'extract-'));
    await run('tar', ['-xf', bundle, '-C', out, 'slot.img']);
    const slot = join(out, 'slot.img');
    const header = (await readFile(slot)).subarray(0, SLOT_HEADER_BYTES);
    const layers = parseSlotHeader(header)!;
    expect(layers.map((l) => l.type)).toEqual(['squashfs', 'squashfs', 'squashfs']);
    // The given layers unchanged, below the extra one.
    const image = await readFile(slot);
    for (const [i, source] of [inputs.base, inputs.upper].entries()) {
      const content = await readFile(source);
      expect(image.subarray(layers[i].offset, layers[i].offset + content.length).equals(content)).toBe(true);
    }
    const top = String(layers[2].offset);
    const { stdout: marker } = await run('unsquashfs', ['-o', top, '-cat', slot, 'etc/update-marker']);
    expect(marker).toBe('bundle 1.1\n');
    const { stdout: listing } = await run('unsquashfs', ['-o', top, '-lln', slot], { env: { ...process.env, TZ: 'UTC' } });
    const lines = listing.trim().split('\n').filter((l) => l.includes('squashfs-root'));
    const entries = Object.fromEntries(lines.map((l) => { const f = l.split(/\s+/); return [f[5], `${f[0]} ${f[1]} ${f[3]} ${f[4]}`]; }));
    const at = '2023-11-14 22:13';
    expect(entries).toEqual({
      'squashfs-root': `drwxr-xr-x 0/0 ${at}`,
      'squashfs-root/etc': `drwxr-xr-x 0/0 ${at}`,
      'squashfs-root/etc/update-marker': `-rw-r--r-- 0/0 ${at}`,
      'squashfs-root/usr': `drwxr-xr-x 0/0 ${at}`,
      'squashfs-root/usr/local': `drwxr-xr-x 0/0 ${at}`,
      'squashfs-root/usr/local/bin': `drwxr-xr-x 0/0 ${at}`,
      'squashfs-root/usr/local/bin/next': `-rwxr-xr-x 0/0 ${at}`,
    });
  });

  it('a certificate that is not the key\'s fails the node, naming the certificate', async () => {
    const root = join(work, 'project-wrong-cert');
    const nodes = await graph(root);
    const other = join(work, 'other');
    await mkdir(other, { recursive: true });
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(other, 'o.key'), '-out', join(root, CERTIFICATE), '-days', '30', '-subj', '/CN=other/']);
    const session = await Session.open({ root, callerEnv: { PATH: process.env.PATH } });
    try {
      const result = await build(session, nodes, { jobs: 2, keepGoing: true });
      const outcome = result.outcomes.get('update:demo')!;
      expect(outcome.status).toBe('failed');
      // The engine writes the secret's name for its path.
      expect(outcome.error?.message).toContain(`private key <secret:key> does not belong to certificate ${join(root, CERTIFICATE)}`);
      expect(outcome.error?.message).not.toContain(db.key);
    } finally {
      await session.close();
    }
  });
});
