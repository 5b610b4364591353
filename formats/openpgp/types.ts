// The public shapes of the OpenPGP reader, and the per-key state verification needs that the
// shapes do not show (kept beside each key object, so merged keyrings carry it along).
import type { PgpRejectReason } from './errors.js';
import type { KeyPacket } from './key-packet.js';

export interface PgpPublicKey {
  /** 40 upper-case hex digits (v4). */
  fingerprint: string;
  /** The last 16 hex digits of the fingerprint. */
  keyId: string;
  /** 'RSA' | 'EdDSA' | 'Ed25519' */
  algorithm: string;
  /** RSA modulus bits; 256 for Ed25519. */
  bits: number;
  created: Date;
  /** Fingerprint of the primary key this key belongs to (its own for a primary). */
  primary: string;
  /** The certificate's user IDs (`Name <mail>`) that carry a valid self-signature. */
  userIds: string[];
}

/** A key a keyring file held but that cannot verify anything, and why (for error messages). */
export interface PgpRejectedKey {
  /** 16 upper-case hex digits ('' for a v3 key that is not RSA). */
  keyId: string;
  /** Upper-case hex ('' for v3 keys). */
  fingerprint: string;
  /** Fingerprint of its primary key (its own for a primary). */
  primary: string;
  algorithm: string;
  reason: PgpRejectReason;
  /** Names the key and the reason: "subkey X of Y has no valid binding signature by its primary". */
  message: string;
}

/** Trusted keys: primaries, and the subkeys whose binding signatures verified. */
export interface PgpKeyring {
  keys: PgpPublicKey[];
  /** Keys seen but not trusted (unsupported, unbound, revoked): named when they turn up as signers. */
  rejected?: PgpRejectedKey[];
}

export interface PgpVerified {
  /** The key that made the signature (a subkey or a primary). */
  signer: PgpPublicKey;
  /** Its primary key. */
  primary: PgpPublicKey;
  hashAlgorithm: string;
  created: Date;
}

/** When a key stops being good for signatures. */
export interface KeyValidity {
  /** Signatures made at or after this are 'expired'. */
  expires?: Date;
  /** A soft revocation (superseded, retired): signatures made at or after this are 'revoked'. */
  revokedSince?: Date;
  /** Key flags present and without "sign data" (0x02); the value, for the message. */
  notForSigning?: number;
}

export interface KeyState {
  packet: KeyPacket;
  validity: KeyValidity;
  /** The primary's state (the same object for a primary). */
  primary: KeyState;
  /** The primary's public view. */
  primaryKey: PgpPublicKey;
}

/** What verification needs about each trusted key, keyed by the object handed out. */
export const keyStates = new WeakMap<PgpPublicKey, KeyState>();
