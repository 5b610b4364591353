// Firmware images QEMU boots with: OVMF (UEFI, plain and Secure Boot builds) and SeaBIOS.
// Each located file carries its digest, which enters the boot-test node's key (never its path:
// keys hold nothing machine-specific).
import { constants } from 'node:fs';
import { access, chmod, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File } from '../graph/hash.js';
import type { HostFileSpec } from '../graph/host-files.js';

export type FirmwareRole = 'ovmf-code' | 'ovmf-code-secboot' | 'ovmf-vars' | 'seabios';

interface FirmwareCandidate {
  fileName: string;
  dirs: string[];
  debianPackage: string;
}

const OVMF_DIRS = ['/usr/share/OVMF', '/usr/share/ovmf'];

/** Where each role is found on Debian 12, and which package ships it. */
export const FIRMWARE_CANDIDATES: Record<FirmwareRole, FirmwareCandidate> = {
  'ovmf-code': { fileName: 'OVMF_CODE_4M.fd', dirs: OVMF_DIRS, debianPackage: 'ovmf' },
  'ovmf-code-secboot': { fileName: 'OVMF_CODE_4M.secboot.fd', dirs: OVMF_DIRS, debianPackage: 'ovmf' },
  // Setup mode (no keys enrolled): the secure-boot scenario enrolls the variant's own keys.
  'ovmf-vars': { fileName: 'OVMF_VARS_4M.fd', dirs: OVMF_DIRS, debianPackage: 'ovmf' },
  seabios: {
    fileName: 'bios-256k.bin',
    dirs: ['/usr/share/seabios', '/usr/share/qemu'],
    debianPackage: 'seabios (a dependency of qemu-system-x86)',
  },
};

/**
 * The firmware as host files (graph/host-files.ts): boot-test nodes declare the roles they boot
 * with, and the engine finds and hashes the files before anything runs.
 */
export const FIRMWARE_HOST_FILES: Record<FirmwareRole, HostFileSpec> = Object.fromEntries(
  (Object.entries(FIRMWARE_CANDIDATES) as [FirmwareRole, FirmwareCandidate][]).map(([role, c]) => [
    role,
    {
      candidates: c.dirs.map((dir) => join(dir, c.fileName)),
      what: `${role} firmware ${c.fileName}`,
      hint: `install the Debian package ${c.debianPackage} (apt-get install ${c.debianPackage.split(' ')[0]})`,
    },
  ]),
) as Record<FirmwareRole, HostFileSpec>;

export interface FirmwareFile {
  role: FirmwareRole;
  fileName: string;
  /** Absolute host path: for the QEMU command line only, never for a key. */
  path: string;
  /** sha256 of the content, hex. */
  sha256: string;
}

export type FirmwareSet = Partial<Record<FirmwareRole, FirmwareFile>>;

export class FirmwareNotFoundError extends Error {
  override name = 'FirmwareNotFoundError';
}

export interface LocateOptions {
  /** Search these directories instead of the Debian locations. */
  searchDirs?: string[];
}

export async function locateFirmwareFile(role: FirmwareRole, options: LocateOptions = {}): Promise<FirmwareFile> {
  const candidate = FIRMWARE_CANDIDATES[role];
  const dirs = options.searchDirs ?? candidate.dirs;
  for (const dir of dirs) {
    const path = join(dir, candidate.fileName);
    try {
      await access(path, constants.R_OK);
    } catch {
      continue;
    }
    return { role, fileName: candidate.fileName, path, sha256: await sha256File(path) };
  }
  throw new FirmwareNotFoundError(
    `${role} firmware ${candidate.fileName} not found in ${dirs.join(', ')}: ` +
      `install the Debian package ${candidate.debianPackage} (apt-get install ${candidate.debianPackage.split(' ')[0]})`,
  );
}

export async function locateFirmware(roles: readonly FirmwareRole[], options: LocateOptions = {}): Promise<FirmwareSet> {
  const set: FirmwareSet = {};
  for (const role of roles) set[role] = await locateFirmwareFile(role, options);
  return set;
}

/** The part of a firmware set that identifies it in a key: role -> file name + digest. */
export function firmwareKeyMaterial(set: FirmwareSet): Record<string, { fileName: string; sha256: string }> {
  const material: Record<string, { fileName: string; sha256: string }> = {};
  for (const role of Object.keys(set).sort() as FirmwareRole[]) {
    const file = set[role]!;
    material[role] = { fileName: file.fileName, sha256: file.sha256 };
  }
  return material;
}

/** Fetches a role from a set, or explains which role a scenario needed but was not given. */
export function requireFirmware(set: FirmwareSet, role: FirmwareRole, scenario: string): FirmwareFile {
  const file = set[role];
  if (!file) {
    throw new FirmwareNotFoundError(
      `scenario '${scenario}' needs ${role} firmware (${FIRMWARE_CANDIDATES[role].fileName}) but it was not located: ` +
        `pass it via locateFirmware(['${role}', ...])`,
    );
  }
  return file;
}

/**
 * A private, writable copy of a UEFI variable store for one run: OVMF writes boot entries (and
 * enrolled keys) into it, so sharing one between runs would make runs depend on each other.
 */
export async function writableVarsCopy(template: string, destination: string): Promise<string> {
  await copyFile(template, destination);
  await chmod(destination, 0o644);
  return destination;
}

export { sha256File };
