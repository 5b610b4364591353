// ASCII armor (RFC 4880 section 6, RFC 9580 section 6): base64 between BEGIN/END lines, with an
// optional CRC-24 line that, when present, must match.
import { PgpError } from './errors.js';

export interface ArmorBlock {
  /** What follows `BEGIN ` in the header line, e.g. `PGP PUBLIC KEY BLOCK`. */
  type: string;
  data: Buffer;
}

const BEGIN = /^-----BEGIN (.+)-----$/;
const END = /^-----END (.+)-----$/;
const HEADER = /^[A-Za-z0-9-]+: /;

/** True when the bytes start (after white space) with an armor header line. */
export function looksArmored(data: Uint8Array): boolean {
  let i = 0;
  while (i < data.length && (data[i] === 0x20 || data[i] === 0x09 || data[i] === 0x0a || data[i] === 0x0d)) i++;
  return Buffer.from(data.buffer, data.byteOffset + i, Math.min(10, data.length - i)).toString('latin1') === '-----BEGIN';
}

/** Every armored block in the text, in order. Text outside the blocks is ignored. */
export function dearmor(text: string, source: string): ArmorBlock[] {
  const lines = text.split(/\r?\n/).map((l) => l.trimEnd());
  const blocks: ArmorBlock[] = [];
  let i = 0;
  while (i < lines.length) {
    const begin = BEGIN.exec(lines[i]!);
    i++;
    if (!begin) continue;
    const type = begin[1]!;
    // Armor headers (Version:, Comment:, ...) end at the first blank line; tolerate a block
    // that has neither headers nor the blank line.
    while (i < lines.length && HEADER.test(lines[i]!)) i++;
    if (i < lines.length && lines[i] === '') i++;
    const body: string[] = [];
    let crc: string | undefined;
    let ended = false;
    for (; i < lines.length; i++) {
      const line = lines[i]!.trim();
      const end = END.exec(line);
      if (end) {
        if (end[1] !== type) throw new PgpError(`${source}: armor block BEGIN ${type} ends with END ${end[1]}`, 'malformed');
        ended = true;
        i++;
        break;
      }
      if (line === '') continue;
      if (line.startsWith('=') && line.length === 5) crc = line.slice(1);
      else if (crc !== undefined) throw new PgpError(`${source}: armor block ${type} has data after its checksum line`, 'malformed');
      else if (!/^[A-Za-z0-9+/]+={0,2}$/.test(line)) throw new PgpError(`${source}: armor block ${type} holds a line that is not base64: ${JSON.stringify(line.slice(0, 40))}`, 'malformed');
      else body.push(line);
    }
    if (!ended) throw new PgpError(`${source}: armor block ${type} has no END line (truncated?)`, 'malformed');
    const b64 = body.join('');
    if (b64.length % 4 !== 0) throw new PgpError(`${source}: armor block ${type} is truncated (base64 length ${b64.length} is not a multiple of 4)`, 'malformed');
    const data = Buffer.from(b64, 'base64');
    if (crc !== undefined) {
      const want = Buffer.from(crc, 'base64');
      if (want.length !== 3 || want.readUIntBE(0, 3) !== crc24(data)) {
        throw new PgpError(`${source}: armor block ${type} fails its CRC-24 checksum (damaged or truncated)`, 'malformed');
      }
    }
    blocks.push({ type, data });
  }
  if (blocks.length === 0) throw new PgpError(`${source}: no armored OpenPGP block (no -----BEGIN PGP ...----- line)`, 'malformed');
  return blocks;
}

/** The armor checksum (RFC 4880 6.1). */
export function crc24(data: Uint8Array): number {
  let crc = 0xb704ce;
  for (const byte of data) {
    crc ^= byte << 16;
    for (let bit = 0; bit < 8; bit++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

/** Armors binary data (used by tests and by anything that writes keys back out). */
export function armor(type: string, data: Uint8Array): string {
  const b64 = Buffer.from(data).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  const crc = Buffer.alloc(3);
  crc.writeUIntBE(crc24(data), 0, 3);
  return [`-----BEGIN ${type}-----`, '', ...lines, `=${crc.toString('base64')}`, `-----END ${type}-----`, ''].join('\n');
}
