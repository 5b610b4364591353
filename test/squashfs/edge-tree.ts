// A small rootfs-shaped tree (root/ + manifest.json) with what the pseudo route has to get right:
// names that sort differently by path and by directory walk (a/b/, a/b-c, a/b.d/), names that need
// escaping in a pseudo file, owned directories with pseudo entries below them (a device, a
// setuid file), sticky and read-only directories, a file without owner write, a hardlink across
// directories, an owner name the build host knows under another number (Alpine's daemon is 2,
// Debian's is 1), files larger than a block, a duplicate file, all-zero (sparse) blocks and a
// device with a major above 255. The disk follows the rootfs node's rules
// (stages/rootfs/materialize.ts): contents and links only, modes plus owner rw(x), every time
// the epoch.
import { createHash } from 'node:crypto';
import { chmodSync, linkSync, lutimesSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest, writeManifest, MANIFEST_FORMAT, MANIFEST_VERSION, type ManifestEntry, type TreeManifest } from '../../stages/shared/manifest.js';
import { diskMode } from '../../stages/rootfs/materialize.js';

export const EDGE_EPOCH = 1767225600;

type Spec = Omit<ManifestEntry, 'uname' | 'gname' | 'size' | 'sha256'> & { uname?: string; gname?: string; content?: Buffer };

/** Deterministic bytes (a hash chain): compressible enough to be real, different per name. */
function bytes(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  let block = createHash('sha256').update(seed).digest();
  for (let at = 0; at < length; at += block.length) {
    block.copy(out, at);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

export function edgeTreeSpecs(): Spec[] {
  const file = (path: string, mode: number, content: Buffer, owner: Partial<Spec> = {}): Spec => ({ path, type: 'file', mode, uid: 0, gid: 0, content, ...owner });
  const dir = (path: string, mode = 0o755, owner: Partial<Spec> = {}): Spec => ({ path, type: 'dir', mode, uid: 0, gid: 0, ...owner });
  return [
    dir('a'),
    dir('a/b', 0o750, { uid: 42, gid: 42, uname: 'cron', gname: 'cron' }),
    { path: 'a/b/console', type: 'char', mode: 0o600, uid: 0, gid: 5, devmajor: 5, devminor: 1 },
    file('a/b/plain', 0o644, bytes('plain', 3000)),
    file('a/b/su', 0o4755, Buffer.from('#!/bin/sh\n')),
    file('a/b-c', 0o644, bytes('b-c', 3000)),
    dir('a/b.d', 0o1777),
    { path: 'a/b.d/link', type: 'hardlink', mode: 0o644, uid: 0, gid: 0, link: 'a/b/plain' },
    file('a/b.d/z', 0o444, bytes('z', 5000)),
    file('a/b0', 0o600, Buffer.from('daemon\n'), { uid: 2, gid: 2, uname: 'daemon', gname: 'daemon' }),
    file('a/dup', 0o644, bytes('plain', 3000)),
    file('big', 0o755, bytes('big', (5 << 20) / 2)),
    dir('dev'),
    { path: 'dev/null', type: 'char', mode: 0o666, uid: 0, gid: 0, devmajor: 1, devminor: 3 },
    { path: 'dev/nvme0n1p1', type: 'block', mode: 0o660, uid: 0, gid: 6, devmajor: 259, devminor: 1 },
    { path: 'dev/sda', type: 'block', mode: 0o660, uid: 0, gid: 6, devmajor: 8, devminor: 0 },
    file('e', 0o000, Buffer.alloc(0)),
    file('zeros', 0o644, Buffer.concat([Buffer.alloc(5 << 19), Buffer.from('end\n')])),
    dir('empty', 0o500),
    dir('odd names', 0o700, { uid: 1000, gid: 1000 }),
    file('odd names/#hash', 0o644, Buffer.from('#\n'), { uid: 7, gid: 7 }),
    file('odd names/-dash', 0o644, Buffer.from('-\n'), { uid: 5, gid: 5 }),
    { path: "odd names/apo'st", type: 'symlink', mode: 0o777, uid: 1000, gid: 1000, target: '../a' },
    { path: 'odd names/back\\slash', type: 'fifo', mode: 0o620, uid: 0, gid: 0 },
    file('odd names/quo"te', 0o4711, Buffer.from('"\n')),
    file('odd names/semi;amp&pct%', 0o640, Buffer.from(';\n'), { gid: 42 }),
    file('odd names/sp ace', 0o640, Buffer.from(' \n'), { gid: 42 }),
    dir('odd names/star*q?[b]', 0o555),
    file('odd names/tab\tx', 0o600, Buffer.from('\t\n'), { uid: 3, gid: 3 }),
    file('odd names/\u00fcn\u00ef', 0o644, Buffer.from('\u00fc\n'), { uid: 4, gid: 4 }),
    dir('run'),
    { path: 'run/initctl', type: 'fifo', mode: 0o600, uid: 0, gid: 0 },
    { path: 'zz', type: 'symlink', mode: 0o777, uid: 0, gid: 0, target: '/nonexistent' },
  ];
}

/** Writes `<dir>/root` and `<dir>/manifest.json` from the specs; returns the manifest as read back (sorted). */
export async function writeEdgeTree(dir: string, specs: Spec[] = edgeTreeSpecs(), epoch = EDGE_EPOCH): Promise<TreeManifest> {
  const root = join(dir, 'root');
  mkdirSync(root, { recursive: true });
  const entries: ManifestEntry[] = [];
  for (const { content, ...spec } of specs) {
    const entry: ManifestEntry = { uname: '', gname: '', ...spec };
    const path = join(root, spec.path);
    if (spec.type === 'dir') mkdirSync(path);
    if (spec.type === 'file') {
      writeFileSync(path, content!);
      entry.size = content!.length;
      entry.sha256 = createHash('sha256').update(content!).digest('hex');
    }
    if (spec.type === 'symlink') symlinkSync(spec.target!, path);
    if (spec.type === 'hardlink') linkSync(join(root, spec.link!), path);
    if (spec.type === 'file' || spec.type === 'dir') chmodSync(path, diskMode(spec));
    entries.push(entry);
  }
  for (const entry of entries) if (!['char', 'block', 'fifo'].includes(entry.type)) lutimesSync(join(root, entry.path), epoch, epoch);
  lutimesSync(root, epoch, epoch);
  const manifest: TreeManifest = { format: MANIFEST_FORMAT, version: MANIFEST_VERSION, entries };
  await writeManifest(join(dir, 'manifest.json'), manifest);
  return readManifest(join(dir, 'manifest.json'));
}
