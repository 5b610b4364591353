// The one error type of the OpenPGP reader: every refusal carries a reason a caller can switch on
// and a message that names the file or subject, the key and what was wrong.

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
