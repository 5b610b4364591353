// The throwaway disk of the Secure Boot enrollment boot: systemd-boot (signed by the variant's
// db key, so it also runs once the keys are in) enrolls /loader/keys/auto/{PK,KEK,db}.auth into
// OVMF's variable store in setup mode, then resets.
import { buildEsp } from '../stages/esp.js';
import type { Runner } from '../stages/shared/host-runner.js';
import { THROWAWAY_IMAGE_EPOCH } from './image-epoch.js';

export interface EnrollmentKeys {
  /** Signed EFI signature lists (efitools sign-efi-sig-list output). */
  pkAuth: string;
  kekAuth: string;
  dbAuth: string;
}

/** systemd-boot >= 252: `force` enrolls without asking (safe in a VM). */
export const ENROLLMENT_LOADER_CONF = 'secure-boot-enroll force\ntimeout 0\n';

export async function buildEnrollmentDisk(options: {
  /** systemd-boot signed with the variant's db key. */
  signedSystemdBoot: string;
  keys: EnrollmentKeys;
  out: string;
  tmp: string;
  runner: Runner;
}): Promise<string> {
  // A bare FAT image (no partition table): OVMF boots it from a virtio disk as a whole-disk filesystem.
  await buildEsp({
    output: options.out,
    label: 'ENROLL',
    sourceDateEpoch: THROWAWAY_IMAGE_EPOCH,
    scratch: options.tmp,
    runner: options.runner,
    entries: [
      { path: 'EFI/BOOT/BOOTX64.EFI', source: options.signedSystemdBoot },
      { path: 'loader/loader.conf', data: ENROLLMENT_LOADER_CONF },
      { path: 'loader/keys/auto/PK.auth', source: options.keys.pkAuth },
      { path: 'loader/keys/auto/KEK.auth', source: options.keys.kekAuth },
      { path: 'loader/keys/auto/db.auth', source: options.keys.dbAuth },
    ],
  });
  return options.out;
}
