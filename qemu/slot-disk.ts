// The disk of the slot-b boot test: the installed A/B layout (EFI + system-a + system-b + var)
// with the ESP's default entry set to the system-b UKI and the root's layers in `system-b` (one
// image, or several behind a header: formats/slot-layers.ts). The ESP and var carry the
// filesystem labels the image's /etc/fstab mounts them by (stages/rootfs/etc-files.ts), with
// var an ext4 holding home/: a systemd root waits for what its fstab names.
// The initramfs must then resolve `root=LABEL=system-b` by GPT partition name (PARTNAME);
// `system-a` is left empty, so picking the wrong slot fails the boot instead of passing it.
import { join } from 'node:path';
import { writeSlotImage } from '../formats/slot-layers.js';
import { buildEsp } from '../stages/esp.js';
import type { Runner } from '../stages/shared/host-runner.js';
import { THROWAWAY_IMAGE_EPOCH } from './image-epoch.js';
import { buildGptDisk, PARTITION_TYPE, type GptLayoutEntry } from './gpt-disk.js';
import { FSTAB_DEFAULTS } from '../stages/rootfs/etc-files.js';
import { mkdir } from 'node:fs/promises';

/** The host tools the slot disk is made with (the boot-test node declares them). */
export const SLOT_DISK_TOOLS = ['sfdisk', 'mkfs.fat', 'mmd', 'mcopy', 'mkfs.ext4'];

export interface SlotDiskInputs {
  /** systemd-boot (signed or not) for EFI/BOOT/BOOTX64.EFI. */
  systemdBoot: string;
  /** The system-b UKI (its .cmdline carries root=LABEL=system-b). */
  ukiSystemB: string;
  /** File name under EFI/Linux/, also the loader entry id: `acorn-system-b.efi`. */
  ukiFileName: string;
  /** The root's layer images (squashfs/erofs), base first, written into `system-b` as one slot image. */
  layers: string[];
  out: string;
  tmp: string;
  runner: Runner;
}

/** The var filesystem: fixed ids, so the throwaway disk is the same every time. */
const VAR_UUID = '6c6f7661-7200-4000-8000-000000000001';
const VAR_MIB = 16;

export const SLOT_PARTITIONS = { esp: 'EFI', a: 'system-a', b: 'system-b', var: 'var' } as const;

export function slotLoaderConf(ukiFileName: string): string {
  return `default ${ukiFileName}\ntimeout 0\n`;
}

export async function buildSlotBDisk(inputs: SlotDiskInputs): Promise<GptLayoutEntry[]> {
  if (!/^[\w.-]+\.efi$/.test(inputs.ukiFileName)) {
    throw new Error(`UKI file name ${JSON.stringify(inputs.ukiFileName)} must be a plain name ending in .efi`);
  }
  const esp = join(inputs.tmp, 'slot-esp.img');
  await buildEsp({
    output: esp,
    label: FSTAB_DEFAULTS.espLabel,
    sourceDateEpoch: THROWAWAY_IMAGE_EPOCH,
    scratch: inputs.tmp,
    runner: inputs.runner,
    entries: [
      { path: 'EFI/BOOT/BOOTX64.EFI', source: inputs.systemdBoot },
      { path: `EFI/Linux/${inputs.ukiFileName}`, source: inputs.ukiSystemB },
      { path: 'loader/loader.conf', data: slotLoaderConf(inputs.ukiFileName) },
    ],
  });
  const slot = join(inputs.tmp, 'slot-b.img');
  await writeSlotImage(inputs.layers, slot);
  const varImage = join(inputs.tmp, 'var.img');
  const varTree = join(inputs.tmp, 'var-tree');
  await mkdir(join(varTree, 'home'), { recursive: true });
  await inputs.runner.exec('mkfs.ext4', ['-q', '-F', '-L', FSTAB_DEFAULTS.varLabel, '-U', VAR_UUID, '-E', `hash_seed=${VAR_UUID}`, '-d', varTree, varImage, `${VAR_MIB}M`], {
    env: { E2FSPROGS_FAKE_TIME: String(THROWAWAY_IMAGE_EPOCH) },
  });
  return buildGptDisk(
    inputs.out,
    [
      { name: SLOT_PARTITIONS.esp, type: PARTITION_TYPE.esp, image: esp },
      { name: SLOT_PARTITIONS.a, type: PARTITION_TYPE.rootX86_64, sizeMiB: 1 },
      { name: SLOT_PARTITIONS.b, type: PARTITION_TYPE.rootX86_64, image: slot },
      { name: SLOT_PARTITIONS.var, type: PARTITION_TYPE.var, image: varImage },
    ],
    { runner: inputs.runner, diskSeed: `slot-b:${inputs.ukiFileName}` },
  );
}
