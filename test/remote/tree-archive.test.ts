// Output-tree archives: the same tree gives the same bytes wherever and whenever it was written,
// extraction restores it exactly (tree digests equal), and a damaged or malicious archive is
// refused with nothing written, inside the target or outside it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, link, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestTree } from '../../graph/tree-digest.js';
import { archiveTree, extractArchive } from '../../graph/remote/tree-archive.js';

const isRoot = process.getuid?.() === 0;
let base: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'tree-archive-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

let counter = 0;
async function fresh(name: string): Promise<string> {
  const dir = join(base, `${name}-${counter++}`);
  await mkdir(dir);
  return dir;
}

const LONG = `${'long-name-'.repeat(12)}end`; // past the 100 bytes of a ustar name field

/**
 * Every kind of entry an output tree may hold. `order` reverses the creation order (so directory
 * listings differ between copies) and `time` is stamped on everything afterwards.
 */
async function buildTree(dir: string, order: 'forward' | 'reverse', time: number): Promise<void> {
  const steps: (() => Promise<void>)[] = [
    async () => writeFile(join(dir, 'plain.txt'), 'plain\n'),
    // Past the header walk's 1 MiB reads: file data spans several of them.
    async () => writeFile(join(dir, 'large.bin'), Buffer.alloc(1_300_001, 'large')),
    async () => writeFile(join(dir, 'large2.bin'), Buffer.alloc(1_000_003, 'second')),
    async () => writeFile(join(dir, 'empty'), ''),
    async () => {
      await writeFile(join(dir, 'secret'), 'private\n');
      await chmod(join(dir, 'secret'), 0o600);
    },
    async () => {
      await mkdir(join(dir, 'bin'));
      await writeFile(join(dir, 'bin', 'tool'), '#!/bin/sh\necho tool\n');
      await chmod(join(dir, 'bin', 'tool'), 0o755);
      await writeFile(join(dir, 'bin', 'suid'), 'suid\n');
      await chmod(join(dir, 'bin', 'suid'), 0o4755);
      await writeFile(join(dir, 'bin', 'sgid'), 'sgid\n');
      await chmod(join(dir, 'bin', 'sgid'), 0o2711);
    },
    async () => {
      await mkdir(join(dir, 'empty-dir'));
      await mkdir(join(dir, 'tmp'));
      await chmod(join(dir, 'tmp'), 0o1777);
      await mkdir(join(dir, 'private-dir'));
      await chmod(join(dir, 'private-dir'), 0o700);
    },
    async () => {
      await mkdir(join(dir, 'ro'));
      await writeFile(join(dir, 'ro', 'inside'), 'ro\n');
      await chmod(join(dir, 'ro'), 0o555);
    },
    async () => {
      await mkdir(join(dir, 'deep', 'a', 'b', 'c', LONG), { recursive: true });
      await writeFile(join(dir, 'deep', 'a', 'b', 'c', LONG, LONG), 'long\n');
    },
    async () => {
      await symlink('plain.txt', join(dir, 'rel-link'));
      await symlink('/etc/os-release', join(dir, 'abs-link'));
      await symlink('../lib/nowhere', join(dir, 'dangling-dotdot-link'));
      await symlink('deep/a', join(dir, 'dir-link'));
      await symlink(`deep/a/b/c/${LONG}/${LONG}`, join(dir, 'long-target-link'));
    },
    async () => {
      await writeFile(join(dir, 'hard-1'), 'shared inode\n');
      await link(join(dir, 'hard-1'), join(dir, 'hard-2'));
    },
    async () => writeFile(join(dir, 'odd name\nwith "quotes" \\ and ünïcode'), 'odd\n'),
    async () => writeFile(join(dir, '-C'), 'dash\n'),
    async () => {
      // Enough names that the file system's own listing order is not byte order.
      await mkdir(join(dir, 'many'));
      const names = ['Zeta', 'alpha', '_under', 'Beta', '0', '10', '9', 'a.b', 'a-b', 'A', 'z', 'mid', 'MID', 'x~', '~x', 'ñ', 'e\u0301'];
      for (const name of order === 'forward' ? names : [...names].reverse()) await writeFile(join(dir, 'many', name), name);
    },
    async () => {
      execFileSync('mkfifo', ['-m', '0640', join(dir, 'fifo')]);
      if (isRoot) execFileSync('mknod', ['-m', '0666', join(dir, 'null-dev'), 'c', '1', '3']);
    },
  ];
  for (const step of order === 'forward' ? steps : [...steps].reverse()) await step();
  const stamp = async (path: string): Promise<void> => {
    const st = await lstat(path);
    if (st.isDirectory()) for (const name of await readdir(path)) await stamp(join(path, name));
    if (!st.isSymbolicLink()) await utimes(path, time, time);
  };
  await stamp(dir);
}

/** Relative names as GNU tar lists them (directories with a trailing slash), children in byte order. */
async function sortedWalk(dir: string, rel: string): Promise<string[]> {
  const out: string[] = [];
  const names = (await readdir(dir)).sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  for (const name of names) {
    const path = join(dir, name);
    const st = await lstat(path);
    if (st.isDirectory()) out.push(`${rel}${name}/`, ...(await sortedWalk(path, `${rel}${name}/`)));
    else out.push(`${rel}${name}`);
  }
  return out;
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

let source: string;
let archive: string;
let archived: { sha256: string; size: number };

describe('archiveTree', () => {
  it('gives the same bytes for the same tree in two places, written at different times', async () => {
    source = await fresh('copy-a');
    const other = await fresh('copy-b');
    await buildTree(source, 'forward', 1_000_000);
    await buildTree(other, 'reverse', 1_700_000_000);
    await chmod(other, 0o700); // the root's own mode is not part of the tree
    archive = join(base, 'a.tar');
    archived = await archiveTree(source, archive);
    const second = await archiveTree(other, join(base, 'b.tar'));
    expect(second).toEqual(archived);
    expect(archived.sha256).toBe(await sha256(archive));
    expect(archived.size).toBe((await stat(archive)).size);
    expect(archived.size % 10240).toBe(0);
    expect((await digestTree(other)).digest).toBe((await digestTree(source)).digest);

    // Owners, times and the root are not in it; names are in byte order and relative.
    const listing = execFileSync('tar', ['-tvf', archive, '--numeric-owner', '--quoting-style=escape'], { env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' } }).toString();
    expect(listing).toContain('-rwsr-xr-x 0/0               5 1970-01-01 00:00 bin/suid');
    expect(listing).toContain('hrw-r--r-- 0/0               0 1970-01-01 00:00 hard-2 link to hard-1');
    expect(listing).toContain('dr-xr-xr-x 0/0               0 1970-01-01 00:00 ro/');
    // Members in byte order of name, depth first (what --sort=name gives, whatever the order
    // the file system lists them in), all relative, without the root.
    // (Names tar would escape are left out of this comparison: the odd name, the non-ASCII ones.)
    const plain = (n: string): boolean => /^[\x20-\x7e]*$/.test(n) && !n.includes('\\');
    const names = execFileSync('tar', ['-tf', archive, '--quoting-style=escape']).toString().trim().split('\n').filter(plain);
    expect(names).toEqual((await sortedWalk(source, '')).filter(plain));
    expect(names[0]).toBe('-C');
  });

  it('archives an empty tree, and fails clearly on a missing one', async () => {
    const empty = await fresh('empty');
    const result = await archiveTree(empty, join(base, 'empty.tar'));
    expect(result.size).toBe(10240);
    const out = join(base, 'empty-out');
    await extractArchive(join(base, 'empty.tar'), out);
    expect(await readdir(out)).toEqual([]);
    await expect(archiveTree(join(base, 'no-such-dir'), join(base, 'x.tar'))).rejects.toThrow(/no-such-dir/);
    expect(existsSync(join(base, 'x.tar'))).toBe(false);
  });
});

describe('extractArchive', () => {
  it('restores the tree exactly: equal tree digest, permission bits, hard links, special files', async () => {
    const into = await fresh('into'); // exists and is empty, like a work area
    await extractArchive(archive, into, { sha256: archived.sha256 });
    expect(await digestTree(into)).toEqual(await digestTree(source));
    expect((await stat(join(into, 'secret'))).mode & 0o7777).toBe(0o600);
    expect((await stat(join(into, 'bin', 'tool'))).mode & 0o7777).toBe(0o755);
    expect((await stat(join(into, 'tmp'))).mode & 0o7777).toBe(0o1777);
    expect((await stat(join(into, 'ro'))).mode & 0o7777).toBe(0o555);
    if (isRoot) expect((await stat(join(into, 'bin', 'suid'))).mode & 0o7777).toBe(0o4755);
    expect((await stat(join(into, 'hard-1'))).ino).toBe((await stat(join(into, 'hard-2'))).ino);
    expect((await lstat(join(into, 'fifo'))).isFIFO()).toBe(true);
    if (isRoot) expect((await lstat(join(into, 'null-dev'))).isCharacterDevice()).toBe(true);
    expect((await lstat(join(into, 'abs-link'))).isSymbolicLink()).toBe(true);
    // Nothing left beside it.
    expect((await readdir(base)).filter((n) => n.includes('.extract-'))).toEqual([]);

    // Into a directory that does not exist yet, too; never into one that holds something.
    const absent = join(base, 'absent');
    await extractArchive(archive, absent);
    expect((await digestTree(absent)).digest).toBe((await digestTree(source)).digest);
    await expect(extractArchive(archive, absent)).rejects.toThrow(/absent: the directory is not empty/);
  });

  async function expectRefused(file: string, pattern: RegExp): Promise<void> {
    const target = join(await fresh('target'), 'out');
    await expect(extractArchive(file, target)).rejects.toThrow(pattern);
    expect(existsSync(target)).toBe(false);
    expect((await readdir(join(target, '..'))).length).toBe(0); // no staging directory left
  }

  it('a truncated archive throws, wherever it was cut', async () => {
    const bytes = await readFile(archive);
    // Cut inside a header, at a header boundary, inside data, and just before the end marker.
    const lastHeader = bytes.length - 10240;
    for (const cut of [100, 512, 1024, 1536, 2000, bytes.length >> 1, lastHeader]) {
      const file = join(base, `cut-${cut}.tar`);
      await writeFile(file, bytes.subarray(0, cut));
      await expectRefused(file, /not a well-formed archive: .*(truncated|end-of-archive)/);
    }
    const empty = join(base, 'zero.tar');
    await writeFile(empty, '');
    await expectRefused(empty, /no end-of-archive marker/);
  });

  it('a tampered header fails its checksum; tampered content fails the expected digest', async () => {
    const bytes = await readFile(archive);
    const header = Buffer.from(bytes);
    header[5]! ^= 0x20; // a letter of the first member's name
    await writeFile(join(base, 'tampered-header.tar'), header);
    await expectRefused(join(base, 'tampered-header.tar'), /header checksum of \d+, computed \d+ at byte 0/);

    const content = Buffer.from(bytes);
    const at = content.indexOf('plain\n');
    content[at]! ^= 0x01;
    await writeFile(join(base, 'tampered-content.tar'), content);
    const target = join(await fresh('target'), 'out');
    await expect(extractArchive(join(base, 'tampered-content.tar'), target, { sha256: archived.sha256 })).rejects.toThrow(/sha256 is [0-9a-f]{64}, expected/);
    expect(existsSync(target)).toBe(false);

    const garbage = Buffer.alloc(10240, 0x41);
    await writeFile(join(base, 'garbage.tar'), garbage);
    await expectRefused(join(base, 'garbage.tar'), /no ustar magic/);
  });

  describe('malicious archives are refused and write nothing outside the target', () => {
    let evil: string;
    let outside: string;

    beforeAll(async () => {
      evil = await fresh('evil-src');
      outside = await fresh('outside');
      await writeFile(join(evil, 'x'), 'pwned\n');
      await link(join(evil, 'x'), join(evil, 'y'));
      await symlink(outside, join(evil, 'a'));
      await writeFile(join(evil, 'f'), 'through the link\n');
    });

    const make = (name: string, args: string[]): string => {
      const file = join(base, name);
      execFileSync('tar', ['-C', evil, '-cf', file, '--format=gnu', ...args]);
      return file;
    };

    it('`..` member', async () => {
      await expectRefused(make('dotdot.tar', ['-P', '--transform', `s,^x$,../../${'outside'},`, 'x']), /refused: member "\.\.\/\.\.\/outside" has a `\.\.` component/);
      await expectRefused(make('dotdot-deep.tar', ['-P', '--transform', 's,^x$,d/../../x,', 'x']), /has a `\.\.` component/);
    });

    it('absolute member', async () => {
      const file = make('abs.tar', ['-P', '--transform', `s,^x$,${outside}/pwned,`, 'x']);
      await expectRefused(file, /refused: member ".*\/pwned" is absolute/);
    });

    it('hard link to a name outside', async () => {
      await expectRefused(make('hardlink.tar', ['-P', '--transform', 's,^x$,../x,RS', 'x', 'y']), /hard link "y" points to "\.\.\/x", which has a `\.\.` component/);
    });

    it('member below a symlink that points outside', async () => {
      await expectRefused(make('through-link.tar', ['--transform', 's,^f$,a/f,', 'a', 'f']), /member "a\/f" lies below the symlink "a"/);
    });

    it('the same member twice', async () => {
      const file = make('dup.tar', ['x']);
      execFileSync('tar', ['-C', evil, '-rf', file, 'x']);
      await expectRefused(file, /member "x" appears twice/);
    });

    it('leaves the outside untouched', async () => {
      expect(await readdir(outside)).toEqual([]);
      expect(existsSync(join(base, 'x'))).toBe(false);
      expect(existsSync(join(base, '..', 'x'))).toBe(false);
    });
  });

  it('a failed extraction leaves nothing: here, a member tar cannot create', async () => {
    // A file member and then a directory member of the same name: tar fails on the second.
    const src = await fresh('clash-src');
    await writeFile(join(src, 'x'), 'file\n');
    await mkdir(join(src, 'd'));
    await writeFile(join(src, 'd', 'inside'), 'inside\n');
    const file = join(base, 'clash.tar');
    execFileSync('tar', ['-C', src, '-cf', file, '--format=gnu', '--transform', 's,^d,x/d,', 'x', 'd']);
    const target = join(await fresh('target'), 'out');
    await expect(extractArchive(file, target)).rejects.toThrow(/tar exited with 2/);
    expect(existsSync(target)).toBe(false);
    expect((await readdir(join(target, '..'))).length).toBe(0);
  });
});
