// `pipeline keys init`: the generated PK/KEK/db set parses with openssl and efitools, the .auth
// files carry the fixed timestamp and verify against the right signer (PK by PK, KEK by PK,
// db by KEK), the db key signs what sbverify accepts, and an existing set is not overwritten.
import { execFile } from 'node:child_process';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { explicit, oid, sequence } from '../../formats/asn1.js';
import { initSecureBootKeys, KEY_NAMES, KeySetError, TEST_KEYS_OWNER_GUID, type KeyName, type SecureBootKeySet } from '../../keys/secureboot.js';
import { signFile } from '../../stages/sign.js';
import { backportsSystemdBoot, scratchDir } from '../uki/fixtures.js';

const run = promisify(execFile);
let dir: string;
let set: SecureBootKeySet;

beforeAll(async () => {
  dir = await scratchDir('keys');
  set = await initSecureBootKeys(join(dir, 'keys'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** GUID in its on-disk (mixed-endian) byte order. */
function guidBytes(guid: string): Buffer {
  const hex = guid.replace(/-/g, '');
  const b = Buffer.from(hex, 'hex');
  return Buffer.concat([Buffer.from(b.subarray(0, 4)).reverse(), Buffer.from(b.subarray(4, 6)).reverse(), Buffer.from(b.subarray(6, 8)).reverse(), b.subarray(8)]);
}

const EFI_GLOBAL_VARIABLE = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
const EFI_IMAGE_SECURITY_DATABASE = 'd719b2cb-3d3a-4596-a3bc-dad00e67656f';
const EFI_CERT_TYPE_PKCS7 = '4aafd29d-68df-49ee-8aa9-347d375665a7';
const ATTRIBUTES = 0x27; // non-volatile | boot service | runtime | time-based authenticated write

/** Splits an EFI_VARIABLE_AUTHENTICATION_2 file and rebuilds the bytes its signature covers. */
async function parseAuth(name: KeyName): Promise<{ time: Buffer; certType: Buffer; signedData: Buffer; esl: Buffer; covered: Buffer }> {
  const auth = await readFile(set.keys[name].auth);
  const time = auth.subarray(0, 16);
  const length = auth.readUInt32LE(16);
  expect(auth.readUInt16LE(20)).toBe(0x0200); // WIN_CERT revision 2.0
  expect(auth.readUInt16LE(22)).toBe(0x0ef1); // WIN_CERT_TYPE_EFI_GUID
  const certType = auth.subarray(24, 40);
  const signedData = auth.subarray(40, 16 + length);
  const esl = auth.subarray(16 + length);
  const vendor = name === 'db' ? EFI_IMAGE_SECURITY_DATABASE : EFI_GLOBAL_VARIABLE;
  const attributes = Buffer.alloc(4);
  attributes.writeUInt32LE(ATTRIBUTES);
  const covered = Buffer.concat([Buffer.from(name, 'utf16le'), guidBytes(vendor), attributes, time, esl]);
  return { time, certType, signedData, esl, covered };
}

/** openssl cms -verify of an .auth signature against one certificate. */
async function authVerifiesWith(name: KeyName, signer: KeyName): Promise<boolean> {
  const { signedData, covered } = await parseAuth(name);
  const p7 = join(dir, `${name}.p7`);
  const content = join(dir, `${name}.covered`);
  // The .auth carries a bare SignedData; openssl wants it inside a ContentInfo.
  await writeFile(p7, sequence(oid('1.2.840.113549.1.7.2'), explicit(0, signedData)));
  await writeFile(content, covered);
  try {
    await run('openssl', ['cms', '-verify', '-inform', 'DER', '-in', p7, '-binary', '-content', content, '-CAfile', set.keys[signer].crt, '-out', '/dev/null']);
    return true;
  } catch {
    return false;
  }
}

describe('keys init', () => {
  test('writes PK, KEK and db as key, certificate, signature list and .auth; private keys 0600', async () => {
    const names = (await readdir(set.dir)).sort();
    expect(names).toEqual(
      [...KEY_NAMES.flatMap((n) => ['auth', 'crt', 'esl', 'key'].map((k) => `${n}.${k}`)), 'owner-guid'].sort(),
    );
    for (const name of KEY_NAMES) {
      expect((await stat(set.keys[name].key)).mode & 0o777).toBe(0o600);
      expect((await stat(set.keys[name].crt)).mode & 0o777).toBe(0o644);
    }
    expect((await readFile(join(set.dir, 'owner-guid'), 'utf8')).trim()).toBe(TEST_KEYS_OWNER_GUID);
    expect(set.espFiles).toEqual({
      'loader/keys/auto/PK.auth': set.keys.PK.auth,
      'loader/keys/auto/KEK.auth': set.keys.KEK.auth,
      'loader/keys/auto/db.auth': set.keys.db.auth,
    });
  });

  test('openssl reads the keys (RSA 2048) and self-signed certificates; fingerprints match', async () => {
    for (const name of KEY_NAMES) {
      const key = (await run('openssl', ['pkey', '-in', set.keys[name].key, '-noout', '-text'])).stdout;
      expect(key).toMatch(/Private-Key: \(2048 bit/);
      const cert = (await run('openssl', ['x509', '-in', set.keys[name].crt, '-noout', '-subject', '-issuer', '-fingerprint', '-sha256'])).stdout;
      expect(cert).toContain(`subject=CN = pipeline test ${name}`);
      expect(cert).toContain(`issuer=CN = pipeline test ${name}`);
      expect(/Fingerprint=([0-9A-F:]+)/.exec(cert)![1].replace(/:/g, '').toLowerCase()).toBe(set.fingerprints[name]);
      await run('openssl', ['verify', '-CAfile', set.keys[name].crt, set.keys[name].crt]);
    }
  });

  test('each .esl holds exactly its certificate with the fixed owner GUID (sig-list-to-certs)', async () => {
    for (const name of KEY_NAMES) {
      const prefix = join(dir, `esl-${name}`);
      const { stdout } = await run('sig-list-to-certs', [set.keys[name].esl, prefix]);
      expect(stdout).toContain(`Guid ${TEST_KEYS_OWNER_GUID}`);
      const der = (await run('openssl', ['x509', '-in', set.keys[name].crt, '-outform', 'DER'], { encoding: 'buffer' })).stdout;
      expect((await readFile(`${prefix}-0.der`)).equals(der)).toBe(true);
      expect(await readdir(dir).then((f) => f.filter((x) => x.startsWith(`esl-${name}-`)))).toEqual([`esl-${name}-0.der`]);
    }
  });

  test('.auth files: fixed timestamp, PKCS#7, the .esl as payload, signed PK by PK, KEK by PK, db by KEK', async () => {
    for (const name of KEY_NAMES) {
      const { time, certType, esl } = await parseAuth(name);
      expect([time.readUInt16LE(0), time[2], time[3], time[4], time[5], time[6]]).toEqual([2000, 1, 1, 0, 0, 0]);
      expect(time.subarray(7).every((b) => b === 0)).toBe(true);
      expect(certType.equals(guidBytes(EFI_CERT_TYPE_PKCS7))).toBe(true);
      expect(esl.equals(await readFile(set.keys[name].esl))).toBe(true);
    }
    expect(await authVerifiesWith('PK', 'PK')).toBe(true);
    expect(await authVerifiesWith('KEK', 'PK')).toBe(true);
    expect(await authVerifiesWith('db', 'KEK')).toBe(true);
    // The check can fail: the wrong signer does not verify.
    expect(await authVerifiesWith('db', 'PK')).toBe(false);
    expect(await authVerifiesWith('KEK', 'KEK')).toBe(false);
  });

  test('the db key signs a PE that sbverify accepts with db.crt and rejects with KEK.crt', async () => {
    const signed = join(dir, 'systemd-boot.signed.efi');
    await signFile({ input: (await backportsSystemdBoot()).systemdBoot, output: signed, keyPath: set.keys.db.key, certPath: set.keys.db.crt, expectFingerprint: set.fingerprints.db });
    const ok = await run('sbverify', ['--cert', set.keys.db.crt, signed]);
    expect(ok.stdout + ok.stderr).toMatch(/Signature verification OK/);
    await expect(run('sbverify', ['--cert', set.keys.KEK.crt, signed])).rejects.toThrow();
  });

  test('an existing set is not overwritten without force; with force it is replaced', async () => {
    const before = await readFile(set.keys.db.key);
    const err = await initSecureBootKeys(set.dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeySetError);
    expect((err as Error).message).toMatch(/already holds a key set .*PK\.key.*refusing to overwrite it without --force/);
    expect((await readFile(set.keys.db.key)).equals(before)).toBe(true);

    const partial = join(dir, 'partial');
    await initSecureBootKeys(partial);
    await rm(join(partial, 'KEK.key'));
    await expect(initSecureBootKeys(partial)).rejects.toThrow(/already holds a key set/);

    const replaced = await initSecureBootKeys(partial, { force: true });
    expect((await readdir(partial)).filter((f) => f.startsWith('.'))).toEqual([]);
    expect((await stat(replaced.keys.KEK.key)).mode & 0o777).toBe(0o600);
  });

  test('bad options are refused before anything is written', async () => {
    const target = join(dir, 'bad');
    await expect(initSecureBootKeys(target, { ownerGuid: 'not-a-guid' })).rejects.toThrow(/owner GUID 'not-a-guid'/);
    await expect(initSecureBootKeys(target, { commonName: 'a/b' })).rejects.toThrow(/must not contain/);
    await expect(stat(target)).rejects.toThrow();
  });
});
