// Header signatures from rpm's own test packages, verified against rpm's own test keys: RSA by a
// primary, RSA by a subkey (valid, expired, revoked), EdDSA by an added subkey, and the
// signatures that must be refused (v3 packets, a post-quantum v6 signature, an altered header).
import { beforeAll, describe, expect, test } from 'vitest';
import { readKeyring, verifySignature, type PgpKeyring } from '../../formats/openpgp/index.js';
import { ALICE, ALICE_SUBKEY_ID, corpusPresent, keyFile, rpmPath, RPM_ORG_ED25519_SUBKEY_ID, RPM_ORG_RSA } from './corpus.js';
import { readRpmSignatures } from './rpm-header.js';
import { rejection } from './rejection.js';

const RSA_HEADER = 268;
const EDDSA_HEADER = 267;
const OPENPGP_SIGNATURES = 278;

async function ring(name: string): Promise<PgpKeyring> {
  return readKeyring(await keyFile(name), name);
}

async function headerSignature(rpm: string, tag: number): Promise<{ header: Buffer; signature: Buffer }> {
  const { tags, header } = await readRpmSignatures(rpmPath(rpm));
  const signature = tags.get(tag);
  if (!Buffer.isBuffer(signature)) throw new Error(`${rpm} has no binary tag ${tag}`);
  return { header, signature };
}

describe.skipIf(!corpusPresent())('rpm test packages (../shared/corpus/rpm-tests)', () => {
  let expiredKey: Buffer;
  let rsaOnly: Buffer;
  beforeAll(async () => {
    expiredKey = await keyFile('alice-expired-subkey.asc');
    rsaOnly = await keyFile('rpm.org-rsa-2048-test.pub');
  });

  test('RSA/SHA256 header signature by the rpm.org primary key, with the armored and the binary key', async () => {
    const { header, signature } = await headerSignature('hello-2.0-1.x86_64-signed.rpm', RSA_HEADER);
    for (const keyName of ['rpm.org-rsa-2048-test.pub', 'rpm.org-rsa-2048-test.pgp']) {
      const verified = verifySignature(header, signature, await ring(keyName), 'hello-2.0');
      expect(verified.signer.fingerprint).toBe(RPM_ORG_RSA);
      expect(verified.primary.fingerprint).toBe(RPM_ORG_RSA);
      expect(verified.signer.algorithm).toBe('RSA');
      expect(verified.signer.bits).toBe(2048);
      expect(verified.hashAlgorithm).toBe('SHA256');
      expect(verified.created.toISOString()).toBe('2017-04-06T13:02:33.000Z');
    }
  });

  test('the header split in chunks verifies; one flipped bit anywhere does not', async () => {
    const { header, signature } = await headerSignature('hello-2.0-1.x86_64-signed.rpm', RSA_HEADER);
    const keys = await ring('rpm.org-rsa-2048-test.pub');
    expect(verifySignature([header.subarray(0, 100), header.subarray(100, 101), header.subarray(101)], signature, keys).signer.keyId).toBe('4344591E1964C5FC');
    for (const at of [0, 16, header.length >> 1, header.length - 1]) {
      const altered = Buffer.from(header);
      altered[at]! ^= 0x01;
      const err = rejection(() => verifySignature(altered, signature, keys, 'hello-2.0'));
      expect(err.reason).toBe('bad-signature');
      expect(err.message).toMatch(/^hello-2\.0: /);
    }
    const forged = Buffer.from(signature);
    forged[forged.length - 1]! ^= 0x01; // the RSA value itself, not the digest prefix
    expect(rejection(() => verifySignature(header, forged, keys)).message).toMatch(/fails verification with key 771B18D3/);
  });

  test('other packages signed by the rpm.org key: the corrupted one (payload digest wrong, header intact), RSA/SHA512', async () => {
    const keys = await ring('rpm.org-rsa-2048-test.pub');
    const corrupted = await headerSignature('hello-2.0-1.x86_64-corrupted.rpm', RSA_HEADER);
    expect(verifySignature(corrupted.header, corrupted.signature, keys).signer.fingerprint).toBe(RPM_ORG_RSA);
    const sha512 = await headerSignature('hlinktest-1.0-1.noarch-v3sig.rpm', RSA_HEADER);
    const verified = verifySignature(sha512.header, sha512.signature, keys);
    expect([verified.signer.fingerprint, verified.hashAlgorithm]).toEqual([RPM_ORG_RSA, 'SHA512']);
  });

  test('RSA/SHA512 by a signing subkey: trusted through its binding, refused once expired or revoked', async () => {
    const { header, signature } = await headerSignature('hello-2.0-1.x86_64-signed-with-subkey.rpm', RSA_HEADER);
    const verified = verifySignature(header, signature, await ring('alice.asc'));
    expect(verified.signer.keyId).toBe(ALICE_SUBKEY_ID);
    expect(verified.signer.primary).toBe(ALICE);
    expect(verified.primary.fingerprint).toBe(ALICE);
    expect(verified.primary.userIds).toEqual(['Alice <alice@example.org>']);
    expect(verified.hashAlgorithm).toBe('SHA512');

    // The expired copy binds the subkey for 2 days from 2022-04-10; the package was signed on the 13th.
    const expired = rejection(() => verifySignature(header, signature, readKeyring(expiredKey, 'alice-expired-subkey.asc')));
    expect(expired.reason).toBe('expired');
    expect(expired.message).toMatch(/subkey 1F71177215217EE0, which expired on 2022-04-12/);

    const revokedRing = await ring('alice-revoked-subkey.asc');
    expect(revokedRing.keys.map((k) => k.keyId)).toEqual(['B3A771BFEB04E625']);
    const revoked = rejection(() => verifySignature(header, signature, revokedRing));
    expect(revoked.reason).toBe('revoked');
    expect(revoked.message).toMatch(/1F71177215217EE0 of B3A771BFEB04E625 is revoked .*compromised/);
  });

  test('EdDSA/SHA512 by an Ed25519 subkey added to the RSA key', async () => {
    const { header, signature } = await headerSignature('hello-2.0-1.x86_64-signed-with-new-subkey.rpm', EDDSA_HEADER);
    const verified = verifySignature(header, signature, await ring('rpm.org-rsa-2048-add-subkey.asc'));
    expect(verified.signer.keyId).toBe(RPM_ORG_ED25519_SUBKEY_ID);
    expect(verified.signer.algorithm).toBe('EdDSA');
    expect(verified.signer.bits).toBe(256);
    expect(verified.primary.fingerprint).toBe(RPM_ORG_RSA);
    expect(verified.hashAlgorithm).toBe('SHA512');
    // The key file from before the subkey was added does not know it.
    const unknown = rejection(() => verifySignature(header, signature, readKeyring(rsaOnly, 'old.pub'), 'hello-2.0'));
    expect(unknown.reason).toBe('unknown-key');
    expect(unknown.message).toBe('hello-2.0: signed by key DCC32F8B1EE8C670B53F25566323C42711450B6C, which is not in the trusted keyring');
  });

  test('v3 signature packets are refused as such', async () => {
    const rpm = 'hello-2.0-1.x86_64-v3-signed.rpm';
    const { header, signature } = await headerSignature(rpm, RSA_HEADER);
    const err = rejection(() => verifySignature(header, signature, readKeyring(rsaOnly), rpm));
    expect(err.reason).toBe('unsupported-version');
    expect(err.message).toBe(
      `${rpm}: signature is a v3 signature packet by key 4344591E1964C5FC; v3 signature packets are refused (their key id and time are not covered by the signature)`,
    );
  });

  test('an ML-DSA-87 v6 signature is refused by version, beside a good RSA one', async () => {
    const { tags, header } = await readRpmSignatures(rpmPath('hello-2.0-1.x86_64-signed-mldsa87.rpm'));
    const keys = await ring('rpm.org-rsa-2048-test.pub');
    expect(verifySignature(header, tags.get(RSA_HEADER) as Buffer, keys).signer.fingerprint).toBe(RPM_ORG_RSA);
    const openpgp = tags.get(OPENPGP_SIGNATURES) as string[];
    const v6 = openpgp.map((b64) => Buffer.from(b64, 'base64')).find((sig) => sig.includes(Buffer.from([0x06, 0x00, 0x1f]))) ?? Buffer.from(openpgp.at(-1)!, 'base64');
    const err = rejection(() => verifySignature(header, v6, keys, 'hello-2.0 mldsa87'));
    expect(err.reason).toBe('unsupported-version');
    expect(err.message).toMatch(/v6 signature packet; only v4 signatures are supported/);
  });
});
