// The signed A/B update bundle (formats/update-bundle.ts): the root's layers as one slot image, both
// signed slot UKIs and a manifest signed with the db key, for `recab` on the installed system. Like
// the sign node, the certificate is a declared file (its content keys the node) and the private
// key's path a secret file. The boot tests' derived bundles add one small layer of their own
// (`extraLayer`), packed here with the root images' mksquashfs settings.
import { chmod, mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { NodeSpec } from '../graph/node.js';
import { writeSlotImage } from '../formats/slot-layers.js';
import {
  loadUpdateSigningKey,
  UPDATE_BUNDLE_SUFFIX,
  UpdateBundleError,
  updatePublicKeyPem,
  updateSigner,
  validateUpdateVersion,
  verifyUpdateBundle,
  writeUpdateBundle,
} from '../formats/update-bundle.js';
import { validateOsId } from './shared/os-names.js';
import { epochEnv, parseSourceDateEpoch } from './shared/source-date-epoch.js';
import { squashfsSettings } from './squashfs.js';
import type { StageKind } from './kind.js';

export { resignUpdateBundle, updateSigner, loadUpdateSigningKey, type ResignOptions, type UpdateSigner } from '../formats/update-bundle.js';

/** 1: manifest, manifest.sig, system-a.efi, system-b.efi, slot.img (format `pipeline-update 1`). */
export const UPDATE_BUNDLE_KIND_VERSION = 1;

/** Signed A/B update bundles; mksquashfs only for a node with an extra layer. */
export const UPDATE_BUNDLE_STAGE: StageKind = {
  kind: 'update-bundle',
  version: UPDATE_BUNDLE_KIND_VERSION,
  summary: 'signed A/B update bundles',
  tools: [{ name: 'mksquashfs', debianPackage: 'squashfs-tools', versionArgs: ['-version'] }],
};

/** A file in a dependency's output. */
export interface NodeFile {
  node: string;
  /** Path inside that node's output (`filesystem.squashfs`, `uki.efi`). */
  file: string;
}

/** Files for one more layer on top of the root's: path in the root (no leading slash) -> content and mode. */
export interface ExtraLayer {
  files: Record<string, { content: string; mode: number }>;
}

export interface UpdateBundleNodeOptions {
  id: string;
  /** The variant's name: the manifest's `variant` line (and the file name unless `variantName` is given). */
  variant: string;
  /** os-release ID. */
  os: string;
  /** os-release VERSION_ID (digits and dots). */
  version: string;
  /** SOURCE_DATE_EPOCH: the manifest's epoch, the members' mtime, the extra layer's times. */
  epoch: number;
  /** The root's layer images, base first. */
  layers: readonly NodeFile[];
  systemA: NodeFile;
  systemB: NodeFile;
  /** The db certificate, a declared project file: its content keys the node. */
  certificate: string;
  /** The db private key's path: a secret file, out of the key, the store and the logs. */
  keyPath: string;
  /** What to tell the user when the certificate or the key is missing. */
  hints?: { certificate?: string; key?: string };
  /** One more layer on top (boot tests: a bundle that differs from the installed root). */
  extraLayer?: ExtraLayer;
  /** Names the output file instead of `variant`: `<variantName>-<version>.update`. */
  variantName?: string;
}

/** `<name>-<version>.update`. */
export function updateBundleFileName(name: string, version: string): string {
  return `${name}-${version}${UPDATE_BUNDLE_SUFFIX}`;
}

/** The extra layer's paths, sorted, after checking each is a plain relative path and none is another's directory. */
function extraLayerPaths(extra: ExtraLayer, where: string): string[] {
  const paths = Object.keys(extra.files).sort();
  if (paths.length === 0) throw new UpdateBundleError(`${where}: extraLayer has no files`);
  for (const path of paths) {
    const parts = path.split('/');
    if (path.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..') || path.includes('\0')) {
      throw new UpdateBundleError(`${where}: extraLayer path ${JSON.stringify(path)} must be relative to the root, without leading slash, empty, '.' or '..' parts`);
    }
    const { mode } = extra.files[path];
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new UpdateBundleError(`${where}: extraLayer ${path}: mode ${mode} is not within 0..0o7777`);
    const parent = paths.find((other) => path.startsWith(`${other}/`));
    if (parent) throw new UpdateBundleError(`${where}: extraLayer ${parent} is a file, but ${path} needs it to be a directory`);
  }
  return paths;
}

/**
 * Packs the extra layer: the files under a fresh root (directories 0755), every time the epoch,
 * owners root (-all-root), with the root image's mksquashfs settings.
 */
async function buildExtraLayer(
  extra: ExtraLayer,
  paths: readonly string[],
  scratch: string,
  output: string,
  epoch: number,
  exec: (tool: string, args: string[], options: { env: Record<string, string> }) => Promise<unknown>,
): Promise<void> {
  const root = join(scratch, 'extra-root');
  const dirs = new Set<string>([root]);
  for (const path of paths) {
    for (let dir = dirname(join(root, path)); dir !== root; dir = dirname(dir)) dirs.add(dir);
  }
  for (const dir of [...dirs].sort()) await mkdir(dir, { recursive: true });
  for (const path of paths) {
    const target = join(root, path);
    await writeFile(target, extra.files[path].content);
    await chmod(target, extra.files[path].mode);
    await utimes(target, epoch, epoch);
  }
  // Deepest first, so setting a directory's time is not undone by writing inside it.
  for (const dir of [...dirs].sort().reverse()) {
    await chmod(dir, 0o755);
    await utimes(dir, epoch, epoch);
  }
  await exec('mksquashfs', [root, output, ...squashfsSettings({ epoch }), '-all-root'], { env: { SOURCE_DATE_EPOCH: String(epoch) } });
}

/** The bundle node: `<variantName ?? variant>-<version>.update` in its output, verified before it is stored. */
export function updateBundleNode(options: UpdateBundleNodeOptions): NodeSpec {
  validateUpdateVersion(options.version, options.id);
  validateOsId(options.os, options.id);
  if (options.layers.length === 0) throw new UpdateBundleError(`${options.id}: an update bundle needs at least one root layer`);
  const extraPaths = options.extraLayer ? extraLayerPaths(options.extraLayer, options.id) : undefined;
  const output = updateBundleFileName(options.variantName ?? options.variant, options.version);
  const layerDep = (i: number) => `layer${i}`;
  const hints: Record<string, string> = {};
  if (options.hints?.certificate) hints[options.certificate] = options.hints.certificate;
  if (options.hints?.key) hints.key = options.hints.key;
  // The extra layer's files enter the key whole (they are a few small files), in path order.
  const extraFiles = options.extraLayer?.files;
  const extra = extraFiles && extraPaths ? Object.fromEntries(extraPaths.map((p) => [p, { content: extraFiles[p].content, mode: extraFiles[p].mode }])) : null;
  return {
    id: options.id,
    kind: UPDATE_BUNDLE_STAGE.kind,
    version: UPDATE_BUNDLE_KIND_VERSION,
    deps: {
      ...Object.fromEntries(options.layers.map((layer, i) => [layerDep(i), layer.node])),
      systemA: options.systemA.node,
      systemB: options.systemB.node,
    },
    files: [options.certificate],
    params: {
      variant: options.variant,
      os: options.os,
      version: options.version,
      output,
      layers: options.layers.map((l) => l.file),
      systemA: options.systemA.file,
      systemB: options.systemB.file,
      certificate: options.certificate,
      extraLayer: extra,
    },
    tools: extra ? ['mksquashfs'] : [],
    env: epochEnv({ sourceDateEpoch: options.epoch }),
    secrets: { key: options.keyPath },
    secretFiles: ['key'],
    hints,
    description: `${output}: ${options.layers.length + (extra ? 1 : 0)} root layers and both slot UKIs, signed (db certificate ${options.certificate})`,
    async run(ctx) {
      const epoch = parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH, ctx.id);
      const layers = options.layers.map((layer, i) => join(ctx.dep(layerDep(i)), layer.file));
      if (options.extraLayer && extraPaths) {
        const image = join(ctx.tmp, 'extra.squashfs');
        await buildExtraLayer(options.extraLayer, extraPaths, ctx.tmp, image, epoch, (tool, args, execOptions) => ctx.exec(tool, args, execOptions));
        layers.push(image);
        ctx.log(`extra layer: ${extraPaths.length} files (${extraPaths.join(', ')})`);
      }
      const slotImage = join(ctx.tmp, 'slot.img');
      const placed = await writeSlotImage(layers, slotImage);
      ctx.log(`slot.img: ${placed.map((l) => `${l.type} at ${l.offset} (${l.bytes} bytes)`).join(', ')}`);

      const certificatePath = ctx.file(options.certificate);
      const key = await loadUpdateSigningKey(ctx.secrets.key, certificatePath);
      const bundle = join(ctx.out, output);
      const result = await writeUpdateBundle({
        output: bundle,
        variant: options.variant,
        os: options.os,
        version: options.version,
        epoch,
        systemA: join(ctx.dep('systemA'), options.systemA.file),
        systemB: join(ctx.dep('systemB'), options.systemB.file),
        slotImage,
        sign: updateSigner(key),
      });
      // Read back what was written, as recab will: signature, sizes, digests, order, end.
      await verifyUpdateBundle(bundle, updatePublicKeyPem(await readFile(certificatePath)));
      for (const file of result.manifest.files) ctx.log(`${file.name}: ${file.bytes} bytes, sha256 ${file.sha256}`);
      ctx.log(`${output}: ${result.bytes} bytes, manifest signed and verified`);
    },
  };
}
