// OpenPGP (RFC 4880 v4) public keys and signatures, verified with node:crypto alone.
// CONTRACT (implementation in progress): other modules (RPM packages, repodata) code against
// these names and shapes.

export type PgpRejectReason =
  | 'malformed' // not OpenPGP, truncated packets, bad armor checksum
  | 'unsupported-version' // v3 signature or key packets, v5/v6 packets
  | 'unsupported-algorithm' // an algorithm we do not verify, named in the message
  | 'unknown-key' // no trusted key has the issuer's key id / fingerprint
  | 'bad-signature' // the cryptographic check failed (or the left-16 check)
  | 'bad-binding' // a subkey without a valid binding signature
  | 'expired'
  | 'revoked'
  | 'fingerprint-mismatch'; // a key file whose fingerprint is not the one pinned

export class PgpError extends Error {
  override name = 'PgpError';
  constructor(
    message: string,
    readonly reason: PgpRejectReason,
  ) {
    super(message);
  }
}

export interface PgpPublicKey {
  /** 40 upper-case hex digits (v4). */
  fingerprint: string;
  /** The last 16 hex digits of the fingerprint. */
  keyId: string;
  /** 'RSA' | 'EdDSA' | ... */
  algorithm: string;
  /** RSA modulus bits; 256 for Ed25519. */
  bits: number;
  created: Date;
  /** Fingerprint of the primary key this key belongs to (its own for a primary). */
  primary: string;
  /** The certificate's user IDs (`Name <mail>`). */
  userIds: string[];
}

/** Trusted keys: primaries, and the subkeys whose binding signatures verified. */
export interface PgpKeyring {
  keys: PgpPublicKey[];
}

export interface PgpVerified {
  /** The key that made the signature (a subkey or a primary). */
  signer: PgpPublicKey;
  /** Its primary key. */
  primary: PgpPublicKey;
  hashAlgorithm: string;
  created: Date;
}

/** Reads one or more certificates (armored or binary). Throws PgpError. */
export function readKeyring(_data: Uint8Array | string, _source = 'key'): PgpKeyring {
  throw new Error('not implemented yet');
}

export async function loadKeyringFiles(_paths: string[]): Promise<PgpKeyring> {
  throw new Error('not implemented yet');
}

export function mergeKeyrings(...rings: PgpKeyring[]): PgpKeyring {
  return { keys: rings.flatMap((r) => r.keys) };
}

/**
 * Verifies a signature (a binary signature packet, or armored) over `signedData` (its chunks in
 * order) against the keyring. Throws PgpError with the reason; `subject` starts the message.
 */
export function verifySignature(_signedData: Uint8Array | Uint8Array[], _signature: Uint8Array | string, _keyring: PgpKeyring, _subject = 'signature'): PgpVerified {
  throw new Error('not implemented yet');
}
