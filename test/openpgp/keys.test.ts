// Keyring files: rpm's test keys read armored and binary, fingerprints as gpg computes them, and
// the keys that must not be trusted (CVE-2021-3521 bindings, a revoked subkey, a type-confused
// binding) or cannot be used (NIST P-256, v6, ML-DSA) reported by key and reason.
import { readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { armor, loadKeyringFiles, mergeKeyrings, PgpError, pinKeyring, readKeyring } from '../../formats/openpgp/index.js';
import { readPackets } from '../../formats/openpgp/packets.js';
import { GpgHome } from './gpg.js';
import { ALICE, ALICE_SUBKEY_ID, corpusPresent, keyFile, keyPath, KEYS, rpmPath, RPM_ORG_ED25519_SUBKEY_ID, RPM_ORG_RSA, RPM_ORG_RSA_SUBKEY_ID } from './corpus.js';
import { rejection, rejectionAsync } from './rejection.js';

/** gpg's fingerprints for the keys of a file (primary and subkeys), as the oracle. */
async function gpgFingerprints(path: string): Promise<string[]> {
  const gpg = await GpgHome.create();
  const stdout = await gpg.gpg(['--with-colons', '--show-keys', path]).finally(() => gpg.close());
  return stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => l.startsWith('fpr:'))
    .map((l) => l.split(':')[9]!);
}

describe.skipIf(!corpusPresent())('rpm test keys (../shared/corpus/rpm-tests/keys)', () => {
  test('fingerprints and key ids of every v4 key match gpg, primaries and subkeys alike', async () => {
    const files = (await readdir(KEYS)).filter((f) => /\.(asc|pub|pgp)$/.test(f) && !f.includes('v6') && !/keyidcollision\d\.asc/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(14);
    for (const file of files) {
      const ring = readKeyring(await keyFile(file), file);
      // gpg leaves out subkeys it does not accept (CVE-2021-3521 files), so: all gpg lists we
      // know, and all we trust gpg lists.
      const ours = new Set([...ring.keys, ...(ring.rejected ?? [])].map((k) => k.fingerprint));
      const theirs = await gpgFingerprints(keyPath(file));
      for (const fpr of theirs) expect(ours.has(fpr), `${file}: ${fpr}`).toBe(true);
      for (const k of ring.keys) expect(theirs, file).toContain(k.fingerprint);
      for (const k of [...ring.keys, ...(ring.rejected ?? [])]) expect(k.keyId).toBe(k.fingerprint.slice(-16));
    }
  });

  test('the rpm.org RSA key, armored and binary: one primary; its encryption subkey is not a signer', async () => {
    for (const file of ['rpm.org-rsa-2048-test.pub', 'rpm.org-rsa-2048-test.pgp']) {
      const ring = readKeyring(await keyFile(file), file);
      expect(ring.keys).toEqual([
        { fingerprint: RPM_ORG_RSA, keyId: '4344591E1964C5FC', algorithm: 'RSA', bits: 2048, created: new Date(1491482904_000), primary: RPM_ORG_RSA, userIds: ['rpm.org RSA testkey <rsa@rpm.org>'] },
      ]);
      expect(ring.rejected).toMatchObject([{ keyId: RPM_ORG_RSA_SUBKEY_ID, primary: RPM_ORG_RSA, reason: 'bad-binding' }]);
      expect(ring.rejected![0]!.message).toBe(`${file}: subkey ${RPM_ORG_RSA_SUBKEY_ID} of 4344591E1964C5FC is bound for other uses than signing (key flags 0x0C)`);
    }
  });

  test('Ed25519 (EdDSA legacy) primary, and an Ed25519 signing subkey of an RSA primary', async () => {
    const ed = readKeyring(await keyFile('rpm.org-ed25519-test.pub'));
    expect(ed.keys).toMatchObject([{ fingerprint: '152BB32FD9CA982797E835CFB0645AEC757BF69E', algorithm: 'EdDSA', bits: 256 }]);
    const added = readKeyring(await keyFile('rpm.org-rsa-2048-add-subkey.asc'));
    expect(added.keys.map((k) => [k.keyId, k.algorithm, k.primary])).toEqual([
      ['4344591E1964C5FC', 'RSA', RPM_ORG_RSA],
      [RPM_ORG_ED25519_SUBKEY_ID, 'EdDSA', RPM_ORG_RSA],
    ]);
  });

  test('CVE-2021-3521: subkeys whose binding is missing or belongs to another subkey are not trusted', async () => {
    for (const file of ['CVE-2021-3521-badbind.asc', 'CVE-2021-3521-nosubsig.asc', 'CVE-2021-3521-nosubsig-last.asc', 'type-confusion.asc']) {
      const ring = readKeyring(await keyFile(file), file);
      expect(ring.keys.map((k) => k.fingerprint), file).toEqual([RPM_ORG_RSA]);
      expect(ring.rejected!.length, file).toBeGreaterThan(0);
      for (const r of ring.rejected!) expect([r.keyId, r.reason], file).toEqual([RPM_ORG_RSA_SUBKEY_ID, 'bad-binding']);
    }
    const confused = readKeyring(await keyFile('type-confusion.asc'), 'type-confusion.asc');
    expect(confused.rejected![0]!.message).toBe(
      'type-confusion.asc: subkey 185E6146F00650F8 of 4344591E1964C5FC has 1 binding signature, none made by its primary over this subkey: it is not trusted',
    );
  });

  test('a revoked subkey is rejected; an expiring one is kept (signatures before its expiry stay good)', async () => {
    const revoked = readKeyring(await keyFile('alice-revoked-subkey.asc'), 'alice-revoked-subkey.asc');
    expect(revoked.keys.map((k) => k.fingerprint)).toEqual([ALICE]);
    expect(revoked.rejected).toMatchObject([{ keyId: ALICE_SUBKEY_ID, reason: 'revoked' }]);
    const expiring = readKeyring(await keyFile('alice-expired-subkey.asc'));
    expect(expiring.keys.map((k) => k.keyId)).toEqual(['B3A771BFEB04E625', ALICE_SUBKEY_ID]);
  });

  test('keys we cannot use are reported by key and reason, without failing the keyring', async () => {
    const p256 = readKeyring(await keyFile('rpm.org-nistp256-test.pub'), 'p256.pub');
    expect(p256.keys).toEqual([]);
    expect(p256.rejected).toEqual([
      {
        keyId: '7F1C21F95F65BBE8',
        fingerprint: 'E8A62C0512B06B5D2183BA207F1C21F95F65BBE8',
        primary: 'E8A62C0512B06B5D2183BA207F1C21F95F65BBE8',
        algorithm: 'ECDSA',
        reason: 'unsupported-algorithm',
        message: 'p256.pub: key 7F1C21F95F65BBE8 uses ECDSA (19) on NIST P-256, which is not supported (RSA, EdDSA and Ed25519 are)',
      },
    ]);
    for (const [file, algorithm] of [
      ['rpm.org-v6-ed25519-test.asc', 'Ed25519 (27)'],
      ['rpm.org-v6-rsa4k-test.asc', 'RSA (1)'],
      ['unknown/rpm.org-v6-mldsa87-test.asc', 'ML-DSA-87+Ed448 (31)'],
    ]) {
      const ring = readKeyring(await keyFile(file!), file);
      expect(ring.keys, file).toEqual([]);
      expect(ring.rejected!.map((r) => r.reason), file).toEqual(['unsupported-version', 'unsupported-version']);
      expect(ring.rejected![0]!.message).toMatch(new RegExp(`^${file}: key [0-9A-F]{16} is a v6 key \\(${algorithm!.replace(/[()+]/g, '\\$&')}\\); only v4 keys are supported$`));
      expect(ring.rejected![0]!.fingerprint).toMatch(/^[0-9A-F]{64}$/);
    }
  });

  test('key-id collisions: two certificates, one key id, two fingerprints; secret key files are refused', async () => {
    const ring = await loadKeyringFiles([keyPath('keyidcollision1.pub'), keyPath('keyidcollision2.pub')]);
    expect(ring.keys.map((k) => k.keyId)).toEqual(['42655A75156B3DE0', '42655A75156B3DE0']);
    expect(new Set(ring.keys.map((k) => k.fingerprint)).size).toBe(2);
    const secret = await rejectionAsync(loadKeyringFiles([keyPath('keyidcollision1.asc')]));
    expect(secret.reason).toBe('malformed');
    expect(secret.message).toBe(`${keyPath('keyidcollision1.asc')}: holds a private key block; a keyring takes public keys only (gpg --export)`);
  });

  test('several files, several certificates in one file, and pinning by fingerprint', async () => {
    const a = await keyFile('rpm.org-rsa-2048-test.pub');
    const b = await keyFile('alice.asc');
    const both = readKeyring(Buffer.concat([a, Buffer.from('\n'), b]), 'two.asc');
    expect(both.keys.map((k) => k.primary)).toEqual([RPM_ORG_RSA, ALICE, ALICE]);
    const binary = Buffer.concat([await keyFile('rpm.org-rsa-2048-test.pgp'), await keyFile('rpm.org-rsa-2048-test.pgp')]);
    expect(readKeyring(binary).keys).toHaveLength(2);
    const merged = mergeKeyrings(readKeyring(a), readKeyring(b));
    expect(merged.keys).toHaveLength(3);
    expect(merged.rejected).toHaveLength(1);
    expect(pinKeyring(merged, [ALICE.toLowerCase().replace(/(.{4})/g, '$1 ')]).keys.map((k) => k.primary)).toEqual([ALICE, ALICE]);
    const mismatch = rejection(() => pinKeyring(merged, ['0000000000000000000000000000000000000000'], 'repo rocky'));
    expect(mismatch.reason).toBe('fingerprint-mismatch');
    expect(mismatch.message).toBe(`repo rocky: pinned fingerprint 0000000000000000000000000000000000000000 is not among its keys (it holds ${RPM_ORG_RSA}, ${ALICE})`);
  });

  test('damaged key files fail as malformed, naming the file', async () => {
    const text = (await keyFile('rpm.org-rsa-2048-test.pub')).toString('latin1');
    const lines = text.split('\n');
    const i = lines.findIndex((l) => l.length === 64) + 3;
    const flipped = [...lines];
    flipped[i] = (flipped[i]![10] === 'A' ? 'B' : 'A').padStart(11, flipped[i]!.slice(0, 10)) + flipped[i]!.slice(11);
    expect(rejection(() => readKeyring(flipped.join('\n'), 'flipped.pub')).message).toBe('flipped.pub: armor block PGP PUBLIC KEY BLOCK fails its CRC-24 checksum (damaged or truncated)');
    const cut = rejection(() => readKeyring(lines.slice(0, 12).join('\n'), 'cut.pub'));
    expect([cut.reason, cut.message]).toEqual(['malformed', 'cut.pub: armor block PGP PUBLIC KEY BLOCK has no END line (truncated?)']);

    const binary = await keyFile('rpm.org-rsa-2048-test.pgp');
    const truncated = rejection(() => readKeyring(binary.subarray(0, 700), 'cut.pgp'));
    expect([truncated.reason, truncated.message]).toEqual(['malformed', 'cut.pgp: truncated packet at offset 621 (a body of 269 bytes runs past the end of the data)']);
    // Re-armored without its checksum line (optional in RFC 9580), it still reads; cut, it does not.
    expect(readKeyring(armor('PGP PUBLIC KEY BLOCK', binary).replace(/^=.{4}$/m, '')).keys).toHaveLength(1);
    expect(rejection(() => readKeyring(armor('PGP PUBLIC KEY BLOCK', binary.subarray(0, 300)), 'cut.asc')).message).toMatch(/^cut\.asc \(armor block 1\): truncated packet at offset 272/);

    const notKey = await loadKeyringFiles([rpmPath('hello-2.0-1.x86_64.rpm')]).then(
      () => undefined,
      (e: PgpError) => e,
    );
    expect(notKey?.reason).toBe('malformed');
    expect(notKey?.message).toBe(`${rpmPath('hello-2.0-1.x86_64.rpm')}: does not start with a public key packet (its first packet would have tag 45)`);
    expect(rejection(() => readKeyring(Buffer.from('hello'), 'hello.txt')).message).toBe('hello.txt: is not OpenPGP data (neither armored nor a binary packet)');
    const signatureBlock = armor('PGP SIGNATURE', Buffer.from([0x88, 0x00]));
    expect(rejection(() => readKeyring(signatureBlock, 's.asc')).message).toBe('s.asc: armor block 1 is a PGP SIGNATURE, not a PGP PUBLIC KEY BLOCK');
  });

  test('packet framing: old and new headers read alike; a partial body length on a key packet is refused', async () => {
    const oldFormat = await keyFile('rpm.org-ed25519-test.pub');
    const binary = readPackets(Buffer.from(oldFormat.toString('latin1').split('\n\n')[1]!.split('\n=')[0]!.replace(/\n/g, ''), 'base64'), 'x');
    const key = binary[0]!;
    expect([key.tag, key.body.length]).toEqual([6, 51]);
    // The same key packet in a new-format header (0xC6), whole, then in two partial chunks.
    const whole = Buffer.concat([Buffer.from([0xc6, 51]), key.body]);
    expect(readPackets(whole, 'x')[0]!.body.equals(key.body)).toBe(true);
    const partial = Buffer.concat([Buffer.from([0xc6, 0xe5]), key.body.subarray(0, 32), Buffer.from([19]), key.body.subarray(32)]);
    const err = rejection(() => readKeyring(partial, 'partial.pgp'));
    expect([err.reason, err.message]).toEqual(['malformed', 'partial.pgp: packet with tag 6 at offset 0 uses a partial body length, which only data packets may']);
    // A literal data packet (tag 11) may use them: the chunks are joined.
    const literal = readPackets(Buffer.concat([Buffer.from([0xcb, 0xe9]), Buffer.alloc(512, 1), Buffer.from([3, 2, 2, 2])]), 'x');
    expect(literal[0]!.body.length).toBe(515);
    // A v3 RSA key (version 3, time, validity days, algorithm 1, n, e): named by its key id
    // (the low 64 bits of n) and refused.
    const n = Buffer.concat([Buffer.from([0xc0]), Buffer.alloc(253, 0x11), Buffer.from([0x12, 0x34])]);
    const v3 = Buffer.concat([Buffer.from([3, 0x5e, 0, 0, 0, 0, 0, 1, 0x08, 0x00]), n, Buffer.from([0, 17, 1, 0, 1])]);
    const v3Ring = readKeyring(Buffer.concat([Buffer.from([0x99, v3.length >> 8, v3.length & 0xff]), v3]), 'v3.pgp');
    expect(v3Ring.keys).toEqual([]);
    expect(v3Ring.rejected).toMatchObject([{ keyId: '1111111111111234', reason: 'unsupported-version', message: 'v3.pgp: key 1111111111111234 is a v3 key; v3 keys are refused (their key ids can be forged)' }]);
    const scratch = join(tmpdir(), 'empty.pgp');
    await writeFile(scratch, '');
    expect((await rejectionAsync(loadKeyringFiles([scratch]))).message).toBe(`${scratch}: is empty: it holds no public key`);
  });
});
