// Key-id collisions (rpm's keyidcollision1/2: two Ed25519 keys, one key id): a signature that
// names only the key id must be tried against both. gpg always adds the issuer fingerprint, so
// the signature is made here from the corpus's unprotected secret key, following RFC 4880 5.2.3,
// and gpg (holding only the matching public key) is the oracle that it is a good signature.
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { dearmor, loadKeyringFiles, PgpError, verifySignature, type PgpKeyring } from '../../formats/openpgp/index.js';
import { readPackets, TAG } from '../../formats/openpgp/packets.js';
import { corpusPresent, keyFile, keyPath } from './corpus.js';
import { GpgHome } from './gpg.js';

const DATA = Buffer.from('signed by one of two keys that share a key id\n');
const COLLIDING_KEY_ID = '42655A75156B3DE0';

/** A v4 binary-data EdDSA/SHA-256 signature whose only issuer subpacket is the 8-byte key id. */
async function signWithCorpusSecretKey(file: string, data: Buffer, created: number): Promise<Buffer> {
  const [block] = dearmor((await keyFile(file)).toString('latin1'), file);
  const secret = readPackets(block!.data, file).find((p) => p.tag === TAG.secretKey)!.body;
  // version 4 | created (4) | algo 22 | OID length, OID (9) | MPI 0x40||point (2 + 33): 51 bytes;
  // then S2K usage 0 (unprotected) and the secret scalar as an MPI.
  const point = secret.subarray(51 - 32, 51);
  if (secret[51] !== 0) throw new Error(`${file}: secret key is protected`);
  const seedBytes = secret.subarray(54, 54 + ((secret.readUInt16BE(52) + 7) >> 3));
  const seed = Buffer.concat([Buffer.alloc(32 - seedBytes.length), seedBytes]);
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: point.toString('base64url'), d: seed.toString('base64url') }, format: 'jwk' });

  const time = Buffer.alloc(4);
  time.writeUInt32BE(created);
  const hashed = Buffer.concat([Buffer.from([5, 2]), time, Buffer.from([9, 16]), Buffer.from(COLLIDING_KEY_ID, 'hex')]);
  const hashedPart = Buffer.concat([Buffer.from([4, 0x00, 22, 8, 0, hashed.length]), hashed]);
  const trailer = Buffer.from([4, 0xff, 0, 0, 0, hashedPart.length]);
  const digest = createHash('sha256').update(data).update(hashedPart).update(trailer).digest();
  const rs = sign(null, digest, key);
  const mpi = (v: Buffer): Buffer => {
    let i = 0;
    while (i < v.length - 1 && v[i] === 0) i++;
    const bytes = v.subarray(i);
    const bits = (bytes.length - 1) * 8 + (32 - Math.clz32(bytes[0]!));
    return Buffer.concat([Buffer.from([bits >> 8, bits & 0xff]), bytes]);
  };
  const body = Buffer.concat([hashedPart, Buffer.from([0, 0]), digest.subarray(0, 2), mpi(rs.subarray(0, 32)), mpi(rs.subarray(32))]);
  return Buffer.concat([Buffer.from([0xc2, body.length]), body]);
}

describe.skipIf(!corpusPresent())('key-id collisions', () => {
  let ring: PgpKeyring;
  let gpg: GpgHome;
  beforeAll(async () => {
    ring = await loadKeyringFiles([keyPath('keyidcollision1.pub'), keyPath('keyidcollision2.pub')]);
    gpg = await GpgHome.create();
  });
  afterAll(async () => {
    await gpg?.close();
  });

  test('each of the two keys is found behind the shared key id, in either keyring order', async () => {
    const [first, second] = ring.keys;
    expect(first!.keyId).toBe(COLLIDING_KEY_ID);
    expect(second!.keyId).toBe(COLLIDING_KEY_ID);
    const created = 1729600000;
    const sig2 = await signWithCorpusSecretKey('keyidcollision2.asc', DATA, created);
    const sig1 = await signWithCorpusSecretKey('keyidcollision1.asc', DATA, created);
    expect(verifySignature(DATA, sig2, ring).signer.fingerprint).toBe(second!.fingerprint);
    expect(verifySignature(DATA, sig1, ring).signer.fingerprint).toBe(first!.fingerprint);
    const reversed = { keys: [second!, first!] };
    expect(verifySignature(DATA, sig2, reversed).signer.fingerprint).toBe(second!.fingerprint);
    expect(verifySignature(DATA, sig2, ring).created.getTime()).toBe(created * 1000);

    // Only the other key of that id: a bad signature, not an unknown key.
    const err = (() => {
      try {
        verifySignature(DATA, sig2, { keys: [first!] }, 'data');
      } catch (e) {
        return e as PgpError;
      }
    })();
    expect(err?.reason).toBe('bad-signature');
    expect(err?.message).toBe(`data: EdDSA (22) signature by key ${COLLIDING_KEY_ID} fails verification with key ${first!.fingerprint}`);

    // gpg agrees the hand-made signature is good (it holds only the second key).
    await gpg.gpg(['--import', keyPath('keyidcollision2.pub')]);
    const dataPath = join(tmpdir(), 'collision.txt');
    await writeFile(dataPath, DATA);
    await writeFile(`${dataPath}.sig`, sig2);
    await expect(gpg.gpg(['--verify', `${dataPath}.sig`, dataPath])).resolves.toBeDefined();
    await writeFile(`${dataPath}.sig`, sig1);
    await expect(gpg.gpg(['--verify', `${dataPath}.sig`, dataPath])).rejects.toThrow(/BAD signature/);
  });
});
