// Unified Kernel Images: the systemd EFI stub with the kernel, initrd, command line and
// os-release appended as PE sections, laid out like ukify does (formats/pe.ts does the writing).
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeSpec } from '../graph/node.js';
import { epochEnv, parseSourceDateEpoch, type StampsTime } from './shared/source-date-epoch.js';
export { parseSourceDateEpoch, SourceDateEpochError } from './shared/source-date-epoch.js';
import { appendPeSections, readAt, readPeHeaderArea, readPeHeaders, SCN, type AppendSectionsResult, type SectionToAdd } from '../formats/pe.js';
import type { StageKind } from './kind.js';
import { resolvePackagePath } from './shared/package-path.js';

export class UkiInputError extends Error {
  override name = 'UkiInputError';
}

/** Where the variant packages put the pieces (Alpine: systemd-efistub, linux-lts). */
export const STUB_PATH_IN_PACKAGE = 'usr/lib/systemd/boot/efi/linuxx64.efi.stub';
export const ALPINE_KERNEL_PATH_IN_PACKAGE = 'boot/vmlinuz-lts';

export interface UkiOptions {
  /** The EFI stub (linuxx64.efi.stub), unsigned. */
  stub: string;
  /** The kernel image (x86 bzImage with its EFI stub, i.e. a PE file). */
  kernel: string;
  /** Initrd files, concatenated in order into .initrd (microcode first, like ukify). */
  initrds: string[];
  /** Kernel command line (.cmdline), stored verbatim. */
  cmdline?: string;
  /** os-release text (.osrel), stored verbatim. */
  osRelease?: string;
  /** Kernel release for .uname; read from the kernel image when absent. */
  uname?: string;
  /** Extra SBAT lines merged into the stub's .sbat (a leading `sbat,` header line is dropped). */
  sbat?: string;
  /** Seconds since the epoch for the COFF TimeDateStamp. */
  sourceDateEpoch: number;
  output: string;
  signal?: AbortSignal;
}


/**
 * The kernel release of an x86 bzImage, from the version string its setup header points at
 * (the first word of `6.1.0-56-amd64 (debian-kernel@...) #1 SMP ...`), as ukify reads it.
 */
export async function kernelRelease(kernel: string): Promise<string> {
  const fh = await open(kernel, 'r');
  try {
    const head = await readAt(fh, 0, 0x1000);
    if (head.length < 0x210 || head.toString('latin1', 0x202, 0x206) !== 'HdrS') {
      throw new UkiInputError(`${kernel}: not an x86 bzImage (no HdrS setup header); pass the kernel release explicitly`);
    }
    const pointer = head.readUInt16LE(0x20e);
    if (pointer === 0) throw new UkiInputError(`${kernel}: the setup header has no kernel version string; pass the kernel release explicitly`);
    const text = await readAt(fh, pointer + 0x200, 256);
    const release = /^[^\s\0]+/.exec(text.toString('latin1'))?.[0];
    if (!release) throw new UkiInputError(`${kernel}: empty kernel version string; pass the kernel release explicitly`);
    return release;
  } finally {
    await fh.close();
  }
}

/** The kernel's PE SizeOfImage: the memory it needs when the stub runs it in place. */
export async function kernelSizeOfImage(kernel: string): Promise<number> {
  try {
    return (await readPeHeaders(kernel)).sizeOfImage;
  } catch (err) {
    throw new UkiInputError(`${kernel}: the kernel is not a PE image (${(err as Error).message}); a UKI needs a kernel built with CONFIG_EFI_STUB`);
  }
}

/** The text of a PE section (trailing NULs removed), or undefined if the file has no such section. */
export async function peSectionText(file: string, name: string): Promise<string | undefined> {
  const fh = await open(file, 'r');
  try {
    const { headers } = await readPeHeaderArea(fh, file);
    const s = headers.sections.find((x) => x.name === name);
    if (!s) return undefined;
    return (await readAt(fh, s.pointerToRawData, Math.min(s.virtualSize, s.sizeOfRawData))).toString('utf8').replace(/\0+$/, '');
  } finally {
    await fh.close();
  }
}

const SBAT_HEADER = /^sbat,/;

/**
 * Merges SBAT (Secure Boot Advanced Targeting) texts like ukify: one `sbat,` header line first
 * (the first one found), then every component line of every input in order, a final newline and
 * a NUL. Returns undefined when no input has any text.
 */
export function mergeSbat(texts: (string | undefined)[]): string | undefined {
  let header: string | undefined;
  const lines: string[] = [];
  for (const text of texts) {
    if (text === undefined) continue;
    for (const line of text.replace(/\0+$/, '').split('\n')) {
      if (line.trim() === '') continue;
      if (SBAT_HEADER.test(line)) header ??= line;
      else lines.push(line);
    }
  }
  if (header === undefined && lines.length === 0) return undefined;
  if (header === undefined) {
    throw new UkiInputError('SBAT: no input starts with an `sbat,<version>,...` header line; the stub should provide one');
  }
  return [header, ...lines].join('\n') + '\n\0';
}

/** The sections ukify would add, in its order: .osrel .cmdline .uname .initrd [.sbat] .linux (last). */
export async function ukiSections(options: UkiOptions): Promise<SectionToAdd[]> {
  const data = SCN.CNT_INITIALIZED_DATA | SCN.MEM_READ;
  const text = (name: string, value: string | undefined): SectionToAdd[] =>
    value === undefined || value === '' ? [] : [{ name, source: { bytes: Buffer.from(value, 'utf8') }, characteristics: data }];
  const kernelImageSize = await kernelSizeOfImage(options.kernel);
  const sections: SectionToAdd[] = [
    ...text('.osrel', options.osRelease),
    ...text('.cmdline', options.cmdline),
    ...text('.uname', options.uname ?? (await kernelRelease(options.kernel))),
  ];
  if (options.initrds.length > 0) sections.push({ name: '.initrd', source: { files: options.initrds }, characteristics: data });
  // Merge only when something is added, so a plain UKI keeps the stub's .sbat byte for byte.
  const kernelSbat = await peSectionText(options.kernel, '.sbat');
  if (kernelSbat !== undefined || options.sbat !== undefined) {
    const merged = mergeSbat([await peSectionText(options.stub, '.sbat'), kernelSbat, options.sbat]);
    if (merged !== undefined) sections.push(...text('.sbat', merged));
  }
  const { size } = await stat(options.kernel);
  sections.push({
    name: '.linux',
    source: { files: [options.kernel] },
    // The stub runs the kernel in place: map as much as the kernel's own image needs.
    virtualSize: Math.max(kernelImageSize, size),
    characteristics: SCN.CNT_CODE | SCN.MEM_READ,
  });
  return sections;
}

/** Builds a UKI at options.output; returns the written layout. */
export async function buildUki(options: UkiOptions): Promise<AppendSectionsResult> {
  if (!Number.isInteger(options.sourceDateEpoch) || options.sourceDateEpoch < 0 || options.sourceDateEpoch > 0xffffffff) {
    throw new UkiInputError(`UKI ${options.output}: sourceDateEpoch ${options.sourceDateEpoch} must be whole seconds that fit 32 bits`);
  }
  const sections = await ukiSections(options);
  return appendPeSections(options.stub, sections, options.output, {
    timeDateStamp: options.sourceDateEpoch,
    signal: options.signal,
  });
}

export interface UkiNodeOptions extends StampsTime {
  /** e.g. `uki:iuppiter:system-a`. */
  id: string;
  /** Node ids: the unpacked stub package, the unpacked kernel package, the initramfs. */
  deps: { stub: string; kernel: string; initramfs: string };
  /** File paths inside those nodes' outputs. */
  paths: { stub: string; kernel: string; initramfs: string[] };
  cmdline: string;
  osRelease: string;
  uname?: string;
  sbat?: string;
  /** Output file name (default `uki.efi`). */
  output?: string;
}

/** Kind version: bump when buildUki's output changes for the same inputs. */
export const UKI_KIND_VERSION = 1;

/** A Unified Kernel Image: the EFI stub with the kernel, initramfs, command line and os-release. */
export const UKI_STAGE: StageKind = { kind: 'uki', version: UKI_KIND_VERSION, summary: 'unified kernel images', tools: [] };

/** The build-graph node for one UKI. Layout facts (alignment, addresses) come from the stub itself. */
export function ukiNode(options: UkiNodeOptions): NodeSpec {
  const output = options.output ?? 'uki.efi';
  return {
    id: options.id,
    kind: UKI_STAGE.kind,
    version: UKI_KIND_VERSION,
    deps: { stub: options.deps.stub, kernel: options.deps.kernel, initramfs: options.deps.initramfs },
    params: {
      stub: options.paths.stub,
      kernel: options.paths.kernel,
      initramfs: options.paths.initramfs,
      cmdline: options.cmdline,
      osRelease: options.osRelease,
      uname: options.uname ?? null,
      sbat: options.sbat ?? null,
      output,
    },
    env: epochEnv(options),
    description: `UKI ${output}: ${options.cmdline}`,
    async run(ctx) {
      const result = await buildUki({
        stub: join(ctx.dep('stub'), options.paths.stub),
        kernel: await resolvePackagePath(ctx.dep('kernel'), options.paths.kernel),
        initrds: options.paths.initramfs.map((p) => join(ctx.dep('initramfs'), p)),
        cmdline: options.cmdline,
        osRelease: options.osRelease,
        uname: options.uname,
        sbat: options.sbat,
        sourceDateEpoch: parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH, ctx.id),
        output: join(ctx.out, output),
        signal: ctx.signal,
      });
      for (const s of result.headers.sections) {
        ctx.log(`${s.name.padEnd(8)} va=0x${s.virtualAddress.toString(16)} vsize=0x${s.virtualSize.toString(16)} raw=0x${s.pointerToRawData.toString(16)}+0x${s.sizeOfRawData.toString(16)}`);
      }
    },
  };
}
