// Keyring files: one or more certificates, armored (possibly several blocks) or binary.
import { readFile } from 'node:fs/promises';
import { dearmor, looksArmored } from './armor.js';
import { readCertificate } from './certificate.js';
import { PgpError } from './errors.js';
import { firstPacketTag, readPackets, TAG, type Packet } from './packets.js';
import type { PgpKeyring } from './types.js';

/** Reads one or more certificates (armored or binary). Throws PgpError. */
export function readKeyring(data: Uint8Array | string, source = 'key'): PgpKeyring {
  const packets = keyringPackets(data, source);
  const certificates: Packet[][] = [];
  for (const packet of packets) {
    if (packet.tag === TAG.secretKey || packet.tag === TAG.secretSubkey) {
      throw new PgpError(`${source}: holds a secret key (packet at offset ${packet.offset}); a keyring takes public keys only (gpg --export)`, 'malformed');
    }
    if (packet.tag === TAG.publicKey) certificates.push([packet]);
    else if (packet.tag === TAG.marker || packet.tag === TAG.trust) continue;
    else if (certificates.length === 0) throw new PgpError(`${source}: does not start with a public key packet (found tag ${packet.tag} at offset ${packet.offset})`, 'malformed');
    else certificates.at(-1)!.push(packet);
  }
  if (certificates.length === 0) throw new PgpError(`${source}: holds no public key`, 'malformed');
  const ring: Required<PgpKeyring> = { keys: [], rejected: [] };
  for (const cert of certificates) {
    const { trusted, rejected } = readCertificate(cert, source);
    ring.keys.push(...trusted);
    ring.rejected.push(...rejected);
  }
  return ring;
}

function keyringPackets(data: Uint8Array | string, source: string): Packet[] {
  const armored = typeof data === 'string' || looksArmored(data);
  if (!armored) return certificatePackets(Buffer.from(data.buffer, data.byteOffset, data.byteLength), source);
  const text = typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
  return dearmor(text, source).flatMap((block, i) => {
    if (block.type === 'PGP PRIVATE KEY BLOCK') throw new PgpError(`${source}: holds a private key block; a keyring takes public keys only (gpg --export)`, 'malformed');
    if (block.type !== 'PGP PUBLIC KEY BLOCK') throw new PgpError(`${source}: armor block ${i + 1} is a ${block.type}, not a PGP PUBLIC KEY BLOCK`, 'malformed');
    return certificatePackets(block.data, `${source} (armor block ${i + 1})`);
  });
}

/** Checks the first header before framing the rest, so that a file of another kind is named as such. */
function certificatePackets(data: Buffer, source: string): Packet[] {
  if (data.length === 0) throw new PgpError(`${source}: is empty: it holds no public key`, 'malformed');
  const tag = firstPacketTag(data);
  if (tag === undefined) throw new PgpError(`${source}: is not OpenPGP data (neither armored nor a binary packet)`, 'malformed');
  if (tag !== TAG.publicKey && tag !== TAG.secretKey && tag !== TAG.marker) {
    throw new PgpError(`${source}: does not start with a public key packet (its first packet would have tag ${tag})`, 'malformed');
  }
  return readPackets(data, source);
}

/** Reads every file into one keyring; errors name the file. */
export async function loadKeyringFiles(paths: string[]): Promise<PgpKeyring> {
  const rings = await Promise.all(paths.map(async (path) => readKeyring(await readFile(path), path)));
  return mergeKeyrings(...rings);
}

export function mergeKeyrings(...rings: PgpKeyring[]): PgpKeyring {
  return { keys: rings.flatMap((r) => r.keys), rejected: rings.flatMap((r) => r.rejected ?? []) };
}

/**
 * Keeps only the certificates whose primary fingerprint is pinned, and fails with
 * 'fingerprint-mismatch' when a pinned fingerprint is not in the keyring.
 */
export function pinKeyring(ring: PgpKeyring, fingerprints: string[], source = 'keyring'): PgpKeyring {
  const pinned = new Set(fingerprints.map((f) => f.replace(/\s+/g, '').toUpperCase()));
  const primaries = new Set(ring.keys.filter((k) => k.primary === k.fingerprint).map((k) => k.fingerprint));
  for (const fp of pinned) {
    if (!primaries.has(fp)) {
      const present = [...primaries].join(', ') || 'no usable key';
      throw new PgpError(`${source}: pinned fingerprint ${fp} is not among its keys (it holds ${present})`, 'fingerprint-mismatch');
    }
  }
  return { keys: ring.keys.filter((k) => pinned.has(k.primary)), rejected: (ring.rejected ?? []).filter((k) => pinned.has(k.primary)) };
}
