// A small, test-only RPM writer: lead, signature header, main header and a cpio payload, each
// part overridable, so hostile packages (traversal, symlink escapes, lying digests and sizes,
// bombs, truncations) can be written byte for byte. Honest output is what rpm itself accepts
// (the tests check that with `rpm -qp`).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export type CraftType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';

export interface CraftFile {
  /** Header path (`/etc/x`); written as is. */
  path: string;
  type: CraftType;
  mode?: number;
  content?: Buffer | string;
  target?: string;
  user?: string;
  group?: string;
  mtime?: number;
  /** FILEFLAGS (1 config, 64 ghost). */
  flags?: number;
  /** Files sharing an inode form a hardlink set (default: a fresh inode each). */
  inode?: number;
  caps?: string;
  rdev?: number;
  /** Override the header's size or digest (lies). */
  size?: number;
  digest?: string;
}

/** A payload member written verbatim (for payloads that disagree with the header). */
export interface CraftMember {
  name: string;
  mode: number;
  data?: Buffer | string;
  /** Declared size when it differs from the data's (a lie). */
  size?: number;
  nlink?: number;
  ino?: number;
}

export interface CraftOptions {
  name?: string;
  version?: string;
  release?: string;
  epoch?: number;
  arch?: string;
  files: CraftFile[];
  /** Payload members; default: one per non-ghost file, hardlink sets with the data on the last. */
  members?: CraftMember[];
  /** Write the stripped 07070X format (rpm >= 4.12 large-file payloads). */
  stripped?: boolean;
  compressor?: 'gzip' | 'xz' | 'zstd' | 'none';
  /** Replace the compressed payload bytes (the headers still describe the original one unless told). */
  replacePayload?: (compressed: Buffer) => Buffer;
  /** SIZE (1009) override. */
  installedSize?: number;
  /** PAYLOADDIGEST (5092) override; null leaves it out. */
  payloadDigest?: string | null;
  /** Uncompressed payload digest (5097) override; null leaves it out (the default). */
  payloadDigestAlt?: string | null;
  /** SHA256 header digest (273) override; null leaves it out. */
  headerDigest?: string | null;
  /** Signature tag 1000 (header + payload size): true (default) computes it; a number lies; null leaves it out. */
  sigSize?: number | null;
  /** Signature tag 1007 (uncompressed payload size); a number lies; default left out. */
  payloadSize?: number | null;
  scripts?: Partial<Record<'prein' | 'postin' | 'preun' | 'postun' | 'pretrans' | 'posttrans', { body?: string; prog?: string[] }>>;
  /** Signs the main header bytes: returns signature packets by signature tag (268, 267...). */
  sign?: (header: Buffer) => Record<number, Buffer>;
  /** Edit the main header bytes after digests and signatures are computed (tampering). */
  tamperHeader?: (header: Buffer) => Buffer;
  /** No region tags (rpm v3 format). */
  noRegion?: boolean;
}

export interface CraftedRpm {
  bytes: Buffer;
  name: string;
  evr: { epoch: number; version: string; release: string };
  arch: string;
  /** File offsets of the parts. */
  signatureOffset: number;
  headerOffset: number;
  payloadOffset: number;
  /** The uncompressed cpio payload. */
  cpio: Buffer;
}

const TYPE_BITS: Record<CraftType, number> = { file: 0o100000, dir: 0o040000, symlink: 0o120000, char: 0o020000, block: 0o060000, fifo: 0o010000 };
const DEFAULT_PERMS: Record<CraftType, number> = { file: 0o644, dir: 0o755, symlink: 0o777, char: 0o600, block: 0o600, fifo: 0o644 };

type Value = { type: 3 | 4 | 5; values: number[] } | { type: 6 | 9; value: string } | { type: 8; values: string[] } | { type: 7; value: Buffer };

/** Writes one header: region entry first, then entries in tag order; data aligned per type. */
export function writeHeader(entries: Map<number, Value>, regionTag: number | undefined): Buffer {
  const tags = [...entries.keys()].sort((a, b) => a - b);
  const index: Buffer[] = [];
  const data: Buffer[] = [];
  let size = 0;
  const align = (n: number): void => {
    const pad = (n - (size % n)) % n;
    if (pad) {
      data.push(Buffer.alloc(pad));
      size += pad;
    }
  };
  const entry = (tag: number, type: number, offset: number, count: number): Buffer => {
    const b = Buffer.alloc(16);
    b.writeInt32BE(tag, 0);
    b.writeUInt32BE(type, 4);
    b.writeInt32BE(offset, 8);
    b.writeUInt32BE(count, 12);
    return b;
  };
  for (const tag of tags) {
    const v = entries.get(tag)!;
    let bytes: Buffer;
    let count: number;
    switch (v.type) {
      case 3:
        align(2);
        bytes = Buffer.alloc(2 * v.values.length);
        v.values.forEach((n, i) => bytes.writeUInt16BE(n, 2 * i));
        count = v.values.length;
        break;
      case 4:
        align(4);
        bytes = Buffer.alloc(4 * v.values.length);
        v.values.forEach((n, i) => bytes.writeUInt32BE(n >>> 0, 4 * i));
        count = v.values.length;
        break;
      case 5:
        align(8);
        bytes = Buffer.alloc(8 * v.values.length);
        v.values.forEach((n, i) => bytes.writeBigUInt64BE(BigInt(n), 8 * i));
        count = v.values.length;
        break;
      case 6:
      case 9:
        bytes = Buffer.from(`${v.value}\0`);
        count = 1;
        break;
      case 8:
        bytes = Buffer.from(v.values.map((s) => `${s}\0`).join(''));
        count = v.values.length;
        break;
      case 7:
        bytes = v.value;
        count = v.value.length;
        break;
    }
    index.push(entry(tag, v.type, size, count));
    data.push(bytes);
    size += bytes.length;
  }
  let nindex = index.length;
  if (regionTag !== undefined) {
    nindex += 1;
    index.unshift(entry(regionTag, 7, size, 16));
    data.push(entry(regionTag, 7, -nindex * 16, 16));
    size += 16;
  }
  const intro = Buffer.alloc(16);
  Buffer.from([0x8e, 0xad, 0xe8, 0x01]).copy(intro, 0);
  intro.writeUInt32BE(nindex, 8);
  intro.writeUInt32BE(size, 12);
  return Buffer.concat([intro, ...index, ...data]);
}

function newcHeader(name: string, mode: number, size: number, nlink: number, ino: number, mtime: number, rdevmajor = 0, rdevminor = 0): Buffer {
  const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
  const nameBytes = Buffer.from(`${name}\0`);
  const head = Buffer.from(
    `070701${hex(ino)}${hex(mode)}${hex(0)}${hex(0)}${hex(nlink)}${hex(mtime)}${hex(size)}${hex(0)}${hex(0)}${hex(rdevmajor)}${hex(rdevminor)}${hex(nameBytes.length)}${hex(0)}`,
    'latin1',
  );
  const total = head.length + nameBytes.length;
  return Buffer.concat([head, nameBytes, Buffer.alloc((4 - (total % 4)) % 4)]);
}

function pad4(buf: Buffer): Buffer {
  return Buffer.concat([buf, Buffer.alloc((4 - (buf.length % 4)) % 4)]);
}

export function cpioMember(m: CraftMember): Buffer {
  const data = m.data === undefined ? Buffer.alloc(0) : Buffer.from(m.data);
  return Buffer.concat([newcHeader(m.name, m.mode, m.size ?? data.length, m.nlink ?? 1, m.ino ?? 1, 0), pad4(data)]);
}

export function cpioTrailer(): Buffer {
  return newcHeader('TRAILER!!!', 0, 0, 1, 0, 0);
}

function compress(data: Buffer, compressor: NonNullable<CraftOptions['compressor']>): Buffer {
  if (compressor === 'none') return data;
  if (compressor === 'gzip') return gzipSync(data, { level: 9 });
  const run = spawnSync(compressor, ['-c', '-q'], { input: data, maxBuffer: 1 << 30 });
  if (run.status !== 0) throw new Error(`${compressor} failed: ${run.stderr}`);
  return run.stdout;
}

function fileData(file: CraftFile): Buffer {
  if (file.type === 'symlink') return Buffer.from(file.target ?? '');
  return file.content === undefined ? Buffer.alloc(0) : Buffer.from(file.content);
}

export function craftRpm(options: CraftOptions): CraftedRpm {
  const name = options.name ?? 'evil';
  const version = options.version ?? '6.6.6';
  const release = options.release ?? '1';
  const arch = options.arch ?? 'x86_64';
  const epoch = options.epoch ?? 0;
  const files = options.files;
  const inodes = files.map((f, i) => f.inode ?? 1000 + i);

  // Payload: header order, then hardlink sets (data on the last member), as rpm writes it.
  const payloadParts: Buffer[] = [];
  if (options.members) {
    for (const m of options.members) payloadParts.push(cpioMember(m));
  } else {
    const setSize = new Map<number, number>();
    files.forEach((f, i) => f.type === 'file' && setSize.set(inodes[i], (setSize.get(inodes[i]) ?? 0) + 1));
    const singles: number[] = [];
    const sets = new Map<number, number[]>();
    files.forEach((f, i) => {
      if ((f.flags ?? 0) & 64) return;
      if (f.type === 'file' && setSize.get(inodes[i])! > 1) sets.set(inodes[i], [...(sets.get(inodes[i]) ?? []), i]);
      else singles.push(i);
    });
    const write = (i: number, withData: boolean, nlink: number): void => {
      const f = files[i];
      const data = withData ? fileData(f) : Buffer.alloc(0);
      const mode = TYPE_BITS[f.type] | (f.mode ?? DEFAULT_PERMS[f.type]);
      if (options.stripped) {
        const head = Buffer.from(`07070X${(i >>> 0).toString(16).padStart(8, '0')}`, 'latin1');
        payloadParts.push(Buffer.concat([pad4(head), pad4(data)]));
      } else {
        const name = `.${f.path}`;
        payloadParts.push(Buffer.concat([newcHeader(name, mode, data.length, nlink, inodes[i], f.mtime ?? 0), pad4(data)]));
      }
    };
    for (const i of singles) write(i, files[i].type === 'file' || files[i].type === 'symlink', 1);
    for (const members of sets.values()) members.forEach((i, n) => write(i, n === members.length - 1, members.length));
  }
  payloadParts.push(cpioTrailer());
  const cpio = Buffer.concat(payloadParts);
  let compressed = compress(cpio, options.compressor ?? 'gzip');
  const honestCompressed = compressed;
  if (options.replacePayload) compressed = options.replacePayload(compressed);

  // Main header.
  const main = new Map<number, Value>();
  main.set(1000, { type: 6, value: name });
  main.set(1001, { type: 6, value: version });
  main.set(1002, { type: 6, value: release });
  if (options.epoch !== undefined) main.set(1003, { type: 4, values: [epoch] });
  main.set(1004, { type: 9, value: 'a crafted package' });
  main.set(1014, { type: 6, value: 'MIT' });
  main.set(1021, { type: 6, value: 'linux' });
  main.set(1022, { type: 6, value: arch });
  main.set(1044, { type: 6, value: `${name}-${version}-${release}.src.rpm` });
  const sizes = files.map((f) => f.size ?? (f.type === 'dir' ? 4096 : fileData(f).length));
  const installed = files.reduce((sum, f, i) => sum + (f.type === 'file' || f.type === 'symlink' ? sizes[i] : 0), 0);
  main.set(1009, { type: 4, values: [options.installedSize ?? installed] });
  if (files.length > 0) {
    const dirs: string[] = [];
    const dirIndexes: number[] = [];
    const bases: string[] = [];
    for (const f of files) {
      const cut = f.path.lastIndexOf('/') + 1;
      const dir = f.path.slice(0, cut);
      if (!dirs.includes(dir)) dirs.push(dir);
      dirIndexes.push(dirs.indexOf(dir));
      bases.push(f.path.slice(cut));
    }
    main.set(1028, { type: 4, values: sizes });
    main.set(1030, { type: 3, values: files.map((f) => TYPE_BITS[f.type] | (f.mode ?? DEFAULT_PERMS[f.type])) });
    main.set(1033, { type: 3, values: files.map((f) => f.rdev ?? 0) });
    main.set(1034, { type: 4, values: files.map((f) => f.mtime ?? 1767225600) });
    main.set(1035, {
      type: 8,
      values: files.map((f) => f.digest ?? (f.type === 'file' ? createHash('sha256').update(fileData(f)).digest('hex') : '')),
    });
    main.set(1036, { type: 8, values: files.map((f) => (f.type === 'symlink' ? (f.target ?? '') : '')) });
    main.set(1037, { type: 4, values: files.map((f) => f.flags ?? 0) });
    main.set(1039, { type: 8, values: files.map((f) => f.user ?? 'root') });
    main.set(1040, { type: 8, values: files.map((f) => f.group ?? 'root') });
    main.set(1095, { type: 4, values: files.map(() => 1) });
    main.set(1096, { type: 4, values: inodes });
    main.set(1116, { type: 4, values: dirIndexes });
    main.set(1117, { type: 8, values: bases });
    main.set(1118, { type: 8, values: dirs });
    main.set(5011, { type: 4, values: [8] });
    if (files.some((f) => f.caps !== undefined)) main.set(5010, { type: 8, values: files.map((f) => f.caps ?? '') });
  }
  const scriptTags: Record<string, [number, number]> = {
    prein: [1023, 1085],
    postin: [1024, 1086],
    preun: [1025, 1087],
    postun: [1026, 1088],
    pretrans: [1151, 1153],
    posttrans: [1152, 1154],
  };
  for (const [script, spec] of Object.entries(options.scripts ?? {})) {
    const [bodyTag, progTag] = scriptTags[script];
    if (spec.body !== undefined) main.set(bodyTag, { type: 6, value: spec.body });
    if (spec.prog !== undefined) main.set(progTag, { type: 8, values: spec.prog });
  }
  main.set(1047, { type: 8, values: [name, `${name}(x86-64)`] });
  main.set(1112, { type: 4, values: [8, 8] });
  main.set(1113, { type: 8, values: [`${version}-${release}`, `${version}-${release}`] });
  main.set(1049, { type: 8, values: ['/bin/sh', 'rpmlib(PayloadIsZstd)'] });
  main.set(1048, { type: 4, values: [0, (1 << 24) | 8 | 2] });
  main.set(1050, { type: 8, values: ['', '5.4.18-1'] });
  main.set(1124, { type: 6, value: 'cpio' });
  const compressor = options.compressor ?? 'gzip';
  if (compressor !== 'none') main.set(1125, { type: 6, value: compressor });
  if (options.payloadDigest !== null) {
    main.set(5092, { type: 8, values: [options.payloadDigest ?? createHash('sha256').update(honestCompressed).digest('hex')] });
    main.set(5093, { type: 4, values: [8] });
  }
  if (options.payloadDigestAlt) main.set(5097, { type: 8, values: [options.payloadDigestAlt] });
  let header = writeHeader(main, options.noRegion ? undefined : 63);

  // Signature header.
  const sig = new Map<number, Value>();
  if (options.headerDigest !== null) sig.set(273, { type: 6, value: options.headerDigest ?? createHash('sha256').update(header).digest('hex') });
  if (options.sigSize !== null) sig.set(1000, { type: 4, values: [options.sigSize ?? header.length + compressed.length] });
  if (options.payloadSize !== undefined && options.payloadSize !== null) sig.set(1007, { type: 4, values: [options.payloadSize] });
  for (const [tag, packet] of Object.entries(options.sign?.(header) ?? {})) sig.set(Number(tag), { type: 7, value: packet });
  if (options.tamperHeader) header = options.tamperHeader(header);
  const sigHeader = writeHeader(sig, options.noRegion ? undefined : 62);
  const sigPadded = Buffer.concat([sigHeader, Buffer.alloc((8 - (sigHeader.length % 8)) % 8)]);

  const lead = Buffer.alloc(96);
  Buffer.from([0xed, 0xab, 0xee, 0xdb, 3, 0]).copy(lead, 0);
  lead.writeUInt16BE(0, 6);
  lead.writeUInt16BE(1, 8);
  lead.write(`${name}-${version}-${release}`.slice(0, 65), 10, 'latin1');
  lead.writeUInt16BE(1, 76);
  lead.writeUInt16BE(5, 78);

  const bytes = Buffer.concat([lead, sigPadded, header, compressed]);
  return {
    bytes,
    name,
    evr: { epoch, version, release },
    arch,
    signatureOffset: 96,
    headerOffset: 96 + sigPadded.length,
    payloadOffset: 96 + sigPadded.length + header.length,
    cpio,
  };
}
