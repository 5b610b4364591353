// Verifying a detached data signature (types 0x00 binary, 0x01 text) against a keyring.
import { publicKeyAlgorithmName, SIGNING_ALGORITHMS, hashAlgorithm } from './algorithms.js';
import { dearmor, looksArmored } from './armor.js';
import { canonicalText, left16Matches, signatureDigest, verifyDigest, algorithmsMatch } from './crypto.js';
import { PgpError } from './errors.js';
import { readPackets, TAG } from './packets.js';
import { parseSignaturePacket, SIG_TYPE, type SignaturePacket } from './signature-packet.js';
import { keyStates, type KeyState, type PgpKeyring, type PgpPublicKey, type PgpVerified } from './types.js';

/**
 * Verifies a signature (a binary signature packet, or armored) over `signedData` (its chunks in
 * order) against the keyring. Throws PgpError with the reason; `subject` starts the message.
 */
export function verifySignature(signedData: Uint8Array | Uint8Array[], signature: Uint8Array | string, keyring: PgpKeyring, subject = 'signature'): PgpVerified {
  const sig = readSignature(signature, subject);
  const issuer = sig.issuerFingerprint ?? sig.issuerKeyId;
  const by = issuer ? ` by key ${issuer}` : '';
  if (sig.type !== SIG_TYPE.binary && sig.type !== SIG_TYPE.text) {
    throw new PgpError(`${subject}: signature${by} has type 0x${sig.type.toString(16).padStart(2, '0')}, not a signature over data (0x00 or 0x01)`, 'bad-signature');
  }
  if (!sig.created) throw new PgpError(`${subject}: signature${by} has no hashed creation time`, 'malformed');
  if (sig.unknownCritical !== undefined) {
    throw new PgpError(`${subject}: signature${by} carries critical subpacket ${sig.unknownCritical}, which is not understood`, 'bad-signature');
  }
  if (!SIGNING_ALGORITHMS.has(sig.publicKeyAlgorithm)) {
    throw new PgpError(`${subject}: signature${by} is made with ${publicKeyAlgorithmName(sig.publicKeyAlgorithm)}, which is not supported (RSA, EdDSA and Ed25519 are)${rejectedNote(sig, keyring)}`, 'unsupported-algorithm');
  }
  hashAlgorithm(sig.hashAlgorithm, `${subject}: signature${by}`);

  const candidates = candidateKeys(sig, keyring);
  if (candidates.length === 0) {
    const rejected = rejectedSigner(sig, keyring);
    if (rejected) throw new PgpError(`${subject}: signed by key ${issuer}, which is not usable: ${rejected.message}`, rejected.reason);
    throw new PgpError(`${subject}: signed by key ${issuer ?? '(no issuer named)'}, which is not in the trusted keyring`, 'unknown-key');
  }

  const chunks = Array.isArray(signedData) ? signedData : [signedData];
  const { digest, hash } = signatureDigest(sig, sig.type === SIG_TYPE.text ? canonicalText(chunks) : chunks, `${subject}: signature${by}`);
  if (!left16Matches(sig, digest)) {
    throw new PgpError(`${subject}: signature${by} does not match the data (digest prefix differs: the data or the signature was altered)`, 'bad-signature');
  }
  for (const key of candidates) {
    const state = keyStates.get(key)!;
    if (!verifyDigest(sig, state.packet, digest, hash)) continue;
    checkValidity(sig, key, state, subject);
    return { signer: key, primary: state.primaryKey, hashAlgorithm: hash.name, created: sig.created };
  }
  const names = candidates.map((k) => k.fingerprint).join(', ');
  throw new PgpError(`${subject}: ${publicKeyAlgorithmName(sig.publicKeyAlgorithm)} signature${by} fails verification with ${candidates.length === 1 ? 'key' : 'keys'} ${names}`, 'bad-signature');
}

/** Exactly one v4 signature packet, armored or binary. */
function readSignature(signature: Uint8Array | string, subject: string): SignaturePacket {
  let data: Buffer;
  if (typeof signature === 'string' || looksArmored(signature)) {
    const text = typeof signature === 'string' ? signature : Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength).toString('latin1');
    const blocks = dearmor(text, subject);
    if (blocks.length !== 1 || blocks[0]!.type !== 'PGP SIGNATURE') {
      throw new PgpError(`${subject}: expected one armored PGP SIGNATURE block, found ${blocks.map((b) => b.type).join(', ')}`, 'malformed');
    }
    data = blocks[0]!.data;
  } else {
    data = Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength);
  }
  if (data.length === 0) throw new PgpError(`${subject}: the signature is empty`, 'malformed');
  const packets = readPackets(data, subject).filter((p) => p.tag !== TAG.marker);
  const signatures = packets.filter((p) => p.tag === TAG.signature);
  if (signatures.length !== 1 || packets.length !== 1) {
    throw new PgpError(`${subject}: expected exactly one signature packet, found ${packets.map((p) => `tag ${p.tag}`).join(', ')}`, 'malformed');
  }
  return parseSignaturePacket(signatures[0]!.body, `${subject}: signature`);
}

/** The trusted keys the signature names (fingerprint first, else key id; every key sharing a key id). */
function candidateKeys(sig: SignaturePacket, keyring: PgpKeyring): PgpPublicKey[] {
  const usable = keyring.keys.filter((k) => {
    const state = keyStates.get(k);
    return state !== undefined && algorithmsMatch(sig, state.packet);
  });
  if (sig.issuerFingerprint) return usable.filter((k) => k.fingerprint === sig.issuerFingerprint);
  if (sig.issuerKeyId) return usable.filter((k) => k.keyId === sig.issuerKeyId);
  return usable; // no issuer subpacket: any key of the right algorithm may have made it
}

function rejectedSigner(sig: SignaturePacket, keyring: PgpKeyring) {
  return (keyring.rejected ?? []).find((k) => (sig.issuerFingerprint ? k.fingerprint === sig.issuerFingerprint : k.keyId !== '' && k.keyId === sig.issuerKeyId));
}

function rejectedNote(sig: SignaturePacket, keyring: PgpKeyring): string {
  const rejected = rejectedSigner(sig, keyring);
  return rejected ? `; the keyring holds that key but cannot use it: ${rejected.message}` : '';
}

/** A cryptographically good signature still fails when its key was expired, revoked or not for signing. */
function checkValidity(sig: SignaturePacket, key: PgpPublicKey, state: KeyState, subject: string): void {
  const created = sig.created!;
  const made = created.toISOString();
  if (created < state.packet.created) {
    throw new PgpError(`${subject}: signature by ${key.keyId} claims to be made on ${made}, before the key existed (${key.created.toISOString()})`, 'bad-signature');
  }
  const levels: [string, KeyState][] = state.primary === state ? [['key', state]] : [['subkey', state], ['primary key', state.primary]];
  for (const [role, s] of levels) {
    const id = s.packet.keyId;
    const v = s.validity;
    if (v.revokedSince && created >= v.revokedSince) {
      throw new PgpError(`${subject}: signed on ${made} by ${role} ${id}, which was revoked on ${v.revokedSince.toISOString()}`, 'revoked');
    }
    if (v.expires && created >= v.expires) {
      throw new PgpError(`${subject}: signed on ${made} by ${role} ${id}, which expired on ${v.expires.toISOString()}`, 'expired');
    }
  }
  if (state.validity.notForSigning !== undefined) {
    throw new PgpError(`${subject}: signed by key ${key.keyId}, whose key flags (0x${state.validity.notForSigning.toString(16).toUpperCase().padStart(2, '0')}) do not allow signing data`, 'bad-binding');
  }
}
