// GPT disk images built rootless: sfdisk writes the partition table into a plain file, then each
// partition's content is copied in at its offset.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat, truncate, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Runner } from '../stages/shared/host-runner.js';

/** GPT partition type GUIDs (Discoverable Partitions Specification). */
export const PARTITION_TYPE = {
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  rootX86_64: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709',
  var: '4D21B016-B534-45C2-A9FB-5C16E091FD2D',
} as const;

export interface GptPartitionSpec {
  /** GPT partition name (PARTLABEL; the kernel shows it as PARTNAME in the block device's uevent). */
  name: string;
  type: string;
  /** Size; at least the image's size rounded up to whole MiB. */
  sizeMiB?: number;
  /** An image file copied to the partition's start. */
  image?: string;
}

export interface GptLayoutEntry {
  name: string;
  startSector: number;
  sectors: number;
}

export class GptDiskError extends Error {
  override name = 'GptDiskError';
}

const SECTOR = 512;
const MIB_SECTORS = 2048;

/** A stable GUID derived from a name, so the same layout gives the same bytes. */
export function stableGuid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  // Version 4 / variant 1 bits, so tools treat it as a well-formed random GUID.
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`.toUpperCase();
}

export async function planGptLayout(partitions: readonly GptPartitionSpec[]): Promise<GptLayoutEntry[]> {
  const layout: GptLayoutEntry[] = [];
  let next = MIB_SECTORS; // First partition at 1 MiB, everything MiB-aligned.
  for (const partition of partitions) {
    if (!/^[\w.-]{1,36}$/.test(partition.name)) {
      throw new GptDiskError(`GPT partition name ${JSON.stringify(partition.name)}: use 1-36 letters, digits, '.', '_' or '-'`);
    }
    const imageBytes = partition.image ? (await stat(partition.image)).size : 0;
    const mib = Math.max(partition.sizeMiB ?? 0, Math.ceil(imageBytes / (MIB_SECTORS * SECTOR)), 1);
    if (partition.sizeMiB !== undefined && partition.sizeMiB * MIB_SECTORS * SECTOR < imageBytes) {
      throw new GptDiskError(`partition ${partition.name}: image ${partition.image} (${imageBytes} bytes) exceeds sizeMiB ${partition.sizeMiB}`);
    }
    layout.push({ name: partition.name, startSector: next, sectors: mib * MIB_SECTORS });
    next += mib * MIB_SECTORS;
  }
  return layout;
}

/** The sfdisk script for a layout (sfdisk reads it on stdin). */
export function sfdiskScript(layout: readonly GptLayoutEntry[], partitions: readonly GptPartitionSpec[], diskSeed: string): string {
  const lines = ['label: gpt', `label-id: ${stableGuid(`${diskSeed}:disk`)}`, 'unit: sectors', 'sector-size: 512', ''];
  layout.forEach((entry, index) => {
    lines.push(
      `start=${entry.startSector}, size=${entry.sectors}, type=${partitions[index].type}, ` +
        `uuid=${stableGuid(`${diskSeed}:${entry.name}`)}, name="${entry.name}"`,
    );
  });
  return lines.join('\n') + '\n';
}

export async function buildGptDisk(
  out: string,
  partitions: readonly GptPartitionSpec[],
  options: { runner: Runner; diskSeed?: string },
): Promise<GptLayoutEntry[]> {
  const layout = await planGptLayout(partitions);
  const last = layout.at(-1);
  // 1 MiB after the last partition leaves room for the backup GPT.
  const totalSectors = (last ? last.startSector + last.sectors : MIB_SECTORS) + MIB_SECTORS;
  await writeFile(out, '');
  await truncate(out, totalSectors * SECTOR);
  await options.runner.exec('sfdisk', ['--no-reread', '--no-tell-kernel', '--quiet', out], {
    input: sfdiskScript(layout, partitions, options.diskSeed ?? 'pipeline-disk'),
  });
  for (const [index, entry] of layout.entries()) {
    const image = partitions[index].image;
    if (!image) continue;
    await pipeline(createReadStream(image), createWriteStream(out, { flags: 'r+', start: entry.startSector * SECTOR }));
  }
  return layout;
}
