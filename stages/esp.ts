// The EFI system partition image (efiboot.img): a FAT image made rootless and reproducibly with
// mkfs.fat --invariant and mtools. The ISO boots it through El Torito (CD) and its GPT/MBR entry
// (USB stick). buildEsp takes any set of files, so the same function makes the live ESP
// (systemd-boot + live UKI) and a throwaway Secure Boot enrollment ESP (systemd-boot + keys).
import { createHash } from 'node:crypto';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Json, NodeSpec } from '../graph/node.js';
import { hashFileInto } from './shared/file-digest.js';
import { liveUkiName, validateOsId } from './shared/os-names.js';
import { FatLayoutError, planFatLayout, readFatGeometry, type FatGeometry, type FatLayout } from './esp/fat-layout.js';
import type { Runner } from './shared/host-runner.js';
import { epochEnv, parseSourceDateEpoch, type StampsTime } from './shared/source-date-epoch.js';
import type { StageKind } from './kind.js';
import { MCOPY, MKFS_FAT, MMD } from './shared/tools.js';

/** The image's file name in the esp node's output (what the iso node points at). */
export const ESP_IMAGE = 'efiboot.img';
export const DEFAULT_ESP_LABEL = 'EFIBOOT';
/** Free space left in the image: systemd-boot writes a random seed when the medium is writable. */
export const DEFAULT_ESP_SLACK_BYTES = 1 << 20;
/** Where firmware looks on removable media, and where systemd-boot finds UKIs (Type #2 entries). */
export const REMOVABLE_BOOT_PATH = 'EFI/BOOT/BOOTX64.EFI';
export const UKI_DIR = 'EFI/Linux';
export const LOADER_CONF_PATH = 'loader/loader.conf';
/** Kind version: bump when the image changes for the same inputs. */
// 2: the image is a whole number of 2 KiB ISO sectors.
export const ESP_KIND_VERSION = 2;

export class EspInputError extends Error {
  override name = 'EspInputError';
}

/** A file in the image: copied from the host, or generated text/bytes. */
export type EspEntry = { path: string; source: string } | { path: string; data: string | Uint8Array };

/** FAT volume label: up to 11 characters, upper case (mkfs.fat -n). */
export function validateFatLabel(label: string, where: string): string {
  if (!/^[A-Z0-9_-]{1,11}$/.test(label)) {
    throw new EspInputError(`${where}: FAT label ${JSON.stringify(label)} must be 1-11 characters of A-Z 0-9 _ -`);
  }
  return label;
}

/** A path inside the image: relative, '/'-separated, portable FAT long-name characters. */
export function validateEspPath(path: string, where: string): string {
  const parts = path.split('/');
  const bad = parts.find((p) => p === '' || p === '.' || p === '..' || !/^[A-Za-z0-9._+-]{1,255}$/.test(p) || p.endsWith('.'));
  if (bad !== undefined) {
    throw new EspInputError(
      `${where}: ESP path ${JSON.stringify(path)} is not a relative path of FAT-safe names (A-Z a-z 0-9 . _ + -, no empty, '.' or '..' parts)`,
    );
  }
  return path;
}

/** Checks paths and rejects clashes: FAT names are case-insensitive, and a file cannot be a directory. */
export function validateEspEntries(entries: EspEntry[], where: string): void {
  if (entries.length === 0) throw new EspInputError(`${where}: an ESP needs at least one file`);
  const files = new Map<string, string>();
  for (const entry of entries) {
    validateEspPath(entry.path, where);
    const key = entry.path.toUpperCase();
    const clash = files.get(key);
    if (clash !== undefined) throw new EspInputError(`${where}: ESP paths ${JSON.stringify(clash)} and ${JSON.stringify(entry.path)} name the same FAT file`);
    files.set(key, entry.path);
  }
  for (const [key, path] of files) {
    const parts = key.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = files.get(parts.slice(0, i).join('/'));
      if (parent !== undefined) throw new EspInputError(`${where}: ${JSON.stringify(parent)} is a file, but ${JSON.stringify(path)} needs it as a directory`);
    }
  }
}

export interface LoaderConfOptions {
  /** Entry booted by default: a UKI's file name in EFI/Linux (`iuppiter-live.efi`). */
  default?: string;
  /**
   * Seconds the menu waits before booting the default. 0 boots it at once (holding a key at
   * boot still shows the menu): unattended boots never wait for a key either way.
   */
  timeoutSeconds: number;
  /** systemd-boot's `editor` (editing the command line in the menu); unset keeps its default. */
  editor?: boolean;
  /** systemd-boot's `secure-boot-enroll`: `force` enrolls /loader/keys/auto unasked (test machines). */
  secureBootEnroll?: 'off' | 'manual' | 'if-safe' | 'force';
  /** Further loader.conf lines, verbatim. */
  extraLines?: string[];
}

/** The text of loader/loader.conf. */
export function loaderConf(options: LoaderConfOptions): string {
  if (!Number.isInteger(options.timeoutSeconds) || options.timeoutSeconds < 0) {
    throw new EspInputError(`loader.conf: timeout ${options.timeoutSeconds} must be whole seconds >= 0`);
  }
  const lines: string[] = [];
  if (options.default !== undefined) {
    if (!/^[^\s]+$/.test(options.default)) throw new EspInputError(`loader.conf: default entry ${JSON.stringify(options.default)} must be one word`);
    lines.push(`default ${options.default}`);
  }
  lines.push(`timeout ${options.timeoutSeconds}`);
  if (options.editor !== undefined) lines.push(`editor ${options.editor ? 'yes' : 'no'}`);
  if (options.secureBootEnroll !== undefined) lines.push(`secure-boot-enroll ${options.secureBootEnroll}`);
  for (const line of options.extraLines ?? []) {
    if (/[\r\n]/.test(line)) throw new EspInputError(`loader.conf: extra line ${JSON.stringify(line)} contains a line break`);
    lines.push(line);
  }
  return lines.join('\n') + '\n';
}

export interface LiveEspFiles {
  os: string;
  /** Signed systemd-boot (systemd-bootx64.efi). */
  systemdBoot: string;
  /** Signed live UKI. */
  liveUki: string;
  loader: LoaderConfOptions;
}

/** The live ESP: systemd-boot as the removable-media loader, the live UKI, loader.conf defaulting to it. */
export function liveEspEntries(files: LiveEspFiles): EspEntry[] {
  validateOsId(files.os, 'live ESP');
  const uki = liveUkiName(files.os);
  return [
    { path: REMOVABLE_BOOT_PATH, source: files.systemdBoot },
    { path: `${UKI_DIR}/${uki}`, source: files.liveUki },
    { path: LOADER_CONF_PATH, data: loaderConf({ default: uki, ...files.loader }) },
  ];
}

export interface BuildEspOptions {
  entries: EspEntry[];
  output: string;
  label?: string;
  sourceDateEpoch: number;
  slackBytes?: number;
  /** Scratch directory (generated files are written here before mcopy takes them). */
  scratch: string;
  /** Runs mkfs.fat, mmd and mcopy: the node's context, or hostRunner() outside the engine. */
  runner: Runner;
}

export interface EspResult {
  layout: FatLayout;
  geometry: FatGeometry;
  /** Files in the order they were copied. */
  paths: string[];
  bytes: number;
}

/**
 * The volume serial number: 32 bits of a digest of the label, the date and every file's path,
 * size and content. Same content, same id; any change, a new one (no clock, no randomness).
 */
export async function espVolumeId(label: string, sourceDateEpoch: number, files: { path: string; host: string; size: number }[]): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`pipeline-esp\0${label}\0${sourceDateEpoch}\0`);
  for (const file of files) {
    hash.update(`${file.path}\0${file.size}\0`);
    await hashFileInto(hash, file.host);
  }
  return hash.digest('hex').slice(0, 8);
}

/** The environment mtools runs with: dates from SOURCE_DATE_EPOCH, naming rules pinned. */
function mtoolsEnv(sourceDateEpoch: number): Record<string, string> {
  return {
    SOURCE_DATE_EPOCH: String(sourceDateEpoch),
    // Images have no drive geometry worth checking; the rest pins defaults a config file could change.
    MTOOLS_SKIP_CHECK: '1',
    MTOOLS_NO_VFAT: '0',
    MTOOLS_NAME_NUMERIC_TAIL: '1',
    MTOOLS_LOWER_CASE: '0',
  };
}

/** Every directory the paths need, parents first. */
function directoriesOf(paths: string[]): string[] {
  const dirs = new Set<string>();
  for (const path of paths) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...dirs].sort(compareCodeUnits);
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Builds the FAT image at options.output. Two runs with the same inputs give the same bytes. */
export async function buildEsp(options: BuildEspOptions): Promise<EspResult> {
  const where = `ESP ${options.output}`;
  const label = validateFatLabel(options.label ?? DEFAULT_ESP_LABEL, where);
  validateEspEntries(options.entries, where);
  const epoch = options.sourceDateEpoch;
  if (!Number.isInteger(epoch) || epoch < 315532800) {
    // FAT dates start in 1980; mtools would clamp silently.
    throw new EspInputError(`${where}: SOURCE_DATE_EPOCH ${epoch} must be whole seconds from 1980 on (FAT cannot store earlier dates)`);
  }
  const entries = [...options.entries].sort((a, b) => compareCodeUnits(a.path, b.path));

  // Generated files go to scratch, so every entry is a host file for sizing, hashing and mcopy.
  await mkdir(options.scratch, { recursive: true });
  const files: { path: string; host: string; size: number }[] = [];
  for (const [index, entry] of entries.entries()) {
    let host: string;
    if ('source' in entry) {
      host = entry.source;
    } else {
      host = join(options.scratch, `esp-data-${index}`);
      await writeFile(host, entry.data);
    }
    let size: number;
    try {
      const info = await stat(host);
      if (!info.isFile()) throw new Error('not a regular file');
      size = info.size;
    } catch (err) {
      throw new EspInputError(`${where}: source of ${entry.path} (${host}) cannot be read: ${(err as Error).message}`);
    }
    files.push({ path: entry.path, host, size });
  }

  const layout = planFatLayout({ files, slackBytes: options.slackBytes ?? DEFAULT_ESP_SLACK_BYTES });
  const volumeId = await espVolumeId(label, epoch, files);
  const image = options.output;
  await rm(image, { force: true });
  try {
    await options.runner.exec('mkfs.fat', [
      '-C', '--invariant', '--mbr=n', '-i', volumeId, '-n', label,
      '-F', String(layout.bits), '-S', '512', '-s', String(layout.clusterBytes / 512), '-f', '2',
      ...(layout.bits === 32 ? [] : ['-r', '512']),
      image, String(layout.sizeKiB),
    ]);
    const geometry = await readFatGeometry(image);
    if (geometry.bits !== layout.bits || geometry.clusterBytes !== layout.clusterBytes || geometry.clusters < layout.clustersNeeded) {
      throw new FatLayoutError(
        `${where}: mkfs.fat made FAT${geometry.bits} with ${geometry.clusters} clusters of ${geometry.clusterBytes} bytes, ` +
          `planned FAT${layout.bits} with at least ${layout.clustersNeeded} clusters of ${layout.clusterBytes} (a bug in planFatLayout; report it with the file sizes)`,
      );
    }
    const env = mtoolsEnv(epoch);
    const dirs = directoriesOf(files.map((f) => f.path));
    if (dirs.length > 0) await options.runner.exec('mmd', ['-i', image, ...dirs.map((d) => `::/${d}`)], { env });
    // No -m: it would keep the host file's mtime; without it mtools stamps SOURCE_DATE_EPOCH.
    for (const file of files) await options.runner.exec('mcopy', ['-i', image, file.host, `::/${file.path}`], { env });
    return { layout, geometry, paths: files.map((f) => f.path), bytes: layout.sizeKiB * 1024 };
  } catch (err) {
    await rm(image, { force: true });
    throw err;
  }
}

/** Where a file of an esp node comes from. */
export type EspFileSpec =
  /** A file in a dependency's output (`dep` is the local dependency name). */
  | { path: string; dep: string; file: string }
  /** Generated text (loader.conf). */
  | { path: string; text: string }
  /** A declared project file (public .auth key updates kept in the repository). */
  | { path: string; projectFile: string };

export interface EspNodeOptions extends StampsTime {
  /** e.g. `esp:iuppiter`, `esp:iuppiter:enroll`. */
  id: string;
  /** Local dependency name -> node id. */
  deps: Record<string, string>;
  files: EspFileSpec[];
  label?: string;
  slackBytes?: number;
  description?: string;
}

/** The EFI system partition image: a reproducible FAT image built with mkfs.fat and mtools. */
export const ESP_STAGE: StageKind = { kind: 'esp', version: ESP_KIND_VERSION, summary: 'ESP image', tools: [MKFS_FAT, MMD, MCOPY] };

/** A build-graph node writing ESP_IMAGE from the given files. */
export function espNode(options: EspNodeOptions): NodeSpec {
  const label = validateFatLabel(options.label ?? DEFAULT_ESP_LABEL, options.id);
  validateEspEntries(options.files.map((f) => ({ path: f.path, data: '' })), options.id);
  for (const spec of options.files) {
    if ('dep' in spec && !(spec.dep in options.deps)) {
      throw new EspInputError(`${options.id}: ESP file ${spec.path} comes from dependency '${spec.dep}', which is not among its deps (${Object.keys(options.deps).join(', ')})`);
    }
  }
  const projectFiles = options.files.flatMap((f) => ('projectFile' in f ? [f.projectFile] : []));
  const slackBytes = options.slackBytes ?? DEFAULT_ESP_SLACK_BYTES;
  return {
    id: options.id,
    kind: ESP_STAGE.kind,
    version: ESP_KIND_VERSION,
    deps: { ...options.deps },
    files: projectFiles,
    params: { label, slackBytes, files: options.files as unknown as Json },
    tools: ['mkfs.fat', 'mmd', 'mcopy'],
    env: epochEnv(options),
    description: options.description ?? `${ESP_IMAGE}: ${options.files.map((f) => f.path).join(', ')}`,
    async run(ctx) {
      const entries: EspEntry[] = options.files.map((spec) => {
        if ('dep' in spec) return { path: spec.path, source: join(ctx.dep(spec.dep), spec.file) };
        if ('projectFile' in spec) return { path: spec.path, source: ctx.file(spec.projectFile) };
        return { path: spec.path, data: spec.text };
      });
      const result = await buildEsp({
        entries,
        output: join(ctx.out, ESP_IMAGE),
        label,
        slackBytes,
        sourceDateEpoch: parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH, ctx.id),
        scratch: ctx.tmp,
        runner: ctx,
      });
      const g = result.geometry;
      ctx.log(`FAT${g.bits}, ${g.clusters} clusters of ${g.clusterBytes} bytes, ${result.bytes} bytes, volume id ${g.volumeId}, label ${g.label}`);
    },
  };
}

export interface LiveEspNodeOptions extends StampsTime {
  /** e.g. `esp:iuppiter`. */
  id: string;
  os: string;
  /** Node ids: the signed systemd-boot and the signed live UKI. */
  deps: { systemdBoot: string; liveUki: string };
  /** Paths inside those outputs (defaults: the sign node's names, `systemd-bootx64.efi` and `uki.efi`). */
  paths?: { systemdBoot?: string; liveUki?: string };
  label?: string;
  /** systemd-boot menu timeout in seconds (default 2: short, and unattended boots go on by themselves). */
  timeoutSeconds?: number;
  loader?: Omit<LoaderConfOptions, 'default' | 'timeoutSeconds'>;
}

/** The variant's live ESP: EFI/BOOT/BOOTX64.EFI, EFI/Linux/<os>-live.efi, loader/loader.conf. */
export function liveEspNode(options: LiveEspNodeOptions): NodeSpec {
  const os = validateOsId(options.os, options.id);
  const uki = liveUkiName(os);
  const conf = loaderConf({ default: uki, timeoutSeconds: options.timeoutSeconds ?? 2, ...options.loader });
  return espNode({
    id: options.id,
    deps: { 'systemd-boot': options.deps.systemdBoot, 'live-uki': options.deps.liveUki },
    files: [
      { path: REMOVABLE_BOOT_PATH, dep: 'systemd-boot', file: options.paths?.systemdBoot ?? 'systemd-bootx64.efi' },
      { path: `${UKI_DIR}/${uki}`, dep: 'live-uki', file: options.paths?.liveUki ?? 'uki.efi' },
      { path: LOADER_CONF_PATH, text: conf },
    ],
    label: options.label,
    sourceDateEpoch: options.sourceDateEpoch,
    description: `${ESP_IMAGE}: systemd-boot + ${uki} (default, timeout ${options.timeoutSeconds ?? 2} s)`,
  });
}
