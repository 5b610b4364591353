// Hostile packages, each built as a real .apk, each refused with the right reason, naming the
// package and entry, and never writing outside the output directory.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApkPackageError, type ApkRejectReason } from '../../stages/sources/apk/package.js';
import { unpackApk } from '../../stages/sources/apk/package.js';
import { loadTrustedKeys, type TrustedKeys } from '../../stages/sources/apk/trust.js';
import { buildApk, type ApkBuildOptions, type ApkFileSpec, type BuiltApk } from '../../fixtures/alpine/abuild.js';
import { DEMO_KEYS_DIR, demoSigner, generateSigner } from '../../fixtures/alpine/signer.js';
import { projectRoot } from '../../fixtures/paths.js';

const work = mkdtempSync(join(tmpdir(), 'apk-hostile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const EPOCH = 1767225600;
let keys: TrustedKeys;
let counter = 0;

beforeAll(async () => {
  keys = await loadTrustedKeys(join(projectRoot(), DEMO_KEYS_DIR));
});

const base: ApkFileSpec[] = [
  { path: 'etc', type: 'dir', mode: 0o755 },
  { path: 'etc/ok.conf', type: 'file', mode: 0o644, content: 'fine\n' },
];

function build(files: ApkFileSpec[], options: ApkBuildOptions = {}, name = 'evil'): Promise<BuiltApk> {
  return buildApk(
    { name, version: '6.6.6-r0', description: 'hostile', url: 'https://example.invalid', license: 'MIT', epoch: EPOCH, files },
    options,
  );
}

interface Attempt {
  error: ApkPackageError;
  /** The directory holding the output directory: nothing may appear here but `out`. */
  sandbox: string;
}

/** Unpacks into <sandbox>/out, where <sandbox> sits three levels below `work`. */
async function attempt(
  apk: BuiltApk,
  override: { bytes?: Buffer; size?: number; checksum?: string; name?: string; maxUnpackedBytes?: number } = {},
): Promise<Attempt> {
  const sandbox = join(work, `case-${++counter}`, 'a', 'b');
  mkdirSync(join(sandbox, 'out'), { recursive: true });
  const apkPath = join(work, `case-${counter}.apk`);
  const bytes = override.bytes ?? apk.bytes;
  writeFileSync(apkPath, bytes);
  const error = await unpackApk({
    apkPath,
    expected: {
      name: override.name ?? apk.name,
      version: apk.version,
      size: override.size ?? bytes.length,
      checksum: override.checksum ?? apk.checksum,
    },
    keys,
    outDir: join(sandbox, 'out'),
    ...(override.maxUnpackedBytes === undefined ? {} : { maxUnpackedBytes: override.maxUnpackedBytes }),
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ApkPackageError)) throw new Error(`expected an ApkPackageError, got ${String(error)}`);
  // Nothing escaped: the sandbox and everything above it up to `work` hold only what we made.
  expect(readdirSync(sandbox)).toEqual(['out']);
  expect(readdirSync(join(sandbox, '..'))).toEqual(['b']);
  expect(readdirSync(join(sandbox, '..', '..'))).toEqual(['a']);
  return { error, sandbox };
}

/** Bytes of every regular file below `dir`. */
function treeBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

function expectReason(error: ApkPackageError, reason: ApkRejectReason, entry?: string): void {
  expect(error.reason, error.message).toBe(reason);
  expect(error.message).toContain('evil-6.6.6-r0');
  if (entry !== undefined) {
    expect(error.entry).toBe(entry);
    expect(error.message).toContain(JSON.stringify(entry));
  }
}

describe('hostile packages are refused', () => {
  it('a member path with ..', async () => {
    const apk = await build([...base, { path: 'etc/../../../../escaped', type: 'file', mode: 0o644, content: 'x' }]);
    const { error, sandbox } = await attempt(apk);
    expectReason(error, 'unsafe-path', 'etc/../../../../escaped');
    expect(existsSync(join(sandbox, 'escaped'))).toBe(false);
  });

  it('an absolute member path', async () => {
    const target = join(work, 'absolute-escape');
    const apk = await build([...base, { path: target, type: 'file', mode: 0o644, content: 'x' }]);
    const { error } = await attempt(apk);
    expectReason(error, 'unsafe-path', target);
    expect(existsSync(target)).toBe(false);
  });

  it('a write through a symlink that points outside', async () => {
    const outside = join(work, 'outside-dir');
    mkdirSync(outside);
    const apk = await build(
      [
        { path: 'lib', type: 'symlink', mode: 0o777, linkTarget: outside },
        { path: 'lib/evil.so', type: 'file', mode: 0o755, content: 'pwned' },
      ],
      { keepOrder: true },
    );
    const { error } = await attempt(apk);
    expectReason(error, 'unsafe-path', 'lib/evil.so');
    expect(error.message).toMatch(/parent lib is a symlink/);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('a write through a relative symlink to a parent directory', async () => {
    const apk = await build(
      [
        { path: 'up', type: 'symlink', mode: 0o777, linkTarget: '../../..' },
        { path: 'up/escaped', type: 'file', mode: 0o644, content: 'x' },
      ],
      { keepOrder: true },
    );
    const { error, sandbox } = await attempt(apk);
    expectReason(error, 'unsafe-path', 'up/escaped');
    expect(existsSync(join(sandbox, 'escaped'))).toBe(false);
  });

  it('a file over an existing symlink (same path twice)', async () => {
    const victim = join(work, 'victim.txt');
    writeFileSync(victim, 'original');
    const apk = await build(
      [
        { path: 'etc', type: 'dir', mode: 0o755 },
        { path: 'etc/passwd', type: 'symlink', mode: 0o777, linkTarget: victim },
        { path: 'etc/passwd', type: 'file', mode: 0o644, content: 'root::0:0::/:/bin/sh\n' },
      ],
      { keepOrder: true },
    );
    const { error } = await attempt(apk);
    expectReason(error, 'unsafe-path', 'etc/passwd');
    expect(error.message).toMatch(/appears twice/);
    expect(existsSync(victim) && (await import('node:fs')).readFileSync(victim, 'utf8')).toBe('original');
  });

  it('a path under a device node or a file', async () => {
    const apk = await build(
      [
        { path: 'dev/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 },
        { path: 'dev/null/x', type: 'file', mode: 0o644, content: 'x' },
      ],
      { keepOrder: true },
    );
    expectReason((await attempt(apk)).error, 'unsafe-path', 'dev/null/x');
  });

  it('a hardlink to outside the tree', async () => {
    for (const linkTarget of ['../../../../etc/passwd', '/etc/passwd']) {
      const apk = await build([...base, { path: 'etc/passwd-link', type: 'hardlink', mode: 0o644, linkTarget }]);
      const { error } = await attempt(apk);
      expectReason(error, 'unsafe-link', 'etc/passwd-link');
      expect(error.message).toMatch(/points outside the tree/);
    }
  });

  it('a hardlink to an entry not seen yet, or to a symlink', async () => {
    const early = await build(
      [
        { path: 'a', type: 'hardlink', mode: 0o644, linkTarget: 'b' },
        { path: 'b', type: 'file', mode: 0o644, content: 'b' },
      ],
      { keepOrder: true },
    );
    const { error } = await attempt(early);
    expectReason(error, 'unsafe-link', 'a');
    expect(error.message).toMatch(/not seen before/);

    const toSymlink = await build(
      [
        { path: 'l', type: 'symlink', mode: 0o777, linkTarget: '/etc/shadow' },
        { path: 'm', type: 'hardlink', mode: 0o644, linkTarget: 'l' },
      ],
      { keepOrder: true },
    );
    expectReason((await attempt(toSymlink)).error, 'unsafe-link', 'm');
  });

  it('a control member that is not the one the index lists', async () => {
    const apk = await build(base);
    const other = await build([...base, { path: 'etc/more', type: 'file', mode: 0o644, content: 'more' }]);
    const { error } = await attempt(apk, { checksum: other.checksum });
    expectReason(error, 'control-checksum');
    expect(error.message).toContain(other.checksum);
  });

  it('a data member that does not match datahash', async () => {
    const other = await build([...base, { path: 'etc/rootkit', type: 'file', mode: 0o755, content: 'evil' }]);
    const swapped = await build(base, { replaceData: () => Buffer.from(other.bytes.subarray(...other.members.data)) });
    const { error } = await attempt(swapped);
    expectReason(error, 'data-checksum');

    const lying = await build(base, { editPkgInfo: (text) => text.replace(/datahash = [0-9a-f]+/, `datahash = ${'0'.repeat(64)}`) });
    expectReason((await attempt(lying)).error, 'data-checksum');
  });

  it('a file or symlink whose APK-TOOLS.checksum.SHA1 does not match', async () => {
    const file = await build([...base, { path: 'etc/tampered', type: 'file', mode: 0o644, content: 'x', checksum: 'ab'.repeat(20) }]);
    const { error } = await attempt(file);
    expectReason(error, 'file-checksum', 'etc/tampered');
    const link = await build([...base, { path: 'etc/l', type: 'symlink', mode: 0o777, linkTarget: 'ok.conf', checksum: 'cd'.repeat(20) }]);
    expectReason((await attempt(link)).error, 'file-checksum', 'etc/l');
  });

  it('a bad signature: corrupt bytes, or a key that only borrows a trusted name', async () => {
    const flipped = await build(base, { overrideSignature: (sig) => Buffer.concat([Buffer.from([sig[0] ^ 0x80]), sig.subarray(1)]) });
    const { error } = await attempt(flipped);
    expectReason(error, 'signature-bad');
    expect(error.message).toContain(demoSigner().keyName);
    const impostor = await build(base, { signers: [generateSigner(demoSigner().keyName).signer] });
    expectReason((await attempt(impostor)).error, 'signature-bad');
  });

  it('a signature by an unknown key, and no signature at all', async () => {
    const stranger = await build(base, { signers: [generateSigner('mallory-deadbeef.rsa.pub').signer] });
    const { error } = await attempt(stranger);
    expectReason(error, 'signature-unknown-key');
    expect(error.message).toContain('mallory-deadbeef.rsa.pub');
    const unsigned = await build(base, { signers: [] });
    expectReason((await attempt(unsigned)).error, 'signature-missing');
  });

  it('a truncated gzip member (data or control), even when the size agrees', async () => {
    const apk = await build([...base, { path: 'big', type: 'file', mode: 0o644, content: Buffer.alloc(200000, 9) }]);
    for (const cut of [apk.bytes.length - 9, apk.members.data[0] + 40, apk.members.control[0] + 30]) {
      const bytes = apk.bytes.subarray(0, cut);
      const { error } = await attempt(apk, { bytes, size: bytes.length });
      expectReason(error, 'gzip');
      expect(error.message).toMatch(/truncated|ends inside/);
    }
  });

  it('a file with more data than the index declares, or less', async () => {
    const apk = await build(base);
    const longer = Buffer.concat([apk.bytes, Buffer.alloc(4096, 1)]);
    const { error } = await attempt(apk, { bytes: longer, size: apk.bytes.length });
    expectReason(error, 'size');
    expect(error.message).toMatch(/more data than the \d+ the index declares/);
    const shorter = apk.bytes.subarray(0, apk.bytes.length - 100);
    expectReason((await attempt(apk, { bytes: shorter, size: apk.bytes.length })).error, 'size');
  });

  it('trailing bytes after the data member, even when the size agrees', async () => {
    const apk = await build(base);
    const bytes = Buffer.concat([apk.bytes, Buffer.from('appended garbage')]);
    const { error } = await attempt(apk, { bytes });
    expectReason(error, 'gzip');
  });

  it('a decompression bomb: 1 KiB of declared installed size, 64 MiB unpacked, validly signed', async () => {
    const apk = await build([...base, { path: 'bomb', type: 'file', mode: 0o644, content: Buffer.alloc(64 << 20) }], {
      editPkgInfo: (text) => text.replace(/^size = \d+$/m, 'size = 1024'),
    });
    expect(apk.members.data[1] - apk.members.data[0]).toBeLessThan(128 << 10); // real gzip, about 64 KiB
    const { error, sandbox } = await attempt(apk);
    expectReason(error, 'unpacked-size');
    expect(error.message).toMatch(
      /^evil-6\.6\.6-r0: the data member unpacks to more than \d+ bytes, past what its declared installed size of 1024 bytes allows \(\.PKGINFO size\): refusing a possible decompression bomb$/,
    );
    // Refused at the entry's header: not one byte of it was written.
    expect(existsSync(join(sandbox, 'out', 'root', 'bomb'))).toBe(false);
    expect(treeBytes(join(sandbox, 'out'))).toBeLessThan(64 << 10);
  });

  it('a control segment that unpacks to 64 MiB', async () => {
    const apk = await build(base, { editPkgInfo: (text) => text + `# ${'x'.repeat(64 << 20)}\n` });
    const { error, sandbox } = await attempt(apk);
    expectReason(error, 'unpacked-size');
    expect(error.message).toContain('evil-6.6.6-r0: the signature and control segments unpack to more than 16777216 bytes');
    expect(readdirSync(join(sandbox, 'out'))).toEqual([]);
  });

  it('a declared installed size over the ceiling, unless the variant raises it', async () => {
    const apk = await build([...base, { path: 'big', type: 'file', mode: 0o644, content: Buffer.alloc(3 << 20, 7) }]);
    const { error } = await attempt(apk, { maxUnpackedBytes: 2 << 20 });
    expectReason(error, 'unpacked-size');
    expect(error.message).toMatch(
      /evil-6\.6\.6-r0: \.PKGINFO declares an installed size of \d+ bytes, more than the 2097152 bytes a package may unpack to \(alpine\.max_unpacked_size in the variant\): raise it if this package is really that large/,
    );
    // Lying low does not help: the data member is held to the ceiling too.
    const low = await build([...base, { path: 'big', type: 'file', mode: 0o644, content: Buffer.alloc(3 << 20, 7) }], {
      editPkgInfo: (text) => text.replace(/^size = \d+$/m, `size = ${2 << 20}`),
    });
    expect((await attempt(low, { maxUnpackedBytes: 2 << 20 })).error.message).toContain(
      'the data member unpacks to more than 2097152 bytes, the most a package may unpack to (alpine.max_unpacked_size in the variant)',
    );
  });

  it('a .PKGINFO for another package than the index lists', async () => {
    const apk = await build(base, {}, 'evil');
    const { error } = await attempt(apk, { name: 'coreutils' });
    expect(error.reason).toBe('pkginfo');
    expect(error.message).toMatch(/\.PKGINFO is for evil-6\.6\.6-r0, the index says coreutils-6\.6\.6-r0/);
  });
});

describe('the unpacked-size bound does not refuse honest packages', () => {
  it('thousands of symlinks, empty files and hardlinks (du counts nothing for them; tar a header each)', async () => {
    const files: ApkFileSpec[] = [
      { path: 'usr/share/zoneinfo', type: 'dir', mode: 0o755 },
      { path: 'usr/share/zoneinfo/UTC', type: 'file', mode: 0o644, content: 'TZif2' },
    ];
    for (let i = 0; i < 1500; i++) {
      files.push({ path: `usr/share/zoneinfo/link-${i}`, type: 'symlink', mode: 0o777, linkTarget: 'UTC' });
      files.push({ path: `usr/share/zoneinfo/empty-${i}`, type: 'file', mode: 0o644, content: '' });
      files.push({ path: `usr/share/zoneinfo/hard-${i}`, type: 'hardlink', mode: 0o644, linkTarget: 'usr/share/zoneinfo/UTC' });
    }
    const apk = await build(files, {}, 'tzlinks');
    // abuild's du-like size: the root, one directory and one 4 KiB block for UTC; the tar holds a
    // header (and a pax header) for each of the 4,502 entries.
    expect(apk.installedSize).toBe(3 * 4096);
    expect(gunzipSync(apk.bytes.subarray(...apk.members.data)).length).toBeGreaterThan(400 * apk.installedSize);
    const apkPath = join(work, 'honest-links.apk');
    writeFileSync(apkPath, apk.bytes);
    const out = join(work, 'honest-links');
    mkdirSync(out);
    const result = await unpackApk({
      apkPath,
      expected: { name: 'tzlinks', version: apk.version, size: apk.bytes.length, checksum: apk.checksum },
      keys,
      outDir: out,
    });
    expect(result.stats.entries).toBe(4502);
  });
});
