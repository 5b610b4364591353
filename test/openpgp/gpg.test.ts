// Signatures made at test time by GnuPG (RSA and Ed25519 primaries, an Ed25519 signing subkey,
// several digests, text mode, armored and binary) verified natively, and the refusals: altered
// data, unknown keys, a subkey stripped of its binding, a revoked key, SHA-1, ECDSA, truncation.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readKeyring, verifySignature, type PgpKeyring } from '../../formats/openpgp/index.js';
import { readPackets, TAG } from '../../formats/openpgp/packets.js';
import { GpgHome, type GpgKey } from './gpg.js';
import { rejection } from './rejection.js';

const DATA = Buffer.from('repomd.xml stand-in: <repomd><data type="primary"/></repomd>\n');

let gpg: GpgHome;
let rsa: GpgKey; // RSA-2048 primary with an Ed25519 signing subkey
let ed: GpgKey; // Ed25519 primary
let rsaRing: PgpKeyring;
let edRing: PgpKeyring;

beforeAll(async () => {
  gpg = await GpgHome.create();
  const made = await gpg.generate('Test RSA <rsa@example.invalid>', 'rsa2048');
  rsa = await gpg.addSubkey(made.fingerprint, 'ed25519');
  ed = await gpg.generate('Test Ed <ed@example.invalid>', 'ed25519');
  rsaRing = readKeyring(await gpg.exportKey(rsa.fingerprint, true), 'rsa.asc');
  edRing = readKeyring(await gpg.exportKey(ed.fingerprint), 'ed.pgp');
});

afterAll(async () => {
  await gpg?.close();
});

describe('signatures made by gpg', () => {
  test('RSA primary: binary and armored signatures, SHA-224/256/384/512', async () => {
    expect(rsaRing.keys.map((k) => [k.fingerprint, k.algorithm])).toEqual([
      [rsa.fingerprint, 'RSA'],
      [rsa.subkeys[0]!.fingerprint, 'EdDSA'],
    ]);
    for (const [digest, armor] of [
      ['SHA256', false],
      ['SHA256', true],
      ['SHA224', false],
      ['SHA384', true],
      ['SHA512', false],
    ] as const) {
      const sig = await gpg.sign(DATA, rsa.keyId, { digest, armor });
      const verified = verifySignature(DATA, armor ? sig.toString('latin1') : sig, rsaRing, 'repomd.xml');
      expect(verified.signer.fingerprint).toBe(rsa.fingerprint);
      expect(verified.primary.fingerprint).toBe(rsa.fingerprint);
      expect(verified.primary.userIds).toEqual(['Test RSA <rsa@example.invalid>']);
      expect(verified.hashAlgorithm).toBe(digest);
      expect(Math.abs(verified.created.getTime() - Date.now())).toBeLessThan(5 * 60_000);
    }
  });

  test('Ed25519 primary, and the data given in chunks', async () => {
    const sig = await gpg.sign(DATA, ed.keyId);
    const verified = verifySignature([DATA.subarray(0, 7), DATA.subarray(7)], sig, edRing);
    expect([verified.signer.fingerprint, verified.signer.algorithm, verified.signer.bits]).toEqual([ed.fingerprint, 'EdDSA', 256]);
  });

  test('Ed25519 signing subkey of an RSA primary: the subkey signs, the primary is reported', async () => {
    const sub = rsa.subkeys[0]!;
    const verified = verifySignature(DATA, await gpg.sign(DATA, sub.keyId, { armor: true }), rsaRing);
    expect(verified.signer.fingerprint).toBe(sub.fingerprint);
    expect(verified.signer.primary).toBe(rsa.fingerprint);
    expect(verified.primary.fingerprint).toBe(rsa.fingerprint);
  });

  test('a subkey whose binding signature was stripped from the export is not trusted', async () => {
    const exported = await gpg.exportKey(rsa.fingerprint);
    const packets = readPackets(exported, 'export');
    const ends = [...packets.slice(1).map((p) => p.offset), exported.length];
    const subkeyAt = packets.findIndex((p) => p.tag === TAG.publicSubkey);
    const kept = packets.filter((p, i) => !(i > subkeyAt && p.tag === TAG.signature)).map((p) => exported.subarray(p.offset, ends[packets.indexOf(p)]));
    const stripped = readKeyring(Buffer.concat(kept), 'stripped.pgp');
    expect(stripped.keys.map((k) => k.fingerprint)).toEqual([rsa.fingerprint]);
    const sub = rsa.subkeys[0]!;
    const subkeySignature = await gpg.sign(DATA, sub.keyId);
    const err = rejection(() => verifySignature(DATA, subkeySignature, stripped, 'repomd.xml'));
    expect(err.reason).toBe('bad-binding');
    expect(err.message).toBe(
      `repomd.xml: signed by key ${sub.fingerprint}, which is not usable: stripped.pgp: subkey ${sub.keyId} of ${rsa.keyId} has no binding signature: it is not trusted`,
    );
    // The primary's own signatures still verify with it.
    expect(verifySignature(DATA, await gpg.sign(DATA, rsa.keyId), stripped).signer.fingerprint).toBe(rsa.fingerprint);
  });

  test('altered data, a forged value, an unknown key, truncated signatures', async () => {
    const sig = await gpg.sign(DATA, rsa.keyId);
    const altered = Buffer.from(DATA);
    altered[3]! ^= 0x20;
    const bad = rejection(() => verifySignature(altered, sig, rsaRing, 'repomd.xml'));
    expect(bad.reason).toBe('bad-signature');
    expect(bad.message).toBe(`repomd.xml: signature by key ${rsa.fingerprint} does not match the data (digest prefix differs: the data or the signature was altered)`);

    const unknown = rejection(() => verifySignature(DATA, sig, edRing, 'repomd.xml'));
    expect([unknown.reason, unknown.message]).toEqual(['unknown-key', `repomd.xml: signed by key ${rsa.fingerprint}, which is not in the trusted keyring`]);

    for (const cut of [1, 10, sig.length - 1]) {
      const truncated = rejection(() => verifySignature(DATA, sig.subarray(0, cut), rsaRing, 'repomd.xml.asc'));
      expect(truncated.reason, `cut at ${cut}`).toBe('malformed');
    }
    expect(rejection(() => verifySignature(DATA, sig.subarray(0, 10), rsaRing, 'repomd.xml.asc')).message).toMatch(/^repomd\.xml\.asc: truncated packet at offset 0/);
    const armored = (await gpg.sign(DATA, rsa.keyId, { armor: true })).toString('latin1');
    const armorCut = rejection(() => verifySignature(DATA, armored.slice(0, armored.length >> 1), rsaRing, 'repomd.xml.asc'));
    expect([armorCut.reason, armorCut.message]).toEqual(['malformed', 'repomd.xml.asc: armor block PGP SIGNATURE has no END line (truncated?)']);
    const empty = rejection(() => verifySignature(DATA, Buffer.alloc(0), rsaRing, 'repomd.xml.asc'));
    expect(empty.reason).toBe('malformed');
  });

  test('text-mode signatures (type 0x01) hash the lines with CR LF endings', async () => {
    const text = Buffer.from('first line\nsecond line\r\nthird\n');
    const sig = await gpg.sign(text, ed.keyId, { textmode: true });
    expect(readPackets(sig, 'sig')[0]!.body[1]).toBe(0x01);
    expect(verifySignature(text, sig, edRing).signer.fingerprint).toBe(ed.fingerprint);
    // Split inside a CR LF pair: still one line ending.
    const cr = text.indexOf('\r');
    expect(verifySignature([text.subarray(0, cr + 1), text.subarray(cr + 1)], sig, edRing).signer.fingerprint).toBe(ed.fingerprint);
    expect(rejection(() => verifySignature(Buffer.from('first line\nsecond line\r\nthird!\n'), sig, edRing)).reason).toBe('bad-signature');
  });

  test('SHA-1 signatures are refused by policy', async () => {
    const sig = await gpg.sign(DATA, rsa.keyId, { digest: 'SHA1' });
    const err = rejection(() => verifySignature(DATA, sig, rsaRing, 'repomd.xml'));
    expect([err.reason, err.message]).toEqual([
      'unsupported-algorithm',
      `repomd.xml: signature by key ${rsa.fingerprint} uses the SHA-1 hash (algorithm 2), which is refused: collisions against it are practical`,
    ]);
  });

  test('an ECDSA (NIST P-256) signature names the algorithm and the key the keyring could not use', async () => {
    const p256 = await gpg.generate('Test P-256 <p256@example.invalid>', 'nistp256');
    const ring = readKeyring(await gpg.exportKey(p256.fingerprint), 'p256.pgp');
    expect(ring.keys).toEqual([]);
    const sig = await gpg.sign(DATA, p256.keyId);
    const err = rejection(() => verifySignature(DATA, sig, ring, 'repomd.xml'));
    expect(err.reason).toBe('unsupported-algorithm');
    expect(err.message).toBe(
      `repomd.xml: signature by key ${p256.fingerprint} is made with ECDSA (19), which is not supported (RSA, EdDSA and Ed25519 are); the keyring holds that key but cannot use it: p256.pgp: key ${p256.keyId} uses ECDSA (19) on NIST P-256, which is not supported (RSA, EdDSA and Ed25519 are)`,
    );
  });

  test('a key that has expired since still verifies what it signed before its expiry', async () => {
    const created = '20200101T000000!';
    const key = await gpg.generate('Test Expiring <expiring@example.invalid>', 'ed25519', '1d', ['--faked-system-time', created]);
    const sig = await gpg.sign(DATA, key.keyId, { extra: ['--faked-system-time', '20200101T120000!'] });
    const ring = readKeyring(await gpg.exportKey(key.fingerprint), 'expiring.pgp');
    const verified = verifySignature(DATA, sig, ring);
    expect(verified.signer.fingerprint).toBe(key.fingerprint);
    expect(verified.created.toISOString()).toBe('2020-01-01T12:00:00.000Z');
  });

  test('a revoked primary (its revocation certificate imported) verifies nothing, old signatures included', async () => {
    const key = await gpg.generate('Test Revoked <revoked@example.invalid>', 'ed25519');
    const before = await gpg.sign(DATA, key.keyId);
    expect(verifySignature(DATA, before, readKeyring(await gpg.exportKey(key.fingerprint))).signer.fingerprint).toBe(key.fingerprint);
    await gpg.revoke(key.fingerprint);
    const ring = readKeyring(await gpg.exportKey(key.fingerprint), 'revoked.pgp');
    expect(ring.keys).toEqual([]);
    const err = rejection(() => verifySignature(DATA, before, ring, 'repomd.xml'));
    expect(err.reason).toBe('revoked');
    expect(err.message).toMatch(new RegExp(`^repomd\\.xml: signed by key ${key.fingerprint}, which is not usable: revoked\\.pgp: key ${key.keyId} is revoked by its owner on `));
  });
});
