// Authenticode signatures for PE images (what UEFI Secure Boot checks), made natively:
// the PE image digest of the Authenticode spec, a PKCS#7 SignedData around an
// SpcIndirectDataContent, RSA PKCS#1 v1.5 with SHA-256 through node:crypto, all in DER.
// The same key, certificate, image and signing time always give the same bytes (unlike sbsign,
// which stamps the current time).
import { createHash, createPrivateKey, createPublicKey, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  bitString, bmpStringContent, children, contentOf, encodingOf, explicit, implicit, integer, nullValue,
  octetString, oid, readTlv, sequence, setOf, sortDer, time,
} from './asn1.js';
import { PeAlreadySignedError, PeFormatError, PeWriter, readPeHeaderArea, streamRange, type PeHeaders } from './pe.js';

export class AuthenticodeError extends Error {
  override name = 'AuthenticodeError';
}

const OID = {
  sha256: '2.16.840.1.101.3.4.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  spcIndirectData: '1.3.6.1.4.1.311.2.1.4',
  spcPeImageData: '1.3.6.1.4.1.311.2.1.15',
} as const;

/** WIN_CERTIFICATE revision 2.0, type PKCS_SIGNED_DATA. */
const WIN_CERT_REVISION_2 = 0x0200;
const WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002;

/**
 * The Authenticode digest (SHA-256) of a PE image: the headers without the CheckSum field and the
 * certificate-table directory entry, every section's raw data in file order, then whatever follows
 * up to the certificate table (counted from the sum of the bytes hashed so far, as the spec and
 * OVMF do, so images with gaps between sections hash the same everywhere). `appendZeros` hashes
 * that many zero bytes after the file's end: the padding a signer adds before the table.
 */
export async function authenticodeDigest(file: string, appendZeros = 0): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const { buf, headers } = await readPeHeaderArea(fh, file);
    const { size } = await fh.stat();
    return await digestOpenImage(fh, file, buf, headers, size, appendZeros);
  } finally {
    await fh.close();
  }
}

async function digestOpenImage(
  fh: FileHandle,
  file: string,
  buf: Buffer,
  h: PeHeaders,
  size: number,
  appendZeros: number,
): Promise<Buffer> {
  const hash = createHash('sha256');
  const skipStart = h.certDirectoryOffset < 0 ? h.sizeOfHeaders : h.certDirectoryOffset;
  const skipEnd = h.certDirectoryOffset < 0 ? h.sizeOfHeaders : h.certDirectoryOffset + 8;
  if (h.sizeOfHeaders > buf.length || skipEnd > h.sizeOfHeaders) {
    throw new PeFormatError(`${file}: SizeOfHeaders 0x${h.sizeOfHeaders.toString(16)} does not cover the PE headers`);
  }
  hash.update(buf.subarray(0, h.checksumOffset));
  hash.update(buf.subarray(h.checksumOffset + 4, skipStart));
  hash.update(buf.subarray(skipEnd, h.sizeOfHeaders));
  let hashed = h.sizeOfHeaders;
  const sections = h.sections.filter((s) => s.sizeOfRawData > 0).sort((a, b) => a.pointerToRawData - b.pointerToRawData);
  for (const s of sections) {
    if (s.pointerToRawData + s.sizeOfRawData > size) {
      throw new PeFormatError(`${file}: section ${s.name} raw data (0x${s.pointerToRawData.toString(16)}+0x${s.sizeOfRawData.toString(16)}) runs past the end of the file (0x${size.toString(16)})`);
    }
    await streamRange(fh, s.pointerToRawData, s.sizeOfRawData, (chunk) => void hash.update(chunk), file);
    hashed += s.sizeOfRawData;
  }
  const extraEnd = size + appendZeros - h.certTable.size;
  if (extraEnd < hashed) {
    throw new PeFormatError(`${file}: the image (${size} bytes) is smaller than its headers and sections (${hashed} bytes) plus certificate table`);
  }
  const fromFile = Math.max(Math.min(extraEnd, size) - hashed, 0);
  await streamRange(fh, hashed, fromFile, (chunk) => void hash.update(chunk), file);
  hash.update(Buffer.alloc(extraEnd - hashed - fromFile));
  return hash.digest();
}

/** Issuer Name and serialNumber encodings of an X.509 certificate (for IssuerAndSerialNumber). */
function issuerAndSerial(certDer: Buffer): { issuer: Buffer; serial: Buffer } {
  const what = 'X.509 certificate';
  const cert = readTlv(certDer, 0, what);
  const tbs = children(certDer, cert, what)[0];
  const fields = children(certDer, tbs, what);
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0; // optional [0] version
  const serial = fields[offset];
  const issuer = fields[offset + 2];
  if (!serial || serial.tag !== 0x02 || !issuer || issuer.tag !== 0x30) {
    throw new AuthenticodeError('X.509 certificate: cannot find its serial number and issuer');
  }
  return { issuer: encodingOf(certDer, issuer), serial: encodingOf(certDer, serial) };
}

export interface SignedDataInputs {
  /** SHA-256 Authenticode digest of the image. */
  imageDigest: Buffer;
  certificate: X509Certificate;
  privateKey: KeyObject;
  /** Embedded as the signingTime attribute when given; omitted otherwise. */
  signingTime?: Date;
  /** More certificates to carry (an intermediate CA), DER. */
  extraCertificates?: Buffer[];
}

/** The DER PKCS#7 SignedData (ContentInfo) an Authenticode certificate table entry carries. */
export function authenticodeSignedData(inputs: SignedDataInputs): Buffer {
  if (inputs.imageDigest.length !== 32) throw new AuthenticodeError(`image digest must be 32 bytes of SHA-256, got ${inputs.imageDigest.length}`);
  const sha256 = sequence(oid(OID.sha256), nullValue());
  const peImageData = sequence(
    bitString(Buffer.alloc(0)),
    // SpcLink.file -> SpcString.unicode "<<<Obsolete>>>", what signtool and sbsign write.
    explicit(0, explicit(2, implicit(0, bmpStringContent('<<<Obsolete>>>'), false))),
  );
  const indirectData = sequence(
    sequence(oid(OID.spcPeImageData), peImageData),
    sequence(sha256, octetString(inputs.imageDigest)),
  );
  // Authenticode quirk: messageDigest covers the SpcIndirectDataContent's content octets, not its
  // SEQUENCE header.
  const contentDigest = createHash('sha256').update(contentOf(indirectData, readTlv(indirectData, 0))).digest();
  const attributes = [
    sequence(oid(OID.contentType), setOf(oid(OID.spcIndirectData))),
    ...(inputs.signingTime ? [sequence(oid(OID.signingTime), setOf(time(inputs.signingTime)))] : []),
    sequence(oid(OID.messageDigest), setOf(octetString(contentDigest))),
  ];
  const signedAttributes = setOf(...attributes);
  // The signature covers the attributes encoded as a SET; they are stored as [0] IMPLICIT.
  const signature = sign('sha256', signedAttributes, inputs.privateKey);
  const certDer = inputs.certificate.raw;
  const { issuer, serial } = issuerAndSerial(certDer);
  const signerInfo = sequence(
    integer(1),
    sequence(issuer, serial),
    sha256,
    implicit(0, contentOf(signedAttributes, readTlv(signedAttributes, 0)), true),
    sequence(oid(OID.rsaEncryption), nullValue()),
    octetString(signature),
  );
  const certificates = sortDer([certDer, ...(inputs.extraCertificates ?? [])]);
  const signedData = sequence(
    integer(1),
    setOf(sha256),
    sequence(oid(OID.spcIndirectData), explicit(0, indirectData)),
    implicit(0, Buffer.concat(certificates), true),
    setOf(signerInfo),
  );
  return sequence(oid(OID.signedData), explicit(0, signedData));
}

/** A WIN_CERTIFICATE around the signature, padded to 8 bytes (dwLength counts the padding, like sbsign). */
export function winCertificate(signedData: Buffer): Buffer {
  const length = Math.ceil((8 + signedData.length) / 8) * 8;
  const entry = Buffer.alloc(length);
  entry.writeUInt32LE(length, 0);
  entry.writeUInt16LE(WIN_CERT_REVISION_2, 4);
  entry.writeUInt16LE(WIN_CERT_TYPE_PKCS_SIGNED_DATA, 6);
  signedData.copy(entry, 8);
  return entry;
}

export interface SigningKey {
  certificate: X509Certificate;
  privateKey: KeyObject;
}

/**
 * Loads a certificate (PEM or DER) and its unencrypted RSA private key (PEM or DER), checking that
 * they belong together. Errors name the files, never their content.
 */
export async function loadSigningKey(keyPath: string, certPath: string): Promise<SigningKey> {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(await readFile(certPath));
  } catch (err) {
    throw new AuthenticodeError(`cannot read certificate ${certPath}: ${(err as Error).message}`);
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(keyPath);
  } catch (err) {
    throw new AuthenticodeError(`cannot read private key ${keyPath}: ${(err as Error).message}`);
  }
  const pem = bytes.includes('-----BEGIN');
  if (pem && (bytes.includes('BEGIN ENCRYPTED PRIVATE KEY') || bytes.includes('Proc-Type: 4,ENCRYPTED'))) {
    throw new AuthenticodeError(`cannot read private key ${keyPath}: it is encrypted; give an unencrypted key (openssl pkey -in KEY -out PLAIN.key)`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = pem ? createPrivateKey({ key: bytes, format: 'pem' }) : createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw new AuthenticodeError(`cannot read private key ${keyPath}: ${(err as Error).message}`);
  } finally {
    bytes.fill(0);
  }
  if (privateKey.asymmetricKeyType !== 'rsa') {
    throw new AuthenticodeError(`private key ${keyPath} is ${privateKey.asymmetricKeyType}, but UEFI Secure Boot needs RSA`);
  }
  const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
  if (!spki(createPublicKey(privateKey)).equals(spki(certificate.publicKey))) {
    throw new AuthenticodeError(`private key ${keyPath} does not belong to certificate ${certPath} (${certificate.subject})`);
  }
  return { certificate, privateKey };
}

export interface SignPeOptions {
  input: string;
  output: string;
  key: SigningKey;
  /** Embedded as the PKCS#9 signingTime (SOURCE_DATE_EPOCH); omitted when absent. */
  signingTime?: Date;
}

export interface SignPeResult {
  /** Authenticode SHA-256 digest of the image, hex. */
  digest: string;
  /** Offset and size of the certificate table in the output. */
  certTable: { offset: number; size: number };
  checksum: number;
  fileSize: number;
}

/**
 * Writes `output`: `input` with an Authenticode signature appended (8-byte aligned certificate
 * table, directory entry and PE checksum updated). Refuses images that are already signed.
 */
export async function signPe(options: SignPeOptions): Promise<SignPeResult> {
  const { input, output } = options;
  if (resolve(input) === resolve(output)) throw new AuthenticodeError(`sign ${input}: output must be a different file than the input`);
  const fh = await open(input, 'r');
  try {
    const { buf, headers } = await readPeHeaderArea(fh, input);
    if (headers.certDirectoryOffset < 0) {
      throw new PeFormatError(`${input}: the optional header has no certificate-table directory entry (NumberOfRvaAndSizes ${headers.numberOfRvaAndSizes}); cannot sign`);
    }
    if (headers.certTable.offset !== 0 || headers.certTable.size !== 0) {
      throw new PeAlreadySignedError(
        `${input}: already signed (certificate table at 0x${headers.certTable.offset.toString(16)}, ${headers.certTable.size} bytes); sign the unsigned image instead`,
      );
    }
    const { size } = await stat(input);
    const padding = (8 - (size % 8)) % 8;
    const digest = await digestOpenImage(fh, input, buf, headers, size, padding);
    const table = winCertificate(
      authenticodeSignedData({ imageDigest: digest, certificate: options.key.certificate, privateKey: options.key.privateKey, signingTime: options.signingTime }),
    );
    const certTable = { offset: size + padding, size: table.length };
    const header = Buffer.from(buf);
    header.writeUInt32LE(certTable.offset, headers.certDirectoryOffset);
    header.writeUInt32LE(certTable.size, headers.certDirectoryOffset + 4);
    header.writeUInt32LE(0, headers.checksumOffset);
    const writer = await PeWriter.create(output);
    try {
      await writer.write(header);
      await writer.copyRange(input, header.length, size - header.length);
      await writer.zeros(padding);
      await writer.write(table);
      const fileSize = writer.position;
      const checksum = await writer.finish(headers.checksumOffset);
      return { digest: digest.toString('hex'), certTable, checksum, fileSize };
    } catch (err) {
      await writer.abandon();
      throw err;
    }
  } finally {
    await fh.close();
  }
}
