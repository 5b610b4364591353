// File names derived from the OS id, shared by the ESP, the ISO and the boot tests.

export class OsIdError extends Error {
  override name = 'OsIdError';
}

/** An OS id as it appears in file names (`iuppiter` -> EFI/Linux/iuppiter-live.efi). */
export function validateOsId(os: string, where: string): string {
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(os)) {
    throw new OsIdError(`${where}: OS id ${JSON.stringify(os)} must be lower-case letters, digits, '.', '_' or '-' (it names files)`);
  }
  return os;
}

/** The live system's UKI on the ESP: `EFI/Linux/<os>-live.efi`. */
export function liveUkiName(os: string): string {
  return `${os}-live.efi`;
}

/** The per-slot UKI names the installer looks for: `<os>-system-a.efi`, `<os>-system-b.efi`. */
export function slotUkiName(os: string, slot: 'system-a' | 'system-b'): string {
  return `${os}-${slot}.efi`;
}
