// The upper-layer node's rules (stages/layer/build.ts) on hand-made trees: what the layer holds,
// which collisions are errors and what they say, that the base's files are never read, and that
// the output is a function of the inputs.
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { digestTree } from '../../graph/tree-digest.js';
import { buildLayer, layerNode, LayerError, type LayerTreeInput } from '../../stages/layer.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, readManifest, writeManifest, type ManifestEntry, type TreeManifest } from '../../stages/shared/manifest.js';
import { manifestOfTree } from '../../stages/rootfs/manifest-of-tree.js';

const EPOCH = 1767225600;
let work: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'layer-'));
});

const dir = (path: string, mode = 0o755, pkg = 'alpine-baselayout'): ManifestEntry => ({ path, type: 'dir', mode, uid: 0, gid: 0, uname: 'root', gname: 'root', package: pkg });
const file = (path: string, pkg: string, content = path): ManifestEntry => ({
  path, type: 'file', mode: 0o644, uid: 0, gid: 0, uname: 'root', gname: 'root',
  size: Buffer.byteLength(content), sha256: createHash('sha256').update(content).digest('hex'), package: pkg,
});
const link = (path: string, target: string, pkg: string): ManifestEntry => ({ path, type: 'symlink', mode: 0o777, uid: 0, gid: 0, uname: 'root', gname: 'root', target, package: pkg });

/** A base rootfs output with a manifest and NO root/ at all: the layer must not need its files. */
async function base(): Promise<string> {
  const out = await mkdtemp(join(work, 'base-'));
  const entries: ManifestEntry[] = [
    dir('etc'), file('etc/motd', 'alpine-baselayout'), file('etc/hostname', 'pipeline:generated'),
    dir('tmp', 0o1777), dir('root', 0o700),
    dir('usr'), dir('usr/bin'), file('usr/bin/hello', 'hello-pkg'), dir('usr/lib'), dir('usr/share'),
    link('lib', 'usr/lib', 'alpine-baselayout'),
    { ...dir('var'), uid: 0 }, dir('var/log', 0o755, 'busybox'),
  ];
  await writeManifest(join(out, 'manifest.json'), { format: MANIFEST_FORMAT, version: MANIFEST_VERSION, entries });
  return out;
}

/** A recipe's output: root/ with these files, and its manifest. */
async function tree(name: string, files: Record<string, string>, extra: (root: string) => Promise<void> = async () => undefined): Promise<LayerTreeInput> {
  const out = await mkdtemp(join(work, `tree-${name.replace(/\W/g, '-')}-`));
  const root = join(out, 'root');
  await mkdir(root);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content);
  }
  await extra(root);
  await writeManifest(join(out, 'manifest.json'), await manifestOfTree(root, name));
  return { name, dir: out };
}

async function overlay(files: Record<string, string>): Promise<string> {
  const out = await mkdtemp(join(work, 'overlay-'));
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(out, path, '..'), { recursive: true });
    await writeFile(join(out, path), content);
  }
  return out;
}

async function build(options: { trees?: LayerTreeInput[]; overlayDir?: string; baseDir?: string }): Promise<{ out: string; manifest: TreeManifest; replaced: string[] }> {
  const out = await mkdtemp(join(work, 'out-'));
  const result = await buildLayer({ variant: 'demo', baseDir: options.baseDir ?? (await base()), overlayDir: options.overlayDir, trees: options.trees ?? [], outDir: out, sourceDateEpoch: EPOCH });
  return { out, manifest: await readManifest(join(out, 'manifest.json')), replaced: result.replaced };
}

const byPath = (m: TreeManifest) => new Map(m.entries.map((e) => [e.path, e]));

describe('the upper layer', () => {
  it('holds only the overlay and the trees, with the base attributes on shared directories', async () => {
    const hello = await tree('recipe:hello', { 'usr/share/hello/greeting': 'hi\n', 'tmp/hello.lock': '', 'lib/hello.so': 'elf' });
    const { out, manifest } = await build({ trees: [hello], overlayDir: await overlay({ 'etc/motd': 'from the overlay\n', 'etc/issue.d/x': 'x' }) });
    const e = byPath(manifest);
    expect([...e.keys()]).toEqual([
      'etc', 'etc/issue.d', 'etc/issue.d/x', 'etc/motd', 'tmp', 'tmp/hello.lock',
      'usr', 'usr/lib', 'usr/lib/hello.so', 'usr/share', 'usr/share/hello', 'usr/share/hello/greeting',
    ]);
    // A file under the base's lib -> usr/lib symlink lands in usr/lib, as on the joined root.
    expect(readFileSync(join(out, 'root/usr/lib/hello.so'), 'utf8')).toBe('elf');
    // Shared directories carry the base's owner and mode: overlayfs shows the upper directory's.
    expect(e.get('tmp')).toMatchObject({ type: 'dir', mode: 0o1777, package: 'alpine-baselayout' });
    expect(e.get('usr/share/hello')).toMatchObject({ type: 'dir', mode: 0o755, package: 'recipe:hello' });
    expect(e.get('usr/share/hello/greeting')).toMatchObject({ type: 'file', uid: 0, uname: 'root', package: 'recipe:hello' });
    // The overlay wins over the package's file, owned by root, 0644.
    expect(e.get('etc/motd')).toMatchObject({ type: 'file', mode: 0o644, uid: 0, gid: 0, package: 'pipeline:overlay:demo' });
    expect(readFileSync(join(out, 'root/etc/motd'), 'utf8')).toBe('from the overlay\n');
    expect(e.has('usr/bin/hello')).toBe(false);
    for (const path of ['', 'etc', 'etc/motd', 'usr/share/hello/greeting']) expect(lstatSync(join(out, 'root', path)).mtimeMs).toBe(EPOCH * 1000);
  });

  it('a file two trees write is an error naming both trees and the path', async () => {
    const a = await tree('recipe:a', { 'usr/share/same': 'a' });
    const b = await tree('recipe:b', { 'usr/share/same': 'b', 'usr/share/b-only': 'b' });
    const err = await build({ trees: [a, b] }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(LayerError);
    expect((err as Error).message).toBe('/usr/share/same is written by two trees of the layer: recipe:a and recipe:b');
  });

  it('a file the base has is an error naming the tree, the package and the path, unless the tree replaces that package', async () => {
    const err = await build({ trees: [await tree('recipe:hello', { 'usr/bin/hello': 'new' })] }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^recipe:hello: \/usr\/bin\/hello is already installed by package hello-pkg in the base root filesystem; declare replaces: \['hello-pkg'\]/);
    const other = await tree('recipe:hello', { 'usr/bin/hello': 'new' });
    await expect(build({ trees: [{ ...other, replaces: ['busybox'] }] })).rejects.toThrow(/package hello-pkg/);
    const { out, manifest, replaced } = await build({ trees: [{ ...other, replaces: ['hello-pkg'] }] });
    expect(replaced).toEqual(['/usr/bin/hello: recipe:hello replaces hello-pkg']);
    expect(byPath(manifest).get('usr/bin/hello')).toMatchObject({ package: 'recipe:hello' });
    expect(readFileSync(join(out, 'root/usr/bin/hello'), 'utf8')).toBe('new');
  });

  it('type conflicts with the base are errors: a file over a directory, a directory over a file', async () => {
    await expect(build({ trees: [await tree('recipe:x', { 'var/log': 'not a dir' })] })).rejects.toThrow(
      'recipe:x: /var/log is a file in recipe:x, but package busybox in the base root filesystem installs a directory there',
    );
    await expect(build({ trees: [await tree('recipe:y', { 'etc/motd/inner': 'x' })] })).rejects.toThrow(/etc\/motd/);
    await expect(build({ overlayDir: await overlay({ 'var/log': 'x' }) })).rejects.toThrow(/var\/log.*directory/);
  });

  it('the overlay must not hold a path the variant settings generate', async () => {
    await expect(build({ overlayDir: await overlay({ 'etc/hostname': 'clash\n' }) })).rejects.toThrow(/\/etc\/hostname is both in the overlay and generated/);
  });

  it('the overlay wins over a tree; symlinks and the exec bit come through', async () => {
    const t = await tree('recipe:t', { 'usr/share/t/conf': 'tree' }, async (root) => {
      await symlink('conf', join(root, 'usr/share/t/conf.link'));
      await chmod(join(root, 'usr/share/t/conf'), 0o755);
    });
    const o = await overlay({ 'usr/share/t/conf': 'overlay' });
    const { out, manifest } = await build({ trees: [t], overlayDir: o });
    expect(byPath(manifest).get('usr/share/t/conf')).toMatchObject({ mode: 0o644, package: 'pipeline:overlay:demo' });
    expect(readFileSync(join(out, 'root/usr/share/t/conf'), 'utf8')).toBe('overlay');
    expect(readlinkSync(join(out, 'root/usr/share/t/conf.link'))).toBe('conf');
  });

  it('is deterministic: the same bytes from two builds, whatever order the node is given the trees in', async () => {
    const baseDir = await base();
    const a = await tree('recipe:a', { 'usr/share/a/1': 'a1', 'usr/share/common/a': 'a' });
    const b = await tree('recipe:b', { 'usr/share/b/1': 'b1', 'usr/share/common/b': 'b' });
    const o = await overlay({ 'etc/motd': 'x\n' });
    const one = await build({ trees: [a, b], overlayDir: o, baseDir });
    const two = await build({ trees: [a, b], overlayDir: o, baseDir });
    expect(await readFile(join(one.out, 'manifest.json'), 'utf8')).toBe(await readFile(join(two.out, 'manifest.json'), 'utf8'));
    expect((await digestTree(one.out)).digest).toBe((await digestTree(two.out)).digest);
    const sorted = one.manifest.entries.map((e) => e.path);
    expect(sorted).toEqual([...sorted].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    // The node sorts its trees: the caller's order is not part of the key or the output.
    const spec = (order: string[]) => layerNode({ variant: 'demo', base: 'rootfs:demo', trees: order.map((n) => ({ name: n, node: `recipe-node:${n}` })), sourceDateEpoch: EPOCH });
    const x = spec(['recipe:b', 'recipe:a']);
    const y = spec(['recipe:a', 'recipe:b']);
    expect(JSON.stringify(x.params)).toBe(JSON.stringify(y.params));
    expect(x.deps).toEqual({ base: 'rootfs:demo', 'tree:recipe:a': 'recipe-node:recipe:a', 'tree:recipe:b': 'recipe-node:recipe:b' });
    expect(() => spec(['recipe:a', 'recipe:a'])).toThrow(/two trees are named recipe:a/);
  });
});

describe('the layer in the graph', () => {
  it('the overlay makes an upper layer and image the ISO carries; recipe trees and the installer tools join it', async () => {
    const { loadCompileInputs } = await import('../../compile/load.js');
    const { compileTarget } = await import('../../compile/index.js');
    const { projectRoot } = await import('../../fixtures/paths.js');
    const inputs = await loadCompileInputs('demo', { cwd: projectRoot(), env: {} });
    const node = (nodes: { id: string }[], id: string) => nodes.find((n) => n.id === id) as { deps?: Record<string, string>; files?: string[]; params?: unknown } | undefined;

    // The demo's overlay and its recipes (hello, welcome) make the upper layer.
    const plain = await compileTarget(inputs);
    expect(node(plain.nodes, 'layer:demo')).toMatchObject({
      deps: { base: 'rootfs:demo', 'tree:recipe:hello': 'recipe:demo:hello', 'tree:recipe:welcome': 'recipe:demo:welcome' },
      files: ['variants/overlays/demo'],
    });
    expect(node(plain.nodes, 'rootfs:demo')!.files).toEqual([]);
    expect(node(plain.nodes, 'squashfs:demo:upper')!.deps).toEqual({ rootfs: 'layer:demo' });
    // The base image takes every job slot (mksquashfs uses every core); the small upper one takes one.
    expect(plain.nodes.find((n) => n.id === 'squashfs:demo:upper')!.weight).toBe(1);
    expect(plain.nodes.find((n) => n.id === 'squashfs:demo')!.weight).toBe(availableParallelism());
    expect(node(plain.nodes, 'iso:demo')!.deps).toMatchObject({ 'root-image': 'squashfs:demo', 'upper-image': 'squashfs:demo:upper' });
    expect(plain.system!.ids.layersInIso).toEqual(['/live/filesystem.squashfs', '/live/overlayfs.squashfs']);
    expect(plain.artifacts).toContainEqual({ node: 'squashfs:demo:upper', from: 'overlayfs.squashfs', to: 'overlayfs.squashfs' });

    // A caller's extra tree joins the layer; the base below it does not change.
    const extra = await compileTarget(inputs, { layers: [{ name: 'recipe:extra', node: 'step:demo:extra', replaces: ['busybox'] }] });
    expect(node(extra.nodes, 'layer:demo')!.deps).toMatchObject({ base: 'rootfs:demo', 'tree:recipe:extra': 'step:demo:extra', 'tree:recipe:hello': 'recipe:demo:hello' });
    expect(node(extra.nodes, 'rootfs:demo')!.params).toEqual(node(plain.nodes, 'rootfs:demo')!.params);

    // Only the overlay: a layer of it and the installer tools. Neither overlay nor recipes: the
    // tools alone still make the upper layer (every system carries recstrap, recab and friends).
    const noRecipes = { ...inputs, loaded: { ...inputs.loaded, variant: { ...inputs.loaded.variant, recipes: [] } } };
    const overlayOnly = await compileTarget(noRecipes);
    expect(node(overlayOnly.nodes, 'layer:demo')!.deps).toEqual({ base: 'rootfs:demo', 'tree:installer': 'installer:demo' });
    const bare = await compileTarget({ ...noRecipes, conventionalOverlay: undefined });
    expect(node(bare.nodes, 'layer:demo')!.files ?? []).toEqual([]);
    expect(node(bare.nodes, 'iso:demo')!.deps!['upper-image']).toBe('squashfs:demo:upper');
    expect(bare.system!.ids.layersInIso).toEqual(['/live/filesystem.squashfs', '/live/overlayfs.squashfs']);
  });
});
