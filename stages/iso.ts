// The hybrid live ISO: BIOS boots it through isolinux (CD: El Torito; USB: the isohybrid MBR),
// UEFI through the ESP image (CD: El Torito; USB: its MBR/GPT partition). It carries the kernel
// and initramfs for isolinux, the root image the initramfs loop-mounts, and the signed per-slot
// UKIs the installer copies. xorriso reads every input in place (graft points): nothing large is
// copied or read into memory. The command line itself is built in stages/iso/xorriso-args.ts.
import { copyFile, mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { NodeSpec } from '../graph/node.js';
import { ESP_IMAGE } from './esp.js';
import { INITRAMFS_IMAGE } from './initramfs.js';
import { readFatGeometry } from './esp/fat-layout.js';
import { writeSha256File } from './shared/file-digest.js';
import { liveUkiName, slotUkiName, validateOsId } from './shared/os-names.js';
import { ISOLINUX_TEMPLATE_FILE, renderIsolinuxCfg } from './iso/isolinux-config.js';
import type { Runner } from './shared/host-runner.js';
import { liveKernelCommandLine, validateIsoVolumeLabel } from './iso/volume-label.js';
import { xorrisoArgs, type IsoGraft } from './iso/xorriso-args.js';
import { SQUASHFS_FILE, SQUASHFS_UPPER_FILE } from './squashfs.js';
import { epochEnv, parseSourceDateEpoch, type StampsTime } from './shared/source-date-epoch.js';
import type { StageKind } from './kind.js';
import { XORRISO } from './shared/tools.js';
import { resolvePackagePath } from './shared/package-path.js';

/**
 * Where things live on the medium. The initramfs mounts /live/filesystem.{squashfs,erofs} (the base
 * layer) and, when present, /live/overlayfs.{squashfs,erofs} (the upper layer) over it.
 */
export const ISO_PATHS = {
  kernel: '/boot/vmlinuz',
  initramfs: '/boot/initramfs-live.img',
  esp: '/boot/efiboot.img',
  isolinuxBin: '/boot/isolinux/isolinux.bin',
  ldlinux: '/boot/isolinux/ldlinux.c32',
  isolinuxCfg: '/boot/isolinux/isolinux.cfg',
  bootCatalog: '/boot/isolinux/boot.cat',
  ukiDir: '/boot/uki',
  liveDir: '/live',
} as const;

/** Kind version: bump when the ISO changes for the same inputs. */
export const ISO_KIND_VERSION = 1;
export const DEFAULT_ISOLINUX_TIMEOUT_SECONDS = 2;

export class IsoInputError extends Error {
  override name = 'IsoInputError';
}

export type RootImageType = 'squashfs' | 'erofs';

/** squashfs or erofs, from the image's magic number (its file name may be anything). */
export async function rootImageType(path: string): Promise<RootImageType> {
  const fh = await open(path, 'r');
  const head = Buffer.alloc(1028);
  try {
    await fh.read(head, 0, head.length, 0);
  } finally {
    await fh.close();
  }
  if (head.toString('latin1', 0, 4) === 'hsqs') return 'squashfs';
  if (head.readUInt32LE(1024) === 0xe0f5e1e2) return 'erofs';
  throw new IsoInputError(`root image ${path} is neither squashfs (magic 'hsqs') nor erofs (magic 0xE0F5E1E2 at 1024); the live initramfs mounts only these`);
}

export interface SyslinuxFiles {
  /** isolinux.bin, ldlinux.c32 (same syslinux version) and isohdpfx.bin (the isohybrid MBR). */
  isolinuxBin: string;
  ldlinuxC32: string;
  isohdpfxBin: string;
}

export interface BuildIsoOptions {
  /** The ISO to write; `<output>.sha256` is written next to it. */
  output: string;
  os: string;
  volumeLabel: string;
  /** The variant's kernel command line without root= (`console=ttyS0,115200`). */
  cmdline: string;
  /** Seconds isolinux's boot: prompt waits (0: boot at once). */
  timeoutSeconds: number;
  /** Text of stages/iso/isolinux.cfg. */
  isolinuxTemplate: string;
  sourceDateEpoch: number;
  /** The ESP image (efiboot.img). */
  esp: string;
  syslinux: SyslinuxFiles;
  kernel: string;
  initramfs: string;
  /** squashfs or erofs root image (the base layer). */
  rootImage: string;
  /** squashfs or erofs upper layer image, when the root has one. */
  upperImage?: string;
  /** Signed UKIs for the installed slots. */
  systemA: string;
  systemB: string;
  scratch: string;
  /** Runs xorriso: the node's context, or hostRunner() outside the engine. */
  runner: Runner;
}

export interface IsoResult {
  iso: string;
  sha256: string;
  bytes: number;
  /** Files on the medium (ISO path -> host file), sorted by ISO path. */
  grafts: IsoGraft[];
  /** The BIOS kernel command line (isolinux APPEND). */
  append: string;
  rootImageType: RootImageType;
  upperImageType?: RootImageType;
}

async function requireFile(path: string, role: string, where: string): Promise<void> {
  try {
    if ((await stat(path)).isFile()) return;
  } catch {
    // reported below
  }
  throw new IsoInputError(`${where}: ${role} ${path} is missing or not a regular file`);
}

/** Builds the hybrid ISO and its .sha256. Two runs with the same inputs give the same bytes. */
export async function buildIso(options: BuildIsoOptions): Promise<IsoResult> {
  const where = `ISO ${options.output}`;
  const os = validateOsId(options.os, where);
  const label = validateIsoVolumeLabel(options.volumeLabel, where);
  const epoch = options.sourceDateEpoch;
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > 32503680000) {
    throw new IsoInputError(`${where}: SOURCE_DATE_EPOCH ${epoch} must be whole seconds between 1970 and 3000`);
  }
  const inputs: [string, string][] = [
    ['ESP image', options.esp],
    ['isolinux.bin', options.syslinux.isolinuxBin],
    ['ldlinux.c32', options.syslinux.ldlinuxC32],
    ['isohdpfx.bin', options.syslinux.isohdpfxBin],
    ['kernel', options.kernel],
    ['initramfs', options.initramfs],
    ['root image', options.rootImage],
    ...(options.upperImage ? [['upper layer image', options.upperImage] as [string, string]] : []),
    ['system-a UKI', options.systemA],
    ['system-b UKI', options.systemB],
  ];
  for (const [role, path] of inputs) await requireFile(path, role, where);
  try {
    await readFatGeometry(options.esp);
  } catch (err) {
    throw new IsoInputError(`${where}: ESP image ${options.esp} is not a FAT image: ${(err as Error).message}`);
  }
  const type = await rootImageType(options.rootImage);
  const upperType = options.upperImage ? await rootImageType(options.upperImage) : undefined;

  const append = liveKernelCommandLine(label, options.cmdline);
  const cfg = renderIsolinuxCfg(options.isolinuxTemplate, {
    title: `${os} live (${label})`,
    kernel: ISO_PATHS.kernel,
    initrd: ISO_PATHS.initramfs,
    append,
    timeoutSeconds: options.timeoutSeconds,
  });
  await mkdir(options.scratch, { recursive: true });
  const cfgFile = join(options.scratch, 'isolinux.cfg');
  await writeFile(cfgFile, cfg);
  // -boot-info-table patches isolinux.bin; give xorriso a private copy, never the package's file.
  const isolinuxBin = join(options.scratch, 'isolinux.bin');
  await copyFile(options.syslinux.isolinuxBin, isolinuxBin);

  const grafts: IsoGraft[] = [
    { isoPath: ISO_PATHS.kernel, host: options.kernel },
    { isoPath: ISO_PATHS.initramfs, host: options.initramfs },
    { isoPath: ISO_PATHS.esp, host: options.esp },
    { isoPath: ISO_PATHS.isolinuxBin, host: isolinuxBin },
    { isoPath: ISO_PATHS.ldlinux, host: options.syslinux.ldlinuxC32 },
    { isoPath: ISO_PATHS.isolinuxCfg, host: cfgFile },
    { isoPath: `${ISO_PATHS.ukiDir}/${slotUkiName(os, 'system-a')}`, host: options.systemA },
    { isoPath: `${ISO_PATHS.ukiDir}/${slotUkiName(os, 'system-b')}`, host: options.systemB },
    { isoPath: `${ISO_PATHS.liveDir}/filesystem.${type}`, host: options.rootImage },
    ...(options.upperImage ? [{ isoPath: `${ISO_PATHS.liveDir}/overlayfs.${upperType}`, host: options.upperImage }] : []),
  ].sort((a, b) => (a.isoPath < b.isoPath ? -1 : a.isoPath > b.isoPath ? 1 : 0));

  const args = xorrisoArgs({
    output: options.output,
    volumeLabel: label,
    sourceDateEpoch: epoch,
    isohybridMbr: options.syslinux.isohdpfxBin,
    biosBootImage: ISO_PATHS.isolinuxBin,
    bootCatalog: ISO_PATHS.bootCatalog,
    efiBootImage: ISO_PATHS.esp,
    grafts,
  });
  const sumFile = `${options.output}.sha256`;
  await rm(options.output, { force: true });
  await rm(sumFile, { force: true });
  try {
    // xorriso also reads SOURCE_DATE_EPOCH; the explicit options above win, the value agrees.
    await options.runner.exec('xorriso', args, { env: { SOURCE_DATE_EPOCH: String(epoch) } });
    // Through the runner: in a node, the store then takes this digest instead of reading the ISO again.
    const sha256 = await writeSha256File(options.output, options.runner.sha256File?.bind(options.runner));
    return { iso: options.output, sha256, bytes: (await stat(options.output)).size, grafts, append, rootImageType: type, ...(upperType ? { upperImageType: upperType } : {}) };
  } catch (err) {
    await rm(options.output, { force: true });
    await rm(sumFile, { force: true });
    throw err;
  }
}

/** Paths inside the dependencies' outputs. Defaults follow Alpine's packages and our nodes. */
export interface IsoInputPaths {
  esp: string;
  isolinuxBin: string;
  ldlinuxC32: string;
  isohdpfxBin: string;
  kernel: string;
  initramfs: string;
  rootImage: string;
  /** The upper layer image in its node's output (only with deps.upperImage). */
  upperImage?: string;
  systemA: string;
  systemB: string;
}

export const DEFAULT_ISO_INPUT_PATHS: IsoInputPaths = {
  esp: ESP_IMAGE,
  // Unpacked package nodes put the package's files under root/ (Alpine's syslinux, linux-lts).
  isolinuxBin: 'root/usr/share/syslinux/isolinux.bin',
  ldlinuxC32: 'root/usr/share/syslinux/ldlinux.c32',
  isohdpfxBin: 'root/usr/share/syslinux/isohdpfx.bin',
  kernel: 'root/boot/vmlinuz-lts',
  // The initramfs node's image, the squashfs node's file, the sign nodes' default names.
  initramfs: INITRAMFS_IMAGE,
  rootImage: SQUASHFS_FILE,
  systemA: 'uki.efi',
  systemB: 'uki.efi',
};

export interface IsoNodeOptions extends StampsTime {
  /** e.g. `iso:iuppiter`. */
  id: string;
  /** OS id: names the slot UKIs (`<os>-system-a.efi`). */
  os: string;
  /** Output base name: `<name>.iso` (default: the OS id). */
  name?: string;
  /** ISO volume label; the live command line gets root=live:LABEL=<label>. */
  label: string;
  /** The variant's kernel command line without root=. */
  cmdline: string;
  /** isolinux prompt timeout (default 2 s). */
  timeoutSeconds?: number;
  /** Node ids. `syslinux` is the unpacked syslinux package, `kernel` the unpacked kernel package. */
  deps: { esp: string; syslinux: string; kernel: string; initramfs: string; rootImage: string; upperImage?: string; systemA: string; systemB: string };
  paths?: Partial<IsoInputPaths>;
}

/** The hybrid ISO: isolinux for BIOS, the ESP for UEFI, the root image (and its upper layer) and the slot UKIs. */
export const ISO_STAGE: StageKind = { kind: 'iso', version: ISO_KIND_VERSION, summary: 'hybrid ISO', tools: [XORRISO] };

/** The build-graph node writing `<name>.iso` and `<name>.iso.sha256`. */
export function isoNode(options: IsoNodeOptions): NodeSpec {
  const os = validateOsId(options.os, options.id);
  const name = validateOsId(options.name ?? os, options.id);
  const label = validateIsoVolumeLabel(options.label, options.id);
  const paths: IsoInputPaths = { ...DEFAULT_ISO_INPUT_PATHS, ...options.paths };
  if (options.deps.upperImage) paths.upperImage ??= SQUASHFS_UPPER_FILE;
  else delete paths.upperImage;
  const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_ISOLINUX_TIMEOUT_SECONDS;
  const append = liveKernelCommandLine(label, options.cmdline);
  const { deps } = options;
  return {
    id: options.id,
    kind: ISO_STAGE.kind,
    version: ISO_KIND_VERSION,
    deps: {
      esp: deps.esp,
      syslinux: deps.syslinux,
      kernel: deps.kernel,
      initramfs: deps.initramfs,
      'root-image': deps.rootImage,
      ...(deps.upperImage ? { 'upper-image': deps.upperImage } : {}),
      'system-a': deps.systemA,
      'system-b': deps.systemB,
    },
    files: [ISOLINUX_TEMPLATE_FILE],
    params: { os, name, label, cmdline: options.cmdline, timeoutSeconds, paths: { ...paths } },
    tools: ['xorriso'],
    env: epochEnv(options),
    description: `${name}.iso (${label}): BIOS isolinux + UEFI ${liveUkiName(os)}, ${append}`,
    async run(ctx) {
      const result = await buildIso({
        output: join(ctx.out, `${name}.iso`),
        os,
        volumeLabel: label,
        cmdline: options.cmdline,
        timeoutSeconds,
        isolinuxTemplate: await readFile(ctx.file(ISOLINUX_TEMPLATE_FILE), 'utf8'),
        sourceDateEpoch: parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH, ctx.id),
        esp: join(ctx.dep('esp'), paths.esp),
        syslinux: {
          isolinuxBin: join(ctx.dep('syslinux'), paths.isolinuxBin),
          ldlinuxC32: join(ctx.dep('syslinux'), paths.ldlinuxC32),
          isohdpfxBin: join(ctx.dep('syslinux'), paths.isohdpfxBin),
        },
        kernel: await resolvePackagePath(ctx.dep('kernel'), paths.kernel),
        initramfs: join(ctx.dep('initramfs'), paths.initramfs),
        rootImage: join(ctx.dep('root-image'), paths.rootImage),
        upperImage: deps.upperImage ? join(ctx.dep('upper-image'), paths.upperImage!) : undefined,
        systemA: join(ctx.dep('system-a'), paths.systemA),
        systemB: join(ctx.dep('system-b'), paths.systemB),
        scratch: ctx.tmp,
        runner: ctx,
      });
      for (const g of result.grafts) ctx.log(`${g.isoPath} <- ${basename(g.host)}`);
      ctx.log(`${basename(result.iso)}: ${result.bytes} bytes, sha256 ${result.sha256}`);
    },
  };
}
