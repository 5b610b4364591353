// PE/COFF images (EFI applications): read the headers, compute the PE checksum, and append
// sections to an existing image the way systemd's ukify lays out a Unified Kernel Image.
// Large section contents (kernel, initrd) are streamed from their files, never held in memory.
import { open, readFile, rm, stat, type FileHandle } from 'node:fs/promises';

export class PeFormatError extends Error {
  override name = 'PeFormatError';
}

/** The image carries an Authenticode certificate table already. */
export class PeAlreadySignedError extends PeFormatError {
  override name = 'PeAlreadySignedError';
}

/** The header area has no room left for more section headers. */
export class PeNoHeaderRoomError extends PeFormatError {
  override name = 'PeNoHeaderRoomError';
}

export const PE32_MAGIC = 0x10b;
export const PE32_PLUS_MAGIC = 0x20b;
export const SECTION_HEADER_SIZE = 40;
const COFF_SYMBOL_SIZE = 18;
const IMAGE_FILE_LOCAL_SYMS_STRIPPED = 0x0008;
const DIRECTORY_SECURITY = 4;

export const SCN = {
  CNT_CODE: 0x00000020,
  CNT_INITIALIZED_DATA: 0x00000040,
  MEM_EXECUTE: 0x20000000,
  MEM_READ: 0x40000000,
} as const;

export interface PeSection {
  name: string;
  virtualSize: number;
  virtualAddress: number;
  sizeOfRawData: number;
  pointerToRawData: number;
  characteristics: number;
  /** File offset of this section's 40-byte header. */
  headerOffset: number;
}

/** The header fields this project reads or writes, with their file offsets. */
export interface PeHeaders {
  peOffset: number;
  coffOffset: number;
  optionalOffset: number;
  magic: number;
  machine: number;
  timeDateStamp: number;
  pointerToSymbolTable: number;
  numberOfSymbols: number;
  characteristics: number;
  imageBase: bigint;
  sectionAlignment: number;
  fileAlignment: number;
  sizeOfImage: number;
  sizeOfHeaders: number;
  checksum: number;
  /** File offset of the 4-byte CheckSum field (Authenticode skips it). */
  checksumOffset: number;
  numberOfRvaAndSizes: number;
  /** File offset of the 8-byte certificate-table directory entry, or -1 if the image has none. */
  certDirectoryOffset: number;
  /** The certificate table (file offset + size); size 0 when unsigned. */
  certTable: { offset: number; size: number };
  sectionTableOffset: number;
  sections: PeSection[];
}

function rd16(buf: Uint8Array, offset: number): number {
  return buf[offset] | (buf[offset + 1] << 8);
}

function rd32(buf: Uint8Array, offset: number): number {
  return (buf[offset] | (buf[offset + 1] << 8) | (buf[offset + 2] << 16)) + buf[offset + 3] * 0x1000000;
}

export function roundUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/** Parses the headers of a PE image held (at least its header area) in `buf`. */
export function parsePeHeaders(buf: Uint8Array, file = 'PE image'): PeHeaders {
  const need = (end: number, what: string) => {
    if (end > buf.length) throw new PeFormatError(`${file}: truncated ${what} (needs ${end} bytes, have ${buf.length})`);
  };
  need(0x40, 'DOS header');
  if (buf[0] !== 0x4d || buf[1] !== 0x5a) throw new PeFormatError(`${file}: not a PE image (no MZ signature)`);
  const peOffset = rd32(buf, 0x3c);
  need(peOffset + 24, 'PE/COFF header');
  if (rd32(buf, peOffset) !== 0x00004550) throw new PeFormatError(`${file}: not a PE image (no PE signature at ${peOffset})`);
  const coffOffset = peOffset + 4;
  const numberOfSections = rd16(buf, coffOffset + 2);
  const sizeOfOptionalHeader = rd16(buf, coffOffset + 16);
  const optionalOffset = coffOffset + 20;
  need(optionalOffset + sizeOfOptionalHeader, 'optional header');
  const magic = rd16(buf, optionalOffset);
  if (magic !== PE32_MAGIC && magic !== PE32_PLUS_MAGIC) {
    throw new PeFormatError(`${file}: unknown optional header magic 0x${magic.toString(16)}`);
  }
  const plus = magic === PE32_PLUS_MAGIC;
  const imageBase = plus
    ? BigInt(rd32(buf, optionalOffset + 24)) + (BigInt(rd32(buf, optionalOffset + 28)) << 32n)
    : BigInt(rd32(buf, optionalOffset + 28));
  const numberOfRvaAndSizes = rd32(buf, optionalOffset + (plus ? 108 : 92));
  const dataDirectories = optionalOffset + (plus ? 112 : 96);
  const certDirectoryOffset =
    numberOfRvaAndSizes > DIRECTORY_SECURITY ? dataDirectories + 8 * DIRECTORY_SECURITY : -1;
  const sectionTableOffset = optionalOffset + sizeOfOptionalHeader;
  need(sectionTableOffset + numberOfSections * SECTION_HEADER_SIZE, 'section table');
  const sections: PeSection[] = [];
  for (let i = 0; i < numberOfSections; i++) {
    const h = sectionTableOffset + i * SECTION_HEADER_SIZE;
    const rawName = Buffer.from(buf.subarray(h, h + 8));
    const nul = rawName.indexOf(0);
    sections.push({
      name: rawName.subarray(0, nul < 0 ? 8 : nul).toString('latin1'),
      virtualSize: rd32(buf, h + 8),
      virtualAddress: rd32(buf, h + 12),
      sizeOfRawData: rd32(buf, h + 16),
      pointerToRawData: rd32(buf, h + 20),
      characteristics: rd32(buf, h + 36),
      headerOffset: h,
    });
  }
  return {
    peOffset,
    coffOffset,
    optionalOffset,
    magic,
    machine: rd16(buf, coffOffset),
    timeDateStamp: rd32(buf, coffOffset + 4),
    pointerToSymbolTable: rd32(buf, coffOffset + 8),
    numberOfSymbols: rd32(buf, coffOffset + 12),
    characteristics: rd16(buf, coffOffset + 18),
    imageBase,
    sectionAlignment: rd32(buf, optionalOffset + 32),
    fileAlignment: rd32(buf, optionalOffset + 36),
    sizeOfImage: rd32(buf, optionalOffset + 56),
    sizeOfHeaders: rd32(buf, optionalOffset + 60),
    checksum: rd32(buf, optionalOffset + 64),
    checksumOffset: optionalOffset + 64,
    numberOfRvaAndSizes,
    certDirectoryOffset,
    certTable:
      certDirectoryOffset < 0
        ? { offset: 0, size: 0 }
        : { offset: rd32(buf, certDirectoryOffset), size: rd32(buf, certDirectoryOffset + 4) },
    sectionTableOffset,
    sections,
  };
}

/** Reads `length` bytes at `position` (fewer only at end of file). */
export async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf.subarray(0, done);
}

/** How many leading bytes hold the headers: SizeOfHeaders, or the section table's end if later. */
function headerAreaLength(head: Uint8Array, file: string): number {
  if (head.length < 0x40 || head[0] !== 0x4d || head[1] !== 0x5a) throw new PeFormatError(`${file}: not a PE image (no MZ signature)`);
  const coffOffset = rd32(head, 0x3c) + 4;
  const optionalOffset = coffOffset + 20;
  if (optionalOffset + 64 > head.length) throw new PeFormatError(`${file}: PE header lies beyond the first ${head.length} bytes`);
  const tableEnd = optionalOffset + rd16(head, coffOffset + 16) + rd16(head, coffOffset + 2) * SECTION_HEADER_SIZE;
  const length = Math.max(rd32(head, optionalOffset + 60), tableEnd);
  if (length > MAX_HEADER_AREA) throw new PeFormatError(`${file}: implausible header size ${length}`);
  return length;
}

const MAX_HEADER_AREA = 16 << 20;

/** The header area of a PE file (up to SizeOfHeaders and the section table's end) and its parse. */
export async function readPeHeaderArea(fh: FileHandle, file: string): Promise<{ buf: Buffer; headers: PeHeaders }> {
  const head = await readAt(fh, 0, 4096);
  const length = headerAreaLength(head, file);
  const buf = length <= head.length ? head.subarray(0, length) : await readAt(fh, 0, length);
  return { buf, headers: parsePeHeaders(buf, file) };
}

export async function readPeHeaders(file: string): Promise<PeHeaders> {
  const fh = await open(file, 'r');
  try {
    return (await readPeHeaderArea(fh, file)).headers;
  } finally {
    await fh.close();
  }
}

/**
 * The PE checksum (the algorithm of Windows' CheckSumMappedFile): 16-bit one's-complement style
 * sum of the file's little-endian words with end-around carry, plus the file length. The CheckSum
 * field itself must be fed as zeros.
 */
export class PeChecksum {
  private sum = 0;
  private length = 0;
  private pendingLow: number | undefined;

  update(chunk: Uint8Array): void {
    let i = 0;
    let sum = this.sum;
    if (this.pendingLow !== undefined && chunk.length > 0) {
      sum += this.pendingLow | (chunk[0] << 8);
      this.pendingLow = undefined;
      i = 1;
    }
    const last = chunk.length - 1;
    for (; i < last; i += 2) sum += chunk[i] | (chunk[i + 1] << 8);
    if (i === last) this.pendingLow = chunk[last];
    this.sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
    this.length += chunk.length;
  }

  digest(): number {
    let sum = this.sum + (this.pendingLow ?? 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
    return (sum + this.length) >>> 0;
  }
}

const CHUNK = 1 << 20;

/** Calls `onChunk` for consecutive pieces of [start, start+length) of an open file. */
export async function streamRange(
  fh: FileHandle,
  start: number,
  length: number,
  onChunk: (chunk: Buffer) => void | Promise<void>,
  file: string,
  signal?: AbortSignal,
): Promise<void> {
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(length, 1)));
  for (let done = 0; done < length; ) {
    signal?.throwIfAborted();
    const want = Math.min(buf.length, length - done);
    const { bytesRead } = await fh.read(buf, 0, want, start + done);
    if (bytesRead === 0) {
      throw new PeFormatError(`${file}: ended at ${start + done} bytes, expected data up to ${start + length} (did it change while being read?)`);
    }
    await onChunk(buf.subarray(0, bytesRead));
    done += bytesRead;
  }
}

/** The correct PE checksum of a file on disk (its stored CheckSum field counted as zero). */
export async function peFileChecksum(file: string): Promise<number> {
  const fh = await open(file, 'r');
  try {
    const { headers } = await readPeHeaderArea(fh, file);
    const { size } = await fh.stat();
    const checksum = new PeChecksum();
    let position = 0;
    await streamRange(fh, 0, size, (chunk) => {
      const from = headers.checksumOffset - position;
      if (from + 4 > 0 && from < chunk.length) {
        const copy = Buffer.from(chunk);
        copy.fill(0, Math.max(from, 0), Math.min(from + 4, copy.length));
        chunk = copy;
      }
      checksum.update(chunk);
      position += chunk.length;
    }, file);
    return checksum.digest();
  } finally {
    await fh.close();
  }
}

/**
 * Writes a PE file front to back while summing its checksum. Callers write the header with the
 * CheckSum field zeroed and call `finish(checksumOffset)` to store the result.
 */
export class PeWriter {
  private readonly checksum = new PeChecksum();
  position = 0;

  private constructor(private readonly fh: FileHandle, readonly path: string) {}

  static async create(path: string): Promise<PeWriter> {
    return new PeWriter(await open(path, 'w', 0o644), path);
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.checksum.update(bytes);
    for (let done = 0; done < bytes.length; ) {
      const { bytesWritten } = await this.fh.write(bytes, done, bytes.length - done, this.position + done);
      done += bytesWritten;
    }
    this.position += bytes.length;
  }

  async zeros(count: number): Promise<void> {
    const block = Buffer.alloc(Math.min(count, CHUNK));
    for (let left = count; left > 0; left -= block.length) await this.write(left >= block.length ? block : block.subarray(0, left));
  }

  async padTo(offset: number): Promise<void> {
    if (offset < this.position) throw new Error(`PE writer for ${this.path}: cannot pad back to ${offset} from ${this.position}`);
    await this.zeros(offset - this.position);
  }

  /** Copies [start, start+length) of another file. */
  async copyRange(file: string, start: number, length: number, signal?: AbortSignal): Promise<void> {
    const src = await open(file, 'r');
    try {
      await streamRange(src, start, length, (chunk) => this.write(chunk), file, signal);
    } finally {
      await src.close();
    }
  }

  /** Stores the checksum at its field (which the caller wrote as zeros), closes, returns it. */
  async finish(checksumOffset: number): Promise<number> {
    const value = this.checksum.digest();
    const field = Buffer.alloc(4);
    field.writeUInt32LE(value);
    await this.fh.write(field, 0, 4, checksumOffset);
    await this.fh.close();
    return value;
  }

  /** Closes and removes the partial file, so a failed write leaves nothing that looks complete. */
  async abandon(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }
}

/** Where new section bytes come from: in-memory bytes, or files concatenated in order (streamed). */
export type SectionSource = { bytes: Uint8Array } | { files: string[] };

export interface SectionToAdd {
  /** At most 8 characters (images carry no string table for longer names). */
  name: string;
  source: SectionSource;
  /** VirtualSize when larger than the data (ukify gives .linux the kernel's SizeOfImage). */
  virtualSize?: number;
  characteristics: number;
}

export interface AppendSectionsOptions {
  /** COFF TimeDateStamp (seconds since the epoch; SOURCE_DATE_EPOCH for reproducibility). */
  timeDateStamp: number;
  signal?: AbortSignal;
}

export interface AppendSectionsResult {
  /** Headers of the written image (all sections, final values). */
  headers: PeHeaders;
  /** Names of stub sections whose content was replaced in place (e.g. a merged .sbat). */
  replaced: string[];
  fileSize: number;
}

interface SectionPlan {
  spec: SectionToAdd;
  dataSize: number;
  section: PeSection;
}

async function sourceSize(source: SectionSource): Promise<number> {
  if ('bytes' in source) return source.bytes.length;
  let total = 0;
  for (const file of source.files) total += (await stat(file)).size;
  return total;
}

function writeSectionHeader(buf: Buffer, s: PeSection): void {
  const h = s.headerOffset;
  buf.fill(0, h, h + SECTION_HEADER_SIZE);
  buf.write(s.name, h, 8, 'latin1');
  buf.writeUInt32LE(s.virtualSize, h + 8);
  buf.writeUInt32LE(s.virtualAddress, h + 12);
  buf.writeUInt32LE(s.sizeOfRawData, h + 16);
  buf.writeUInt32LE(s.pointerToRawData, h + 20);
  buf.writeUInt32LE(s.characteristics, h + 36);
}

/** Length of a COFF symbol table + string table starting at `offset`, or -1 if it cannot be read. */
function symbolTableLength(buf: Uint8Array, offset: number, symbols: number): number {
  const strings = offset + symbols * COFF_SYMBOL_SIZE;
  if (strings + 4 > buf.length) return -1;
  return symbols * COFF_SYMBOL_SIZE + rd32(buf, strings);
}

function checkU32(value: number, what: string, file: string): number {
  if (value > 0xffffffff) throw new PeFormatError(`${file}: ${what} 0x${value.toString(16)} does not fit a 32-bit PE field (image over 4 GiB?)`);
  return value;
}

/**
 * Writes `outPath`: the stub image at `stubPath` with `sections` appended in order, following
 * ukify's rules. Each new section starts at the next SectionAlignment boundary after the highest
 * existing section end (VA = roundup(prevVA + prevVirtualSize, SectionAlignment)), its raw data
 * directly after the previous section's, rounded to FileAlignment (no gaps). A section named like
 * an existing stub section (`.sbat`) replaces that section's content in place if it fits.
 * A COFF symbol table at the end of the stub is dropped (as ukify does); SizeOfImage,
 * NumberOfSections, SizeOfCode/SizeOfInitializedData, TimeDateStamp and CheckSum are updated.
 */
export async function appendPeSections(
  stubPath: string,
  sections: SectionToAdd[],
  outPath: string,
  options: AppendSectionsOptions,
): Promise<AppendSectionsResult> {
  const stub = await readFile(stubPath);
  const h = parsePeHeaders(stub, stubPath);
  if (h.certTable.size !== 0 || h.certTable.offset !== 0) {
    throw new PeAlreadySignedError(
      `${stubPath}: the stub carries an Authenticode signature; use the unsigned stub and sign the assembled image instead`,
    );
  }
  const { fileAlignment, sectionAlignment } = h;
  for (const [what, value] of [['FileAlignment', fileAlignment], ['SectionAlignment', sectionAlignment]] as const) {
    if (value === 0 || (value & (value - 1)) !== 0) throw new PeFormatError(`${stubPath}: ${what} 0x${value.toString(16)} is not a power of two`);
  }
  const out = Buffer.from(stub);
  let characteristics = h.characteristics;

  // Stubs built before systemd 253 keep their COFF symbol table at the end of the file; images
  // do not need it, and dropping it keeps the new sections contiguous with the stub's.
  let dataEnd = stub.length;
  let strippedSymbols = false;
  if (h.pointerToSymbolTable !== 0) {
    const length = symbolTableLength(stub, h.pointerToSymbolTable, h.numberOfSymbols);
    if (length >= 0 && h.pointerToSymbolTable + length === stub.length) {
      dataEnd = h.pointerToSymbolTable;
      strippedSymbols = true;
      characteristics |= IMAGE_FILE_LOCAL_SYMS_STRIPPED;
    }
  }

  for (const s of h.sections) {
    if (s.sizeOfRawData === 0) continue;
    if (s.pointerToRawData % fileAlignment !== 0 || s.sizeOfRawData % fileAlignment !== 0) {
      throw new PeFormatError(
        `${stubPath}: section ${s.name} raw data (offset 0x${s.pointerToRawData.toString(16)}, size 0x${s.sizeOfRawData.toString(16)}) is not aligned to FileAlignment 0x${fileAlignment.toString(16)}`,
      );
    }
    if (s.pointerToRawData + s.sizeOfRawData > dataEnd) {
      throw new PeFormatError(`${stubPath}: section ${s.name} raw data runs past the end of the file`);
    }
  }

  // The area before the first section's data is header space: ukify may round SizeOfHeaders up.
  const firstRaw = Math.min(dataEnd, ...h.sections.filter((s) => s.sizeOfRawData > 0).map((s) => s.pointerToRawData));
  const sizeOfHeaders = roundUp(h.sizeOfHeaders, fileAlignment);
  if (sizeOfHeaders > firstRaw) {
    throw new PeFormatError(`${stubPath}: SizeOfHeaders 0x${h.sizeOfHeaders.toString(16)} overlaps the first section's data at 0x${firstRaw.toString(16)}`);
  }

  const byVa = [...h.sections].sort((a, b) => a.virtualAddress - b.virtualAddress);
  const stubSections = h.sections.map((s) => ({ ...s }));
  const replaced: string[] = [];
  const toAppend: SectionToAdd[] = [];
  for (const [i, spec] of sections.entries()) {
    if (spec.name.length === 0 || spec.name.length > 8) {
      throw new PeFormatError(`section name '${spec.name}' must have 1 to 8 characters`);
    }
    if (sections.findIndex((other) => other.name === spec.name) !== i) {
      throw new PeFormatError(`section ${spec.name} is given twice; concatenate its contents into one section instead`);
    }
    const existing = h.sections.find((s) => s.name === spec.name);
    if (!existing) {
      toAppend.push(spec);
      continue;
    }
    if (!('bytes' in spec.source)) throw new PeFormatError(`section ${spec.name}: replacing an existing stub section needs in-memory bytes`);
    const data = spec.source.bytes;
    const next = byVa.find((s) => s.virtualAddress > existing.virtualAddress);
    const room = Math.min(existing.sizeOfRawData, next ? next.virtualAddress - existing.virtualAddress : Infinity);
    if (data.length > room) {
      throw new PeFormatError(
        `${stubPath}: new ${spec.name} content (${data.length} bytes) does not fit the stub's ${spec.name} section (${room} bytes); shorten it`,
      );
    }
    out.fill(0, existing.pointerToRawData, existing.pointerToRawData + existing.sizeOfRawData);
    out.set(data, existing.pointerToRawData);
    const updated = stubSections.find((s) => s.name === spec.name)!;
    updated.virtualSize = data.length;
    writeSectionHeader(out, updated);
    replaced.push(spec.name);
  }

  const tableEnd = h.sectionTableOffset + (h.sections.length + toAppend.length) * SECTION_HEADER_SIZE;
  if (tableEnd > sizeOfHeaders) {
    const free = Math.floor((sizeOfHeaders - h.sectionTableOffset) / SECTION_HEADER_SIZE) - h.sections.length;
    throw new PeNoHeaderRoomError(
      `${stubPath}: no room for ${toAppend.length} more section headers (${toAppend.map((s) => s.name).join(' ')}): ` +
        `the header area (SizeOfHeaders 0x${sizeOfHeaders.toString(16)}) holds ${Math.max(free, 0)} more; use a stub with more header space`,
    );
  }

  // Lay out the new sections after everything the stub maps and stores.
  let vaEnd = Math.max(...stubSections.map((s) => s.virtualAddress + s.virtualSize), sizeOfHeaders);
  let rawPos = roundUp(dataEnd, fileAlignment);
  let sizeOfCode = rd32(stub, h.optionalOffset + 4);
  let sizeOfInitializedData = rd32(stub, h.optionalOffset + 8);
  const plans: SectionPlan[] = [];
  for (const [i, spec] of toAppend.entries()) {
    const dataSize = await sourceSize(spec.source);
    if (dataSize === 0) throw new PeFormatError(`section ${spec.name} is empty; leave it out instead`);
    const virtualSize = spec.virtualSize ?? dataSize;
    if (virtualSize < dataSize) {
      throw new PeFormatError(`section ${spec.name}: VirtualSize ${virtualSize} is smaller than its ${dataSize} bytes of data`);
    }
    const section: PeSection = {
      name: spec.name,
      virtualSize: checkU32(virtualSize, `${spec.name} VirtualSize`, outPath),
      virtualAddress: checkU32(roundUp(vaEnd, sectionAlignment), `${spec.name} VirtualAddress`, outPath),
      sizeOfRawData: checkU32(roundUp(dataSize, fileAlignment), `${spec.name} SizeOfRawData`, outPath),
      pointerToRawData: checkU32(rawPos, `${spec.name} PointerToRawData`, outPath),
      characteristics: spec.characteristics,
      headerOffset: h.sectionTableOffset + (h.sections.length + i) * SECTION_HEADER_SIZE,
    };
    if (spec.characteristics & SCN.CNT_CODE) sizeOfCode += section.sizeOfRawData;
    else sizeOfInitializedData += section.sizeOfRawData;
    vaEnd = section.virtualAddress + section.virtualSize;
    rawPos = section.pointerToRawData + section.sizeOfRawData;
    plans.push({ spec, dataSize, section });
    writeSectionHeader(out, section);
  }

  const o = h.optionalOffset;
  out.writeUInt16LE(h.sections.length + plans.length, h.coffOffset + 2);
  out.writeUInt32LE(options.timeDateStamp >>> 0, h.coffOffset + 4);
  if (strippedSymbols) {
    out.writeUInt32LE(0, h.coffOffset + 8);
    out.writeUInt32LE(0, h.coffOffset + 12);
  }
  out.writeUInt16LE(characteristics, h.coffOffset + 18);
  out.writeUInt32LE(checkU32(sizeOfCode, 'SizeOfCode', outPath), o + 4);
  out.writeUInt32LE(checkU32(sizeOfInitializedData, 'SizeOfInitializedData', outPath), o + 8);
  out.writeUInt32LE(checkU32(roundUp(vaEnd, sectionAlignment), 'SizeOfImage', outPath), o + 56);
  out.writeUInt32LE(sizeOfHeaders, o + 60);
  out.writeUInt32LE(0, h.checksumOffset);

  const writer = await PeWriter.create(outPath);
  try {
    await writer.write(out.subarray(0, dataEnd));
    for (const plan of plans) {
      await writer.padTo(plan.section.pointerToRawData);
      if ('bytes' in plan.spec.source) {
        await writer.write(plan.spec.source.bytes);
      } else {
        for (const file of plan.spec.source.files) {
          const { size } = await stat(file);
          await writer.copyRange(file, 0, size, options.signal);
        }
      }
      const written = writer.position - plan.section.pointerToRawData;
      if (written !== plan.dataSize) {
        throw new PeFormatError(`section ${plan.spec.name}: wrote ${written} bytes, expected ${plan.dataSize} (an input file changed while being read)`);
      }
      await writer.padTo(plan.section.pointerToRawData + plan.section.sizeOfRawData);
    }
    const fileSize = writer.position;
    const checksum = await writer.finish(h.checksumOffset);
    out.writeUInt32LE(checksum, h.checksumOffset);
    return { headers: parsePeHeaders(out, outPath), replaced, fileSize };
  } catch (err) {
    await writer.abandon();
    throw err;
  }
}
