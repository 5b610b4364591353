// Signed APKINDEX.tar.gz: the real Alpine 3.16 index with Alpine's key, and fixture indexes
// signed by the demo key, by unknown keys, wrongly, or not at all.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitGzipMembers } from '../../formats/gzip-members.js';
import { ApkIndexFormatError, readApkIndexFile } from '../../stages/sources/apk/index-file.js';
import {
  BadSignatureError,
  loadTrustedKeys,
  MissingSignatureError,
  TrustedKeys,
  TrustStoreError,
  UnknownSigningKeyError,
} from '../../stages/sources/apk/trust.js';
import { buildApk } from '../../fixtures/alpine/abuild.js';
import { buildApkIndex, indexPackageOf, type IndexPackage } from '../../fixtures/alpine/apkindex-writer.js';
import { DEMO_KEYS_DIR, demoSigner, generateSigner, publicKeyPem } from '../../fixtures/alpine/signer.js';
import { projectRoot } from '../../fixtures/paths.js';

const corpusDir = join(projectRoot(), '..', 'shared', 'corpus', 'alpine-3.16-main-x86_64');
const corpusPresent = existsSync(join(corpusDir, 'APKINDEX.tar.gz'));
const work = mkdtempSync(join(tmpdir(), 'apkindex-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const EPOCH = 1767225600;
let demoKeys: TrustedKeys;
let packages: IndexPackage[];

beforeAll(async () => {
  demoKeys = await loadTrustedKeys(join(projectRoot(), DEMO_KEYS_DIR));
  const hello = await buildApk({
    name: 'hello',
    version: '1.0-r0',
    description: 'hello',
    url: 'https://example.invalid',
    license: 'MIT',
    epoch: EPOCH,
    files: [{ path: 'usr/bin/hello', type: 'file', mode: 0o755, content: '#!/bin/sh\necho hi\n' }],
  });
  packages = [indexPackageOf(hello)];
});

describe.skipIf(!corpusPresent)(`the real Alpine 3.16 index (skipped: ${corpusDir} is absent)`, () => {
  it('verifies with the Alpine key and returns the text and description', async () => {
    const keys = await loadTrustedKeys(corpusDir);
    const index = await readApkIndexFile(readFileSync(join(corpusDir, 'APKINDEX.tar.gz')), keys, 'corpus/APKINDEX.tar.gz');
    expect(index.signedBy).toEqual({ keyName: 'alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub', scheme: 'RSA' });
    expect(index.description).toBe('v3.16.3-13-g4d933a1fa3');
    expect(index.text.match(/^P:/gm)?.length).toBe(4929);
    expect(index.text).toMatch(/^P:busybox\nV:1\.35\.0-r17$/m);
  });

  it('is refused when the Alpine key is not trusted, naming the file and the key', async () => {
    const bytes = readFileSync(join(corpusDir, 'APKINDEX.tar.gz'));
    const error = await readApkIndexFile(bytes, demoKeys, 'https://<alpine-mirror>/v3.16/main/x86_64/APKINDEX.tar.gz').catch((e) => e);
    expect(error).toBeInstanceOf(UnknownSigningKeyError);
    expect(error.message).toContain('https://<alpine-mirror>/v3.16/main/x86_64/APKINDEX.tar.gz');
    expect(error.message).toContain('alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub');
  });

  it('agrees with openssl dgst -verify on the signed bytes', () => {
    const bytes = readFileSync(join(corpusDir, 'APKINDEX.tar.gz'));
    writeFileSync(join(work, 'signed'), bytes.subarray(667));
    const sig = execFileSync('tar', ['-xzOf', join(corpusDir, 'APKINDEX.tar.gz'), '.SIGN.RSA.alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub']);
    writeFileSync(join(work, 'sig'), sig);
    const out = execFileSync('openssl', [
      'dgst', '-sha1', '-verify', join(corpusDir, 'alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub'),
      '-signature', join(work, 'sig'), join(work, 'signed'),
    ], { encoding: 'utf8' });
    expect(out.trim()).toBe('Verified OK');
  });
});

describe('fixture indexes', () => {
  it('a demo-signed index verifies and openssl agrees', async () => {
    const bytes = await buildApkIndex(packages, { description: 'v3.23.0-demo', epoch: EPOCH });
    const index = await readApkIndexFile(bytes, demoKeys, 'demo/APKINDEX.tar.gz');
    expect(index.description).toBe('v3.23.0-demo');
    expect(index.text).toContain(`C:${packages[0].checksum}\nP:hello\nV:1.0-r0\nA:x86_64\nS:${packages[0].size}\n`);
    // Real tools: GNU tar lists it, openssl verifies the signature over member 2..EOF.
    const file = join(work, 'demo.tar.gz');
    writeFileSync(file, bytes);
    const listing = execFileSync('tar', ['--warning=no-unknown-keyword', '-tzf', file], { encoding: 'utf8' });
    expect(listing.split('\n')).toEqual(['.SIGN.RSA.' + demoSigner().keyName, 'DESCRIPTION', 'APKINDEX', '']);
    const signedStart = splitGzipMembers(bytes)[1].start;
    writeFileSync(join(work, 'demo-signed'), bytes.subarray(signedStart));
    writeFileSync(join(work, 'demo-sig'), execFileSync('tar', ['--warning=no-unknown-keyword', '-xzOf', file, `.SIGN.RSA.${demoSigner().keyName}`]));
    const out = execFileSync('openssl', [
      'dgst', '-sha1', '-verify', join(projectRoot(), DEMO_KEYS_DIR, demoSigner().keyName),
      '-signature', join(work, 'demo-sig'), join(work, 'demo-signed'),
    ], { encoding: 'utf8' });
    expect(out.trim()).toBe('Verified OK');
  });

  it('refuses an unsigned index', async () => {
    const bytes = await buildApkIndex(packages, { description: 'x', epoch: EPOCH, signers: [] });
    const error = await readApkIndexFile(bytes, demoKeys, 'http://127.0.0.1/unsigned/APKINDEX.tar.gz').catch((e) => e);
    expect(error).toBeInstanceOf(MissingSignatureError);
    expect(error.message).toMatch(/http:\/\/127\.0\.0\.1\/unsigned\/APKINDEX\.tar\.gz is not signed/);
  });

  it('refuses an index signed by an unknown key', async () => {
    const { signer } = generateSigner('stranger-00000000.rsa.pub');
    const bytes = await buildApkIndex(packages, { description: 'x', epoch: EPOCH, signers: [signer] });
    const error = await readApkIndexFile(bytes, demoKeys, 'idx').catch((e) => e);
    expect(error).toBeInstanceOf(UnknownSigningKeyError);
    expect(error.keyNames).toEqual(['stranger-00000000.rsa.pub']);
  });

  it('refuses a signature that does not match (key with a trusted name, corrupt signature, edited index)', async () => {
    const impostor = generateSigner(demoSigner().keyName).signer;
    const forged = await buildApkIndex(packages, { description: 'x', epoch: EPOCH, signers: [impostor] });
    await expect(readApkIndexFile(forged, demoKeys, 'idx')).rejects.toBeInstanceOf(BadSignatureError);

    const flipped = await buildApkIndex(packages, {
      description: 'x',
      epoch: EPOCH,
      overrideSignature: (sig) => Buffer.concat([sig.subarray(0, 10), Buffer.from([sig[10] ^ 1]), sig.subarray(11)]),
    });
    const error = await readApkIndexFile(flipped, demoKeys, 'idx').catch((e) => e);
    expect(error).toBeInstanceOf(BadSignatureError);
    expect(error.message).toContain(demoSigner().keyName);

    // An old signature in front of a different index body: the signature is over the bytes.
    const good = await buildApkIndex(packages, { description: 'x', epoch: EPOCH });
    const evilBody = await buildApkIndex(packages, { description: 'x', epoch: EPOCH, signers: [], text: 'P:evil\nV:1-r0\n\n' });
    const spliced = Buffer.concat([good.subarray(0, splitGzipMembers(good)[0].end), evilBody]);
    await expect(readApkIndexFile(spliced, demoKeys, 'idx')).rejects.toBeInstanceOf(BadSignatureError);
  });

  it('accepts any one trusted signature among several, RSA256 included', async () => {
    const { signer: stranger } = generateSigner('stranger-11111111.rsa.pub');
    const rsa256 = { ...demoSigner(), scheme: 'RSA256' as const };
    const bytes = await buildApkIndex(packages, { description: 'x', epoch: EPOCH, signers: [stranger, rsa256] });
    const index = await readApkIndexFile(bytes, demoKeys, 'idx');
    expect(index.signedBy).toEqual({ keyName: demoSigner().keyName, scheme: 'RSA256' });
  });

  it('refuses an index that unpacks past its limit; an untrusted one is refused for its signature first', async () => {
    // 64 MiB of index text (real gzip: about 64 KiB compressed), signed by the demo key.
    const text = `P:bomb\nV:1-r0\nT:${'x'.repeat(64 << 20)}\n\n`;
    const bomb = await buildApkIndex(packages, { description: 'x', epoch: EPOCH, text });
    expect(bomb.length).toBeLessThan(256 << 10);
    const error = await readApkIndexFile(bomb, demoKeys, 'http://127.0.0.1/bomb/APKINDEX.tar.gz', { maxUnpackedBytes: 16 << 20 }).catch((e) => e);
    expect(error).toBeInstanceOf(ApkIndexFormatError);
    expect(error.message).toBe(
      'http://127.0.0.1/bomb/APKINDEX.tar.gz: unpacks to more than 16777216 bytes (gzip member at byte ' +
        `${splitGzipMembers(bomb, 'x', 128 << 20)[1].start}); raise alpine.max_unpacked_size in the variant if this index is really that large`,
    );
    // Within a raised limit it reads.
    expect((await readApkIndexFile(bomb, demoKeys, 'idx', { maxUnpackedBytes: 128 << 20 })).text).toBe(text);

    // Signed by a stranger: refused for that, before any of its content is unpacked.
    const { signer } = generateSigner('stranger-22222222.rsa.pub');
    const untrusted = await buildApkIndex(packages, { description: 'x', epoch: EPOCH, text, signers: [signer] });
    await expect(readApkIndexFile(untrusted, demoKeys, 'idx', { maxUnpackedBytes: 1 << 20 })).rejects.toBeInstanceOf(UnknownSigningKeyError);
    // Unsigned, its first member is the whole index, far more than a signature segment: not signed.
    const unsigned = await buildApkIndex(packages, { description: 'x', epoch: EPOCH, text, signers: [] });
    await expect(readApkIndexFile(unsigned, demoKeys, 'idx')).rejects.toBeInstanceOf(MissingSignatureError);
  });

  it('reports a truncated index as such', async () => {
    const bytes = await buildApkIndex(packages, { description: 'x', epoch: EPOCH });
    const error = await readApkIndexFile(bytes.subarray(0, bytes.length - 20), demoKeys, 'idx').catch((e) => e);
    expect(error).toBeInstanceOf(ApkIndexFormatError);
    expect(error.message).toMatch(/idx: data ends inside/);
  });
});

describe('trusted keys', () => {
  it('loads *.rsa.pub from a directory; a bad or empty directory is a clear error', async () => {
    expect(demoKeys.names()).toEqual([demoSigner().keyName]);
    expect(TrustedKeys.fromPem([{ name: 'k.rsa.pub', pem: publicKeyPem(demoSigner()) }]).names()).toEqual(['k.rsa.pub']);
    const empty = join(work, 'empty');
    mkdirSync(empty);
    await expect(loadTrustedKeys(empty)).rejects.toThrow(/no \*\.rsa\.pub keys in/);
    await expect(loadTrustedKeys(join(work, 'missing'))).rejects.toBeInstanceOf(TrustStoreError);
    writeFileSync(join(empty, 'broken.rsa.pub'), 'not a key');
    await expect(loadTrustedKeys(empty)).rejects.toThrow(/broken\.rsa\.pub: not a PEM public key/);
  });

  it('names the directory as the caller shows it (project-relative), never the absolute path', async () => {
    const refused = (promise: Promise<unknown>): Promise<Error> => promise.then(() => new Error('expected a refusal'), (e: Error) => e);
    const missing = await refused(loadTrustedKeys(join(work, 'missing'), 'variants/keys/missing'));
    expect(missing.message).toBe('cannot read the trusted-keys directory variants/keys/missing: it does not exist');
    const broken = join(work, 'broken-keys');
    mkdirSync(broken);
    writeFileSync(join(broken, 'broken.rsa.pub'), 'not a key');
    const error = await refused(loadTrustedKeys(broken, 'variants/keys/broken'));
    expect(error.message).toMatch(/^variants\/keys\/broken\/broken\.rsa\.pub: not a PEM public key/);
    for (const e of [missing, error]) expect(e.message).not.toContain(work);
    const keys = await loadTrustedKeys(join(projectRoot(), DEMO_KEYS_DIR), DEMO_KEYS_DIR);
    expect(keys.source).toBe(DEMO_KEYS_DIR);
  });
});
