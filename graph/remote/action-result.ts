// The body of an action-cache entry: a Remote Execution API `ActionResult` protobuf message, so a
// Bazel cache that validates AC uploads (bazel-remote does) stores and serves ours unchanged.
// Only the fields the pipeline uses are written; every other field is skipped when read.
//
// Field numbers, from build/bazel/remote/execution/v2/remote_execution.proto (bazelbuild/remote-apis):
//   message ActionResult { repeated OutputFile output_files = 2; int32 exit_code = 4; bytes stdout_raw = 5; }
//   message OutputFile   { string path = 1; Digest digest = 2; bool is_executable = 4; }
//   message Digest       { string hash = 1; int64 size_bytes = 2; }
// Encoding follows the spec's canonical rules (fields in tag order, proto3 defaults omitted), so the
// same message always gives the same bytes.

export interface Digest {
  hash: string;
  sizeBytes: number;
}

export interface OutputFile {
  path: string;
  digest: Digest;
  isExecutable?: boolean;
}

export interface ActionResultMessage {
  outputFiles: OutputFile[];
  exitCode: number;
  stdoutRaw?: Buffer;
}

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const FIXED32 = 5;

const ACTION_RESULT = { outputFiles: 2, exitCode: 4, stdoutRaw: 5 } as const;
const OUTPUT_FILE = { path: 1, digest: 2, isExecutable: 4 } as const;
const DIGEST = { hash: 1, sizeBytes: 2 } as const;

// ---------------------------------------------------------------------------------------------
// Encoding

class Writer {
  private readonly parts: Buffer[] = [];

  varint(value: bigint): void {
    // int32/int64 negatives are written as their 64-bit two's complement (10 bytes).
    let v = BigInt.asUintN(64, value);
    const bytes: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      bytes.push(byte);
    } while (v !== 0n);
    this.parts.push(Buffer.from(bytes));
  }

  tag(field: number, wireType: number): void {
    this.varint(BigInt((field << 3) | wireType));
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, LENGTH_DELIMITED);
    this.varint(BigInt(data.length));
    this.parts.push(Buffer.from(data));
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function encodeDigest(digest: Digest, where: string): Buffer {
  if (typeof digest?.hash !== 'string') throw new Error(`${where}.digest.hash is not a string`);
  if (!Number.isSafeInteger(digest.sizeBytes) || digest.sizeBytes < 0) {
    throw new Error(`${where}.digest.sizeBytes is ${digest.sizeBytes}, not a non-negative integer`);
  }
  const w = new Writer();
  if (digest.hash !== '') w.bytes(DIGEST.hash, Buffer.from(digest.hash, 'utf8'));
  if (digest.sizeBytes !== 0) {
    w.tag(DIGEST.sizeBytes, VARINT);
    w.varint(BigInt(digest.sizeBytes));
  }
  return w.finish();
}

function encodeOutputFile(file: OutputFile, where: string): Buffer {
  if (typeof file.path !== 'string' || file.path === '') throw new Error(`${where}.path is empty`);
  // The spec: "Since this is a relative path, it MUST NOT begin with a leading forward slash."
  if (file.path.startsWith('/')) throw new Error(`${where}.path ${JSON.stringify(file.path)} is absolute`);
  const w = new Writer();
  w.bytes(OUTPUT_FILE.path, Buffer.from(file.path, 'utf8'));
  // A message field is written even when all its fields are defaults: present, not absent.
  w.bytes(OUTPUT_FILE.digest, encodeDigest(file.digest, where));
  if (file.isExecutable) {
    w.tag(OUTPUT_FILE.isExecutable, VARINT);
    w.varint(1n);
  }
  return w.finish();
}

export function encodeActionResult(message: ActionResultMessage): Buffer {
  const { exitCode } = message;
  if (!Number.isInteger(exitCode) || exitCode < -(2 ** 31) || exitCode >= 2 ** 31) {
    throw new Error(`ActionResult.exitCode is ${exitCode}, not a 32-bit integer`);
  }
  const w = new Writer();
  message.outputFiles.forEach((file, i) => w.bytes(ACTION_RESULT.outputFiles, encodeOutputFile(file, `ActionResult.outputFiles[${i}]`)));
  if (exitCode !== 0) {
    w.tag(ACTION_RESULT.exitCode, VARINT);
    w.varint(BigInt(exitCode));
  }
  if (message.stdoutRaw && message.stdoutRaw.length > 0) w.bytes(ACTION_RESULT.stdoutRaw, message.stdoutRaw);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Decoding

class Reader {
  pos = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  fail(reason: string): never {
    throw new Error(`malformed ${this.what} at byte ${this.pos}: ${reason}`);
  }

  varint(): bigint {
    let result = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) this.fail('truncated varint');
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    this.fail('varint longer than 10 bytes');
  }

  take(length: number): Buffer {
    if (length > this.buf.length - this.pos) this.fail(`field of ${length} bytes runs past the end (${this.buf.length - this.pos} left)`);
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  lengthDelimited(): Buffer {
    const length = this.varint();
    const left = this.buf.length - this.pos;
    if (length > BigInt(left)) this.fail(`field of ${length} bytes runs past the end (${left} left)`);
    return this.take(Number(length));
  }

  /** The next field's number and wire type, checked. */
  tag(): [field: number, wireType: number] {
    const key = this.varint();
    const field = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (field === 0 || key >> 3n > 0x1fffffffn) this.fail(`invalid field number ${key >> 3n}`);
    if (wireType > FIXED32) this.fail(`invalid wire type ${wireType} for field ${field}`);
    return [field, wireType];
  }

  /** Skips the value of a field this decoder does not know. */
  skip(field: number, wireType: number, depth = 0): void {
    switch (wireType) {
      case VARINT:
        this.varint();
        return;
      case FIXED64:
        this.take(8);
        return;
      case LENGTH_DELIMITED:
        this.lengthDelimited();
        return;
      case FIXED32:
        this.take(4);
        return;
      case START_GROUP: {
        // Deprecated groups never appear in proto3, but they are valid wire format: skip to the end.
        if (depth > 32) this.fail('groups nested too deeply');
        for (;;) {
          if (this.done) this.fail(`group ${field} has no end`);
          const [inner, innerType] = this.tag();
          if (innerType === END_GROUP) {
            if (inner !== field) this.fail(`group ${field} closed by end of group ${inner}`);
            return;
          }
          this.skip(inner, innerType, depth + 1);
        }
      }
      default:
        this.fail(`unexpected end of group ${field}`);
    }
  }
}

function expectWireType(r: Reader, name: string, wireType: number, expected: number): void {
  if (wireType !== expected) r.fail(`${name} has wire type ${wireType}, expected ${expected}`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeString(r: Reader, name: string, bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    r.fail(`${name} is not valid UTF-8`);
  }
}

function decodeDigest(bytes: Buffer, where: string, into: Digest): void {
  const r = new Reader(bytes, where);
  while (!r.done) {
    const [field, wireType] = r.tag();
    if (field === DIGEST.hash) {
      expectWireType(r, 'hash', wireType, LENGTH_DELIMITED);
      into.hash = decodeString(r, 'hash', r.lengthDelimited());
    } else if (field === DIGEST.sizeBytes) {
      expectWireType(r, 'size_bytes', wireType, VARINT);
      const size = BigInt.asIntN(64, r.varint());
      if (size < 0n || size > BigInt(Number.MAX_SAFE_INTEGER)) r.fail(`size_bytes ${size} is out of range`);
      into.sizeBytes = Number(size);
    } else {
      r.skip(field, wireType);
    }
  }
}

function decodeOutputFile(bytes: Buffer, where: string): OutputFile {
  const r = new Reader(bytes, where);
  let path: string | undefined;
  let digest: Digest | undefined;
  let isExecutable = false;
  while (!r.done) {
    const [field, wireType] = r.tag();
    if (field === OUTPUT_FILE.path) {
      expectWireType(r, 'path', wireType, LENGTH_DELIMITED);
      path = decodeString(r, 'path', r.lengthDelimited());
    } else if (field === OUTPUT_FILE.digest) {
      expectWireType(r, 'digest', wireType, LENGTH_DELIMITED);
      // A message field seen twice is merged, as protobuf parsers do.
      digest ??= { hash: '', sizeBytes: 0 };
      decodeDigest(r.lengthDelimited(), `${where}.digest`, digest);
    } else if (field === OUTPUT_FILE.isExecutable) {
      expectWireType(r, 'is_executable', wireType, VARINT);
      isExecutable = r.varint() !== 0n;
    } else {
      r.skip(field, wireType);
    }
  }
  if (!path) throw new Error(`malformed ${where}: no path`);
  if (!digest) throw new Error(`malformed ${where} (${JSON.stringify(path)}): no digest`);
  return { path, digest, isExecutable };
}

/** Decodes an ActionResult; `isExecutable` is always set. Malformed bytes throw, naming the field and byte offset. */
export function decodeActionResult(bytes: Buffer): ActionResultMessage {
  const r = new Reader(bytes, 'ActionResult');
  const outputFiles: OutputFile[] = [];
  let exitCode = 0;
  let stdoutRaw: Buffer | undefined;
  while (!r.done) {
    const [field, wireType] = r.tag();
    if (field === ACTION_RESULT.outputFiles) {
      expectWireType(r, 'output_files', wireType, LENGTH_DELIMITED);
      outputFiles.push(decodeOutputFile(r.lengthDelimited(), `ActionResult.output_files[${outputFiles.length}]`));
    } else if (field === ACTION_RESULT.exitCode) {
      expectWireType(r, 'exit_code', wireType, VARINT);
      exitCode = Number(BigInt.asIntN(32, r.varint()));
    } else if (field === ACTION_RESULT.stdoutRaw) {
      expectWireType(r, 'stdout_raw', wireType, LENGTH_DELIMITED);
      stdoutRaw = Buffer.from(r.lengthDelimited());
    } else {
      r.skip(field, wireType);
    }
  }
  return stdoutRaw ? { outputFiles, exitCode, stdoutRaw } : { outputFiles, exitCode };
}
