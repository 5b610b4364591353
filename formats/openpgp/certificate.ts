// One certificate (a primary key and what follows it up to the next primary) turned into trusted
// keys. A primary is trusted because the keyring file names it; a subkey only through a binding
// signature (0x18) the primary made over both keys, with key flags that allow signing and the
// subkey's own back-signature (0x19). That is the check whose absence was CVE-2021-3521.
import { publicKeyAlgorithmLabel } from './algorithms.js';
import { algorithmsMatch, left16Matches, signatureDigest, verifyDigest } from './crypto.js';
import { PgpError } from './errors.js';
import { keyHashPrefix, parseKeyPacket, type KeyPacket } from './key-packet.js';
import { TAG, type Packet } from './packets.js';
import { parseSignaturePacket, SIG_TYPE, type SignaturePacket } from './signature-packet.js';
import { keyStates, type KeyState, type KeyValidity, type PgpPublicKey, type PgpRejectedKey } from './types.js';

export interface CertificateKeys {
  trusted: PgpPublicKey[];
  rejected: PgpRejectedKey[];
}

interface Component {
  packet: Packet;
  signatures: SignaturePacket[];
}

/** Revocation reasons that retire a key from then on; any other (or none) voids it entirely. */
const SOFT_REVOCATION_REASONS = new Set([1, 3]); // superseded, retired

const FLAG_SIGN = 0x02;

export function readCertificate(packets: Packet[], source: string): CertificateKeys {
  const where = (p: Packet): string => `${source}: packet at offset ${p.offset}`;
  const primaryPacket = packets[0]!;
  const primary = parseKeyPacket(primaryPacket.body, `${source}: key`);

  const direct: SignaturePacket[] = [];
  const userIds: Component[] = [];
  const subkeys: Component[] = [];
  let current: SignaturePacket[] = direct;
  for (const packet of packets.slice(1)) {
    if (packet.tag === TAG.signature) {
      const sig = tryParseSignature(packet, where(packet));
      if (sig) current.push(sig);
    } else if (packet.tag === TAG.userId || packet.tag === TAG.userAttribute) {
      const component = { packet, signatures: [] };
      if (packet.tag === TAG.userId) userIds.push(component);
      current = component.signatures;
    } else if (packet.tag === TAG.publicSubkey) {
      const component = { packet, signatures: [] };
      subkeys.push(component);
      current = component.signatures;
    }
    // Trust packets and unknown packets carry nothing we rely on.
  }

  if (primary.problem) {
    const { reason, message } = primary.problem;
    return { trusted: [], rejected: [rejectedKey(primary, primary, reason, message), ...subkeys.flatMap((s) => rejectSubkeysOf(primary, s, source, reason, message))] };
  }

  // The primary's own state: revocations, and the newest self-signature's expiry and flags.
  const selfPrefix = [keyHashPrefix(primary), primary.body];
  const primaryValidity: KeyValidity = {};
  for (const sig of direct.filter((s) => s.type === SIG_TYPE.keyRevocation)) {
    if (!verifiedBy(sig, primary, selfPrefix)) continue;
    if (!isSoftRevocation(sig)) {
      const message = `${source}: key ${primary.keyId} is revoked by its owner${revocationNote(sig)}`;
      return { trusted: [], rejected: [rejectedKey(primary, primary, 'revoked', message), ...subkeys.flatMap((s) => rejectSubkeysOf(primary, s, source, 'revoked', message))] };
    }
    primaryValidity.revokedSince = earliest(primaryValidity.revokedSince, sig.created);
  }
  const selfSignatures = direct.filter((s) => s.type === SIG_TYPE.directKey && verifiedBy(s, primary, selfPrefix));
  const validUserIds: string[] = [];
  for (const uid of userIds) {
    const prefix = [...selfPrefix, userIdFraming(uid.packet.body), uid.packet.body];
    const certs = uid.signatures.filter((s) => s.type >= SIG_TYPE.certGeneric && s.type <= SIG_TYPE.certPositive && verifiedBy(s, primary, prefix));
    if (certs.length === 0) continue;
    const newest = newestOf(certs);
    const revoked = uid.signatures.some((s) => s.type === SIG_TYPE.certRevocation && time(s) >= time(newest) && verifiedBy(s, primary, prefix));
    if (revoked) continue;
    validUserIds.push(uid.packet.body.toString('utf8'));
    selfSignatures.push(newest);
  }
  if (selfSignatures.length > 0) applyKeyProperties(primaryValidity, primary, newestOf(selfSignatures));

  const primaryKey = publicView(primary, primary, validUserIds);
  const primaryState: KeyState = { packet: primary, validity: primaryValidity, primary: undefined as unknown as KeyState, primaryKey };
  primaryState.primary = primaryState;
  keyStates.set(primaryKey, primaryState);

  const trusted: PgpPublicKey[] = [primaryKey];
  const rejected: PgpRejectedKey[] = [];
  for (const sub of subkeys) {
    const outcome = readSubkey(sub, primary, source);
    if ('rejected' in outcome) {
      rejected.push(outcome.rejected);
      continue;
    }
    const key = publicView(outcome.packet, primary, validUserIds);
    keyStates.set(key, { packet: outcome.packet, validity: outcome.validity, primary: primaryState, primaryKey });
    trusted.push(key);
  }
  return { trusted, rejected };
}

function readSubkey(sub: Component, primary: KeyPacket, source: string): { packet: KeyPacket; validity: KeyValidity } | { rejected: PgpRejectedKey } {
  const subkey = parseKeyPacket(sub.packet.body, `${source}: subkey`);
  const name = `${source}: subkey ${subkey.keyId} of ${primary.keyId}`;
  if (subkey.problem) return { rejected: rejectedKey(subkey, primary, subkey.problem.reason, subkey.problem.message) };
  const prefix = [keyHashPrefix(primary), primary.body, keyHashPrefix(subkey), subkey.body];

  const bindings = sub.signatures.filter((s) => s.type === SIG_TYPE.subkeyBinding && verifiedBy(s, primary, prefix));
  if (bindings.length === 0) {
    const failed = sub.signatures.filter((s) => s.type === SIG_TYPE.subkeyBinding).length;
    const detail = failed === 0 ? 'has no binding signature' : `has ${failed} binding signature${failed === 1 ? '' : 's'}, none made by its primary over this subkey`;
    return { rejected: rejectedKey(subkey, primary, 'bad-binding', `${name} ${detail}: it is not trusted`) };
  }
  const validity: KeyValidity = {};
  for (const sig of sub.signatures.filter((s) => s.type === SIG_TYPE.subkeyRevocation && verifiedBy(s, primary, prefix))) {
    if (!isSoftRevocation(sig)) return { rejected: rejectedKey(subkey, primary, 'revoked', `${name} is revoked${revocationNote(sig)}`) };
    validity.revokedSince = earliest(validity.revokedSince, sig.created);
  }
  const binding = newestOf(bindings);
  applyKeyProperties(validity, subkey, binding);
  if (validity.notForSigning !== undefined) {
    return { rejected: rejectedKey(subkey, primary, 'bad-binding', `${name} is bound for other uses than signing (key flags 0x${hex2(validity.notForSigning)})`) };
  }
  // A signing subkey must agree to belong to this primary (RFC 4880 5.2.1, 0x19): otherwise
  // anyone could bind someone else's signing subkey to their own certificate.
  const back = binding.embedded ? tryParseSignature({ tag: TAG.signature, body: binding.embedded, offset: 0 }, `${name}: embedded back-signature`) : undefined;
  if (!back) return { rejected: rejectedKey(subkey, primary, 'bad-binding', `${name} is not cross-certified (its binding has no primary-key binding signature, 0x19)`) };
  if (back.type !== SIG_TYPE.primaryKeyBinding || !verifiedBy(back, subkey, prefix)) {
    return { rejected: rejectedKey(subkey, primary, 'bad-binding', `${name} has an invalid primary-key binding (back-)signature`) };
  }
  return { packet: subkey, validity };
}

/** Is `sig` a valid signature by `signer` over `prefix` (the framed keys / user id)? */
function verifiedBy(sig: SignaturePacket, signer: KeyPacket, prefix: Buffer[]): boolean {
  if (sig.unknownCritical !== undefined || !sig.created || !algorithmsMatch(sig, signer)) return false;
  if (sig.issuerFingerprint && sig.issuerFingerprint !== signer.fingerprint) return false;
  if (sig.issuerKeyId && sig.issuerKeyId !== signer.keyId) return false;
  let digest;
  try {
    digest = signatureDigest(sig, prefix, 'key signature');
  } catch (err) {
    if (err instanceof PgpError) return false; // a refused hash: the signature does not count
    throw err;
  }
  return left16Matches(sig, digest.digest) && verifyDigest(sig, signer, digest.digest, digest.hash);
}

/** Key expiration (subpacket 9, relative to the key's creation) and key flags from a self-signature. */
function applyKeyProperties(validity: KeyValidity, key: KeyPacket, sig: SignaturePacket): void {
  if (sig.keyExpirationSeconds) validity.expires = new Date(key.created.getTime() + sig.keyExpirationSeconds * 1000);
  if (sig.keyFlags !== undefined && (sig.keyFlags & FLAG_SIGN) === 0) validity.notForSigning = sig.keyFlags;
}

function tryParseSignature(packet: Packet, what: string): SignaturePacket | undefined {
  try {
    return parseSignaturePacket(packet.body, what);
  } catch (err) {
    if (err instanceof PgpError) return undefined; // v3, v6 or damaged: it certifies nothing
    throw err;
  }
}

/** The subkeys of a primary that cannot be used make nothing trustworthy either. */
function rejectSubkeysOf(primary: KeyPacket, sub: Component, source: string, reason: PgpRejectedKey['reason'], primaryMessage: string): PgpRejectedKey[] {
  let subkey: KeyPacket;
  try {
    subkey = parseKeyPacket(sub.packet.body, `${source}: subkey`);
  } catch {
    return [];
  }
  const why = primaryMessage.startsWith(`${source}: `) ? primaryMessage.slice(source.length + 2) : primaryMessage;
  return [rejectedKey(subkey, primary, reason, `${source}: subkey ${subkey.keyId} of ${primary.keyId} cannot be used because its primary cannot: ${why}`)];
}

function rejectedKey(key: KeyPacket, primary: KeyPacket, reason: PgpRejectedKey['reason'], message: string): PgpRejectedKey {
  return { keyId: key.keyId, fingerprint: key.fingerprint, primary: primary.fingerprint, algorithm: publicKeyAlgorithmLabel(key.algorithm), reason, message };
}

function publicView(key: KeyPacket, primary: KeyPacket, userIds: string[]): PgpPublicKey {
  return { fingerprint: key.fingerprint, keyId: key.keyId, algorithm: publicKeyAlgorithmLabel(key.algorithm), bits: key.bits, created: key.created, primary: primary.fingerprint, userIds: [...userIds] };
}

/** v4 certifications hash a user id as 0xB4, its BE32 length, its bytes. */
function userIdFraming(body: Buffer): Buffer {
  const b = Buffer.alloc(5);
  b[0] = 0xb4;
  b.writeUInt32BE(body.length, 1);
  return b;
}

function isSoftRevocation(sig: SignaturePacket): boolean {
  return sig.revocationReason !== undefined && SOFT_REVOCATION_REASONS.has(sig.revocationReason) && sig.created !== undefined;
}

function revocationNote(sig: SignaturePacket): string {
  const reasons: Record<number, string> = { 0: 'no reason given', 1: 'superseded', 2: 'compromised', 3: 'retired' };
  const r = sig.revocationReason;
  const when = sig.created ? ` on ${sig.created.toISOString()}` : '';
  return `${when} (${r === undefined ? 'no reason given' : (reasons[r] ?? `reason ${r}`)})`;
}

const time = (s: SignaturePacket): number => s.created?.getTime() ?? 0;
const newestOf = (sigs: SignaturePacket[]): SignaturePacket => sigs.reduce((a, b) => (time(b) > time(a) ? b : a));
const earliest = (a: Date | undefined, b: Date | undefined): Date | undefined => (!a ? b : !b ? a : a < b ? a : b);
const hex2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, '0');
