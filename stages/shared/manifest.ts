// The tree manifest: what a package (or any stage) puts into a file tree, format-neutral.
// APK unpack writes it today, RPM unpack will; rootfs, squashfs and initramfs read it.
//
// Why a manifest beside the unpacked files: a rootless build cannot chown files or create
// device nodes, and the builder's own uid must never leak into an image. The manifest carries
// the truth (owner, mode incl. setuid, device numbers, link targets) and the tree on disk only
// carries file contents. Owners come from the package, never from the user who ran the build.
import { readFile, rename, writeFile } from 'node:fs/promises';

export const MANIFEST_FORMAT = 'pipeline-tree-manifest';
export const MANIFEST_VERSION = 1;

export type ManifestEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface ManifestEntry {
  /** Relative POSIX path: no leading `/` or `./`, no trailing `/`, no `.`/`..` parts (`usr/bin/busybox`). */
  path: string;
  type: ManifestEntryType;
  /** Permission bits including setuid/setgid/sticky (0..0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Owner names as the package gave them ('' when it gave none); an image resolves them against its /etc/passwd. */
  uname: string;
  gname: string;
  /** Regular files: length in bytes. */
  size?: number;
  /** Regular files: SHA-256 of the content (hex), computed while unpacking. */
  sha256?: string;
  /** Regular files: the digest the package declared for the file, already verified (`sha1:<hex>`). */
  packageDigest?: string;
  /** Symlinks: the target exactly as stored (may be absolute: it is resolved inside the image). */
  target?: string;
  /** Hardlinks: manifest path of the regular file this entry shares its inode with. */
  link?: string;
  /** Character and block devices. */
  devmajor?: number;
  devminor?: number;
  /** Extended attributes (security.capability...), values base64. */
  xattrs?: Record<string, string>;
  /** Set when trees from several packages are merged: which package installs this path. */
  package?: string;
}

export interface TreeManifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  /** The package the tree came from, when it came from one. */
  package?: { name: string; version: string };
  /** Entries sorted by path (bytewise), parents before children. */
  entries: ManifestEntry[];
}

/** A manifest file is unreadable or breaks the rules above. */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

/** Bytewise path order, the order tar, cpio and mksquashfs sorting agree on. */
export function compareManifestPaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Normalizes and checks a path; returns undefined for the tree root itself (`.`, `./`, ``). */
export function normalizeManifestPath(raw: string): string | undefined {
  let path = raw;
  while (path.startsWith('./')) path = path.slice(2);
  path = path.replace(/\/+$/, '');
  if (path === '' || path === '.') return undefined;
  if (path.startsWith('/')) throw new ManifestError(`absolute path ${JSON.stringify(raw)}`);
  for (const part of path.split('/')) {
    if (part === '' || part === '.' || part === '..') throw new ManifestError(`bad path ${JSON.stringify(raw)}`);
  }
  if (path.includes('\0')) throw new ManifestError(`NUL byte in path ${JSON.stringify(raw)}`);
  return path;
}

/** Serializes deterministically: fixed key order, entries sorted, one entry per line. */
export function serializeManifest(manifest: TreeManifest): string {
  const entries = [...manifest.entries].sort((a, b) => compareManifestPaths(a.path, b.path));
  const head: Record<string, unknown> = { format: MANIFEST_FORMAT, version: MANIFEST_VERSION };
  if (manifest.package) head.package = { name: manifest.package.name, version: manifest.package.version };
  const lines = entries.map((entry) => JSON.stringify(canonicalEntry(entry)));
  const open = JSON.stringify(head).slice(0, -1);
  return `${open},"entries":[\n${lines.join(',\n')}\n]}\n`;
}

/** Writes a manifest file atomically (temp file, then rename). */
export async function writeManifest(path: string, manifest: TreeManifest): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, serializeManifest(manifest));
  await rename(temp, path);
}

export async function readManifest(path: string): Promise<TreeManifest> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ManifestError(`cannot read manifest ${path}: ${(err as Error).message}`);
  }
  return parseManifest(text, path);
}

/** Parses and validates manifest JSON; errors name the source and the entry. */
export function parseManifest(text: string, source: string): TreeManifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ManifestError(`${source}: not JSON: ${(err as Error).message}`);
  }
  const obj = data as Partial<TreeManifest>;
  if (!obj || obj.format !== MANIFEST_FORMAT || obj.version !== MANIFEST_VERSION) {
    throw new ManifestError(`${source}: not a ${MANIFEST_FORMAT} version ${MANIFEST_VERSION} file`);
  }
  if (!Array.isArray(obj.entries)) throw new ManifestError(`${source}: "entries" is not a list`);
  const seen = new Map<string, ManifestEntry>();
  for (const [index, entry] of obj.entries.entries()) {
    const where = `${source}: entry ${index} (${JSON.stringify((entry as ManifestEntry)?.path)})`;
    checkEntry(entry, where);
    if (seen.has(entry.path)) throw new ManifestError(`${where}: duplicate path`);
    seen.set(entry.path, entry);
  }
  for (const entry of obj.entries) {
    if (entry.type !== 'hardlink') continue;
    const target = seen.get(entry.link!);
    if (!target || target.type !== 'file') {
      throw new ManifestError(
        `${source}: hardlink ${JSON.stringify(entry.path)} points to ${JSON.stringify(entry.link)}, which is not a regular file in the manifest`,
      );
    }
  }
  return obj as TreeManifest;
}

function checkEntry(entry: ManifestEntry, where: string): void {
  const fail = (what: string): never => {
    throw new ManifestError(`${where}: ${what}`);
  };
  if (typeof entry !== 'object' || entry === null) fail('not an object');
  if (typeof entry.path !== 'string' || normalizeManifestPath(entry.path) !== entry.path) fail('path is not normalized');
  if (!['file', 'dir', 'symlink', 'hardlink', 'char', 'block', 'fifo'].includes(entry.type)) fail(`unknown type ${entry.type}`);
  if (!isUint(entry.mode) || entry.mode > 0o7777) fail('mode must be an integer 0..0o7777');
  if (!isUint(entry.uid) || !isUint(entry.gid)) fail('uid/gid must be non-negative integers');
  if (typeof entry.uname !== 'string' || typeof entry.gname !== 'string') fail('uname/gname must be strings');
  if (entry.type === 'file') {
    if (!isUint(entry.size)) fail('a file needs a size');
    if (typeof entry.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(entry.sha256)) fail('a file needs a sha256');
  }
  if (entry.type === 'symlink' && (typeof entry.target !== 'string' || entry.target === '')) fail('a symlink needs a target');
  if (entry.type === 'hardlink' && typeof entry.link !== 'string') fail('a hardlink needs a link');
  if ((entry.type === 'char' || entry.type === 'block') && (!isUint(entry.devmajor) || !isUint(entry.devminor))) {
    fail('a device needs devmajor/devminor');
  }
}

function isUint(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function canonicalEntry(entry: ManifestEntry): ManifestEntry {
  const out: ManifestEntry = {
    path: entry.path,
    type: entry.type,
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    uname: entry.uname,
    gname: entry.gname,
  };
  if (entry.size !== undefined) out.size = entry.size;
  if (entry.sha256 !== undefined) out.sha256 = entry.sha256;
  if (entry.packageDigest !== undefined) out.packageDigest = entry.packageDigest;
  if (entry.target !== undefined) out.target = entry.target;
  if (entry.link !== undefined) out.link = entry.link;
  if (entry.devmajor !== undefined) out.devmajor = entry.devmajor;
  if (entry.devminor !== undefined) out.devminor = entry.devminor;
  if (entry.xattrs !== undefined && Object.keys(entry.xattrs).length > 0) {
    out.xattrs = Object.fromEntries(Object.keys(entry.xattrs).sort().map((name) => [name, entry.xattrs![name]]));
  }
  if (entry.package !== undefined) out.package = entry.package;
  return out;
}
