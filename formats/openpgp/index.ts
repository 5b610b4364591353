// OpenPGP (RFC 4880 v4) public keys and signatures, verified with node:crypto alone.
// armor.ts (ASCII armor), packets.ts (framing), key-packet.ts and signature-packet.ts (the two
// packets we read), certificate.ts (which keys of a certificate to trust), crypto.ts (the
// checks), keyring.ts and verify.ts (the API below).
export { PgpError, type PgpRejectReason } from './errors.js';
export type { PgpKeyring, PgpPublicKey, PgpRejectedKey, PgpVerified } from './types.js';
export { loadKeyringFiles, mergeKeyrings, pinKeyring, readKeyring } from './keyring.js';
export { verifySignature } from './verify.js';
export { publicKeyAlgorithmName } from './algorithms.js';
export { armor, dearmor } from './armor.js';
