// A signed A/B update bundle (`<variant>-<version>.update`): what `recab` on the installed system
// verifies and writes to the other slot. The format is fixed, because recab reads it with busybox
// `tar`, `sha256sum` and `openssl dgst` alone:
//
//   a POSIX ustar archive (512-byte blocks, two zero blocks at the end, no pax or GNU extensions),
//   regular files only, mode 0644, uid/gid 0, uname/gname root, mtime = the variant's epoch,
//   members in this order:
//     manifest       text, LF line ends:
//                      pipeline-update 1
//                      variant <variant name>
//                      os <os id>
//                      version <version>
//                      epoch <seconds>
//                      file system-a.efi <bytes> <sha256 hex>
//                      file system-b.efi <bytes> <sha256 hex>
//                      file slot.img <bytes> <sha256 hex>
//                      end
//     manifest.sig   the manifest's exact bytes signed with the db private key, SHA-256 with
//                    PKCS#1 v1.5 (RSA) or DER ECDSA (EC): `openssl dgst -sha256 -verify pub.pem
//                    -signature manifest.sig manifest` checks it against the db certificate's key
//     system-a.efi, system-b.efi   the signed slot UKIs
//     slot.img       the root's layers as one slot image (formats/slot-layers.ts)
//
// The manifest comes first, so every payload is hashed before the archive is written, then hashed
// again while it is copied in: a file that changes in between fails the write instead of leaving
// a bundle whose manifest lies. Nothing is held in memory but the manifest and one chunk.
import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify, X509Certificate, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeToFile } from '../util/file-stream.js';
import { readBody, readTar, writeTar, type TarEntry, type TarWriteEntry } from './tar.js';

export const UPDATE_MANIFEST_MAGIC = 'pipeline-update 1';
export const UPDATE_MANIFEST_MEMBER = 'manifest';
export const UPDATE_SIGNATURE_MEMBER = 'manifest.sig';
/** The payload members, in archive (and manifest) order. */
export const UPDATE_PAYLOADS = ['system-a.efi', 'system-b.efi', 'slot.img'] as const;
export type UpdatePayloadName = (typeof UPDATE_PAYLOADS)[number];
/** Every member, in archive order. */
export const UPDATE_MEMBERS = [UPDATE_MANIFEST_MEMBER, UPDATE_SIGNATURE_MEMBER, ...UPDATE_PAYLOADS] as const;
/** The bundle's file name suffix: `<variant>-<version>.update`. */
export const UPDATE_BUNDLE_SUFFIX = '.update';

/** Largest member a plain ustar header can describe (11 octal digits): beyond it a pax header would be needed. */
const USTAR_MAX_SIZE = 0o77777777777;
/** A manifest is a few hundred bytes; a signature at most a few KiB (RSA 16384 is 2 KiB). */
const MANIFEST_MAX_BYTES = 4096;
const SIGNATURE_MAX_BYTES = 16384;
const CHUNK = 1 << 20;

export class UpdateBundleError extends Error {
  override name = 'UpdateBundleError';
  constructor(
    message: string,
    /** The member the problem is in, when there is one (`slot.img`). */
    readonly member?: string,
  ) {
    super(message);
  }
}

export interface UpdateManifestFile {
  name: UpdatePayloadName;
  bytes: number;
  /** 64 lowercase hex digits. */
  sha256: string;
}

export interface UpdateManifest {
  variant: string;
  /** os-release ID. */
  os: string;
  /** os-release VERSION_ID: digits and dots. */
  version: string;
  /** SOURCE_DATE_EPOCH of the build, seconds. */
  epoch: number;
  /** Exactly the payloads, in UPDATE_PAYLOADS order. */
  files: UpdateManifestFile[];
}

// ---------------------------------------------------------------------------------------------
// Manifest text

const VARIANT_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;
const OS_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const VERSION_RE = /^[0-9]+(\.[0-9]+)*$/;
const COUNT_RE = /^(0|[1-9][0-9]*)$/;
const SHA256_RE = /^[0-9a-f]{64}$/;

/** A version_id as bundles carry it: digits and dots (`1`, `1.1`, `10.0.2`); returns it or throws. */
export function validateUpdateVersion(version: string, where = 'update bundle'): string {
  if (version.length > 32 || !VERSION_RE.test(version)) {
    throw new UpdateBundleError(`${where}: version ${JSON.stringify(version)} must be digits separated by single dots (1, 1.1, 10.0.2), at most 32 characters`);
  }
  return version;
}

function checkManifestFields(m: UpdateManifest, where: string): void {
  if (!VARIANT_RE.test(m.variant)) {
    throw new UpdateBundleError(`${where}: variant ${JSON.stringify(m.variant)} must be 1 to 64 letters, digits, '.', '_', '+' or '-', starting with a letter or digit`);
  }
  if (!OS_RE.test(m.os)) throw new UpdateBundleError(`${where}: os ${JSON.stringify(m.os)} must be lower-case letters, digits, '.', '_' or '-' (an os-release ID)`);
  validateUpdateVersion(m.version, where);
  if (!Number.isSafeInteger(m.epoch) || m.epoch < 0 || m.epoch > USTAR_MAX_SIZE) {
    throw new UpdateBundleError(`${where}: epoch ${m.epoch} must be whole seconds between 0 and ${USTAR_MAX_SIZE}`);
  }
  const names = m.files.map((f) => f.name);
  if (names.join(' ') !== UPDATE_PAYLOADS.join(' ')) {
    throw new UpdateBundleError(`${where}: files must be ${UPDATE_PAYLOADS.join(', ')} in that order (got ${names.join(', ') || 'none'})`);
  }
  for (const file of m.files) {
    if (!Number.isSafeInteger(file.bytes) || file.bytes < 0 || file.bytes > USTAR_MAX_SIZE) {
      throw new UpdateBundleError(`${where}: ${file.name} has ${file.bytes} bytes; a ustar member holds 0 to ${USTAR_MAX_SIZE}`, file.name);
    }
    if (!SHA256_RE.test(file.sha256)) throw new UpdateBundleError(`${where}: ${file.name}: sha256 ${JSON.stringify(file.sha256)} is not 64 lowercase hex digits`, file.name);
  }
}

/** The manifest's text (ASCII, LF line ends, a final LF). Throws on a field the format cannot carry. */
export function formatUpdateManifest(manifest: UpdateManifest): string {
  checkManifestFields(manifest, 'update manifest');
  return [
    UPDATE_MANIFEST_MAGIC,
    `variant ${manifest.variant}`,
    `os ${manifest.os}`,
    `version ${manifest.version}`,
    `epoch ${manifest.epoch}`,
    ...manifest.files.map((f) => `file ${f.name} ${f.bytes} ${f.sha256}`),
    'end',
    '',
  ].join('\n');
}

/**
 * Parses a manifest strictly: the exact lines in the exact order, single spaces, LF line ends, a
 * final LF after `end` and nothing after it. `where` names it in errors (`demo-1.update: manifest`).
 */
export function parseUpdateManifest(text: string | Buffer, where = 'update manifest'): UpdateManifest {
  const raw = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  if (raw.length > MANIFEST_MAX_BYTES) throw new UpdateBundleError(`${where}: ${raw.length} bytes, over the ${MANIFEST_MAX_BYTES}-byte limit`);
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i];
    if (byte === 0x0d) throw new UpdateBundleError(`${where}: carriage return at byte ${i}: line ends must be LF only`);
    if (byte !== 0x0a && (byte < 0x20 || byte > 0x7e)) {
      throw new UpdateBundleError(`${where}: byte ${i} is 0x${byte.toString(16).padStart(2, '0')}: only printable ASCII and LF are allowed`);
    }
  }
  const body = raw.toString('latin1');
  if (!body.endsWith('\n')) throw new UpdateBundleError(`${where}: does not end with a line feed (truncated?)`);
  const lines = body.slice(0, -1).split('\n');
  let index = 0;
  const lineError = (message: string): never => {
    throw new UpdateBundleError(`${where}: line ${index + 1}: ${message}`);
  };
  const next = (what: string): string => {
    if (index >= lines.length) throw new UpdateBundleError(`${where}: ends after line ${lines.length}, expected ${what}`);
    return lines[index];
  };
  /** `key value` with one space and the value matching `pattern`. */
  const field = (key: string, pattern: RegExp, rule: string): string => {
    const line = next(`'${key} <value>'`);
    const [k, ...rest] = line.split(' ');
    if (k !== key) lineError(`expected '${key} <value>', got ${JSON.stringify(line)}`);
    const value = rest.join(' ');
    if (rest.length !== 1 || !pattern.test(value)) lineError(`${key} ${JSON.stringify(value)}: ${rule}`);
    index++;
    return value;
  };

  if (next(`'${UPDATE_MANIFEST_MAGIC}'`) !== UPDATE_MANIFEST_MAGIC) lineError(`expected '${UPDATE_MANIFEST_MAGIC}', got ${JSON.stringify(lines[0])}: not an update manifest, or another format version`);
  index++;
  const variant = field('variant', VARIANT_RE, 'must be 1 to 64 letters, digits, ., _, + or -');
  const os = field('os', OS_RE, 'must be an os-release ID (lower-case letters, digits, ., _, -)');
  const version = field('version', VERSION_RE, 'must be digits separated by single dots (1, 1.1, 10.0.2)');
  if (version.length > 32) lineError(`version is longer than 32 characters`);
  const epoch = Number(field('epoch', COUNT_RE, 'must be whole seconds, decimal, no leading zeros'));
  if (!Number.isSafeInteger(epoch) || epoch > USTAR_MAX_SIZE) lineError(`epoch ${epoch} is out of range`);
  const files: UpdateManifestFile[] = [];
  for (const name of UPDATE_PAYLOADS) {
    const line = next(`'file ${name} <bytes> <sha256>'`);
    const parts = line.split(' ');
    if (parts[0] !== 'file' || parts.length !== 4) lineError(`expected 'file ${name} <bytes> <sha256>', got ${JSON.stringify(line)}`);
    if (parts[1] !== name) lineError(`expected the file ${name} here, got ${JSON.stringify(parts[1])} (the files are ${UPDATE_PAYLOADS.join(', ')}, in that order)`);
    if (!COUNT_RE.test(parts[2])) lineError(`${name}: size ${JSON.stringify(parts[2])} must be a decimal byte count, no leading zeros`);
    const bytes = Number(parts[2]);
    if (!Number.isSafeInteger(bytes) || bytes > USTAR_MAX_SIZE) lineError(`${name}: size ${parts[2]} is out of range`);
    if (!SHA256_RE.test(parts[3])) lineError(`${name}: sha256 ${JSON.stringify(parts[3])} must be 64 lowercase hex digits`);
    files.push({ name, bytes, sha256: parts[3] });
    index++;
  }
  if (next(`'end'`) !== 'end') lineError(`expected 'end', got ${JSON.stringify(lines[index])}`);
  index++;
  if (index < lines.length) lineError(`unexpected ${JSON.stringify(lines[index])} after 'end'`);
  return { variant, os, version, epoch, files };
}

// ---------------------------------------------------------------------------------------------
// Keys and signatures

/** Signs the manifest's bytes; returns the signature as `openssl dgst -sha256 -sign` would. */
export type UpdateSigner = (message: Buffer) => Buffer | Promise<Buffer>;

/** A signer from a private key (RSA: PKCS#1 v1.5; EC: DER ECDSA), both over SHA-256. */
export function updateSigner(privateKey: KeyObject): UpdateSigner {
  return (message) => cryptoSign('sha256', message, privateKey);
}

/**
 * Reads an unencrypted RSA or EC private key (PEM or PKCS#8 DER) and, when a certificate is
 * given, checks that the key is its key. Errors name the files, never their content.
 */
export async function loadUpdateSigningKey(keyPath: string, certificatePath?: string): Promise<KeyObject> {
  let bytes: Buffer;
  try {
    bytes = await readFile(keyPath);
  } catch (err) {
    throw new UpdateBundleError(`cannot read private key ${keyPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let key: KeyObject;
  try {
    const pem = bytes.includes('-----BEGIN');
    if (pem && (bytes.includes('BEGIN ENCRYPTED PRIVATE KEY') || bytes.includes('Proc-Type: 4,ENCRYPTED'))) {
      throw new Error('it is encrypted; give an unencrypted key (openssl pkey -in KEY -out PLAIN.key)');
    }
    key = pem ? createPrivateKey({ key: bytes, format: 'pem' }) : createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw new UpdateBundleError(`cannot read private key ${keyPath}: ${(err as Error).message}`);
  } finally {
    bytes.fill(0);
  }
  if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ec') {
    throw new UpdateBundleError(`private key ${keyPath} is ${key.asymmetricKeyType}; update bundles are signed with RSA or EC keys`);
  }
  if (certificatePath !== undefined) {
    const certificatePem = await readFile(certificatePath).catch((err: NodeJS.ErrnoException) => {
      throw new UpdateBundleError(`cannot read certificate ${certificatePath}: ${err.code ?? err.message}`);
    });
    const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
    if (!spki(createPublicKey(key)).equals(spki(certificatePublicKey(certificatePem, certificatePath)))) {
      throw new UpdateBundleError(`private key ${keyPath} does not belong to certificate ${certificatePath}`);
    }
  }
  return key;
}

function certificatePublicKey(certificate: string | Buffer, where: string): KeyObject {
  try {
    return new X509Certificate(certificate).publicKey;
  } catch (err) {
    throw new UpdateBundleError(`${where}: not an X.509 certificate: ${(err as Error).message}`);
  }
}

/** The SPKI public key (PEM) of an X.509 certificate (PEM or DER): what `openssl dgst -verify` takes. */
export function updatePublicKeyPem(certificate: string | Buffer): string {
  return certificatePublicKey(certificate, 'certificate').export({ type: 'spki', format: 'pem' }).toString();
}

function publicKeyOf(key: string | Buffer | KeyObject): KeyObject {
  if (typeof key !== 'string' && !Buffer.isBuffer(key)) return key.type === 'private' ? createPublicKey(key) : key;
  try {
    return createPublicKey(key);
  } catch (err) {
    throw new UpdateBundleError(`not a public key: ${(err as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

export interface UpdatePayloadPaths {
  systemA: string;
  systemB: string;
  /** The slot image of the root's layers (writeSlotImage). */
  slotImage: string;
}

export interface WriteUpdateBundleOptions extends UpdatePayloadPaths {
  output: string;
  variant: string;
  os: string;
  version: string;
  /** SOURCE_DATE_EPOCH: the manifest's epoch and every member's mtime. */
  epoch: number;
  /** The db private key, or a function that signs (the key stays with the caller). */
  sign: UpdateSigner | KeyObject;
}

export interface UpdateBundleResult {
  manifest: UpdateManifest;
  /** The manifest's exact bytes, as signed. */
  manifestText: string;
  signature: Buffer;
  /** Size of the bundle. */
  bytes: number;
}

/** SHA-256 and size of a file, streamed. */
export async function hashFile(path: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

const PAYLOAD_PATH: Record<UpdatePayloadName, keyof UpdatePayloadPaths> = { 'system-a.efi': 'systemA', 'system-b.efi': 'systemB', 'slot.img': 'slotImage' };

/** Writes the bundle: hashes the payloads, signs the manifest, streams the archive into `output`. */
export async function writeUpdateBundle(options: WriteUpdateBundleOptions): Promise<UpdateBundleResult> {
  const files: UpdateManifestFile[] = [];
  for (const name of UPDATE_PAYLOADS) {
    const path = options[PAYLOAD_PATH[name]];
    const info = await hashFile(path).catch((err: NodeJS.ErrnoException) => {
      throw new UpdateBundleError(`${options.output}: cannot read ${name} from ${path}: ${err.code ?? err.message}`, name);
    });
    files.push({ name, ...info });
  }
  const manifest: UpdateManifest = { variant: options.variant, os: options.os, version: options.version, epoch: options.epoch, files };
  const manifestText = formatUpdateManifest(manifest);
  const manifestBytes = Buffer.from(manifestText, 'latin1');
  const signature = await signManifest(manifestBytes, options.sign);
  const payloads = files.map((file) => ({ file, path: options[PAYLOAD_PATH[file.name]] }));
  await pipeToFile(
    options.output,
    Readable.from(
      writeTar(bundleEntries(manifestBytes, signature, options.epoch, payloads.map(({ file, path }) => ({ file, body: checkedFileBody(path, file, options.output) })))),
    ),
  );
  return { manifest, manifestText, signature, bytes: (await stat(options.output)).size };
}

async function signManifest(manifest: Buffer, signer: UpdateSigner | KeyObject): Promise<Buffer> {
  const signature = typeof signer === 'function' ? await signer(manifest) : cryptoSign('sha256', manifest, signer);
  if (!Buffer.isBuffer(signature) || signature.length === 0) throw new UpdateBundleError('the signer returned no signature', UPDATE_SIGNATURE_MEMBER);
  if (signature.length > SIGNATURE_MAX_BYTES) throw new UpdateBundleError(`the signature is ${signature.length} bytes, over the ${SIGNATURE_MAX_BYTES}-byte limit`, UPDATE_SIGNATURE_MEMBER);
  if (typeof signer !== 'function' && !cryptoVerify('sha256', manifest, createPublicKey(signer), signature)) {
    throw new UpdateBundleError('the signature just made does not verify with the key', UPDATE_SIGNATURE_MEMBER);
  }
  return signature;
}

/** A payload's bytes as they go into the archive, hashed again: a file changed since it was hashed fails the write. */
async function* checkedFileBody(path: string, expected: UpdateManifestFile, output: string): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
    if (bytes > expected.bytes) break;
    yield chunk;
  }
  const sha256 = hash.digest('hex');
  if (bytes !== expected.bytes || sha256 !== expected.sha256) {
    throw new UpdateBundleError(`${output}: ${expected.name} (${path}) changed while the bundle was written`, expected.name);
  }
}

/** The archive's members in order, every one with the same fixed attributes. */
function* bundleEntries(
  manifest: Buffer,
  signature: Buffer,
  epoch: number,
  payloads: ReadonlyArray<{ file: UpdateManifestFile; body: AsyncIterable<Uint8Array> }>,
): Generator<TarWriteEntry> {
  const member = (path: string, body: TarWriteEntry['body'], size?: number): TarWriteEntry => ({
    path,
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    uname: 'root',
    gname: 'root',
    mtime: epoch,
    body,
    size,
  });
  yield member(UPDATE_MANIFEST_MEMBER, manifest);
  yield member(UPDATE_SIGNATURE_MEMBER, signature);
  for (const { file, body } of payloads) yield member(file.name, body, file.bytes);
}

// ---------------------------------------------------------------------------------------------
// Reading and verifying

export interface UpdateBundleHead {
  manifest: UpdateManifest;
  /** The manifest member's exact bytes (what the signature covers). */
  manifestBytes: Buffer;
  signature: Buffer;
}

/** The first two members, as stored: the manifest's bytes, the signature, and the mtime they carry. */
interface RawHead {
  manifestBytes: Buffer;
  signature: Buffer;
  mtime: number;
}

/** Checks that a member is a plain file at the expected place; returns nothing, throws with the reason. */
function expectMember(entry: TarEntry | undefined, name: string, where: string, position: number): asserts entry is TarEntry {
  if (!entry) throw new UpdateBundleError(`${where}: member ${position + 1} should be ${name}, but the archive ends there`, name);
  if (entry.path !== name) {
    throw new UpdateBundleError(`${where}: member ${position + 1} is ${JSON.stringify(entry.path)}, expected ${name} (members: ${UPDATE_MEMBERS.join(', ')}, in that order)`, name);
  }
  if (entry.type !== 'file') throw new UpdateBundleError(`${where}: ${name} is a ${entry.type}, not a regular file`, name);
  if (Object.keys(entry.pax).length > 0 || Object.keys(entry.xattrs).length > 0) {
    // busybox and GNU tar read extended headers differently; the format has none.
    throw new UpdateBundleError(`${where}: ${name} carries pax extended headers (${Object.keys(entry.pax).join(', ')}); update bundles are plain ustar`, name);
  }
}

/** Opens a bundle and walks its members; the stream is closed whatever the caller does. */
async function withBundle<T>(path: string, use: (entries: AsyncGenerator<TarEntry>, where: string) => Promise<T>): Promise<T> {
  const where = path;
  const stream = createReadStream(path, { highWaterMark: CHUNK });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  try {
    await opened.catch((err: NodeJS.ErrnoException) => {
      throw new UpdateBundleError(`${where}: cannot read the bundle: ${err.code ?? err.message}`);
    });
    const entries = readTar(stream, { label: where });
    try {
      return await use(entries, where);
    } catch (err) {
      if (err instanceof UpdateBundleError) throw err;
      throw new UpdateBundleError(`${where}: ${unlabelled(err, where)}`);
    } finally {
      await entries.return(undefined).catch(() => undefined);
    }
  } finally {
    stream.destroy();
  }
}

async function readHead(entries: AsyncGenerator<TarEntry>, where: string): Promise<RawHead> {
  const first = await nextMember(entries, where, UPDATE_MANIFEST_MEMBER, 'not an update bundle: ');
  expectMember(first, UPDATE_MANIFEST_MEMBER, where, 0);
  const manifestBytes = await smallBody(first, MANIFEST_MAX_BYTES, where);
  const second = await nextMember(entries, where, UPDATE_SIGNATURE_MEMBER);
  expectMember(second, UPDATE_SIGNATURE_MEMBER, where, 1);
  const signature = await smallBody(second, SIGNATURE_MAX_BYTES, where);
  return { manifestBytes, signature, mtime: first.mtime };
}

/** The next member's header; an unreadable one is an error about the member expected there. */
async function nextMember(entries: AsyncGenerator<TarEntry>, where: string, expected: string, prefix = ''): Promise<TarEntry | undefined> {
  try {
    return (await entries.next()).value as TarEntry | undefined;
  } catch (err) {
    throw new UpdateBundleError(`${where}: ${prefix}where ${expected} should be: ${unlabelled(err, where)}`, expected);
  }
}

async function smallBody(entry: TarEntry, limit: number, where: string): Promise<Buffer> {
  if (entry.size > limit) throw new UpdateBundleError(`${where}: ${entry.path} is ${entry.size} bytes, over the ${limit}-byte limit`, entry.path);
  try {
    return await readBody(entry, limit);
  } catch (err) {
    throw new UpdateBundleError(`${where}: ${entry.path}: ${unlabelled(err, where)}`, entry.path);
  }
}

/** A tar reader message without the bundle's path in front (the caller puts it there once). */
function unlabelled(err: unknown, where: string): string {
  const message = (err as Error).message;
  return message.startsWith(`${where}: `) ? message.slice(where.length + 2) : message;
}

/**
 * The manifest and signature of a bundle, WITHOUT checking the signature or the payloads (what a
 * bundle claims: for messages and for resigning). Use verifyUpdateBundle before trusting it.
 */
export async function readUpdateBundleManifest(path: string): Promise<UpdateBundleHead> {
  return withBundle(path, async (entries, where) => {
    const { manifestBytes, signature } = await readHead(entries, where);
    return { manifest: parseUpdateManifest(manifestBytes, `${where}: manifest`), manifestBytes, signature };
  });
}

/**
 * Verifies a bundle completely: the member order and nothing else in it, the manifest's signature
 * against `publicKey` (SPKI PEM, or a KeyObject), then each payload's size and SHA-256 against the
 * manifest, streamed, and the end of the archive. Returns the manifest; throws UpdateBundleError
 * naming the member at fault.
 */
export async function verifyUpdateBundle(path: string, publicKey: string | Buffer | KeyObject): Promise<UpdateManifest> {
  const key = publicKeyOf(publicKey);
  return withBundle(path, async (entries, where) => {
    const head = await readHead(entries, where);
    // The signature first: an unsigned manifest's contents are not worth parsing for messages.
    let valid: boolean;
    try {
      valid = cryptoVerify('sha256', head.manifestBytes, key, head.signature);
    } catch (err) {
      throw new UpdateBundleError(`${where}: manifest.sig cannot be checked with this key: ${(err as Error).message}`, UPDATE_SIGNATURE_MEMBER);
    }
    if (!valid) {
      throw new UpdateBundleError(`${where}: manifest.sig does not verify: the manifest was changed after signing, or it was signed with another key`, UPDATE_SIGNATURE_MEMBER);
    }
    const manifest = parseUpdateManifest(head.manifestBytes, `${where}: manifest`);
    for (const [i, file] of manifest.files.entries()) {
      const entry = await nextMember(entries, where, file.name);
      expectMember(entry, file.name, where, i + 2);
      if (entry.size !== file.bytes) {
        throw new UpdateBundleError(`${where}: ${file.name} is ${entry.size} bytes, the manifest says ${file.bytes}`, file.name);
      }
      const hash = createHash('sha256');
      let bytes = 0;
      try {
        for await (const chunk of entry.body) {
          hash.update(chunk);
          bytes += chunk.length;
        }
      } catch (err) {
        throw new UpdateBundleError(`${where}: ${file.name}: ${unlabelled(err, where)}`, file.name);
      }
      const sha256 = hash.digest('hex');
      if (bytes !== file.bytes || sha256 !== file.sha256) {
        throw new UpdateBundleError(`${where}: ${file.name} has sha256 ${sha256}, the manifest says ${file.sha256}: it was changed after signing`, file.name);
      }
    }
    const extra = await entries.next().catch((err: unknown) => {
      throw new UpdateBundleError(`${where}: after ${UPDATE_PAYLOADS.at(-1)}: ${unlabelled(err, where)}`);
    });
    if (!extra.done) throw new UpdateBundleError(`${where}: unexpected member ${JSON.stringify(extra.value.path)} after ${UPDATE_PAYLOADS.at(-1)}`, extra.value.path);
    return manifest;
  });
}

// ---------------------------------------------------------------------------------------------
// Resigning (tests: a bundle signed by another key, or with an edited manifest)

export interface ResignOptions {
  /** Rewrites the manifest text before it is signed (default: unchanged). Not validated: tests make bad ones on purpose. */
  manifestEdit?: (manifest: string) => string;
  /** The key (or function) that signs the (edited) manifest. */
  sign: UpdateSigner | KeyObject;
}

/**
 * Writes `output`: `input` with its manifest (optionally edited) signed anew; the payload members
 * are copied unchanged, streamed. Nothing of `input` is verified.
 */
export async function resignUpdateBundle(input: string, output: string, options: ResignOptions): Promise<{ manifestText: string; signature: Buffer }> {
  const head = await withBundle(input, readHead);
  const original = head.manifestBytes.toString('latin1');
  const manifestText = options.manifestEdit ? options.manifestEdit(original) : original;
  const manifestBytes = Buffer.from(manifestText, 'latin1');
  const signature = typeof options.sign === 'function' ? await options.sign(manifestBytes) : cryptoSign('sha256', manifestBytes, options.sign);
  await withBundle(input, async (entries, where) => {
    await readHead(entries, where);
    async function* members(): AsyncGenerator<TarWriteEntry> {
      const fixed = { type: 'file' as const, mode: 0o644, uid: 0, gid: 0, uname: 'root', gname: 'root' };
      yield { ...fixed, path: UPDATE_MANIFEST_MEMBER, mtime: head.mtime, body: manifestBytes };
      yield { ...fixed, path: UPDATE_SIGNATURE_MEMBER, mtime: head.mtime, body: signature };
      for (let next = await entries.next(); !next.done; next = await entries.next()) {
        const entry = next.value;
        yield { ...fixed, path: entry.path, mtime: entry.mtime, body: entry.body, size: entry.size };
      }
    }
    await pipeToFile(output, Readable.from(writeTar(members())));
  });
  return { manifestText, signature };
}
