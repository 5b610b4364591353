// The OpenPGP signatures an RPM package carries, and the policy that decides whether it is trusted.
//
// Where signatures live (signature header):
//   268 RSA, 267 DSA/EdDSA      one packet each, over the main header (magic to end of store)
//   278 OPENPGP (rpm 6)          base64 packets, any number, over the main header
//   1002 PGP, 1005 GPG           legacy, over the main header and the compressed payload
// Policy:
// - at least one header signature (267/268/278) must verify against a trusted key; a package that
//   has none is 'signature-missing', one whose header signatures are all by unknown keys is
//   'signature-unknown-key';
// - any signature we cannot check (an algorithm we do not know: ML-DSA, named; a v3 or v6 packet)
//   refuses the package ('signature-unsupported'), as does any that fails to verify
//   ('signature-bad'): a package is not made trustworthy by one good signature beside a broken one;
// - a header signature by a key we do not trust, beside one we do, is listed and tolerated;
// - header+payload signatures are listed, inspected, but not verified: the payload digest (5092)
//   inside the signed header covers the payload, as in rpm >= 4.14, and verifying them would need
//   the whole payload in memory.
import { PgpError, publicKeyAlgorithmName, verifySignature, type PgpKeyring } from '../../../formats/openpgp/index.js';
import type { RpmHeader } from '../../../formats/rpm/header.js';
import { SigTag } from '../../../formats/rpm/tags.js';

export type RpmSignatureCovers = 'header' | 'header+payload';

export interface RpmSignatureInfo {
  /** Signature-header tag it came from (268, 267, 278, 1002, 1005). */
  tag: number;
  covers: RpmSignatureCovers;
  /** OpenPGP packet version (3, 4, 6) and public-key algorithm, when the packet could be read. */
  version?: number;
  algorithm?: string;
  status: 'verified' | 'unknown-key' | 'not-checked' | 'refused';
  /** verified: fingerprint of the signing key and of its primary, hash algorithm, creation time. */
  signer?: string;
  primary?: string;
  hashAlgorithm?: string;
  created?: string;
  /** Why it was not verified. */
  detail?: string;
  /** The binary signature packet, base64. */
  packet: string;
}

export type SignatureFailure = { reason: 'signature-missing' | 'signature-unknown-key' | 'signature-bad' | 'signature-unsupported'; message: string };

/**
 * Signature algorithms passed on to the OpenPGP module (which verifies RSA and EdDSA/Ed25519 and
 * refuses DSA, ECDSA and Ed448 by name when it is asked to verify); everything else (ML-DSA,
 * SLH-DSA, unknown numbers) is refused here by name, even where nothing is verified.
 */
const VERIFIABLE = new Set([1, 3, 17, 19, 22, 27, 28]);

/** The signature packets of a signature header, in tag order. */
export function collectSignatures(signature: RpmHeader): Array<{ tag: number; covers: RpmSignatureCovers; packet: Buffer }> {
  const out: Array<{ tag: number; covers: RpmSignatureCovers; packet: Buffer }> = [];
  for (const tag of [SigTag.RSA, SigTag.DSA] as number[]) {
    const packet = signature.bin(tag);
    if (packet) out.push({ tag, covers: 'header', packet: Buffer.from(packet) });
  }
  for (const text of signature.strings(SigTag.OPENPGP) ?? []) {
    out.push({ tag: SigTag.OPENPGP, covers: 'header', packet: Buffer.from(text, 'base64') });
  }
  for (const tag of [SigTag.PGP, SigTag.GPG] as number[]) {
    const packet = signature.bin(tag);
    if (packet) out.push({ tag, covers: 'header+payload', packet: Buffer.from(packet) });
  }
  return out;
}

/** Version and public-key algorithm of a signature packet (old or new packet format), if readable. */
export function inspectSignaturePacket(packet: Uint8Array): { version: number; algorithm: number } | undefined {
  if (packet.length < 2 || (packet[0] & 0x80) === 0) return undefined;
  let tag: number;
  let at: number;
  if (packet[0] & 0x40) {
    tag = packet[0] & 0x3f;
    const first = packet[1];
    at = first < 192 ? 2 : first < 224 ? 3 : first === 255 ? 6 : -1;
  } else {
    tag = (packet[0] >> 2) & 0x0f;
    const lengthType = packet[0] & 3;
    at = lengthType === 3 ? -1 : 1 + (1 << lengthType);
  }
  if (tag !== 2 || at < 0 || at >= packet.length) return undefined;
  const version = packet[at];
  const algorithmAt = version === 3 ? at + 15 : at + 2;
  if (algorithmAt >= packet.length) return undefined;
  return { version, algorithm: packet[algorithmAt] };
}

const TAG_NAMES: Record<number, string> = { 267: 'DSA/EdDSA header', 268: 'RSA header', 278: 'OpenPGP header', 1002: 'PGP header+payload', 1005: 'GPG header+payload' };

/**
 * Inspects and verifies every signature; returns them and the failure, if the policy refuses
 * the package. Without a keyring nothing is verified (the caller allowed unsigned packages), but
 * unreadable and unsupported signatures still refuse it.
 */
export function checkSignatures(
  signature: RpmHeader,
  header: RpmHeader,
  keyring: PgpKeyring | undefined,
): { signatures: RpmSignatureInfo[]; failure?: SignatureFailure } {
  const signatures: RpmSignatureInfo[] = [];
  let failure: SignatureFailure | undefined;
  const refuse = (info: RpmSignatureInfo, reason: SignatureFailure['reason'], message: string): void => {
    info.status = 'refused';
    info.detail = message;
    failure ??= { reason, message };
  };
  for (const { tag, covers, packet } of collectSignatures(signature)) {
    const what = `${TAG_NAMES[tag]} signature (tag ${tag})`;
    const info: RpmSignatureInfo = { tag, covers, status: 'not-checked', packet: packet.toString('base64') };
    signatures.push(info);
    const seen = inspectSignaturePacket(packet);
    if (!seen) {
      refuse(info, 'signature-bad', `${what} is not an OpenPGP signature packet`);
      continue;
    }
    info.version = seen.version;
    info.algorithm = publicKeyAlgorithmName(seen.algorithm);
    if (!VERIFIABLE.has(seen.algorithm)) {
      refuse(info, 'signature-unsupported', `${what} uses ${info.algorithm}, a signature algorithm not supported: refusing a signature that cannot be checked`);
      continue;
    }
    if (seen.version !== 4) {
      refuse(info, 'signature-unsupported', `${what} is a v${seen.version} OpenPGP signature packet; only v4 signatures are accepted`);
      continue;
    }
    if (covers === 'header+payload') {
      info.detail = 'legacy header+payload signature: not verified (the signed header carries the payload digest)';
      continue;
    }
    if (!keyring) {
      info.detail = 'no trusted keys given';
      continue;
    }
    try {
      const verified = verifySignature([header.bytes], packet, keyring, what);
      Object.assign(info, {
        status: 'verified',
        signer: verified.signer.fingerprint,
        primary: verified.primary.fingerprint,
        hashAlgorithm: verified.hashAlgorithm,
        created: verified.created.toISOString(),
      });
    } catch (err) {
      if (!(err instanceof PgpError)) throw err;
      if (err.reason === 'unknown-key') {
        info.status = 'unknown-key';
        info.detail = err.message;
      } else if (err.reason === 'unsupported-algorithm' || err.reason === 'unsupported-version') {
        refuse(info, 'signature-unsupported', err.message);
      } else {
        refuse(info, 'signature-bad', err.message);
      }
    }
  }
  if (failure || !keyring) return { signatures, failure };
  const headerSignatures = signatures.filter((s) => s.covers === 'header');
  if (headerSignatures.some((s) => s.status === 'verified')) return { signatures };
  if (headerSignatures.length === 0) {
    const legacy = signatures.length > 0 ? ' (only legacy header+payload signatures, which are not accepted alone)' : '';
    return { signatures, failure: { reason: 'signature-missing', message: `not signed: no header signature (tags 267, 268, 278)${legacy}; refusing unsigned packages` } };
  }
  const details = headerSignatures.map((s) => s.detail).join('; ');
  return { signatures, failure: { reason: 'signature-unknown-key', message: `no header signature is by a trusted key: ${details}` } };
}
