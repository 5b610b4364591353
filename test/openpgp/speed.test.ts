// Verification stays cheap: an RSA-4096 signature (gpg-made) over a small document verifies in
// well under the "few milliseconds" budget; the key is parsed once, when the keyring is read.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { readKeyring, verifySignature, type PgpKeyring } from '../../formats/openpgp/index.js';
import { GpgHome, type GpgKey } from './gpg.js';

const DATA = Buffer.alloc(64 << 10, 'x');
let gpg: GpgHome;
let key: GpgKey;
let ring: PgpKeyring;
let signature: Buffer;

beforeAll(async () => {
  gpg = await GpgHome.create();
  key = await gpg.generate('Test RSA-4096 <rsa4096@example.invalid>', 'rsa4096');
  ring = readKeyring(await gpg.exportKey(key.fingerprint), 'rsa4096.pgp');
  signature = await gpg.sign(DATA, key.keyId, { digest: 'SHA512' });
});

afterAll(async () => {
  await gpg?.close();
});

test('an RSA-4096 signature over 64 KiB verifies in a few milliseconds', () => {
  expect(ring.keys[0]!.bits).toBe(4096);
  expect(verifySignature(DATA, signature, ring).signer.fingerprint).toBe(key.fingerprint);
  const runs = 50;
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) verifySignature(DATA, signature, ring);
  const perVerifyMs = Number(process.hrtime.bigint() - start) / 1e6 / runs;
  console.log(`RSA-4096/SHA512 over 64 KiB: ${perVerifyMs.toFixed(3)} ms per verification`);
  expect(perVerifyMs).toBeLessThan(5);
});
