// formats/tar.ts against GNU tar and mksquashfs: what we write they read, what they write we read.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  encodePax,
  readBody,
  readTar,
  TarFormatError,
  TarSizeLimitError,
  writeTarToBuffer,
  type TarEntry,
  type TarWriteEntry,
} from '../../formats/tar.js';

const work = mkdtempSync(join(tmpdir(), 'tar-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function readAll(source: Buffer, options = {}): Promise<Array<Omit<TarEntry, 'body'> & { data: Buffer }>> {
  const out = [];
  for await (const entry of readTar(source, options)) {
    const { body: _body, ...rest } = entry;
    out.push({ ...rest, data: await readBody(entry) });
  }
  return out;
}

const longDir = 'usr/share/' + 'd'.repeat(60) + '/' + 'e'.repeat(60);
const veryLong = 'x/'.repeat(100) + 'leaf-file-with-a-long-name.txt';

const sample: TarWriteEntry[] = [
  { path: 'etc', type: 'dir', mode: 0o755, uname: 'root', gname: 'root', mtime: 1700000000 },
  {
    path: 'etc/shadow',
    type: 'file',
    mode: 0o640,
    uid: 0,
    gid: 42,
    uname: 'root',
    gname: 'shadow',
    mtime: 1700000000,
    body: 'root:*::0:::::\n',
  },
  { path: 'usr/bin/setuid', type: 'file', mode: 0o4755, mtime: 1700000000, body: Buffer.alloc(1000, 7) },
  { path: 'usr/bin/hard', type: 'hardlink', mode: 0o4755, linkTarget: 'usr/bin/setuid', mtime: 1700000000 },
  { path: 'bin/sh', type: 'symlink', mode: 0o777, linkTarget: '/bin/busybox', mtime: 1700000000 },
  { path: 'dev/console', type: 'char', mode: 0o600, devmajor: 5, devminor: 1, mtime: 1700000000 },
  { path: 'dev/sda', type: 'block', mode: 0o660, gid: 6, gname: 'disk', devmajor: 8, devminor: 0, mtime: 1700000000 },
  { path: 'run/fifo', type: 'fifo', mode: 0o644, mtime: 1700000000 },
  { path: `${longDir}/file.txt`, type: 'file', mode: 0o644, mtime: 1700000000, body: 'prefix split\n' },
  { path: veryLong, type: 'file', mode: 0o644, mtime: 1700000000, body: 'pax path\n' },
  { path: 'lnk', type: 'symlink', mode: 0o777, linkTarget: 'y/'.repeat(70) + 'target', mtime: 1700000000 },
  {
    path: 'usr/bin/ping',
    type: 'file',
    mode: 0o755,
    mtime: 1700000000,
    body: 'ELF',
    xattrs: { 'security.capability': Buffer.from([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) },
    pax: [['APK-TOOLS.checksum.SHA1', createHash('sha1').update('ELF').digest('hex')]],
  },
];

describe('tar writer and reader', () => {
  it('round-trips every entry type, owner, device, long names, pax records and xattrs', async () => {
    const tar = await writeTarToBuffer(sample, { format: 'posix' });
    expect(tar.length % 512).toBe(0);
    const entries = await readAll(tar);
    expect(entries.map((e) => e.path)).toEqual(sample.map((e) => e.path));
    const byPath = new Map(entries.map((e) => [e.path, e]));
    expect(byPath.get('etc/shadow')).toMatchObject({ type: 'file', mode: 0o640, gid: 42, gname: 'shadow', uname: 'root' });
    expect(byPath.get('etc/shadow')!.data.toString()).toBe('root:*::0:::::\n');
    expect(byPath.get('usr/bin/setuid')).toMatchObject({ mode: 0o4755, size: 1000 });
    expect(byPath.get('usr/bin/hard')).toMatchObject({ type: 'hardlink', linkTarget: 'usr/bin/setuid' });
    expect(byPath.get('bin/sh')).toMatchObject({ type: 'symlink', linkTarget: '/bin/busybox' });
    expect(byPath.get('dev/console')).toMatchObject({ type: 'char', devmajor: 5, devminor: 1 });
    expect(byPath.get('dev/sda')).toMatchObject({ type: 'block', devmajor: 8, devminor: 0, gname: 'disk' });
    expect(byPath.get('run/fifo')!.type).toBe('fifo');
    expect(byPath.get(veryLong)!.data.toString()).toBe('pax path\n');
    expect(byPath.get('lnk')!.linkTarget).toBe('y/'.repeat(70) + 'target');
    const ping = byPath.get('usr/bin/ping')!;
    expect(ping.pax['APK-TOOLS.checksum.SHA1']).toBe(createHash('sha1').update('ELF').digest('hex'));
    expect(ping.xattrs['security.capability']).toEqual(sample[11].xattrs!['security.capability']);
  });

  it('is deterministic and pads to the record size when asked', async () => {
    const a = await writeTarToBuffer(sample, { recordSize: 10240 });
    const b = await writeTarToBuffer(sample, { recordSize: 10240 });
    expect(a.equals(b)).toBe(true);
    expect(a.length % 10240).toBe(0);
  });

  it('writes archives GNU tar lists and extracts identically', async () => {
    const tar = await writeTarToBuffer(sample, { format: 'posix' });
    const file = join(work, 'ours.tar');
    writeFileSync(file, tar);
    const listing = execFileSync('tar', ['--warning=no-unknown-keyword', '--numeric-owner', '-tvf', file], { encoding: 'utf8' });
    expect(listing).toMatch(/^-rw-r----- 0\/42 +15 2023-11-14 22:13 etc\/shadow$/m);
    expect(listing).toMatch(/^-rwsr-xr-x 0\/0 +1000 .* usr\/bin\/setuid$/m);
    expect(listing).toMatch(/^hrwsr-xr-x .* usr\/bin\/hard link to usr\/bin\/setuid$/m);
    expect(listing).toMatch(/^crw------- 0\/0 +5,1 .* dev\/console$/m);
    expect(listing).toMatch(/^brw-rw---- 0\/6 +8,0 .* dev\/sda$/m);
    expect(listing).toMatch(/^prw-r--r-- .* run\/fifo$/m);
    expect(listing).toContain(veryLong);
    const dest = join(work, 'gnu-x');
    mkdirSync(dest);
    execFileSync('tar', ['--warning=no-unknown-keyword', '-xf', file, '-C', dest, '--exclude=dev/*', '--exclude=run/fifo']);
    expect(readFileSync(join(dest, veryLong), 'utf8')).toBe('pax path\n');
    expect(readlinkSync(join(dest, 'lnk'))).toBe('y/'.repeat(70) + 'target');
    expect(lstatSync(join(dest, 'usr/bin/hard')).ino).toBe(lstatSync(join(dest, 'usr/bin/setuid')).ino);
    expect(lstatSync(join(dest, 'etc/shadow')).gid).toBe(42);
  });

  it('reads what GNU tar writes in gnu, posix and ustar formats', async () => {
    const src = join(work, 'src');
    mkdirSync(join(src, longDir), { recursive: true });
    mkdirSync(join(src, veryLong.slice(0, veryLong.lastIndexOf('/'))), { recursive: true });
    writeFileSync(join(src, longDir, 'file.txt'), 'prefix split\n');
    writeFileSync(join(src, veryLong), 'pax path\n');
    symlinkSync('y/'.repeat(70) + 'target', join(src, 'lnk'));
    for (const format of ['gnu', 'posix', 'ustar']) {
      const file = join(work, `gnu-${format}.tar`);
      const members = format === 'ustar' ? ['usr'] : ['usr', 'x', 'lnk'];
      execFileSync('tar', [`--format=${format}`, '-cf', file, '-C', src, ...members]);
      const entries = await readAll(readFileSync(file));
      const paths = entries.map((e) => e.path);
      expect(paths, format).toContain(`${longDir}/file.txt`);
      expect(entries.find((e) => e.path === `${longDir}/file.txt`)!.data.toString()).toBe('prefix split\n');
      if (format !== 'ustar') {
        expect(entries.find((e) => e.path === veryLong)!.data.toString(), format).toBe('pax path\n');
        expect(entries.find((e) => e.path === 'lnk')!.linkTarget, format).toBe('y/'.repeat(70) + 'target');
      }
    }
  });

  it('feeds mksquashfs -tar: owners, setuid and devices come out exactly as given', async () => {
    const tar = await writeTarToBuffer(sample.filter((e) => !e.xattrs));
    const image = join(work, 'img.squashfs');
    execFileSync('mksquashfs', ['-', image, '-tar', '-noappend', '-quiet', '-no-progress'], { input: tar });
    const listing = execFileSync('unsquashfs', ['-lln', image], { encoding: 'utf8' });
    expect(listing).toMatch(/^-rw-r----- 0\/42 +15 .* squashfs-root\/etc\/shadow$/m);
    expect(listing).toMatch(/^-rwsr-xr-x 0\/0 +1000 .* squashfs-root\/usr\/bin\/setuid$/m);
    expect(listing).toMatch(/^crw------- 0\/0 +5, +1 .* squashfs-root\/dev\/console$/m);
    expect(listing).toMatch(/^brw-rw---- 0\/6 +8, +0 .* squashfs-root\/dev\/sda$/m);
    expect(listing).toMatch(/^lrwxrwxrwx 0\/0 .* squashfs-root\/bin\/sh -> \/bin\/busybox$/m);
  });

  it('streams: bodies arrive in pieces and unread bodies are skipped', async () => {
    const big = Buffer.alloc(3 << 20, 1);
    const tar = await writeTarToBuffer([
      { path: 'big', type: 'file', mode: 0o644, body: big },
      { path: 'after', type: 'file', mode: 0o644, body: 'x' },
    ]);
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let i = 0; i < tar.length; i += 4099) yield tar.subarray(i, i + 4099);
    }
    const seen: string[] = [];
    for await (const entry of readTar(chunks())) {
      seen.push(entry.path);
      if (entry.path === 'after') expect((await readBody(entry)).toString()).toBe('x');
    }
    expect(seen).toEqual(['big', 'after']);
  });

  it('rejects truncation, bad checksums, garbage after the end and unknown types', async () => {
    const tar = await writeTarToBuffer(sample.slice(0, 3));
    await expect(readAll(tar.subarray(0, tar.length - 1024))).rejects.toThrow(/ends without end-of-archive/);
    await expect(readAll(tar.subarray(0, 1024 + 700))).rejects.toThrow(TarFormatError);
    await expect(readAll(tar.subarray(0, 1024 + 700))).rejects.toThrow(/ends inside/);
    const corrupt = Buffer.from(tar);
    corrupt[10] ^= 0xff;
    await expect(readAll(corrupt)).rejects.toThrow(/header checksum mismatch/);
    const trailing = Buffer.concat([tar, Buffer.from('junk'), Buffer.alloc(508)]);
    await expect(readAll(trailing)).rejects.toThrow(/data after the end-of-archive/);
    const v = await writeTarToBuffer([{ path: 'a', type: 'file', mode: 0o644 }]);
    v[156] = 'V'.charCodeAt(0);
    fixChecksum(v.subarray(0, 512));
    await expect(readAll(v)).rejects.toThrow(/unsupported tar entry type 'V'/);
    // Cut segments (no end blocks) are fine when the caller says so.
    const cut = await writeTarToBuffer(sample.slice(0, 2), { endOfArchive: false });
    expect((await readAll(cut, { allowMissingEnd: true })).length).toBe(2);
    await expect(readAll(cut)).rejects.toThrow(/without end-of-archive/);
  });

  it('stops at a size limit before reading the body that would pass it; the limit may grow per entry', async () => {
    const entries: TarWriteEntry[] = [
      { path: 'a', type: 'file', mode: 0o644, mtime: 0, body: 'small' },
      { path: 'big', type: 'file', mode: 0o644, mtime: 0, body: Buffer.alloc(1 << 20, 1) },
    ];
    const tar = await writeTarToBuffer(entries, { format: 'gnu' });
    const seen: string[] = [];
    const error = await (async () => {
      for await (const entry of readTar(tar, { label: 'x.tar', maxBytes: 64 << 10 })) seen.push(entry.path);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TarSizeLimitError);
    expect((error as TarSizeLimitError).limit).toBe(64 << 10);
    expect((error as Error).message).toBe(`x.tar: unpacks to more than 65536 bytes (entry "big" ends at byte ${1024 + 512 + (1 << 20)})`);
    // The entry before it was read; the big one was never handed out.
    expect(seen).toEqual(['a']);

    // Per entry: 1 KiB allowed for each entry so far (a header and a padded body each). The end
    // blocks count too: GNU tar pads the archive to a 10 KiB record.
    const small = await writeTarToBuffer(
      ['x', 'y', 'z'].map((path) => ({ path, type: 'file' as const, mode: 0o644, mtime: 0, body: path })),
      { format: 'gnu', recordSize: 10240 },
    );
    expect(small.length).toBe(10240);
    await expect(readAll(small, { maxBytes: (n: number) => n * 1024 + 10240 })).resolves.toHaveLength(3);
    await expect(readAll(small, { maxBytes: (n: number) => n * 1024 + 4096, label: 'three.tar' })).rejects.toThrow(
      'three.tar: unpacks to more than 7168 bytes (end-of-archive blocks reach byte 10240)',
    );
  });

  it('encodes pax record lengths that count their own digits', () => {
    // "9 a=bcde\n" is 9 bytes; a 98-byte payload needs a 3-digit length.
    expect(encodePax([['a', 'bcd']]).toString()).toBe('8 a=bcd\n');
    const record = encodePax([['k', 'v'.repeat(95)]]).toString();
    expect(record.length).toBe(Number(record.split(' ')[0]));
  });
});

function fixChecksum(block: Buffer): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
}
