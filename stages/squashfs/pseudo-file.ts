// The pseudo route: mksquashfs reads the rootfs directory itself (its own threads, no tar stream
// to write), and two small files make the image say what the manifest says where the disk cannot:
//  - a pseudo file (-pf): `M time mode uid gid` for files and symlinks whose mode, owner or time
//    on disk differ from the manifest; `C`/`B`/`I` for devices and fifos, which exist only in
//    the manifest;
//  - an action file (-action-file): chmod/guid for directories. 4.5.1 refuses a pseudo `M` on a
//    directory that has pseudo entries below it ("already exists as a non directory.. Ignoring"),
//    so directories are matched by their inode number instead (no escaping needed either).
// Directory times cannot be set that way: they come from SOURCE_DATE_EPOCH clamping, so a
// directory older than the epoch on disk sends the build to the tar route.
//
// Facts checked with mksquashfs 4.5.1: pseudo names take a backslash before any byte; a
// backslash-newline continues the line, so a name with a newline cannot be written. Actions apply
// in file order (the last match wins) and override -root-uid/-root-gid, hence the root exception.
// Symlinks get mode 0777: what the tar route stores for any symlink, whatever its header says.
import type { ManifestEntry, TreeManifest } from '../shared/manifest.js';
import type { DiskFacts, DiskInode } from './disk-check.js';

export interface PseudoPlan {
  route: 'pseudo';
  /** -pf content ('' when nothing needs correcting). */
  pseudoFile: string;
  /** -action-file content ('' when no directory needs it). */
  actionFile: string;
  definitions: number;
  actions: number;
}

export interface TarFallback {
  route: 'tar';
  /** Why the pseudo route cannot make this tree exactly. */
  reason: string;
}

const SYMLINK_MODE = 0o777;

/** Pseudo definitions and directory actions for a checked tree, or why the tar route must build it. */
export function planPseudoRoute(manifest: TreeManifest, disk: DiskFacts, epoch: number): PseudoPlan | TarFallback {
  const byPath = new Map(manifest.entries.map((entry) => [entry.path, entry]));
  const lines: string[] = [];
  const dirModes: string[] = [];
  const dirOwners: Array<{ entry: ManifestEntry; ino: number }> = [];
  const allDirs: Array<{ entry: ManifestEntry; ino: number }> = [];

  for (const entry of manifest.entries) {
    if (entry.xattrs && Object.keys(entry.xattrs).length > 0) {
      return { route: 'tar', reason: `${entry.path} has extended attributes, which 4.5.1 pseudo files cannot set` };
    }
    const onDisk = disk.entries.get(entry.path);
    if (onDisk && onDisk.dev !== disk.root.dev) return { route: 'tar', reason: `${entry.path} is on another filesystem than the tree's root` };
    if (entry.type === 'dir') {
      const d = onDisk!;
      if (d.mtime < epoch) return { route: 'tar', reason: `directory ${entry.path} is older on disk than SOURCE_DATE_EPOCH` };
      if (!Number.isSafeInteger(d.ino)) return { route: 'tar', reason: `directory ${entry.path} has an inode number beyond 2^53` };
      allDirs.push({ entry, ino: d.ino });
      if (d.mode !== entry.mode) dirModes.push(`chmod(${octal(entry.mode)})@${isInode(d.ino)}`);
      if (d.uid !== entry.uid || d.gid !== entry.gid) dirOwners.push({ entry, ino: d.ino });
      continue;
    }
    const line = pseudoLine(entry, onDisk, byPath, epoch);
    if (line === undefined) continue;
    const name = escapePseudoPath(entry.path);
    if (name === undefined) return { route: 'tar', reason: `${JSON.stringify(entry.path)} needs a pseudo definition and has a newline in its name` };
    lines.push(`${name} ${line}`);
  }

  const actions = [...dirModes, ...ownerActions(dirOwners, allDirs, disk.root)];
  return {
    route: 'pseudo',
    pseudoFile: lines.length > 0 ? lines.join('\n') + '\n' : '',
    actionFile: actions.length > 0 ? actions.join('\n') + '\n' : '',
    definitions: lines.length,
    actions: actions.length,
  };
}

/** The definition after the name, or undefined when the disk already says what the manifest says. */
function pseudoLine(entry: ManifestEntry, onDisk: DiskInode | undefined, byPath: Map<string, ManifestEntry>, epoch: number): string | undefined {
  const owner = `${entry.uid} ${entry.gid}`;
  switch (entry.type) {
    case 'char':
    case 'block':
      return `${entry.type === 'char' ? 'C' : 'B'} ${epoch} ${octal(entry.mode)} ${owner} ${entry.devmajor} ${entry.devminor}`;
    case 'fifo':
      return `I ${epoch} ${octal(entry.mode)} ${owner} f`;
    case 'symlink':
      return differs(onDisk!, SYMLINK_MODE, entry, epoch) ? `M ${epoch} ${octal(SYMLINK_MODE)} ${owner}` : undefined;
    default: {
      // A hardlink's inode is its file's: same mode and owner under every name.
      const file = entry.type === 'hardlink' ? byPath.get(entry.link!)! : entry;
      return differs(onDisk!, file.mode, file, epoch) ? `M ${epoch} ${octal(file.mode)} ${file.uid} ${file.gid}` : undefined;
    }
  }
}

/** mksquashfs clamps later times to SOURCE_DATE_EPOCH; only an older time needs correcting. */
function differs(disk: DiskInode, mode: number, owner: Pick<ManifestEntry, 'uid' | 'gid'>, epoch: number): boolean {
  return disk.mode !== mode || disk.uid !== owner.uid || disk.gid !== owner.gid || disk.mtime < epoch;
}

/**
 * guid actions for directories whose owner on disk is not the manifest's. When the builder is not
 * root every directory differs: then one action for the most common owner plus exceptions is
 * shorter, and mksquashfs evaluates every action on every entry.
 */
function ownerActions(
  differing: ReadonlyArray<{ entry: ManifestEntry; ino: number }>,
  allDirs: ReadonlyArray<{ entry: ManifestEntry; ino: number }>,
  root: DiskInode,
): string[] {
  if (differing.length === 0) return [];
  const guid = (entry: ManifestEntry) => `guid(${entry.uid},${entry.gid})`;
  const perDirectory = differing.map(({ entry, ino }) => `${guid(entry)}@${isInode(ino)}`);
  const counts = new Map<string, number>();
  for (const { entry } of differing) counts.set(guid(entry), (counts.get(guid(entry)) ?? 0) + 1);
  const common = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0][0];
  const exceptions = allDirs.filter(({ entry }) => guid(entry) !== common).map(({ entry, ino }) => `${guid(entry)}@${isInode(ino)}`);
  // The blanket action would also reach the root directory: give it back its fixed owner.
  const blanket = [`${common}@type(d)`, ...exceptions, `guid(0,0)@${isInode(root.ino)}`];
  return blanket.length < perDirectory.length ? blanket : perDirectory;
}

function isInode(ino: number): string {
  return `type(d) && inode(${ino})`;
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/**
 * A manifest path as a pseudo-file name: a backslash before every byte that is not a plain name
 * character (spaces, quotes, backslashes, '#'...); '/' stays the separator. Undefined for a path
 * with a newline, which 4.5.1 reads as a line continuation.
 */
export function escapePseudoPath(path: string): string | undefined {
  if (path.includes('\n')) return undefined;
  return path.replace(/[^A-Za-z0-9/._+\-\u0080-\uffff]/g, (c) => `\\${c}`);
}
