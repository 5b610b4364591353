// Reading a squashfs image back with `unsquashfs -lln` (numeric owners) and comparing it, entry
// by entry, with the manifest it was built from.
import { execFileSync } from 'node:child_process';
import { expect } from 'vitest';
import type { ManifestEntry, TreeManifest } from '../../stages/shared/manifest.js';

export interface Listed {
  path: string;
  type: ManifestEntry['type'];
  mode: number;
  uid: number;
  gid: number;
  /** `YYYY-MM-DD HH:MM` as unsquashfs prints it (UTC in tests: TZ is not set to anything else). */
  time: string;
  size?: number;
  dev?: [number, number];
  target?: string;
}

const TYPE_CHARS: Record<string, ManifestEntry['type']> = { '-': 'file', d: 'dir', l: 'symlink', c: 'char', b: 'block', p: 'fifo' };

function permBits(perm: string): number {
  let mode = 0;
  const bit = (i: number, value: number) => (perm[i] !== '-' && perm[i] !== 'S' && perm[i] !== 'T' ? value : 0);
  mode |= bit(1, 0o400) | bit(2, 0o200) | bit(3, 0o100) | bit(4, 0o40) | bit(5, 0o20) | bit(6, 0o10) | bit(7, 0o4) | bit(8, 0o2) | bit(9, 0o1);
  if (perm[3] === 's' || perm[3] === 'S') mode |= 0o4000;
  if (perm[6] === 's' || perm[6] === 'S') mode |= 0o2000;
  if (perm[9] === 't' || perm[9] === 'T') mode |= 0o1000;
  return mode;
}

/**
 * `unsquashfs -lln` parsed. A name with a newline spans two lines there, so a line that does not
 * start like a listing line continues the previous entry's name.
 */
export function listImage(image: string): Map<string, Listed> {
  const text = execFileSync('unsquashfs', ['-lln', image], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, TZ: 'UTC' } });
  const out = new Map<string, Listed>();
  let last: Listed | undefined;
  for (const line of text.split('\n')) {
    const m = /^(\S{10}) (\d+)\/(\d+)\s+(\d+|\d+,\s*\d+) (\S+ \S+) squashfs-root(?:\/(.*))?$/.exec(line);
    if (!m) {
      if (last && line !== '') {
        out.delete(last.path);
        last.path += `\n${line}`;
        out.set(last.path, last);
      }
      continue;
    }
    const type = TYPE_CHARS[m[1][0]];
    let path = m[6] ?? '';
    let target: string | undefined;
    if (type === 'symlink') [path, target] = [path.slice(0, path.indexOf(' -> ')), path.slice(path.indexOf(' -> ') + 4)];
    const listed: Listed = { path, type, mode: permBits(m[1]), uid: Number(m[2]), gid: Number(m[3]), time: m[5], target };
    if (m[4].includes(',')) listed.dev = m[4].split(',').map((n) => Number(n.trim())) as [number, number];
    else listed.size = Number(m[4]);
    out.set(path, listed);
    last = listed;
  }
  return out;
}

/** Every manifest entry is listed with its type, owner, mode (not for symlinks), size, target and device numbers; nothing else is. */
export function expectListingMatchesManifest(listed: Map<string, Listed>, manifest: TreeManifest): void {
  expect(listed.get('')).toMatchObject({ type: 'dir', mode: 0o755, uid: 0, gid: 0 });
  expect(listed.size).toBe(manifest.entries.length + 1);
  const byPath = new Map(manifest.entries.map((e) => [e.path, e]));
  for (const entry of manifest.entries) {
    const got = listed.get(entry.path);
    expect(got, entry.path).toBeDefined();
    const file = entry.type === 'hardlink' ? byPath.get(entry.link!)! : entry;
    expect({ type: got!.type, uid: got!.uid, gid: got!.gid }, entry.path).toEqual({
      type: entry.type === 'hardlink' ? 'file' : entry.type,
      uid: file.uid,
      gid: file.gid,
    });
    if (entry.type !== 'symlink') expect(got!.mode.toString(8), entry.path).toBe(file.mode.toString(8));
    if (entry.type === 'file' || entry.type === 'hardlink') expect(got!.size, entry.path).toBe(file.size);
    if (entry.type === 'symlink') expect(got!.target, entry.path).toBe(entry.target);
    if (entry.type === 'char' || entry.type === 'block') expect(got!.dev, entry.path).toEqual([entry.devmajor, entry.devminor]);
  }
}
