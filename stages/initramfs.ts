// The `initramfs` node: the live initramfs of a variant, built from the kernel package's modules,
// a static busybox, the module list and the /init script, and nothing else: a change anywhere in
// the root filesystem never reaches its key. The work is in stages/initramfs/build.ts.
import { join } from 'node:path';
import type { Json, NodeSpec } from '../graph/node.js';
import { epochEnv, parseSourceDateEpoch, type StampsTime } from './shared/source-date-epoch.js';
import { buildInitramfs } from './initramfs/build.js';
import { compressorCommand, DEFAULT_COMPRESSION, validateCompression } from './initramfs/compression.js';
import type { Compression } from './initramfs/compression.js';
import { DEFAULT_MODULE_LIST_FILE, readModuleList, validateModuleList } from './initramfs/module-list.js';
import type { ModuleList } from './initramfs/module-list.js';
import type { StageKind } from './kind.js';

/** The image's file name in the node's output (what uki and iso nodes point at). */
export const INITRAMFS_IMAGE = 'initramfs-live.img';
/** The init script, a declared file. */
export const INIT_SCRIPT_FILE = 'pipeline:stages/initramfs/init';
/** Kind version: bump when the image changes for the same inputs. */
export const INITRAMFS_KIND_VERSION = 1;

export interface InitramfsNodeOptions extends StampsTime {
  /** e.g. `initramfs:iuppiter`. */
  id: string;
  /** Node ids of the unpacked kernel package and the unpacked busybox package. */
  deps: { kernel: string; busybox: string };
  /**
   * Paths inside those outputs: the kernel package's root (holding lib/modules/<release>) and
   * the static busybox binary. Defaults: `root` and `root/bin/busybox` (Alpine: busybox-static's
   * `root/bin/busybox.static`).
   */
  paths?: { kernelRoot?: string; busybox?: string };
  /** Needed only when the kernel package holds modules for several releases. */
  kernelRelease?: string;
  /** Modules to load; default: the list in stages/initramfs/modules.default. */
  modules?: ModuleList;
  compression?: Compression;
}

export class InitramfsParamsError extends Error {
  override name = 'InitramfsParamsError';
}



/** The live initramfs: busybox, the kernel modules the live boot needs, /init. */
export const INITRAMFS_STAGE: StageKind = {
  kind: 'initramfs',
  version: INITRAMFS_KIND_VERSION,
  summary: 'live initramfs',
  tools: [{ name: 'depmod', debianPackage: 'kmod', versionArgs: ['--version'] }, { name: 'zstd', debianPackage: 'zstd', versionArgs: ['--version'] }, { name: 'gzip', debianPackage: 'gzip', versionArgs: ['--version'] }],
};

export function initramfsNode(options: InitramfsNodeOptions): NodeSpec {
  const compression = validateCompression(options.compression ?? DEFAULT_COMPRESSION, options.id);
  const explicitModules = options.modules ? validateModuleList(options.modules, options.id) : undefined;
  const paths = { kernelRoot: options.paths?.kernelRoot ?? 'root', busybox: options.paths?.busybox ?? 'root/bin/busybox' };
  // The default list is a declared file (its content enters the key); an explicit list is a parameter.
  const files = explicitModules ? [INIT_SCRIPT_FILE] : [INIT_SCRIPT_FILE, DEFAULT_MODULE_LIST_FILE];
  const params: Json = {
    paths,
    kernelRelease: options.kernelRelease ?? null,
    modules: explicitModules ? { required: explicitModules.required, optional: explicitModules.optional } : null,
    compression: { format: compression.format, level: compression.level },
  };
  return {
    id: options.id,
    kind: INITRAMFS_STAGE.kind,
    version: INITRAMFS_KIND_VERSION,
    deps: { kernel: options.deps.kernel, busybox: options.deps.busybox },
    files,
    params,
    // depmod runs only for kernel packages without modules.dep, but may: its version shapes the index.
    tools: ['depmod', compressorCommand(compression).tool],
    env: epochEnv(options),
    description: `${INITRAMFS_IMAGE} (${compression.format} -${compression.level})`,
    async run(ctx) {
      const modules = explicitModules ?? (await readModuleList(ctx.file(DEFAULT_MODULE_LIST_FILE)));
      const result = await buildInitramfs({
        kernelPackageRoot: join(ctx.dep('kernel'), paths.kernelRoot),
        kernelRelease: options.kernelRelease,
        busybox: join(ctx.dep('busybox'), paths.busybox),
        initScript: ctx.file(INIT_SCRIPT_FILE),
        modules,
        compression,
        sourceDateEpoch: parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH, ctx.id),
        scratch: ctx.tmp,
        output: join(ctx.out, INITRAMFS_IMAGE),
        runner: ctx,
      });
      const { closure } = result;
      ctx.log(`kernel ${result.kernelRelease}${result.ranDepmod ? ' (modules.dep made by depmod)' : ''}`);
      ctx.log(`load order (${closure.load.length}): ${closure.load.map((m) => m.name).join(' ')}`);
      if (closure.builtin.length) ctx.log(`built in: ${closure.builtin.join(' ')}`);
      if (closure.absentOptional.length) ctx.log(`optional, not in this kernel: ${closure.absentOptional.join(' ')}`);
      if (closure.unresolvedSoftdeps.length) ctx.log(`soft dependencies matching no module: ${closure.unresolvedSoftdeps.join(', ')}`);
      ctx.log(`cpio ${result.cpioBytes} bytes -> ${INITRAMFS_IMAGE} ${result.imageBytes} bytes`);
    },
  };
}
