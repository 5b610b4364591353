// The xorriso command line of the hybrid ISO, as a pure function of the plan.
//
// BIOS: El Torito entry 1 is isolinux.bin (no emulation, 4 sectors, boot info table); on a USB
// stick the isohybrid MBR (isohdpfx.bin) chains to it.
// UEFI: El Torito entry 2 is the FAT image efiboot.img *inside the ISO tree*, also marked as an
// MBR (type 0xEF) and GPT partition by -isohybrid-gpt-basdat for booting as a disk. Why inside the
// tree: El Torito stores load sizes in 16 bits of 512-byte sectors, so images over 65535 sectors
// (32 MiB) get load size 0. UEFI firmware (edk2/OVMF ElTorito.c) then takes the image to run from
// its LBA to the end of the ISO volume. For an image inside the volume that range holds the
// whole FAT file system, so any size boots; an image appended after the volume (-append_partition)
// lies beyond that end and OVMF finds nothing ("Not Found").
import { createHash } from 'node:crypto';

export interface IsoGraft {
  /** Absolute path inside the ISO (`/boot/vmlinuz`). */
  isoPath: string;
  /** File on the host (read in place: nothing is copied). */
  host: string;
}

export interface XorrisoPlan {
  output: string;
  volumeLabel: string;
  sourceDateEpoch: number;
  /** Host path of the isohybrid MBR template (isohdpfx.bin). */
  isohybridMbr: string;
  /** ISO paths of the BIOS boot image, the El Torito catalog (xorriso makes it) and the ESP image. */
  biosBootImage: string;
  bootCatalog: string;
  efiBootImage: string;
  grafts: IsoGraft[];
}

/** `YYYYMMDDhhmmss00` in UTC: xorriso's form for --modification-date= and --set_all_file_dates. */
export function isoTimestamp(epoch: number): string {
  const iso = new Date(epoch * 1000).toISOString(); // 2023-11-14T22:13:20.000Z
  return iso.slice(0, 19).replace(/[-T:]/g, '') + '00';
}

/** Namespace of pipeline's name-based (v5) disk GUIDs. */
const GPT_GUID_NAMESPACE = Buffer.from('5a0c0e39c1d04e2d9d3f3b1b0f6f3c52', 'hex');

/**
 * The GPT disk GUID: an RFC 4122 v5 UUID of the label and date, so builds repeat it and two
 * variants built at the same date still differ (xorriso's own date-based GUID would not).
 */
export function gptDiskGuid(volumeLabel: string, epoch: number): string {
  const digest = createHash('sha1').update(GPT_GUID_NAMESPACE).update(`${volumeLabel}\0${epoch}`).digest();
  const bytes = digest.subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** mkisofs graft-point syntax: '=' separates, so '\' and '=' in a path are escaped. */
function graftPath(path: string): string {
  return path.replace(/\\/g, '\\\\').replace(/=/g, '\\=');
}

export function xorrisoArgs(plan: XorrisoPlan): string[] {
  const date = isoTimestamp(plan.sourceDateEpoch);
  const rel = (isoPath: string) => isoPath.replace(/^\/+/, '');
  return [
    // No startup files: nothing from /etc or $HOME changes the image.
    '-no_rc',
    '-as', 'mkisofs',
    // Level 3: files over 4 GiB (a large root image) as multi-extent files.
    '-iso-level', '3',
    '-full-iso9660-filenames',
    // Rock Ridge with root ownership and sane modes, whoever owns the host files.
    '-rational-rock',
    '-volid', plan.volumeLabel,
    '-eltorito-boot', rel(plan.biosBootImage),
    '-eltorito-catalog', rel(plan.bootCatalog),
    '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table',
    '-isohybrid-mbr', plan.isohybridMbr,
    // Partition 1 starts at 32 KiB and holds a mountable copy of the ISO's superblock.
    '-partition_offset', '16',
    '-eltorito-alt-boot',
    '-e', rel(plan.efiBootImage),
    '-no-emul-boot',
    '-isohybrid-gpt-basdat',
    // Reproducibility: every date from SOURCE_DATE_EPOCH, the disk GUID from label and date.
    `--modification-date=${date}`,
    '--set_all_file_dates', date,
    '--gpt_disk_guid', gptDiskGuid(plan.volumeLabel, plan.sourceDateEpoch),
    '-output', plan.output,
    '-graft-points',
    ...plan.grafts.map((g) => `${graftPath(g.isoPath)}=${graftPath(g.host)}`),
  ];
}
