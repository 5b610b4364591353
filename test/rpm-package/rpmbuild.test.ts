// Real packages made by rpmbuild at test time (gzip, xz and zstd payloads; a hardlink pair, a
// symlink, a %ghost, %caps, %config, owners, setuid, scriptlets with programs and Lua), signed by
// rpmsign, unpacked natively and compared with rpm's view; then the fetch and unpack nodes run by
// the real engine against them, served on 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../graph/build.js';
import { Session } from '../../graph/session.js';
import { loadKeyringFiles, type PgpKeyring } from '../../formats/openpgp/index.js';
import { readManifest } from '../../stages/shared/manifest.js';
import { RpmPackageError, rpmFetchNode, rpmUnpackNode, unpackRpm } from '../../stages/sources/rpm/package.js';
import { StaticHttpServer } from '../../fixtures/http-server.js';
import { hostRunner } from '../../stages/shared/host-runner.js';
import { makeGpgSigner, type GpgSigner } from './gpg-signer.js';
import { expectAsRpmSays, referenceTree, comparable, readTree } from './oracle.js';

const EPOCH = 1767225600;
const work = mkdtempSync(join(tmpdir(), 'rpmbuild-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let signer: GpgSigner;
let keyring: PgpKeyring;
const built: Record<string, string> = {};

const PAYLOADS = { gzip: 'w9.gzdio', xz: 'w6.xzdio', zstd: 'w19.zstdio' } as const;

function spec(name: string, bigBytes: number): string {
  return `Name: ${name}
Version: 1.2
Release: 3
Epoch: 2
Summary: native unpack test package
License: MIT
BuildArch: noarch
Provides: demo-feature = 1.0
Requires: /bin/sh
Requires(post): coreutils >= 8.0

%description
Test package.

%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/share/${name} %{buildroot}/etc %{buildroot}/var/log %{buildroot}/usr/libexec/${name}
printf '#!/bin/sh\\necho hi\\n' > %{buildroot}/usr/bin/${name}
printf 'setting=1\\n' > %{buildroot}/etc/${name}.conf
head -c ${bigBytes} /dev/urandom > %{buildroot}/usr/share/${name}/big.bin
cp %{buildroot}/usr/share/${name}/big.bin %{buildroot}/usr/share/${name}/copy.bin
printf 'linked\\n' > %{buildroot}/usr/share/${name}/a
ln %{buildroot}/usr/share/${name}/a %{buildroot}/usr/share/${name}/b
ln -s ../share/${name}/a %{buildroot}/usr/libexec/${name}/link
printf 'ping\\n' > %{buildroot}/usr/bin/${name}-ping
printf 'su\\n' > %{buildroot}/usr/bin/${name}-su
printf 'secret\\n' > %{buildroot}/etc/${name}.secret
touch %{buildroot}/var/log/${name}.log

%pre
echo pre-install "$1"

%post -p /sbin/ldconfig

%posttrans -p <lua>
print("posttrans")

%files
/usr/bin/${name}
%config(noreplace) /etc/${name}.conf
%attr(0640,daemon,daemon) /etc/${name}.secret
%caps(cap_net_raw=ep) /usr/bin/${name}-ping
%attr(4755,root,root) /usr/bin/${name}-su
/usr/share/${name}
/usr/libexec/${name}
%ghost /var/log/${name}.log
`;
}

function rpmbuild(name: string, payload: string, bigBytes: number): string {
  const top = join(work, `top-${name}`);
  mkdirSync(top);
  const specPath = join(top, `${name}.spec`);
  writeFileSync(specPath, spec(name, bigBytes));
  execFileSync(
    'rpmbuild',
    [
      '-bb',
      '--nodeps',
      '--define', `_topdir ${top}`,
      '--define', `_binary_payload ${payload}`,
      '--define', 'use_source_date_epoch_as_buildtime 1',
      '--define', 'clamp_mtime_to_source_date_epoch 1',
      '--define', 'debug_package %{nil}',
      '--define', '__os_install_post %{nil}',
      '--define', '_build_id_links none',
      specPath,
    ],
    { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH) }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const dir = join(top, 'RPMS', 'noarch');
  return join(dir, readdirSync(dir)[0]);
}

function rpmsign(path: string): void {
  execFileSync(
    'rpmsign',
    ['--addsign', '--define', `__gpg ${hostRunner().tool('gpg')}`, '--define', `_gpg_name ${signer.fingerprint}`, '--define', `_gpg_path ${signer.home}`, '--define', '_gpg_digest_algo sha256', path],
    { env: { ...process.env, GNUPGHOME: signer.home }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

beforeAll(async () => {
  signer = makeGpgSigner('rsa3072', 'Test Packager <packager@example.invalid>');
  keyring = await loadKeyringFiles([signer.publicKeyFile]);
  for (const [compressor, payload] of Object.entries(PAYLOADS)) {
    const path = rpmbuild(`demo-${compressor}`, payload, 600_000);
    rpmsign(path);
    built[compressor] = path;
  }
}, 300_000);

async function unpackBuilt(path: string): Promise<{ out: string; result: Awaited<ReturnType<typeof unpackRpm>> }> {
  const out = mkdtempSync(join(work, 'out-'));
  const result = await unpackRpm({ rpmPath: path, keyring, outDir: out });
  return { out, result };
}

describe('packages built by rpmbuild and signed by rpmsign', () => {
  for (const compressor of Object.keys(PAYLOADS)) {
    it(`${compressor} payload: unpacked as rpm says, with every file kind`, async () => {
      const path = built[compressor];
      const { out, result } = await unpackBuilt(path);
      const name = `demo-${compressor}`;
      expect(result.info.payloadCompressor).toBe(compressor);
      expect(result.signedBy).toBe(signer.fingerprint);
      await expectAsRpmSays(path, out, result);
      const entry = (p: string) => result.manifest.entries.find((e) => e.path === p);
      expect(entry(`usr/share/${name}/a`)).toMatchObject({ type: 'hardlink', link: `usr/share/${name}/b` });
      expect(statSync(join(out, 'root', `usr/share/${name}/a`)).ino).toBe(statSync(join(out, 'root', `usr/share/${name}/b`)).ino);
      expect(entry(`usr/libexec/${name}/link`)).toMatchObject({ type: 'symlink', target: `../share/${name}/a` });
      expect(entry(`usr/bin/${name}-su`)).toMatchObject({ mode: 0o4755, uname: 'root' });
      expect(statSync(join(out, 'root', `usr/bin/${name}-su`)).mode & 0o7777).toBe(0o755);
      expect(entry(`etc/${name}.secret`)).toMatchObject({ mode: 0o640, uname: 'daemon', gname: 'daemon', uid: 0, gid: 0 });
      expect(Buffer.from(entry(`usr/bin/${name}-ping`)!.xattrs!['security.capability'], 'base64').toString('hex')).toBe(
        '0100000200200000000000000000000000000000',
      );
      expect(entry(`var/log/${name}.log`)).toBeUndefined();
      expect(result.info.ghosts).toEqual([`/var/log/${name}.log`]);
      expect(result.info.configFiles).toEqual([`/etc/${name}.conf`]);
      expect(result.info).toMatchObject({ name, epoch: 2, version: '1.2', release: '3', arch: 'noarch' });
      expect(result.info.provides).toContain('demo-feature = 1.0');
      expect(result.info.requires).toContain('coreutils >= 8.0');
      expect(result.info.scriptlets.map((s) => [s.name, s.interpreter, s.bytes])).toEqual([
        ['prein', '/bin/sh', Buffer.byteLength('echo pre-install "$1"')],
        ['postin', '/sbin/ldconfig', 0],
        ['posttrans', '<lua>', Buffer.byteLength('print("posttrans")')],
      ]);
      expect(readFileSync(join(out, 'scripts', 'prein'), 'utf8')).toBe('echo pre-install "$1"');
      const big = readFileSync(join(out, 'root', `usr/share/${name}/big.bin`));
      expect(big.length).toBe(600_000);
    });
  }

  it('a tampered payload byte is refused before anything is unpacked', async () => {
    const bytes = readFileSync(built.zstd);
    bytes[bytes.length - 20] ^= 0xff;
    const path = join(work, 'tampered.rpm');
    writeFileSync(path, bytes);
    const out = mkdtempSync(join(work, 'out-'));
    const error = await unpackRpm({ rpmPath: path, keyring, outDir: out }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpmPackageError);
    expect((error as RpmPackageError).reason).toBe('payload-digest');
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('rpm-fetch and rpm-unpack nodes through the engine', () => {
  let server: StaticHttpServer;
  let project: string;
  beforeAll(async () => {
    const repo = join(work, 'repo');
    mkdirSync(join(repo, 'Packages'), { recursive: true });
    copyFileSync(built.zstd, join(repo, 'Packages', 'demo-zstd.rpm'));
    server = await StaticHttpServer.start(repo);
    project = mkdtempSync(join(work, 'project-'));
    mkdirSync(join(project, 'keys'));
    copyFileSync(signer.publicKeyFile, join(project, 'keys', 'RPM-GPG-KEY-test'));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('fetch checks size and SHA-256, unpack writes the tree; both cached the second time; a wrong checksum fails the fetch', async () => {
    const bytes = readFileSync(built.zstd);
    const identity = { name: 'demo-zstd', evr: { epoch: 2, version: '1.2', release: '3' }, arch: 'noarch' };
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const nodes = (checksum: string) => {
      const fetch = rpmFetchNode({ ...identity, size: bytes.length, sha256: checksum, location: 'Packages/demo-zstd.rpm', repositoryUrl: server.url, keys: [{ file: 'keys/RPM-GPG-KEY-test' }] });
      return [fetch, rpmUnpackNode({ ...identity, fetchNode: fetch.id, keys: [{ file: 'keys/RPM-GPG-KEY-test' }] })];
    };
    const graph = nodes(sha256);
    expect(graph.map((n) => n.id)).toEqual(['rpm-fetch:demo-zstd-2:1.2-3.noarch', 'rpm:demo-zstd-2:1.2-3.noarch']);
    expect(graph[1].tools).toEqual(['xz', 'zstd']);
    const session = await Session.open({ root: project, callerEnv: { PATH: process.env.PATH } });
    try {
      const first = await build(session, graph, { jobs: 2 });
      const failures = [...first.outcomes.values()].filter((o) => o.error).map((o) => `${o.id}: ${o.error?.message}`);
      expect(first.ok, failures.join('\n')).toBe(true);
      const unpacked = first.outcomes.get('rpm:demo-zstd-2:1.2-3.noarch')!.path!;
      const manifest = await readManifest(join(unpacked, 'manifest.json'));
      expect(manifest.entries.find((e) => e.path === 'usr/bin/demo-zstd')).toMatchObject({ type: 'file', mode: 0o644 });
      expect(comparable(readTree(join(unpacked, 'root')))).toEqual(comparable(referenceTree(built.zstd)));
      expect(JSON.parse(readFileSync(join(unpacked, 'rpminfo.json'), 'utf8')).signatures[0].status).toBe('verified');

      const second = await build(session, graph, { jobs: 2 });
      expect([...second.outcomes.values()].map((o) => o.status)).toEqual(['cached', 'cached']);

      const wrong = await build(session, nodes('0'.repeat(64)), { jobs: 2 });
      expect(wrong.ok).toBe(false);
      expect(wrong.outcomes.get('rpm-fetch:demo-zstd-2:1.2-3.noarch')!.error!.message).toMatch(/SHA-256 [0-9a-f]{64} differs from the repository's 0{64}/);
    } finally {
      await session.close();
    }
  });
});

describe('throughput', () => {
  it('a ~30 MB zstd package: native unpack vs rpm2cpio | cpio -idm', async () => {
    const path = rpmbuild('demo-big', 'w3.zstdio', 15_000_000);
    // Twice: the first run pays for module loading and JIT warm-up.
    let out = '';
    let native = 0;
    for (let run = 0; run < 2; run++) {
      out = mkdtempSync(join(work, 'out-'));
      const t0 = performance.now();
      await unpackRpm({ rpmPath: path, allowUnsigned: true, outDir: out });
      native = performance.now() - t0;
    }
    const ref = mkdtempSync(join(work, 'ref-'));
    const t1 = performance.now();
    execFileSync('sh', ['-c', `rpm2cpio '${path}' | cpio -idm --quiet -D '${ref}'`]);
    const reference = performance.now() - t1;
    console.log(`~30 MB zstd package (${statSync(path).size} bytes): native unpack ${native.toFixed(0)} ms, rpm2cpio | cpio -idm ${reference.toFixed(0)} ms`);
    expect(comparable(readTree(join(out, 'root')))).toEqual(comparable(readTree(ref)));
  });
});
