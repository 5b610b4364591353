// The file list a main header declares: one record per file from the parallel arrays (BASENAMES,
// DIRNAMES/DIRINDEXES, FILEMODES, ...). The header, not the payload, is the truth about a file:
// the payload only carries data (and rpm writes uid/gid 0 and no capabilities into it).
import { RpmFormatError } from './lead.js';
import type { RpmHeader } from './header.js';
import { DIGEST_ALGORITHMS, FileFlag, Tag, tagName } from './tags.js';

export interface RpmFile {
  /** Index in the header's arrays (what a stripped cpio member names). */
  index: number;
  /** As the header spells it: absolute (`/usr/bin/hello`). */
  path: string;
  mode: number;
  size: number;
  mtime: number;
  user: string;
  group: string;
  /** Symlink target ('' for other files). */
  linkTo: string;
  /** Hex digest of a regular file's content ('' when none: directories, ghosts, links). */
  digest: string;
  flags: number;
  inode: number;
  device: number;
  rdev: number;
  /** libcap text (`cap_net_raw=ep`), '' when none. */
  caps: string;
}

export interface RpmFileList {
  files: RpmFile[];
  /** node:crypto name of the FILEDIGESTS algorithm (md5 when FILEDIGESTALGO is absent, as rpm assumes). */
  digestAlgorithm: string;
}

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;
export const S_IFSOCK = 0o140000;

export function isGhost(file: RpmFile): boolean {
  return (file.flags & FileFlag.GHOST) !== 0;
}

export function isConfig(file: RpmFile): boolean {
  return (file.flags & FileFlag.CONFIG) !== 0;
}

/** Reads the header's file arrays. Throws RpmFormatError when they disagree in length or are malformed. */
export function readFileList(header: RpmHeader, label: string): RpmFileList {
  const fail = (message: string): never => {
    throw new RpmFormatError(`${label}: main header: ${message}`);
  };
  let paths: string[];
  const basenames = header.strings(Tag.BASENAMES);
  if (basenames) {
    const dirnames = header.strings(Tag.DIRNAMES) ?? fail(`${tagName(Tag.BASENAMES, 'main')} without ${tagName(Tag.DIRNAMES, 'main')}`);
    const dirindexes = header.ints(Tag.DIRINDEXES) ?? fail(`${tagName(Tag.BASENAMES, 'main')} without ${tagName(Tag.DIRINDEXES, 'main')}`);
    if (dirindexes.length !== basenames.length) fail(`${dirindexes.length} DIRINDEXES for ${basenames.length} BASENAMES`);
    paths = basenames.map((base, i) => {
      const dir = dirnames[dirindexes[i]];
      if (dir === undefined) fail(`file ${i} (${JSON.stringify(base)}) has directory index ${dirindexes[i]}, past the ${dirnames.length} DIRNAMES`);
      return dir + base;
    });
  } else {
    paths = header.strings(Tag.OLDFILENAMES) ?? [];
  }
  const count = paths.length;
  const array = <T>(tag: number, read: (tag: number) => T[] | undefined, fallback?: T): T[] => {
    const values = read(tag);
    if (values === undefined) {
      if (count === 0) return [];
      if (fallback !== undefined) return new Array<T>(count).fill(fallback);
      return fail(`${count} files but no ${tagName(tag, 'main')}`);
    }
    if (values.length !== count) fail(`${tagName(tag, 'main')} has ${values.length} elements for ${count} files`);
    return values;
  };
  const ints = (tag: number): number[] | undefined => header.ints(tag);
  const strings = (tag: number): string[] | undefined => header.strings(tag);
  const sizes = header.has(Tag.LONGFILESIZES) ? array(Tag.LONGFILESIZES, ints) : array(Tag.FILESIZES, ints);
  const modes = array(Tag.FILEMODES, ints);
  const mtimes = array(Tag.FILEMTIMES, ints, 0);
  const users = array(Tag.FILEUSERNAME, strings);
  const groups = array(Tag.FILEGROUPNAME, strings);
  const links = array(Tag.FILELINKTOS, strings, '');
  const digests = array(Tag.FILEDIGESTS, strings, '');
  const flags = array(Tag.FILEFLAGS, ints, 0);
  const inodes = array(Tag.FILEINODES, ints, 0);
  const devices = array(Tag.FILEDEVICES, ints, 0);
  const rdevs = array(Tag.FILERDEVS, ints, 0);
  const caps = array(Tag.FILECAPS, strings, '');
  const algoNumber = header.int(Tag.FILEDIGESTALGO) ?? 1;
  const digestAlgorithm = DIGEST_ALGORITHMS[algoNumber] ?? fail(`unknown FILEDIGESTALGO ${algoNumber}`);
  const files: RpmFile[] = paths.map((path, index) => ({
    index,
    path,
    mode: modes[index],
    size: sizes[index],
    mtime: mtimes[index],
    user: users[index],
    group: groups[index],
    linkTo: links[index],
    digest: digests[index].toLowerCase(),
    flags: flags[index],
    inode: inodes[index],
    device: devices[index],
    rdev: rdevs[index],
    caps: caps[index],
  }));
  return { files, digestAlgorithm };
}
