// Writing an RPM's file tree from its header. The header is the truth about every file (type,
// mode, owner, mtime, link target, capabilities, hardlink sets); the cpio payload only brings the
// data. Paths are checked once, up front, against the whole header list: normalized, unique, and
// never below something the package itself makes a symlink or a non-directory, so nothing is
// ever written through a symlink or outside the root. Files are created with O_EXCL|O_NOFOLLOW
// in a fresh directory, so what we created is exactly what is on disk.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
// Small files, links, directories and times use the synchronous calls: each is one short syscall,
// and a package of hundreds of small files otherwise waits on a thread-pool round trip per call.
import { chmodSync, closeSync, lutimesSync, mkdirSync, openSync, symlinkSync, utimesSync, writeSync } from 'node:fs';
import { link } from 'node:fs/promises';
import { join } from 'node:path';
import { CapabilityError, capabilityXattr } from '../../../formats/rpm/capabilities.js';
import type { CpioMember } from '../../../formats/rpm/cpio-reader.js';
import {
  isGhost,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  type RpmFile,
} from '../../../formats/rpm/files.js';
import { compareManifestPaths, ManifestError, normalizeManifestPath, type ManifestEntry, type ManifestEntryType } from '../../shared/manifest.js';
import type { RpmRejectReason } from './package-errors.js';

export type TreeReject = (reason: RpmRejectReason, message: string, entry?: string, cause?: unknown) => never;

const SMALL_FILE = 256 << 10;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

interface Planned {
  file: RpmFile;
  path: string;
  type: ManifestEntryType;
  /** `dev:ino` of a hardlink set with more than one member. */
  linkSet?: string;
  seen: boolean;
}

interface LinkSet {
  members: Planned[];
  /** The member whose data was written. */
  primary?: Planned;
}

function typeOf(mode: number): ManifestEntryType | 'socket' | undefined {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return 'file';
    case S_IFDIR:
      return 'dir';
    case S_IFLNK:
      return 'symlink';
    case S_IFCHR:
      return 'char';
    case S_IFBLK:
      return 'block';
    case S_IFIFO:
      return 'fifo';
    case S_IFSOCK:
      return 'socket';
    default:
      return undefined;
  }
}

/** Linux's new_decode_dev: major in bits 8-19, minor in bits 0-7 and 20-31. */
function decodeDevice(rdev: number): { major: number; minor: number } {
  return { major: (rdev >>> 8) & 0xfff, minor: (rdev & 0xff) | ((rdev >>> 12) & 0xfff00) };
}

export class RpmTreeWriter {
  private readonly byPath = new Map<string, Planned>();
  private readonly byIndex: Planned[] = [];
  private readonly sets = new Map<string, LinkSet>();
  private readonly manifest = new Map<string, ManifestEntry>();
  readonly ghosts: RpmFile[] = [];
  readonly stats = { files: 0, bytes: 0 };

  constructor(
    private readonly root: string,
    files: RpmFile[],
    private readonly digestAlgorithm: string,
    private readonly reject: TreeReject,
  ) {
    this.plan(files);
  }

  /** Checks every header path and creates the directories, symlinks and header-only entries. */
  private plan(files: RpmFile[]): void {
    for (const file of files) {
      let path: string | undefined;
      try {
        path = normalizeManifestPath(file.path.replace(/^\/+/, ''));
      } catch (err) {
        if (err instanceof ManifestError) this.reject('unsafe-path', `header file ${err.message}: refusing to write outside the tree`, file.path);
        throw err;
      }
      if (path === undefined) this.reject('unsafe-path', 'header lists the root directory itself', file.path);
      if (!file.path.startsWith('/')) this.reject('unsafe-path', 'header file path is not absolute', file.path);
      const type = typeOf(file.mode);
      if (type === undefined) this.reject('format', `unknown file type in mode 0${file.mode.toString(8)}`, file.path);
      if (type === 'socket') this.reject('format', 'a socket: not supported in a package tree', file.path);
      if (this.byPath.has(path!)) this.reject('unsafe-path', 'header lists the path twice', file.path);
      const planned: Planned = { file, path: path!, type: type as ManifestEntryType, seen: false };
      this.byIndex[file.index] = planned;
      if (isGhost(file)) {
        this.ghosts.push(file);
        continue;
      }
      if (type === 'symlink' && (file.linkTo === '' || file.linkTo.includes('\0'))) this.reject('unsafe-link', 'symlink without a target (FILELINKTOS)', file.path);
      this.byPath.set(path!, planned);
    }
    // Parents: a directory the header lists, or one it does not (made implicitly). Never a
    // symlink or another non-directory of this package: rpm would follow `lib -> usr/lib`, we refuse.
    for (const planned of this.byPath.values()) {
      const parts = planned.path.split('/');
      for (let i = 1; i < parts.length; i++) {
        const parent = this.byPath.get(parts.slice(0, i).join('/'));
        if (parent && parent.type !== 'dir') {
          const what = parent.type === 'symlink' ? 'a symlink: refusing to write through it' : `a ${parent.type}, not a directory`;
          this.reject('unsafe-path', `parent ${parent.path} is ${what}`, planned.file.path);
        }
      }
    }
    // Hardlink sets: regular files sharing (device, inode).
    const groups = new Map<string, Planned[]>();
    for (const planned of this.byPath.values()) {
      if (planned.type !== 'file') continue;
      const key = `${planned.file.device}:${planned.file.inode}`;
      groups.set(key, [...(groups.get(key) ?? []), planned]);
    }
    for (const [key, members] of groups) {
      if (members.length < 2) continue;
      const sizes = new Set(members.map((m) => m.file.size));
      const digests = new Set(members.map((m) => m.file.digest));
      if (sizes.size > 1 || digests.size > 1) {
        this.reject('format', `hardlink set ${members.map((m) => m.path).join(', ')} disagrees on size or digest`, members[0].file.path);
      }
      for (const member of members) member.linkSet = key;
      this.sets.set(key, { members });
    }
  }

  /**
   * A stripped (07070X) member's data size, which only the header knows: as rpm reads it, a
   * regular file's size, 0 for a hardlink set member other than the set's last (highest index),
   * a symlink's target length, 0 for the rest. Undefined for an index the header does not list.
   */
  strippedSize(index: number): number | undefined {
    const planned = this.byIndex[index];
    if (!planned) return undefined;
    if (planned.type === 'symlink') return planned.file.size;
    if (planned.type !== 'file') return 0;
    const set = planned.linkSet ? this.sets.get(planned.linkSet) : undefined;
    if (set && set.members.some((m) => m.file.index > index)) return 0;
    return planned.file.size;
  }

  /** Creates directories (mode set in finish), symlinks, devices and fifos, all from the header. */
  async createSkeleton(): Promise<void> {
    const ordered = [...this.byPath.values()].sort((a, b) => compareManifestPaths(a.path, b.path));
    const made = new Set<string>();
    for (const planned of ordered) {
      const dir = planned.type === 'dir' ? planned.path : planned.path.split('/').slice(0, -1).join('/');
      if (dir !== '' && !made.has(dir)) {
        // Checked in plan(): no component is a symlink of ours, so recursive mkdir stays inside.
        mkdirSync(join(this.root, dir), { recursive: true, mode: 0o755 });
        for (let d = dir; d !== '' && !made.has(d); d = d.split('/').slice(0, -1).join('/')) made.add(d);
      }
      const base = this.baseEntry(planned);
      if (planned.type === 'symlink') {
        symlinkSync(planned.file.linkTo, join(this.root, planned.path));
        base.target = planned.file.linkTo;
        this.manifest.set(planned.path, base);
      } else if (planned.type === 'char' || planned.type === 'block') {
        const { major, minor } = decodeDevice(planned.file.rdev);
        this.manifest.set(planned.path, { ...base, devmajor: major, devminor: minor });
      } else if (planned.type === 'dir' || planned.type === 'fifo') {
        this.manifest.set(planned.path, base);
      }
    }
  }

  /** One payload member: matched to its header file, checked, its data written. */
  async add(member: CpioMember): Promise<void> {
    let planned: Planned | undefined;
    let label: string;
    if (member.fileIndex !== undefined) {
      label = `file #${member.fileIndex}`;
      planned = this.byIndex[member.fileIndex];
      if (planned) label = planned.file.path;
    } else {
      label = member.name!;
      let path: string | undefined;
      try {
        path = normalizeManifestPath(member.name!);
      } catch (err) {
        if (err instanceof ManifestError) this.reject('unsafe-path', `payload member ${err.message}: refusing to write outside the tree`, member.name);
        throw err;
      }
      if (path === undefined) this.reject('payload', 'payload member names the root directory', member.name);
      planned = this.byPath.get(path!) ?? this.byIndex.find((p) => p?.path === path && isGhost(p.file));
    }
    if (!planned) this.reject('payload', 'payload member is not listed in the header', label);
    const p = planned!;
    if (isGhost(p.file)) this.reject('payload', 'payload member is a %ghost file in the header (ghosts carry no data)', label);
    if (p.seen) this.reject('payload', 'payload member appears twice', label);
    p.seen = true;
    if (member.fileIndex === undefined && (member.mode & S_IFMT) !== (p.file.mode & S_IFMT)) {
      this.reject('payload', `payload member has mode 0${member.mode.toString(8)}, the header says 0${p.file.mode.toString(8)}`, label);
    }
    switch (p.type) {
      case 'file':
        await this.addFile(p, member, label);
        return;
      case 'symlink': {
        const data = await collect(member, 4096, () => this.reject('payload', `symlink data of ${member.size} bytes`, label));
        if (data.toString('utf8') !== p.file.linkTo) {
          this.reject('payload', `payload symlink target ${JSON.stringify(data.toString('utf8'))} differs from the header's ${JSON.stringify(p.file.linkTo)}`, label);
        }
        return;
      }
      default:
        if (member.size !== 0) this.reject('payload', `a ${p.type} with ${member.size} bytes of data`, label);
    }
  }

  private async addFile(p: Planned, member: CpioMember, label: string): Promise<void> {
    const set = p.linkSet ? this.sets.get(p.linkSet)! : undefined;
    if (set && member.size === 0 && p.file.size > 0) return; // a link; the set's data comes with another member
    if (member.size !== p.file.size) this.reject('payload', `payload member has ${member.size} bytes, the header says ${p.file.size}`, label);
    if (set) {
      if (set.primary) {
        if (p.file.size > 0) this.reject('payload', `hardlink set of ${set.primary.path} carries its data twice`, label);
        return; // an empty set: the first member is the file, the others link to it
      }
      set.primary = p;
    }
    const target = join(this.root, p.path);
    const sha256 = createHash('sha256');
    // FILEDIGESTS is SHA-256 in every package rpm >= 4.14 builds: one hash serves both.
    const own = p.file.digest === '' || this.digestAlgorithm === 'sha256' ? undefined : createHash(this.digestAlgorithm);
    const mode = (p.file.mode & 0o777) | 0o600;
    if (member.size <= SMALL_FILE) {
      const data = await collect(member, SMALL_FILE, () => this.reject('payload', 'member longer than declared', label));
      own?.update(data);
      sha256.update(data);
      const fd = openSync(target, CREATE_FLAGS, mode);
      try {
        writeSync(fd, data);
      } finally {
        closeSync(fd);
      }
    } else {
      // Chunks written as they come, synchronously: a page-cache write of one decompressed chunk is
      // shorter than the round trip to the thread pool an awaited write costs.
      const fd = openSync(target, CREATE_FLAGS, mode);
      try {
        for await (const chunk of member.body) {
          own?.update(chunk);
          sha256.update(chunk);
          writeSync(fd, chunk);
        }
      } finally {
        closeSync(fd);
      }
    }
    const contentSha256 = sha256.digest('hex');
    if (p.file.digest !== '') this.checkDigest(own ? own.digest('hex') : contentSha256, p, label);
    utimesSync(target, p.file.mtime, p.file.mtime);
    this.stats.files += 1;
    this.stats.bytes += member.size;
    const entry: ManifestEntry = { ...this.baseEntry(p), size: member.size, sha256: contentSha256 };
    if (p.file.digest !== '') entry.packageDigest = `${this.digestAlgorithm}:${p.file.digest}`;
    this.manifest.set(p.path, entry);
  }

  private checkDigest(actual: string, p: Planned, label: string): void {
    if (actual !== p.file.digest) this.reject('file-digest', `content ${this.digestAlgorithm} ${actual} differs from the header's ${p.file.digest} (FILEDIGESTS)`, label);
  }

  /** After the payload: every file with data arrived, hardlinks made, directory modes and mtimes set. */
  async finish(): Promise<void> {
    for (const p of this.byPath.values()) {
      if (!p.seen && (p.type === 'file' || p.type === 'symlink')) {
        this.reject('payload', 'header file is missing from the payload (and is not a %ghost)', p.file.path);
      }
    }
    for (const set of this.sets.values()) {
      const primary = set.primary;
      if (!primary) this.reject('payload', 'no member of the hardlink set carries its data', set.members[0].file.path);
      for (const member of set.members) {
        if (member === primary) continue;
        await link(join(this.root, primary!.path), join(this.root, member.path));
        this.manifest.set(member.path, { ...this.baseEntry(member), type: 'hardlink', link: primary!.path });
      }
    }
    for (const p of this.byPath.values()) {
      if (p.type === 'symlink') lutimesSync(join(this.root, p.path), p.file.mtime, p.file.mtime);
    }
    // Deepest first, so setting a parent's mtime is not undone by its children.
    const dirs = [...this.byPath.values()].filter((p) => p.type === 'dir').sort((a, b) => compareManifestPaths(b.path, a.path));
    for (const p of dirs) {
      const path = join(this.root, p.path);
      chmodSync(path, (p.file.mode & 0o777) | 0o700);
      utimesSync(path, p.file.mtime, p.file.mtime);
    }
  }

  entries(): ManifestEntry[] {
    return [...this.manifest.values()].sort((a, b) => compareManifestPaths(a.path, b.path));
  }

  /** Header paths (`/etc/x`) of the files the manifest has, for messages and rpminfo. */
  private baseEntry(p: Planned): ManifestEntry {
    const entry: ManifestEntry = {
      path: p.path,
      type: p.type,
      mode: p.file.mode & 0o7777,
      // No numeric ids in an RPM: the names are the truth; an image resolves them against its
      // /etc/passwd and /etc/group.
      uid: 0,
      gid: 0,
      uname: p.file.user,
      gname: p.file.group,
    };
    if (p.file.caps !== '') {
      try {
        entry.xattrs = { 'security.capability': capabilityXattr(p.file.caps).toString('base64') };
      } catch (err) {
        if (err instanceof CapabilityError) this.reject('format', `FILECAPS ${JSON.stringify(p.file.caps)}: ${err.message}`, p.file.path, err);
        throw err;
      }
    }
    return entry;
  }
}

async function collect(member: CpioMember, max: number, tooLong: () => never): Promise<Buffer> {
  if (member.size > max) tooLong();
  const parts: Buffer[] = [];
  for await (const chunk of member.body) parts.push(chunk);
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}
