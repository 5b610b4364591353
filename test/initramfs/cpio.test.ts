// The newc writer against GNU cpio: listing, extraction, and the header fields themselves.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpioEntryError, cpioNewcStream, planCpioArchive } from '../../formats/cpio.js';
import type { CpioEntry } from '../../formats/cpio.js';

const run = promisify(execFile);
const EPOCH = 1_700_000_000;

async function archiveBytes(entries: CpioEntry[], epoch = EPOCH): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of cpioNewcStream(entries, { sourceDateEpoch: epoch })) chunks.push(chunk);
  return Buffer.concat(chunks);
}

interface ParsedHeader {
  name: string;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
  data: Buffer;
}

/** An independent newc reader for checking fields GNU cpio does not print. */
function parseNewc(archive: Buffer): ParsedHeader[] {
  const out: ParsedHeader[] = [];
  let at = 0;
  for (;;) {
    expect(archive.toString('ascii', at, at + 6)).toBe('070701');
    const field = (i: number) => parseInt(archive.toString('ascii', at + 6 + i * 8, at + 14 + i * 8), 16);
    const namesize = field(11);
    const name = archive.toString('utf8', at + 110, at + 110 + namesize - 1);
    expect(archive[at + 110 + namesize - 1]).toBe(0);
    const dataStart = (at + 110 + namesize + 3) & ~3;
    const size = field(6);
    const header: ParsedHeader = {
      name,
      ino: field(0),
      mode: field(1),
      uid: field(2),
      gid: field(3),
      nlink: field(4),
      mtime: field(5),
      size,
      rdevMajor: field(9),
      rdevMinor: field(10),
      data: archive.subarray(dataStart, dataStart + size),
    };
    out.push(header);
    at = (dataStart + size + 3) & ~3;
    if (name === 'TRAILER!!!') break;
  }
  expect(at).toBe(archive.length);
  return out;
}

describe('cpio newc writer', () => {
  let dir: string;
  let sourceFile: string;
  const content = Buffer.from('#!/bin/sh\necho hello from a file on disk\n');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cpio-test-'));
    sourceFile = join(dir, 'source.sh');
    await writeFile(sourceFile, content);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const sample = (): CpioEntry[] => [
    { kind: 'file', path: '/usr/bin/hello', mode: 0o755, source: { path: '' } },
    { kind: 'char-device', path: 'dev/console', mode: 0o600, major: 5, minor: 1 },
    { kind: 'char-device', path: 'dev/null', mode: 0o666, major: 1, minor: 3 },
    { kind: 'block-device', path: 'dev/vda', major: 254, minor: 0 },
    { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
    { kind: 'file', path: 'etc/motd', source: { data: 'odd length!' }, mtime: 1 },
    { kind: 'directory', path: 'usr', mode: 0o700, mtime: EPOCH + 999 },
    { kind: 'directory', path: 'usr/lib' },
  ];
  const withSource = () => sample().map((e) => (e.path === '/usr/bin/hello' ? { ...e, source: { path: sourceFile } } : e)) as CpioEntry[];

  it('is listed by GNU cpio in sorted order, parents first, with device nodes and owners', async () => {
    const archive = join(dir, 'listing.cpio');
    await writeFile(archive, await archiveBytes(withSource()));
    const { stdout: names } = await run('cpio', ['-it', '--quiet', '-F', archive]);
    expect(names.trim().split('\n')).toEqual([
      'bin',
      'bin/sh',
      'dev',
      'dev/console',
      'dev/null',
      'dev/vda',
      'etc',
      'etc/motd',
      'usr',
      'usr/bin',
      'usr/bin/hello',
      'usr/lib',
    ]);
    const { stdout: long } = await run('cpio', ['-itv', '--quiet', '-F', archive], { env: { TZ: 'UTC', LC_ALL: 'C' } });
    const line = (name: string) => long.split('\n').find((l) => l.endsWith(' ' + name) || l.includes(' ' + name + ' ->'))!;
    expect(line('dev/console')).toMatch(/^crw------- +1 root +root +5, +1 /);
    expect(line('dev/null')).toMatch(/^crw-rw-rw- +1 root +root +1, +3 /);
    expect(line('dev/vda')).toMatch(/^brw------- +1 root +root +254, +0 /);
    expect(line('bin/sh')).toMatch(/^lrwxrwxrwx .* bin\/sh -> busybox$/);
    expect(line('usr/bin/hello')).toMatch(new RegExp(`^-rwxr-xr-x +1 root +root +${content.length} `));
    // usr holds bin and lib: 2 + 2 links.
    expect(line('usr')).toMatch(/^drwx------ +4 root +root /);
  });

  it('extracts with cpio -idv to the same bytes, modes and links', async () => {
    const archive = join(dir, 'extract.cpio');
    await writeFile(archive, await archiveBytes(withSource()));
    const dest = join(dir, 'extracted');
    await run('mkdir', ['-p', dest]);
    const { stderr } = await run('cpio', ['-idv', '--no-absolute-filenames', '-F', archive], { cwd: dest });
    expect(stderr).toContain('dev/console');
    expect(await readFile(join(dest, 'usr/bin/hello'))).toEqual(content);
    expect((await stat(join(dest, 'usr/bin/hello'))).mode & 0o7777).toBe(0o755);
    expect(await readFile(join(dest, 'etc/motd'), 'utf8')).toBe('odd length!');
    expect(await readlink(join(dest, 'bin/sh'))).toBe('busybox');
    const consoleNode = await stat(join(dest, 'dev/console'));
    expect(consoleNode.isCharacterDevice()).toBe(true);
    expect(consoleNode.rdev).toBe((5 << 8) | 1);
  });

  it('numbers inodes in archive order, owns everything by root, clamps mtimes, counts directory links', async () => {
    const headers = parseNewc(await archiveBytes(withSource()));
    const entries = headers.slice(0, -1);
    expect(entries.map((h) => h.ino)).toEqual(entries.map((_, i) => i + 1));
    expect(entries.every((h) => h.uid === 0 && h.gid === 0)).toBe(true);
    const byName = new Map(entries.map((h) => [h.name, h]));
    expect(byName.get('etc/motd')!.mtime).toBe(1); // older than the epoch: kept
    expect(byName.get('usr')!.mtime).toBe(EPOCH); // newer: clamped
    expect(byName.get('dev')!.mtime).toBe(EPOCH); // implied parent: the epoch
    expect(byName.get('dev')!.mode).toBe(0o040755);
    expect(byName.get('dev')!.nlink).toBe(2);
    expect(byName.get('usr')!.nlink).toBe(4);
    expect(byName.get('dev/console')).toMatchObject({ mode: 0o020600, rdevMajor: 5, rdevMinor: 1, size: 0, nlink: 1 });
    expect(byName.get('bin/sh')!.data.toString()).toBe('busybox');
    const trailer = headers.at(-1)!;
    expect(trailer).toMatchObject({ name: 'TRAILER!!!', ino: 0, mode: 0, nlink: 1, size: 0 });
  });

  it('writes the same bytes whatever order the entries come in', async () => {
    const forward = await archiveBytes(withSource());
    const backward = await archiveBytes(withSource().reverse());
    expect(backward.equals(forward)).toBe(true);
  });

  it('rejects duplicates, paths leaving the archive, and children of files', () => {
    const plan = (entries: CpioEntry[]) => planCpioArchive(entries, { sourceDateEpoch: EPOCH });
    expect(() => plan([{ kind: 'directory', path: 'a' }, { kind: 'directory', path: '/a/' }])).toThrow(CpioEntryError);
    expect(() => plan([{ kind: 'directory', path: 'a/../../etc' }])).toThrow(/contains '\.\.'/);
    expect(() =>
      plan([
        { kind: 'file', path: 'init', source: { data: '' } },
        { kind: 'file', path: 'init/x', source: { data: '' } },
      ]),
    ).toThrow(/lies below init, which is a file/);
    expect(() => plan([{ kind: 'file', path: 'big', mode: 0o10000, source: { data: '' } }])).toThrow(/not a permission value/);
  });

  it('fails the stream when a source file is missing', async () => {
    const entries: CpioEntry[] = [{ kind: 'file', path: 'gone', source: { path: join(dir, 'does-not-exist') } }];
    await expect(archiveBytes(entries)).rejects.toThrow(/cpio entry gone: cannot read .*does-not-exist/);
  });
});
