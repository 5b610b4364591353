// Hostile packages, each written byte for byte by craft.ts (the twins of test/apk-package's),
// each refused with the right reason, naming the package and entry, never writing outside the
// output directory, and leaving nothing behind in it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyringFiles, type PgpKeyring } from '../../formats/openpgp/index.js';
import { RpmPackageError, unpackRpm, type RpmRejectReason, type UnpackRpmOptions } from '../../stages/sources/rpm/package.js';
import { craftRpm, type CraftedRpm, type CraftFile, type CraftMember, type CraftOptions } from './craft.js';
import { makeGpgSigner, type GpgSigner } from './gpg-signer.js';

const work = mkdtempSync(join(tmpdir(), 'rpm-hostile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let counter = 0;
let trusted: GpgSigner;
let stranger: GpgSigner;
let keyring: PgpKeyring;

beforeAll(() => {
  trusted = makeGpgSigner('ed25519', 'Trusted Packager <trusted@example.invalid>');
  stranger = makeGpgSigner('ed25519', 'Mallory <mallory@example.invalid>');
}, 60_000);
beforeAll(async () => {
  keyring = await loadKeyringFiles([trusted.publicKeyFile]);
});

const base: CraftFile[] = [
  { path: '/etc', type: 'dir' },
  { path: '/etc/ok.conf', type: 'file', content: 'fine\n', flags: 1 },
];

function craft(files: CraftFile[], options: Partial<CraftOptions> = {}): CraftedRpm {
  return craftRpm({ files, sign: (header) => ({ 267: trusted.sign(header) }), ...options });
}

interface Attempt {
  error: RpmPackageError;
  sandbox: string;
  out: string;
}

/** Unpacks into <sandbox>/out, where <sandbox> sits three levels below `work`. */
async function attempt(rpm: CraftedRpm, override: { bytes?: Buffer; options?: Partial<UnpackRpmOptions> } = {}): Promise<Attempt> {
  const sandbox = join(work, `case-${++counter}`, 'a', 'b');
  const out = join(sandbox, 'out');
  mkdirSync(out, { recursive: true });
  const rpmPath = join(work, `case-${counter}.rpm`);
  writeFileSync(rpmPath, override.bytes ?? rpm.bytes);
  const error = await unpackRpm({
    rpmPath,
    expected: { name: rpm.name, evr: rpm.evr, arch: rpm.arch },
    keyring,
    outDir: out,
    ...override.options,
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof RpmPackageError)) throw new Error(`expected an RpmPackageError, got ${String(error)}`);
  // Nothing escaped: the sandbox and everything above it up to `work` hold only what we made.
  expect(readdirSync(sandbox)).toEqual(['out']);
  expect(readdirSync(join(sandbox, '..'))).toEqual(['b']);
  expect(readdirSync(join(sandbox, '..', '..'))).toEqual(['a']);
  // And nothing of the refused package is kept.
  expect(readdirSync(out)).toEqual([]);
  return { error, sandbox, out };
}

function expectReason(error: RpmPackageError, reason: RpmRejectReason, entry?: string): void {
  expect(error.reason, error.message).toBe(reason);
  expect(error.message).toContain('evil-6.6.6-1.x86_64');
  if (entry !== undefined) {
    expect(error.entry).toBe(entry);
    expect(error.message).toContain(JSON.stringify(entry));
  }
}

describe('the crafted packages are real RPMs', () => {
  it('rpm reads an honest crafted package, and rpm2cpio | cpio unpacks it', () => {
    const rpm = craft([...base, { path: '/usr/bin/tool', type: 'file', mode: 0o755, content: '#!/bin/sh\n' }]);
    const path = join(work, 'honest.rpm');
    writeFileSync(path, rpm.bytes);
    const listed = execFileSync('rpm', ['-qp', '--nosignature', '--qf', '[%{FILENAMES} %{FILEMODES:octal}\n]', path]).toString();
    expect(listed).toBe('/etc 40755\n/etc/ok.conf 100644\n/usr/bin/tool 100755\n');
    const checked = execFileSync('rpmkeys', ['--checksig', '--nosignature', path]).toString();
    expect(checked).toMatch(/digests OK/);
  });
});

describe('hostile packages are refused', () => {
  it('a header path with ..', async () => {
    const rpm = craft([...base, { path: '/etc/../../../../escaped', type: 'file', content: 'x' }]);
    const { error, sandbox } = await attempt(rpm);
    expectReason(error, 'unsafe-path', '/etc/../../../../escaped');
    expect(existsSync(join(sandbox, 'escaped'))).toBe(false);
  });

  it('a relative header path, and a payload member with an absolute or .. path', async () => {
    expectReason((await attempt(craft([...base, { path: 'etc/relative', type: 'file', content: 'x' }]))).error, 'unsafe-path', 'etc/relative');
    const target = join(work, 'absolute-escape');
    const absolute = craft(base, {
      members: [({ name: './etc', mode: 0o40755 }), ({ name: target, mode: 0o100644, data: 'fine\n' })],
    });
    expectReason((await attempt(absolute)).error, 'unsafe-path', target);
    expect(existsSync(target)).toBe(false);
    const dotdot = craft(base, { members: [({ name: './etc/../../../escaped', mode: 0o100644, data: 'x' })] });
    expectReason((await attempt(dotdot)).error, 'unsafe-path', './etc/../../../escaped');
  });

  it('a write through a symlink that points outside', async () => {
    const outside = join(work, 'outside-dir');
    mkdirSync(outside);
    const rpm = craft([
      { path: '/lib', type: 'symlink', target: outside },
      { path: '/lib/evil.so', type: 'file', mode: 0o755, content: 'pwned' },
    ]);
    const { error } = await attempt(rpm);
    expectReason(error, 'unsafe-path', '/lib/evil.so');
    expect(error.message).toMatch(/parent lib is a symlink/);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('a write through a relative symlink to a parent directory (lib -> usr/lib style, but upwards)', async () => {
    const rpm = craft([
      { path: '/up', type: 'symlink', target: '../../..' },
      { path: '/up/escaped', type: 'file', content: 'x' },
    ]);
    const { error, sandbox } = await attempt(rpm);
    expectReason(error, 'unsafe-path', '/up/escaped');
    expect(existsSync(join(sandbox, 'escaped'))).toBe(false);
  });

  it('a file over a symlink: the same path twice in the header, or twice in the payload', async () => {
    const victim = join(work, 'victim.txt');
    writeFileSync(victim, 'original');
    const twice = craft([
      { path: '/etc', type: 'dir' },
      { path: '/etc/passwd', type: 'symlink', target: victim },
      { path: '/etc/passwd', type: 'file', content: 'root::0:0::/:/bin/sh\n' },
    ]);
    const { error } = await attempt(twice);
    expectReason(error, 'unsafe-path', '/etc/passwd');
    expect(error.message).toMatch(/twice/);
    expect(readFileSync(victim, 'utf8')).toBe('original');

    const member: CraftMember = { name: './etc/ok.conf', mode: 0o100644, data: 'fine\n' };
    const repeated = craft(base, { members: [({ name: './etc', mode: 0o40755 }), member, member] });
    const second = (await attempt(repeated)).error;
    expectReason(second, 'payload', './etc/ok.conf');
    expect(second.message).toMatch(/appears twice/);
  });

  it('a payload member whose type is not the header\'s: a symlink delivered as a file', async () => {
    const rpm = craft([{ path: '/etc', type: 'dir' }, { path: '/etc/l', type: 'symlink', target: 'ok' }], {
      members: [({ name: './etc', mode: 0o40755 }), ({ name: './etc/l', mode: 0o100644, data: 'ok' })],
    });
    expectReason((await attempt(rpm)).error, 'payload', './etc/l');
  });

  it('a symlink whose payload target differs from the header\'s FILELINKTOS', async () => {
    const rpm = craft([{ path: '/l', type: 'symlink', target: 'usr/lib' }], {
      members: [({ name: './l', mode: 0o120777, data: '/etc/shadow' })],
    });
    const { error } = await attempt(rpm);
    expectReason(error, 'payload', './l');
    expect(error.message).toContain('/etc/shadow');
  });

  it('a path under a device node or a file', async () => {
    const rpm = craft([
      { path: '/dev', type: 'dir' },
      { path: '/dev/null', type: 'char', mode: 0o666, rdev: 0x0103 },
      { path: '/dev/null/x', type: 'file', content: 'x' },
    ]);
    expectReason((await attempt(rpm)).error, 'unsafe-path', '/dev/null/x');
  });

  it('a hardlink set reaching outside the tree, or carrying its data twice', async () => {
    const outside = craft([...base, { path: '/etc/a', type: 'file', content: 'same', inode: 7 }, { path: '/../../etc/passwd', type: 'file', content: 'same', inode: 7 }]);
    expectReason((await attempt(outside)).error, 'unsafe-path', '/../../etc/passwd');

    const files: CraftFile[] = [...base, { path: '/etc/a', type: 'file', content: 'same', inode: 7 }, { path: '/etc/b', type: 'file', content: 'same', inode: 7 }];
    const doubled = craft(files, {
      members: [
        ({ name: './etc', mode: 0o40755 }),
        ({ name: './etc/ok.conf', mode: 0o100644, data: 'fine\n' }),
        ({ name: './etc/a', mode: 0o100644, data: 'same', nlink: 2, ino: 7 }),
        ({ name: './etc/b', mode: 0o100644, data: 'same', nlink: 2, ino: 7 }),
      ],
    });
    const { error } = await attempt(doubled);
    expectReason(error, 'payload', './etc/b');
    expect(error.message).toMatch(/carries its data twice/);
  });

  it('a payload member the header does not list, a header file missing from the payload, a %ghost with data', async () => {
    const extra = craft(base, {
      members: [
        ({ name: './etc', mode: 0o40755 }),
        ({ name: './etc/ok.conf', mode: 0o100644, data: 'fine\n' }),
        ({ name: './etc/rootkit', mode: 0o104755, data: 'evil' }),
      ],
    });
    const unlisted = (await attempt(extra)).error;
    expectReason(unlisted, 'payload', './etc/rootkit');
    expect(unlisted.message).toMatch(/not listed in the header/);

    const missing = craft(base, { members: [({ name: './etc', mode: 0o40755 })] });
    const gone = (await attempt(missing)).error;
    expectReason(gone, 'payload', '/etc/ok.conf');
    expect(gone.message).toMatch(/missing from the payload/);

    const ghost = craft([...base, { path: '/etc/ghost', type: 'file', flags: 64, size: 0, digest: '' }], {
      members: [
        ({ name: './etc', mode: 0o40755 }),
        ({ name: './etc/ok.conf', mode: 0o100644, data: 'fine\n' }),
        ({ name: './etc/ghost', mode: 0o100644, data: 'boo' }),
      ],
    });
    expectReason((await attempt(ghost)).error, 'payload', './etc/ghost');
  });

  it('a payload member larger than the header says', async () => {
    const rpm = craft(base, {
      members: [({ name: './etc', mode: 0o40755 }), ({ name: './etc/ok.conf', mode: 0o100644, data: 'fine, and much longer\n' })],
    });
    const { error } = await attempt(rpm);
    expectReason(error, 'payload', './etc/ok.conf');
    expect(error.message).toMatch(/header says 5/);
  });

  it('a payload that does not match PAYLOADDIGEST: swapped, or a lying digest', async () => {
    const other = craft([...base, { path: '/etc/rootkit', type: 'file', mode: 0o755, content: 'evil' }]);
    const swapped = craft(base, { replacePayload: () => other.bytes.subarray(other.payloadOffset), sigSize: null });
    const { error } = await attempt(swapped);
    expectReason(error, 'payload-digest');
    expect(error.message).toMatch(/PAYLOADDIGEST 5092/);
    const lying = craft(base, { payloadDigest: '0'.repeat(64) });
    expectReason((await attempt(lying)).error, 'payload-digest');
  });

  it('an uncompressed payload that does not match its digest (5097)', async () => {
    const rpm = craft(base, { payloadDigestAlt: 'cd'.repeat(32) });
    const { error } = await attempt(rpm);
    expectReason(error, 'payload-digest');
    expect(error.message).toMatch(/uncompressed payload digest [0-9a-f]{64} differs from the header's (cd)+ \(tag 5097\)/);
  });

  it('a file whose content does not match FILEDIGESTS', async () => {
    const rpm = craft([...base, { path: '/etc/tampered', type: 'file', content: 'x', digest: 'ab'.repeat(32) }]);
    const { error } = await attempt(rpm);
    expectReason(error, 'file-digest', './etc/tampered');
    expect(error.message).toContain('ab'.repeat(32));
  });

  it('a header changed after signing: the SHA-256 header digest, then the signature, refuse it', async () => {
    const flipMode = (header: Buffer): Buffer => {
      const copy = Buffer.from(header);
      const at = copy.indexOf(Buffer.from([0x81, 0xa4])); // 0100644 -> 0104755 (setuid)
      copy.writeUInt16BE(0o104755, at);
      return copy;
    };
    const tampered = craft(base, { tamperHeader: flipMode });
    expectReason((await attempt(tampered)).error, 'header-digest');
    // The digest recomputed by the attacker too: the signature no longer matches.
    const tamperedHeader = tampered.bytes.subarray(tampered.headerOffset, tampered.payloadOffset);
    const fixed = craft(base, { tamperHeader: flipMode, headerDigest: createSha256(tamperedHeader) });
    const { error } = await attempt(fixed);
    expectReason(error, 'signature-bad');
  });

  it('a bad signature, a signature by an unknown key, and no signature at all', async () => {
    const flipped = craft(base, {
      sign: (header) => {
        const packet = trusted.sign(header);
        packet[packet.length - 5] ^= 0x40;
        return { 267: packet };
      },
    });
    expectReason((await attempt(flipped)).error, 'signature-bad');
    const unknown = craft(base, { sign: (header) => ({ 267: stranger.sign(header) }) });
    const { error } = await attempt(unknown);
    expectReason(error, 'signature-unknown-key');
    expect(error.message).toContain(stranger.fingerprint.slice(-16));
    const unsigned = craft(base, { sign: undefined });
    expectReason((await attempt(unsigned)).error, 'signature-missing');
    // A good signature does not carry a bad one beside it.
    const mixed = craft(base, { sign: (header) => ({ 267: trusted.sign(header), 268: Buffer.from(trusted.sign(Buffer.from('other'))) }) });
    expectReason((await attempt(mixed)).error, 'signature-bad');
  });

  it('truncation anywhere: lead, signature header, main header, payload', async () => {
    const rpm = craft([...base, { path: '/big', type: 'file', content: Buffer.alloc(200000, 9) }]);
    const cuts = [50, rpm.signatureOffset + 10, rpm.signatureOffset + 40, rpm.headerOffset + 8, rpm.headerOffset + 100, rpm.payloadOffset + 40, rpm.bytes.length - 9];
    for (const cut of cuts) {
      const { error } = await attempt(rpm, { bytes: rpm.bytes.subarray(0, cut) });
      expectReason(error, 'truncated');
      expect(error.message).toMatch(/truncated|ends inside/);
    }
    // Without the declared size (signature tag 1000, absent in rpm >= 4.16 packages), the payload
    // digest catches it; without that too, the decompressor or the cpio reader does.
    const noSize = craft([...base, { path: '/big', type: 'file', content: Buffer.alloc(200000, 9) }], { sigSize: null });
    expectReason((await attempt(noSize, { bytes: noSize.bytes.subarray(0, noSize.bytes.length - 9) })).error, 'payload-digest');
  });

  it('trailing bytes after the payload', async () => {
    const rpm = craft(base);
    const bytes = Buffer.concat([rpm.bytes, Buffer.from('appended garbage')]);
    expectReason((await attempt(rpm, { bytes })).error, 'size');
    const noSize = craft(base, { sigSize: null });
    expectReason((await attempt(noSize, { bytes: Buffer.concat([noSize.bytes, Buffer.from('x')]) })).error, 'payload-digest');
  });

  it('a decompression bomb: 1 KiB of declared installed size, 64 MiB unpacked, validly signed', async () => {
    const bomb = Buffer.alloc(64 << 20);
    // The header is honest about the file: refused before anything is unpacked.
    const honest = craft([...base, { path: '/bomb', type: 'file', content: bomb }], { installedSize: 1024 });
    expect(honest.bytes.length - honest.payloadOffset).toBeLessThan(128 << 10);
    const { error, out } = await attempt(honest);
    expectReason(error, 'unpacked-size');
    expect(error.message).toMatch(
      /^evil-6\.6\.6-1\.x86_64: its files hold \d+ bytes, past what its declared installed size of 1024 bytes allows \(SIZE\): refusing a possible decompression bomb$/,
    );
    expect(readdirSync(out)).toEqual([]);
    // The header lies about the file too (1 KiB): the cpio member's size is refused at its header.
    const lying = craft([...base, { path: '/bomb', type: 'file', content: bomb, size: 1024, digest: createSha256(bomb) }], { installedSize: 1024 });
    const second = await attempt(lying);
    expectReason(second.error, 'unpacked-size');
    expect(second.error.message).toMatch(/the payload unpacks to more than \d+ bytes, past what its declared installed size of 1024 bytes allows/);
    // Tag 1007 (exact payload size) lying small: refused past it.
    const exact = craft([...base, { path: '/bomb', type: 'file', content: bomb }], { payloadSize: 4096 });
    expectReason((await attempt(exact)).error, 'unpacked-size');
  });

  it('a declared installed size over the ceiling, unless the variant raises it', async () => {
    const content = Buffer.alloc(3 << 20, 7);
    const rpm = craft([...base, { path: '/big', type: 'file', content }]);
    const { error } = await attempt(rpm, { options: { maxUnpackedBytes: 2 << 20 } });
    expectReason(error, 'unpacked-size');
    expect(error.message).toMatch(
      /evil-6\.6\.6-1\.x86_64: the header declares an installed size of \d+ bytes, more than the 2097152 bytes a package may unpack to \(rpm\.max_unpacked_size in the variant\): raise it if this package is really that large/,
    );
    const low = craft([...base, { path: '/big', type: 'file', content }], { installedSize: 2 << 20 });
    expect((await attempt(low, { options: { maxUnpackedBytes: 2 << 20 } })).error.message).toContain('more than the 2097152 bytes a package may unpack to (rpm.max_unpacked_size');
  });

  it('a header for another package than the one asked for', async () => {
    const rpm = craft(base);
    const { error } = await attempt(rpm, { options: { expected: { name: 'coreutils', evr: rpm.evr, arch: 'x86_64' } } });
    expect(error.reason).toBe('identity');
    expect(error.message).toBe('coreutils-6.6.6-1.x86_64: the header names evil-6.6.6-1.x86_64, not the package asked for');
  });

  it('an RPM v3 header (no region tag), and a region trailer that lies', async () => {
    const v3 = craft(base, { noRegion: true, sign: undefined });
    const { error } = await attempt(v3, { options: { expected: undefined } });
    expect(error.reason).toBe('format');
    expect(error.message).toMatch(/no HEADERSIGNATURES \(62\) region .*RPM v3 header, not supported/);
    const rpm = craft(base);
    const bytes = Buffer.from(rpm.bytes);
    // The main header's trailer: its offset says the region covers one entry less.
    const intro = rpm.headerOffset;
    const nindex = bytes.readUInt32BE(intro + 8);
    const dlen = bytes.readUInt32BE(intro + 12);
    const trailer = intro + 16 + nindex * 16 + dlen - 16;
    bytes.writeInt32BE(-(nindex - 1) * 16, trailer + 8);
    const lie = await attempt(rpm, { bytes });
    expect(lie.error.reason).toBe('format');
    expect(lie.error.message).toMatch(/region covers/);
  });
});

describe('header-only entries', () => {
  it('devices and fifos exist only in the manifest, directories come from the header', async () => {
    const rpm = craft([
      { path: '/dev', type: 'dir', mode: 0o755, user: 'root' },
      { path: '/dev/null', type: 'char', mode: 0o666, rdev: 0x0103 },
      { path: '/dev/sda', type: 'block', mode: 0o660, rdev: 0x0800, group: 'disk' },
      { path: '/run/initctl', type: 'fifo', mode: 0o600 },
      { path: '/var/empty', type: 'dir', mode: 0o711 },
    ]);
    const rpmPath = join(work, 'devices.rpm');
    writeFileSync(rpmPath, rpm.bytes);
    const out = join(work, 'devices');
    mkdirSync(out);
    const result = await unpackRpm({ rpmPath, keyring, outDir: out });
    expect(result.manifest.entries.map(({ path, type, mode, devmajor, devminor, gname }) => ({ path, type, mode, devmajor, devminor, gname }))).toEqual([
      { path: 'dev', type: 'dir', mode: 0o755, devmajor: undefined, devminor: undefined, gname: 'root' },
      { path: 'dev/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3, gname: 'root' },
      { path: 'dev/sda', type: 'block', mode: 0o660, devmajor: 8, devminor: 0, gname: 'disk' },
      { path: 'run/initctl', type: 'fifo', mode: 0o600, devmajor: undefined, devminor: undefined, gname: 'root' },
      { path: 'var/empty', type: 'dir', mode: 0o711, devmajor: undefined, devminor: undefined, gname: 'root' },
    ]);
    expect(readdirSync(join(out, 'root', 'dev'))).toEqual([]);
    expect(statSync(join(out, 'root', 'var/empty')).mode & 0o777).toBe(0o711);
  });
});

describe('the unpacked-size bound does not refuse honest packages', () => {
  it('thousands of symlinks, empty files and hardlinks', async () => {
    const files: CraftFile[] = [
      { path: '/usr', type: 'dir' },
      { path: '/usr/share', type: 'dir' },
      { path: '/usr/share/zoneinfo', type: 'dir' },
      { path: '/usr/share/zoneinfo/UTC', type: 'file', content: 'TZif2', inode: 1 },
    ];
    for (let i = 0; i < 1500; i++) {
      files.push({ path: `/usr/share/zoneinfo/link-${i}`, type: 'symlink', target: 'UTC' });
      files.push({ path: `/usr/share/zoneinfo/empty-${i}`, type: 'file', content: '' });
      files.push({ path: `/usr/share/zoneinfo/hard-${i}`, type: 'file', content: 'TZif2', inode: 1 });
    }
    const rpm = craft(files, { name: 'tzlinks' });
    const rpmPath = join(work, 'honest-links.rpm');
    writeFileSync(rpmPath, rpm.bytes);
    const out = join(work, 'honest-links');
    mkdirSync(out);
    const result = await unpackRpm({ rpmPath, keyring, outDir: out });
    expect(result.stats.entries).toBe(4504);
    expect(result.manifest.entries.filter((e) => e.type === 'hardlink')).toHaveLength(1500);
    expect(statSync(join(out, 'root/usr/share/zoneinfo/UTC')).nlink).toBe(1501);
  });
});

function createSha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
