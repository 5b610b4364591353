// FAT geometry for ESP images: which FAT type and cluster size fit a given content, how big the
// image must be, and what mkfs.fat actually made (read back from the boot sector).
//
// The FAT type is defined by the cluster count alone (FAT12 < 4085 <= FAT16 < 65525 <= FAT32),
// so type and cluster size are chosen together and passed to mkfs.fat explicitly. The choice
// follows mkfs.fat's own defaults: 2 KiB clusters, FAT12 while it fits (about 8 MiB), FAT16 up to
// 512 MiB (larger clusters past 128 MiB), FAT32 beyond.
import { open } from 'node:fs/promises';

export type FatBits = 12 | 16 | 32;

export const SECTOR_BYTES = 512;
/** Root directory entries of a FAT12/16 volume (fixed-size root; FAT32's root is a cluster chain). */
export const FIXED_ROOT_ENTRIES = 512;
/** Cluster count ranges of each FAT type (FAT spec: the type is decided by the count alone). */
export const CLUSTER_RANGE: Record<FatBits, { min: number; max: number }> = {
  12: { min: 1, max: 4084 },
  16: { min: 4085, max: 65524 },
  32: { min: 65525, max: 0x0ffffff4 },
};
/** Candidates in order of preference: the first that holds the content wins. */
const CANDIDATES: { bits: FatBits; clusterBytes: number }[] = [
  { bits: 12, clusterBytes: 2048 },
  { bits: 16, clusterBytes: 2048 },
  { bits: 16, clusterBytes: 4096 },
  { bits: 16, clusterBytes: 8192 },
  { bits: 32, clusterBytes: 4096 },
  { bits: 32, clusterBytes: 8192 },
  { bits: 32, clusterBytes: 16384 },
  { bits: 32, clusterBytes: 32768 },
];
/** Spare clusters beyond the content so mkfs.fat's alignment never leaves us short. */
const MARGIN_CLUSTERS = 4;

export class FatLayoutError extends Error {
  override name = 'FatLayoutError';
}

export interface FatContent {
  /** Files by path inside the image (`EFI/BOOT/BOOTX64.EFI`) with their sizes in bytes. */
  files: { path: string; size: number }[];
  /** Free space to leave (systemd-boot's random seed, a user's extra file). */
  slackBytes: number;
}

export interface FatLayout {
  bits: FatBits;
  clusterBytes: number;
  /** Data clusters the content (plus slack) needs. */
  clustersNeeded: number;
  /** Image size to ask mkfs.fat for, in KiB (its unit). */
  sizeKiB: number;
}

/** True for names stored as a plain 8.3 short entry (no long-name entries needed). */
function isShortName(name: string): boolean {
  return /^[A-Z0-9_~!#$%&'()@^`{}-]{1,8}(\.[A-Z0-9_~!#$%&'()@^`{}-]{1,3})?$/.test(name);
}

/** 32-byte directory entries a name takes: the short entry plus one per 13 characters of long name. */
export function directoryEntriesFor(name: string): number {
  return isShortName(name) ? 1 : 1 + Math.ceil(name.length / 13);
}

/** Directory -> entries it holds, for every directory the files imply ('' is the root). */
export function directoryEntries(paths: string[]): Map<string, number> {
  const entries = new Map<string, number>([['', 1]]); // the root holds the volume label entry
  const children = new Map<string, Set<string>>();
  for (const path of paths) {
    const parts = path.split('/');
    for (let i = 0; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (!children.has(parent)) children.set(parent, new Set());
      children.get(parent)!.add(parts[i]);
    }
  }
  for (const [dir, names] of children) {
    let count = dir === '' ? 1 : 2; // '.' and '..' in every directory but the root
    for (const name of names) count += directoryEntriesFor(name);
    entries.set(dir, count);
  }
  return entries;
}

/**
 * Sectors mkfs.fat may spend besides the clusters: the boot sector (FAT32: 32 reserved), two
 * FATs, the fixed root (FAT12/16), alignment of the data area to a cluster, and the tail it
 * drops to fit its disk geometry (seen: up to 61 sectors).
 */
const GEOMETRY_SLOP_SECTORS = 128;

function overheadSectors(bits: FatBits, clusters: number, clusterBytes: number): number {
  const reserved = bits === 32 ? 32 : 1;
  const fatBytes = bits === 12 ? Math.ceil(((clusters + 2) * 3) / 2) : (clusters + 2) * (bits / 8);
  const fatSectors = Math.ceil(fatBytes / SECTOR_BYTES);
  const rootSectors = bits === 32 ? 0 : (FIXED_ROOT_ENTRIES * 32) / SECTOR_BYTES;
  const align = 2 * (clusterBytes / SECTOR_BYTES);
  return reserved + 2 * fatSectors + rootSectors + align + GEOMETRY_SLOP_SECTORS;
}

/** Chooses FAT type, cluster size and image size for the content. */
export function planFatLayout(content: FatContent): FatLayout {
  const dirs = directoryEntries(content.files.map((f) => f.path));
  const rootEntries = dirs.get('')!;
  for (const { bits, clusterBytes } of CANDIDATES) {
    const clustersOf = (bytes: number) => Math.ceil(bytes / clusterBytes);
    let needed = clustersOf(content.slackBytes);
    for (const file of content.files) needed += clustersOf(file.size);
    for (const [dir, count] of dirs) {
      if (dir !== '' || bits === 32) needed += clustersOf(count * 32);
    }
    if (bits !== 32 && rootEntries > FIXED_ROOT_ENTRIES) continue;
    const range = CLUSTER_RANGE[bits];
    const clusters = Math.max(needed, range.min) + MARGIN_CLUSTERS;
    const overhead = overheadSectors(bits, clusters, clusterBytes);
    // If mkfs.fat spends less than the estimate, the rest becomes clusters: stay in range anyway.
    if (clusters + Math.ceil(overhead / (clusterBytes / SECTOR_BYTES)) > range.max) continue;
    const sectors = overhead + clusters * (clusterBytes / SECTOR_BYTES);
    // Whole 2 KiB ISO sectors: El Torito's load size then covers the image exactly, no padding.
    return { bits, clusterBytes, clustersNeeded: needed, sizeKiB: Math.ceil((sectors * SECTOR_BYTES) / 2048) * 2 };
  }
  throw new FatLayoutError(`FAT image: ${content.files.length} files do not fit any FAT32 layout (largest: 32 KiB clusters); split the content`);
}

export interface FatGeometry {
  bits: FatBits;
  bytesPerSector: number;
  clusterBytes: number;
  clusters: number;
  totalSectors: number;
  volumeId: string;
  label: string;
}

/** Reads the BIOS parameter block of a FAT image and derives its type from the cluster count. */
export async function readFatGeometry(image: string): Promise<FatGeometry> {
  const fh = await open(image, 'r');
  const bs = Buffer.alloc(SECTOR_BYTES);
  try {
    await fh.read(bs, 0, SECTOR_BYTES, 0);
  } finally {
    await fh.close();
  }
  if (bs.readUInt16LE(510) !== 0xaa55) throw new FatLayoutError(`${image}: no boot sector signature 0x55AA; not a FAT image`);
  const bytesPerSector = bs.readUInt16LE(11);
  const sectorsPerCluster = bs[13];
  const reserved = bs.readUInt16LE(14);
  const fats = bs[16];
  const rootEntries = bs.readUInt16LE(17);
  const totalSectors = bs.readUInt16LE(19) || bs.readUInt32LE(32);
  const fatSectors = bs.readUInt16LE(22) || bs.readUInt32LE(36);
  if (!bytesPerSector || !sectorsPerCluster || !fats || !totalSectors || !fatSectors) {
    throw new FatLayoutError(`${image}: the boot sector's BPB has a zero field; not a FAT image`);
  }
  const rootSectors = Math.ceil((rootEntries * 32) / bytesPerSector);
  const dataSectors = totalSectors - (reserved + fats * fatSectors + rootSectors);
  const clusters = Math.floor(dataSectors / sectorsPerCluster);
  const bits: FatBits = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
  // The extended BPB (volume id, label) sits at 0x27 on FAT12/16 and at 0x43 on FAT32.
  const ebpb = bits === 32 ? 0x43 : 0x27;
  return {
    bits,
    bytesPerSector,
    clusterBytes: sectorsPerCluster * bytesPerSector,
    clusters,
    totalSectors,
    volumeId: bs.readUInt32LE(ebpb).toString(16).padStart(8, '0'),
    label: bs.toString('latin1', ebpb + 4, ebpb + 15).trimEnd(),
  };
}
