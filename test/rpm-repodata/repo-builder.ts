// Test repositories made with the real tools: tiny RPMs from rpmbuild, repodata from createrepo_c
// (gzip or xz), a zstd variant recompressed with the `zstd` CLI (createrepo_c 0.17 refuses zstd)
// with repomd.xml fixed by hand, and detached signatures from gpg in a throwaway GNUPGHOME.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { projectRoot } from '../../fixtures/paths.js';

const RPM_TESTS = join(projectRoot(), '..', 'shared', 'corpus', 'rpm-tests', 'RPMS');

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(command, args, { encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

const TOOLS_SPEC = `
Name: tiny-tools
Version: 1.0~rc1
Release: 1
Summary: A tiny tool & friends
License: MIT
BuildArch: noarch
Provides: tiny-cap = 2.0
Requires(pre): /bin/sh
Requires: (tiny-libs >= 3:2.0 if tiny-extra)
Requires: tiny-libs >= 3:2.0
Recommends: tiny-docs
Suggests: tiny-extra
Supplements: tiny-base
Enhances: tiny-base
Conflicts: tiny-old < 1.0-5
Obsoletes: tiny-legacy <= 0.9
%description
Tiny tools for repodata tests.
%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/share/tiny
printf '#!/bin/sh\\necho tiny\\n' > %{buildroot}/usr/bin/tiny-tool
echo data > %{buildroot}/usr/share/tiny/data.txt
%files
%attr(0755,root,root) /usr/bin/tiny-tool
/usr/share/tiny/data.txt
`;

const LIBS_SPEC = `
Name: tiny-libs
Epoch: 3
Version: 2.0^git20240101
Release: 1.el9
Summary: Tiny libraries
License: GPL-2.0-or-later
BuildArch: noarch
%description
Tiny libraries for repodata tests.
%install
mkdir -p %{buildroot}/usr/lib/tiny
echo lib > %{buildroot}/usr/lib/tiny/libtiny.txt
%files
/usr/lib/tiny/libtiny.txt
`;

/** Builds tiny-tools and tiny-libs with rpmbuild, plus rpm's own hello-2.0 (x86_64, i686), into `dir`. */
export function buildTinyRpms(dir: string): void {
  const top = mkdtempSync(join(tmpdir(), 'rpmbuild-'));
  try {
    for (const [name, spec] of [['tiny-tools', TOOLS_SPEC], ['tiny-libs', LIBS_SPEC]]) {
      const specFile = join(top, `${name}.spec`);
      writeFileSync(specFile, spec);
      run('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${top}`, '--define', `_rpmdir ${dir}`, '--define', '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm', specFile]);
    }
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
  for (const rpm of ['hello-2.0-1.x86_64.rpm', 'hello-2.0-1.i686.rpm']) {
    if (existsSync(join(RPM_TESTS, rpm))) cpSync(join(RPM_TESTS, rpm), join(dir, rpm));
  }
}

export function rpmTestsPresent(): boolean {
  return existsSync(RPM_TESTS);
}

/** Runs createrepo_c over `dir` (which holds the RPMs). */
export function createrepo(dir: string, compression: 'gz' | 'xz' = 'gz'): void {
  run('createrepo_c', ['--quiet', '--no-database', '--general-compress-type', compression, dir]);
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Changes fields of one `<data type=...>` entry of repomd.xml text. */
export function editRepomd(text: string, type: string, changes: { checksum?: string; size?: number; location?: string; openChecksum?: string; openSize?: number }): string {
  const start = text.indexOf(`<data type="${type}">`);
  if (start < 0) throw new Error(`repomd.xml has no ${type} entry`);
  const end = text.indexOf('</data>', start);
  let block = text.slice(start, end);
  if (changes.checksum) block = block.replace(/(<checksum type="[^"]+">)[0-9a-f]+/, `$1${changes.checksum}`);
  if (changes.openChecksum) block = block.replace(/(<open-checksum type="[^"]+">)[0-9a-f]+/, `$1${changes.openChecksum}`);
  if (changes.size !== undefined) block = block.replace(/<size>\d+<\/size>/, `<size>${changes.size}</size>`);
  if (changes.openSize !== undefined) block = block.replace(/<open-size>\d+<\/open-size>/, `<open-size>${changes.openSize}</open-size>`);
  if (changes.location) block = block.replace(/<location href="[^"]+"/, `<location href="${changes.location}"`);
  return text.slice(0, start) + block + text.slice(end);
}

/** The location of a repomd.xml entry. */
export function repomdLocation(repoDir: string, type: string): string {
  const text = readFileSync(join(repoDir, 'repodata', 'repomd.xml'), 'utf8');
  const block = text.slice(text.indexOf(`<data type="${type}">`));
  return /<location href="([^"]+)"/.exec(block)![1];
}

/**
 * Recompresses primary and filelists of a createrepo_c repository in `dir` to zstd (the `zstd`
 * CLI) and fixes checksum, size and location in repomd.xml; the open-checksum stays.
 */
export function recompressZstd(dir: string): void {
  const repomdPath = join(dir, 'repodata', 'repomd.xml');
  let repomd = readFileSync(repomdPath, 'utf8');
  for (const type of ['primary', 'filelists']) {
    const old = repomdLocation(dir, type);
    const plain = join(dir, 'repodata', `${type}.xml`);
    writeFileSync(plain, run('sh', ['-c', `gzip -dc "$1" 2>/dev/null || xz -dc "$1"`, 'sh', join(dir, old)]));
    run('zstd', ['-q', '-f', '-19', plain, '-o', `${plain}.zst`]);
    const bytes = readFileSync(`${plain}.zst`);
    const location = `repodata/${sha256(bytes)}-${type}.xml.zst`;
    cpSync(`${plain}.zst`, join(dir, location));
    for (const f of [plain, `${plain}.zst`, join(dir, old)]) rmSync(f);
    repomd = editRepomd(repomd, type, { checksum: sha256(bytes), size: bytes.length, location });
  }
  writeFileSync(repomdPath, repomd);
}

/** A throwaway gpg home with one signing key. Call close() to stop its agent and remove it. */
export class TestSigner {
  private constructor(
    readonly home: string,
    readonly fingerprint: string,
  ) {}

  static create(kind: 'rsa' | 'ed25519', name: string): TestSigner {
    const home = mkdtempSync(join(tmpdir(), 'gnupg-'));
    const env = { GNUPGHOME: home };
    const algo = kind === 'rsa' ? 'rsa2048' : 'ed25519';
    run('gpg', ['--batch', '--quiet', '--passphrase', '', '--quick-gen-key', `${name} <${name}@test.invalid>`, algo, 'sign', 'never'], env);
    const listing = run('gpg', ['--batch', '--with-colons', '--list-keys'], env);
    const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listing)![1];
    return new TestSigner(home, fingerprint);
  }

  /** The armored public key. */
  publicKey(): string {
    return run('gpg', ['--batch', '--armor', '--export', this.fingerprint], { GNUPGHOME: this.home });
  }

  /** Writes `<file>.asc`, a detached armored signature of `file`. */
  sign(file: string): void {
    run('gpg', ['--batch', '--yes', '--quiet', '--local-user', this.fingerprint, '--detach-sign', '--armor', '-o', `${file}.asc`, file], { GNUPGHOME: this.home });
  }

  close(): void {
    try {
      run('gpgconf', ['--kill', 'all'], { GNUPGHOME: this.home });
    } finally {
      rmSync(this.home, { recursive: true, force: true });
    }
  }
}

/** Copies a repository directory (RPMs and repodata). */
export function copyRepo(from: string, to: string): string {
  cpSync(from, to, { recursive: true });
  return to;
}

/** Sizes of the files under `dir/repodata`, by name (for test messages). */
export function listRepodata(dir: string): Record<string, number> {
  return Object.fromEntries(readdirSync(join(dir, 'repodata')).map((f) => [basename(f), statSync(join(dir, 'repodata', f)).size]));
}

export function mkdirp(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
