// Ed25519 in its RFC 9580 native form (algorithm 27: 32 raw key bytes, 64 raw signature bytes) on
// a v4 key. The gpg installed here (2.2) cannot make one, so key and signature are built here from
// a node:crypto key pair, field by field after RFC 9580 5.5.2 and 5.2.3.
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { expect, test } from 'vitest';
import { PgpError, readKeyring, verifySignature } from '../../formats/openpgp/index.js';

/** A new-format packet with a five-byte length. */
const packet = (tag: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([0xc0 | tag, 0xff]), u32(body.length), body]);

test('a v4 Ed25519 (27) key verifies its 64-byte native signatures', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const created = 1700000000;
  const keyBody = Buffer.concat([Buffer.from([4]), u32(created), Buffer.from([27]), raw]);
  const fingerprint = createHash('sha1').update(Buffer.from([0x99, 0, keyBody.length])).update(keyBody).digest();
  const ring = readKeyring(packet(6, keyBody), 'native.pgp');
  expect(ring.keys).toMatchObject([{ fingerprint: fingerprint.toString('hex').toUpperCase(), algorithm: 'Ed25519', bits: 256 }]);

  const data = Buffer.from('native Ed25519\n');
  const hashed = Buffer.concat([Buffer.from([5, 2]), u32(created + 60), Buffer.from([22, 33, 4]), fingerprint]);
  const hashedPart = Buffer.concat([Buffer.from([4, 0x00, 27, 10, 0, hashed.length]), hashed]);
  const digest = createHash('sha512')
    .update(data)
    .update(hashedPart)
    .update(Buffer.concat([Buffer.from([4, 0xff]), u32(hashedPart.length)]))
    .digest();
  const sigBody = Buffer.concat([hashedPart, Buffer.from([0, 0]), digest.subarray(0, 2), sign(null, digest, privateKey)]);
  const verified = verifySignature(data, packet(2, sigBody), ring);
  expect([verified.signer.algorithm, verified.hashAlgorithm, verified.created.getTime()]).toEqual(['Ed25519', 'SHA512', (created + 60) * 1000]);

  const forged = Buffer.from(sigBody);
  forged[forged.length - 1]! ^= 1;
  const err = (() => {
    try {
      verifySignature(data, packet(2, forged), ring, 'native');
    } catch (e) {
      return e as PgpError;
    }
  })();
  expect(err?.reason).toBe('bad-signature');
});

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
