// Native Authenticode signing checked with sbsigntools and openssl: sbverify accepts every signed
// file and rejects one changed byte; the same key and input give the same bytes; the image digest
// equals sbsign's; refusals for signed inputs and wrong keys; the sign node's key material.
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AuthenticodeError, authenticodeDigest, loadSigningKey, signPe } from '../../formats/authenticode.js';
import { PeAlreadySignedError, peFileChecksum, readPeHeaders } from '../../formats/pe.js';
import { certificateFingerprint, SIGNING_KEY_ENV, signingKeyPath, signFile, signNode } from '../../stages/sign.js';
import { buildUki } from '../../stages/uki.js';
import { backportsSystemdBoot, bookwormSystemdBoot, busyboxStatic, debianKernel, hexField, objdumpPrivate, scratchDir } from '../uki/fixtures.js';
import { writeCmdlineInitrd } from '../uki/initrd.js';

const run = promisify(execFile);

let dir: string;
let db: { key: string; crt: string };
const inputs: Record<string, string> = {};

async function openssl(args: string[]): Promise<string> {
  return (await run('openssl', args, { maxBuffer: 16 << 20 })).stdout;
}

async function sbverify(cert: string, file: string): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run('sbverify', ['--cert', cert, file]);
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

beforeAll(async () => {
  dir = await scratchDir('sign');
  db = { key: join(dir, 'db.key'), crt: join(dir, 'db.crt') };
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-keyout', db.key, '-out', db.crt, '-days', '3650', '-subj', '/CN=pipeline sign test db/']);
  const [old, newer, kernel] = [await bookwormSystemdBoot(), await backportsSystemdBoot(), await debianKernel()];
  const initrd = join(dir, 'initrd.cpio');
  await writeCmdlineInitrd(await busyboxStatic(), initrd);
  inputs.uki = join(dir, 'uki.efi');
  await buildUki({ stub: newer.stub, kernel: kernel.vmlinuz, initrds: [initrd], cmdline: 'console=ttyS0', osRelease: 'ID=t\n', sourceDateEpoch: 1700000000, output: inputs.uki });
  inputs['systemd-boot 252'] = old.systemdBoot;
  // The 252 stub keeps a symbol table after its last section: sbsign warns about "gaps".
  inputs['stub 252 (trailing data)'] = old.stub;
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.each(['uki', 'systemd-boot 252', 'stub 252 (trailing data)'])('signing %s', (name) => {
  let signed: string;
  beforeAll(async () => {
    signed = join(dir, `${name.replace(/\W+/g, '-')}.signed.efi`);
    await signFile({ input: inputs[name], output: signed, keyPath: db.key, certPath: db.crt, signingTime: 1700000000 });
  });

  test('sbverify --cert db.crt accepts it; the checksum and security directory are right', async () => {
    const verdict = await sbverify(db.crt, signed);
    expect(verdict.ok, verdict.output).toBe(true);
    expect(verdict.output).toMatch(/Signature verification OK/);
    const header = await objdumpPrivate(signed);
    expect(hexField(header, 'CheckSum')).toBe(BigInt(await peFileChecksum(signed)));
    const h = await readPeHeaders(signed);
    const size = (await readFile(signed)).length;
    expect(h.certTable.offset % 8).toBe(0);
    expect(h.certTable.offset + h.certTable.size).toBe(size);
    const unsignedSize = (await readFile(inputs[name])).length;
    expect(h.certTable.offset - unsignedSize).toBeLessThan(8);
  });

  test('one byte changed after signing makes sbverify fail', async () => {
    const bytes = await readFile(signed);
    const h = await readPeHeaders(signed);
    const last = h.sections[h.sections.length - 1];
    for (const offset of [h.coffOffset + 4 /* TimeDateStamp */, last.pointerToRawData + Math.floor(last.sizeOfRawData / 2)]) {
      const tampered = Buffer.from(bytes);
      tampered[offset] ^= 0x01;
      const file = join(dir, `tampered-${offset}.efi`);
      await writeFile(file, tampered);
      const verdict = await sbverify(db.crt, file);
      expect(verdict.ok, `byte ${offset}: ${verdict.output}`).toBe(false);
    }
  });

  test('same key and input give identical bytes; the signing time is what differs otherwise', async () => {
    const again = join(dir, `${name.replace(/\W+/g, '-')}.again.efi`);
    await signFile({ input: inputs[name], output: again, keyPath: db.key, certPath: db.crt, signingTime: 1700000000 });
    expect((await readFile(again)).equals(await readFile(signed))).toBe(true);
    const later = join(dir, `${name.replace(/\W+/g, '-')}.later.efi`);
    await signFile({ input: inputs[name], output: later, keyPath: db.key, certPath: db.crt, signingTime: 1700000001 });
    expect((await readFile(later)).equals(await readFile(signed))).toBe(false);
    expect((await sbverify(db.crt, later)).ok).toBe(true);
  });

  test('the image digest equals the one sbsign signs', async () => {
    const bySbsign = join(dir, `${name.replace(/\W+/g, '-')}.sbsign.efi`);
    await run('sbsign', ['--key', db.key, '--cert', db.crt, '--output', bySbsign, inputs[name]]);
    const h = await readPeHeaders(bySbsign);
    const table = (await readFile(bySbsign)).subarray(h.certTable.offset + 8, h.certTable.offset + h.certTable.size);
    const der = join(dir, 'sbsign.p7');
    await writeFile(der, table);
    const parsed = await openssl(['asn1parse', '-inform', 'DER', '-in', der]);
    // The first 32-byte OCTET STRING is the SpcIndirectDataContent's image digest.
    const spcDigest = /OCTET STRING\s+\[HEX DUMP\]:([0-9A-F]{64})\n/.exec(parsed)?.[1].toLowerCase();
    expect(spcDigest).toBeDefined();
    expect((await authenticodeDigest(bySbsign)).toString('hex')).toBe(spcDigest);
    const mine = (await readPeHeaders(signed)).certTable;
    expect((await authenticodeDigest(signed)).toString('hex')).toBe(spcDigest);
    expect(mine.size).toBeGreaterThan(0);
  });

  test('an already signed file is refused, whoever signed it', async () => {
    for (const input of [signed, join(dir, `${name.replace(/\W+/g, '-')}.sbsign.efi`)]) {
      const err = await signFile({ input, output: join(dir, 'twice.efi'), keyPath: db.key, certPath: db.crt }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PeAlreadySignedError);
      expect((err as Error).message).toMatch(/already signed \(certificate table at 0x[0-9a-f]+, \d+ bytes\)/);
    }
  });
});

describe('signature structure', () => {
  test('openssl reads the PKCS#7: SHA-256, the db certificate, signingTime only when asked', async () => {
    const withTime = join(dir, 'with-time.efi');
    const withoutTime = join(dir, 'without-time.efi');
    await signFile({ input: inputs.uki, output: withTime, keyPath: db.key, certPath: db.crt, signingTime: 1700000000 });
    await signFile({ input: inputs.uki, output: withoutTime, keyPath: db.key, certPath: db.crt });
    const dump = async (file: string) => {
      const h = await readPeHeaders(file);
      const der = join(dir, 'sig.p7');
      await writeFile(der, (await readFile(file)).subarray(h.certTable.offset + 8, h.certTable.offset + h.certTable.size));
      return { asn1: await openssl(['asn1parse', '-inform', 'DER', '-in', der]), certs: await openssl(['pkcs7', '-inform', 'DER', '-in', der, '-print_certs', '-noout']) };
    };
    const a = await dump(withTime);
    expect(a.asn1).toMatch(/:pkcs7-signedData/);
    expect(a.asn1).toMatch(/:1\.3\.6\.1\.4\.1\.311\.2\.1\.4/);
    expect(a.asn1).toMatch(/:sha256\n/);
    expect(a.asn1).toMatch(/:signingTime[\s\S]*?UTCTIME\s+:231114221320Z/);
    expect(a.certs).toMatch(/subject=CN = pipeline sign test db/);
    const b = await dump(withoutTime);
    expect(b.asn1).not.toMatch(/signingTime/);
    expect((await sbverify(db.crt, withoutTime)).ok).toBe(true);
  });
});

describe('keys and refusals', () => {
  test('certificateFingerprint equals openssl x509 -fingerprint -sha256', async () => {
    const pem = await readFile(db.crt, 'utf8');
    const expected = /=([0-9A-F:]+)/.exec(await openssl(['x509', '-in', db.crt, '-noout', '-fingerprint', '-sha256']))![1].replace(/:/g, '').toLowerCase();
    expect(certificateFingerprint(pem)).toBe(expected);
    expect(certificateFingerprint(pem)).toMatch(/^[0-9a-f]{64}$/);
  });

  test('a key that does not belong to the certificate is refused, naming the files but not the key', async () => {
    const other = join(dir, 'other.key');
    await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', other]);
    const err = (await loadSigningKey(other, db.crt).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(AuthenticodeError);
    expect(err.message).toContain(`private key ${other} does not belong to certificate ${db.crt}`);
    expect(err.message).not.toMatch(/BEGIN|PRIVATE/);
  });

  test('an encrypted key and a non-RSA key get clear errors', async () => {
    const encrypted = join(dir, 'enc.key');
    await openssl(['pkey', '-in', db.key, '-out', encrypted, '-aes256', '-passout', 'pass:secret']);
    await expect(loadSigningKey(encrypted, db.crt)).rejects.toThrow(/cannot read private key .*enc\.key: it is encrypted/);
    const ec = join(dir, 'ec.key');
    await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', ec]);
    await expect(loadSigningKey(ec, db.crt)).rejects.toThrow(/ec\.key is ec, but UEFI Secure Boot needs RSA/);
  });

  test('signing onto the input itself is refused', async () => {
    const key = await loadSigningKey(db.key, db.crt);
    await expect(signPe({ input: inputs.uki, output: inputs.uki, key })).rejects.toThrow(/output must be a different file/);
  });

  test('the signing key path: environment override first, else the variant, else an error', () => {
    expect(signingKeyPath('/variant/db.key', {})).toBe('/variant/db.key');
    expect(signingKeyPath('/variant/db.key', { [SIGNING_KEY_ENV]: '/env/db.key' })).toBe('/env/db.key');
    expect(() => signingKeyPath(undefined, {})).toThrow(/no Secure Boot signing key: set PIPELINE_SECUREBOOT_KEY/);
  });
});

describe('sign node', () => {
  test('its key material is the certificate (a declared file); the private key is a secret file', async () => {
    const spec = signNode({ id: 'sign:test', unsigned: 'uki:test', input: 'uki.efi', certificate: 'keys/db.crt', keyPath: db.key });
    expect(spec.kind).toBe('sign');
    expect(spec.deps).toEqual({ unsigned: 'uki:test' });
    expect(spec.files).toEqual(['keys/db.crt']);
    expect(spec.params).toEqual({ input: 'uki.efi', output: 'uki.efi', certificate: 'keys/db.crt' });
    expect(spec.env).toEqual({ SOURCE_DATE_EPOCH: true });
    expect(signNode({ id: 'x', unsigned: 'y', input: 'a.efi', certificate: 'c', keyPath: 'k', sourceDateEpoch: 1700000000 }).env).toEqual({ SOURCE_DATE_EPOCH: '1700000000' });
    expect(JSON.stringify([spec.params, spec.env, spec.deps, spec.id, spec.description])).not.toContain(dir);
    expect(spec.secrets).toEqual({ key: db.key });
    expect(spec.secretFiles).toEqual(['key']);
  });

  test('a certificate that no longer matches the planned fingerprint stops signing', async () => {
    await expect(signFile({ input: inputs.uki, output: join(dir, 'fp.efi'), keyPath: db.key, certPath: db.crt, expectFingerprint: '00'.repeat(32) })).rejects.toThrow(
      /certificate .*db\.crt has SHA-256 fingerprint [0-9a-f]{64}, but the build planned with 0{64}/,
    );
  });
});
