// A streaming reader for RPM payloads: cpio "newc" (070701) members, and the stripped 07070X
// members rpm >= 4.12 writes when a file is 4 GiB or larger (magic + the file's index in the
// header; every other fact, the size included, comes from the header). Bodies are streamed:
// nothing holds more than one chunk of a member. rpm needs no CRC variant (070702) and no odc.
import { ByteReader, MemberBody } from '../byte-reader.js';

export class CpioFormatError extends Error {
  override name = 'CpioFormatError';
  constructor(
    message: string,
    /** Offset in the uncompressed payload. */
    readonly offset: number,
  ) {
    super(message);
  }
}

/** The payload is longer than the caller allows (a decompression bomb, or just too big). */
export class CpioSizeLimitError extends Error {
  override name = 'CpioSizeLimitError';
  constructor(
    message: string,
    readonly offset: number,
    readonly limit: number,
  ) {
    super(message);
  }
}

export interface CpioMember {
  /** The name as stored (`./usr/bin/hello`); for a stripped member, undefined. */
  name?: string;
  /** Stripped members: the file's index in the header's file list. */
  fileIndex?: number;
  mode: number;
  ino: number;
  nlink: number;
  mtime: number;
  uid: number;
  gid: number;
  size: number;
  devmajor: number;
  devminor: number;
  rdevmajor: number;
  rdevminor: number;
  /** Offset of the member's header in the payload. */
  offset: number;
  /** The member's data, streamed. Read it before asking for the next member, or leave it (skipped). */
  body: AsyncIterable<Buffer>;
}

export interface CpioReadOptions {
  label?: string;
  /** Stripped members carry no size: the header's size for file index `fx` (undefined: no such file). */
  strippedSize?: (fileIndex: number) => number | undefined;
  /**
   * Refuse a payload longer than this many bytes, checked at each member's header before any of
   * its data is handed out. A function is asked with the number of members so far (this one included).
   */
  maxBytes?: number | ((members: number) => number);
  /** Longest member name accepted (default 4096, PATH_MAX). */
  maxNameBytes?: number;
}

const NEWC_MAGIC = '070701';
const STRIPPED_MAGIC = '07070X';
const NEWC_HEADER = 110;
const STRIPPED_HEADER = 14;
const TRAILER = 'TRAILER!!!';

/** Reads the members of a cpio payload, up to and including the trailer (not yielded). */
export async function* readRpmCpio(source: AsyncIterable<Uint8Array>, options: CpioReadOptions = {}): AsyncGenerator<CpioMember> {
  const input = new ByteReader(source);
  const where = options.label ? `${options.label}: ` : '';
  const fail = (message: string, offset: number): never => {
    throw new CpioFormatError(`${where}${message} (at payload byte ${offset})`, offset);
  };
  const maxName = options.maxNameBytes ?? 4096;
  let members = 0;
  for (;;) {
    const offset = input.position;
    const magicBytes = await input.read(6);
    if (magicBytes.length === 0) fail('payload ends without a cpio trailer (truncated?)', offset);
    if (magicBytes.length < 6) fail('payload ends inside a cpio header', offset);
    const magic = magicBytes.toString('latin1');
    members += 1;
    let member: Omit<CpioMember, 'body'>;
    let padAfterHeader: number;
    if (magic === STRIPPED_MAGIC) {
      const rest = await input.read(STRIPPED_HEADER - 6);
      if (rest.length < STRIPPED_HEADER - 6) fail('payload ends inside a stripped cpio header', offset);
      const fileIndex = hexField(rest, 0, offset, fail);
      const size = options.strippedSize?.(fileIndex);
      if (size === undefined) fail(`stripped cpio member names file index ${fileIndex}, which the header does not list`, offset);
      member = { fileIndex, mode: 0, ino: 0, nlink: 0, mtime: 0, uid: 0, gid: 0, size: size!, devmajor: 0, devminor: 0, rdevmajor: 0, rdevminor: 0, offset };
      padAfterHeader = pad4(STRIPPED_HEADER);
    } else if (magic === NEWC_MAGIC) {
      const rest = await input.read(NEWC_HEADER - 6);
      if (rest.length < NEWC_HEADER - 6) fail('payload ends inside a cpio header', offset);
      const field = (i: number): number => hexField(rest, i * 8, offset, fail);
      const namesize = field(11);
      if (namesize < 2 || namesize > maxName + 1) fail(`cpio name size ${namesize} (1..${maxName} bytes and a NUL)`, offset);
      const nameBytes = await input.read(namesize);
      if (nameBytes.length < namesize) fail('payload ends inside a cpio member name', offset);
      if (nameBytes[namesize - 1] !== 0 || nameBytes.indexOf(0) !== namesize - 1) fail('cpio member name is not one NUL-terminated string', offset);
      const name = nameBytes.subarray(0, namesize - 1).toString('utf8');
      member = {
        name,
        ino: field(0),
        mode: field(1),
        uid: field(2),
        gid: field(3),
        nlink: field(4),
        mtime: field(5),
        size: field(6),
        devmajor: field(7),
        devminor: field(8),
        rdevmajor: field(9),
        rdevminor: field(10),
        offset,
      };
      padAfterHeader = pad4(NEWC_HEADER + namesize);
      if (name === TRAILER) {
        await input.skip(padAfterHeader, () => fail('payload ends inside the cpio trailer', offset));
        await expectOnlyZeros(input, fail);
        return;
      }
    } else {
      fail(`bad cpio magic ${JSON.stringify(magic)} (expected 070701 or 07070X)`, offset);
      return;
    }
    await input.skip(padAfterHeader, () => fail('payload ends inside a cpio header', offset));
    const end = input.position + member.size + pad4(member.size);
    const limit = options.maxBytes === undefined ? undefined : typeof options.maxBytes === 'number' ? options.maxBytes : options.maxBytes(members);
    if (limit !== undefined && end > limit) {
      throw new CpioSizeLimitError(`${where}payload unpacks to more than ${limit} bytes (member ${members} reaches byte ${end})`, end, limit);
    }
    const label = member.name ?? `file #${member.fileIndex}`;
    const body = new MemberBody(input, member.size, pad4(member.size), `cpio member ${JSON.stringify(label)}`, () =>
      fail(`payload ends inside the data of ${JSON.stringify(label)}`, offset),
    );
    yield { ...member, body };
    await body.finish();
  }
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function hexField(buf: Buffer, at: number, offset: number, fail: (m: string, o: number) => never): number {
  const text = buf.toString('latin1', at, at + 8);
  if (!/^[0-9a-fA-F]{8}$/.test(text)) fail(`bad hex field ${JSON.stringify(text)} in a cpio header`, offset);
  return parseInt(text, 16);
}

/** rpm writes nothing after the trailer; a tool padding to a block writes zeros. Anything else is not ours to ignore. */
async function expectOnlyZeros(input: ByteReader, fail: (m: string, o: number) => never): Promise<void> {
  let seen = 0;
  for (;;) {
    const at = input.position;
    const piece = await input.readSome(64 << 10);
    if (piece.length === 0) return;
    seen += piece.length;
    const bad = piece.findIndex((b) => b !== 0);
    if (bad >= 0) fail('data after the cpio trailer', at + bad);
    if (seen > 1 << 20) fail('more than 1 MiB of padding after the cpio trailer', at);
  }
}
