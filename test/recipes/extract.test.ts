// extract() of the recipe API: every format it accepts, unpacked with the rules of package
// unpacking (no '..', no absolute member, nothing written through a symlink), made with real tools.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTarToBuffer } from '../../formats/tar.js';
import { extractArchive } from '../../recipe/extract.js';

const base = mkdtempSync(join(tmpdir(), 'pipeline-extract-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

function sampleTree(): string {
  const src = join(base, 'tree', 'hello-1.0');
  mkdirSync(join(src, 'src'), { recursive: true });
  writeFileSync(join(src, 'src', 'hello.c'), 'int main(void) { return 0; }\n');
  writeFileSync(join(src, 'configure'), '#!/bin/sh\n', { mode: 0o755 });
  if (!existsSync(join(src, 'link'))) symlinkSync('src/hello.c', join(src, 'link'));
  return join(base, 'tree');
}

describe('extract', () => {
  const tree = sampleTree();
  const cases: [string, string[]][] = [
    ['tar', ['-cf']],
    ['tar.gz', ['-czf']],
    ['tar.xz', ['-cJf']],
    ['tar.zst', ['--zstd', '-cf']],
    ['tar.bz2', ['-cjf']],
  ];
  for (const [ext, flags] of cases) {
    it(`unpacks a .${ext} made by GNU tar`, async () => {
      const archive = join(base, `hello.${ext}`);
      execFileSync('tar', [...flags, archive, '-C', tree, 'hello-1.0']);
      const dest = join(base, `out-${ext}`);
      await extractArchive(archive, dest);
      expect(readFileSync(join(dest, 'hello-1.0/src/hello.c'), 'utf8')).toContain('int main');
      expect(readlinkSync(join(dest, 'hello-1.0/link'))).toBe('src/hello.c');
    });
  }

  it('unpacks a .zip made by zip', async () => {
    const archive = join(base, 'hello.zip');
    execFileSync('zip', ['-q', '-r', '-y', archive, 'hello-1.0'], { cwd: tree });
    const dest = join(base, 'out-zip');
    await extractArchive(archive, dest);
    expect(readFileSync(join(dest, 'hello-1.0/src/hello.c'), 'utf8')).toContain('int main');
  });

  it('refuses members that leave the destination, and writing through a symlink', async () => {
    const hostile = async (name: string, entries: Parameters<typeof writeTarToBuffer>[0]) => {
      const archive = join(base, name);
      writeFileSync(archive, await writeTarToBuffer(entries));
      return extractArchive(archive, join(base, `dest-${name}`));
    };
    await expect(hostile('dotdot.tar', [{ path: '../escape', type: 'file', mode: 0o644, body: Buffer.from('x') }])).rejects.toThrow(/leaves the destination/);
    await expect(hostile('abs.tar', [{ path: '/etc/evil', type: 'file', mode: 0o644, body: Buffer.from('x') }])).rejects.toThrow(/absolute path/);
    await expect(
      hostile('through-link.tar', [
        { path: 'etc', type: 'symlink', mode: 0o777, linkTarget: '/etc' },
        { path: 'etc/evil', type: 'file', mode: 0o644, body: Buffer.from('x') },
      ]),
    ).rejects.toThrow(/through the symlink etc/);
    expect(existsSync('/etc/evil')).toBe(false);
  });

  it('refuses what is not an archive, by its content', async () => {
    const file = join(base, 'not-an-archive.tar.gz');
    writeFileSync(file, 'plain text');
    await expect(extractArchive(file, join(base, 'dest-text'))).rejects.toThrow(/is not a tar .* or zip archive/);
  });
});
