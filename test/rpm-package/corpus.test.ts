// rpm's own test packages (../shared/corpus/rpm-tests), unpacked natively and compared with what
// rpm reports (`rpm -qp --dump`, `--qf`) and with the tree `rpm2cpio | cpio -idm` makes; and the
// ones rpm's tests expect to fail, refused for the right reason.
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadKeyringFiles } from '../../formats/openpgp/index.js';
import { RpmPackageError, unpackRpm, type RpmRejectReason, type UnpackRpmOptions, type UnpackRpmResult } from '../../stages/sources/rpm/package.js';
import { corpusKey, corpusRpm, rpmCorpusPresent } from './corpus.js';
import { expectAsRpmSays, rpmQuery } from './oracle.js';

const work = mkdtempSync(join(tmpdir(), 'rpm-corpus-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let counter = 0;
if (!rpmCorpusPresent()) console.warn('rpm corpus tests skipped: ../shared/corpus/rpm-tests is absent');

async function unpack(file: string, options: Partial<UnpackRpmOptions> & { keys?: string[] } = {}): Promise<{ out: string; result: UnpackRpmResult }> {
  const out = join(work, `out-${++counter}`);
  mkdirSync(out);
  const { keys, ...rest } = options;
  const keyring = keys ? await loadKeyringFiles(keys.map(corpusKey)) : undefined;
  const result = await unpackRpm({ rpmPath: corpusRpm(file), outDir: out, ...(keyring ? { keyring } : { allowUnsigned: true }), ...rest });
  return { out, result };
}

async function refusal(file: string, options: Partial<UnpackRpmOptions> & { keys?: string[] } = {}): Promise<RpmPackageError> {
  const error = await unpack(file, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof RpmPackageError)) throw new Error(`expected an RpmPackageError, got ${String(error)}`);
  return error;
}

describe.skipIf(!rpmCorpusPresent())("rpm's test packages, unpacked as rpm unpacks them", () => {
  it('hello 2.0 signed with RSA (header-only 268, legacy 1002 listed): verified by the rpm.org key', async () => {
    const file = 'hello-2.0-1.x86_64-signed.rpm';
    const { out, result } = await unpack(file, { keys: ['rpm.org-rsa-2048-test.pub'] });
    expect(result.signedBy).toBe('771B18D3D7BAA28734333C424344591E1964C5FC');
    expect(result.info.signatures.map((s) => [s.tag, s.covers, s.status, s.algorithm, s.hashAlgorithm])).toEqual([
      [268, 'header', 'verified', 'RSA (1)', 'SHA256'],
      [1002, 'header+payload', 'not-checked', 'RSA (1)', undefined],
    ]);
    expect(result.manifest.entries.map((e) => e.path)).toEqual([
      'usr/bin/hello',
      'usr/share/doc/hello-2.0',
      'usr/share/doc/hello-2.0/COPYING',
      'usr/share/doc/hello-2.0/FAQ',
      'usr/share/doc/hello-2.0/README',
    ]);
    await expectAsRpmSays(corpusRpm(file), out, result);
  });

  it('signed by a subkey (RSA, alice) and by a newly added EdDSA subkey of the rpm.org key', async () => {
    const alice = await unpack('hello-2.0-1.x86_64-signed-with-subkey.rpm', { keys: ['alice.asc'] });
    expect(alice.result.info.signatures[0]).toMatchObject({ status: 'verified', signer: '43253A62850DFADCACD423F11F71177215217EE0', primary: 'B6542F92F30650C36B6F41BCB3A771BFEB04E625' });
    const added = await unpack('hello-2.0-1.x86_64-signed-with-new-subkey.rpm', { keys: ['rpm.org-rsa-2048-add-subkey.asc'] });
    expect(added.result.info.signatures[0]).toMatchObject({ tag: 267, algorithm: 'EdDSA (22)', status: 'verified', signer: 'DCC32F8B1EE8C670B53F25566323C42711450B6C' });
    await expectAsRpmSays(corpusRpm('hello-2.0-1.x86_64-signed-with-new-subkey.rpm'), added.out, added.result);
  });

  it('hlinktest: hardlink sets (data on the last member) become hardlinks to it', async () => {
    const file = 'hlinktest-1.0-1.noarch.rpm';
    const { out, result } = await unpack(file);
    const links = result.manifest.entries.filter((e) => e.type === 'hardlink').map((e) => [e.path, e.link]);
    expect(links).toEqual([
      ['foo/aaaa', 'foo/zzzz'],
      ['foo/hello', 'foo/hello-world'],
      ['foo/hello-bar', 'foo/hello-world'],
      ['foo/hello-foo', 'foo/hello-world'],
    ]);
    expect(statSync(join(out, 'root/foo/hello')).ino).toBe(statSync(join(out, 'root/foo/hello-world')).ino);
    expect(statSync(join(out, 'root/foo/hello')).nlink).toBe(4);
    await expectAsRpmSays(corpusRpm(file), out, result);
  });

  it('hlinktest signed by rpm >= 4.20: a stripped 07070X cpio payload (zstd), sizes from the header', async () => {
    const file = 'hlinktest-1.0-1.noarch-v3sig.rpm';
    const { out, result } = await unpack(file, { keys: ['rpm.org-rsa-2048-test.pub'] });
    expect(result.info.payloadCompressor).toBe('zstd');
    expect(result.signedBy).toBe('771B18D3D7BAA28734333C424344591E1964C5FC');
    await expectAsRpmSays(corpusRpm(file), out, result);
  });

  it('capstest: FILECAPS become security.capability in the manifest (xz payload)', async () => {
    const file = 'capstest-1.0-1.noarch.rpm';
    const { out, result } = await unpack(file);
    expect(result.info.payloadCompressor).toBe('xz');
    const caps = Object.fromEntries(result.manifest.entries.map((e) => [e.path, e.xattrs?.['security.capability']]));
    // `=`: revision 2, nothing raised: what setcap '=' writes.
    const empty = Buffer.from('0000000200000000000000000000000000000000', 'hex').toString('base64');
    expect(caps).toEqual({ 'a/emptyCaps1': empty, 'a/emptyCaps2': empty, 'a/noCaps': undefined });
    await expectAsRpmSays(corpusRpm(file), out, result);
  });

  it('the rest: i686 build, zstd (foo, imatest), Lua scriptlets (luafork, mwe-rpm-lua-problem)', async () => {
    for (const file of ['hello-2.0-1.i686.rpm', 'foo-1.0-1.noarch.rpm', 'imatest-1.0-1.fc34.noarch.rpm', 'luafork-1.0-1.noarch.rpm', 'mwe-rpm-lua-problem-1.0.0-1.noarch.rpm']) {
      const { out, result } = await unpack(file);
      await expectAsRpmSays(corpusRpm(file), out, result);
    }
    const { result } = await unpack('luafork-1.0-1.noarch.rpm');
    expect(result.info.scriptlets).toEqual([{ name: 'prein', interpreter: '<lua>', sha256: expect.stringMatching(/^[0-9a-f]{64}$/), bytes: expect.any(Number) }]);
  });

  it('obsolete-foo (rpm < 4.14: no SHA-256 digests): refused, unless legacy digests are allowed', async () => {
    const error = await refusal('obsolete-foo-1.0-1.noarch.rpm');
    expect(error.reason).toBe('digest-missing');
    expect(error.message).toMatch(/^foo-1\.0-1\.noarch: no SHA-256 header digest \(signature tag 273\)/);
    const { out, result } = await unpack('obsolete-foo-1.0-1.noarch.rpm', { allowLegacyDigests: true });
    expect(result.info.obsoletes).toEqual(lines(rpmQuery(corpusRpm('obsolete-foo-1.0-1.noarch.rpm'), '[%{OBSOLETENAME} %{OBSOLETEFLAGS:depflags} %{OBSOLETEVERSION}\n]')));
    await expectAsRpmSays(corpusRpm('obsolete-foo-1.0-1.noarch.rpm'), out, result);
  });
});

function lines(text: string): string[] {
  return text.split('\n').filter(Boolean).map((l) => l.replace(/\s+$/, ''));
}

describe.skipIf(!rpmCorpusPresent())("rpm's failing test packages are refused", () => {
  const cases: Array<[string, string[] | undefined, RpmRejectReason, RegExp]> = [
    ['hello-2.0-1.x86_64.rpm', ['rpm.org-rsa-2048-test.pub'], 'signature-missing', /not signed: no header signature/],
    ['hello-2.0-1.x86_64-signed.rpm', ['alice.asc'], 'signature-unknown-key', /4344591E1964C5FC, which is not in the trusted keyring/],
    ['hello-2.0-1.x86_64-signed-with-subkey.rpm', ['alice-expired-subkey.asc'], 'signature-bad', /expired/],
    ['hello-2.0-1.x86_64-signed-with-subkey.rpm', ['alice-revoked-subkey.asc'], 'signature-bad', /revoked/],
    ['hello-2.0-1.x86_64-signed-with-new-subkey.rpm', ['CVE-2021-3521-badbind.asc'], 'signature-unknown-key', /DCC32F8B1EE8C670B53F25566323C42711450B6C/],
    ['hello-2.0-1.x86_64-v3-signed.rpm', ['rpm.org-rsa-2048-test.pub'], 'signature-unsupported', /RSA header signature \(tag 268\) is a v3 OpenPGP signature packet/],
    ['hello-2.0-1.x86_64-signed-mldsa87.rpm', ['rpm.org-rsa-2048-test.pub'], 'signature-unsupported', /uses ML-DSA-87\+Ed448 \(31\), a signature algorithm not supported/],
    ['hello-2.0-1.x86_64-corrupted.rpm', undefined, 'payload-digest', /PAYLOADDIGEST 5092/],
    ['hello-1.0-1.x86_64.rpm-v3', undefined, 'format', /no HEADERSIGNATURES \(62\) region .*RPM v3 header, not supported/],
  ];
  for (const [file, keys, reason, message] of cases) {
    it(`${file}${keys ? ` with ${keys.join(', ')}` : ''}: ${reason}`, async () => {
      const error = await refusal(file, keys ? { keys } : {});
      expect(error.reason, error.message).toBe(reason);
      expect(error.message).toMatch(message);
      expect(error.message).toMatch(/^hello-[12]\.0-1\.x86_64/);
    });
  }
});
