// The boot-test scenarios: each a function from its inputs (image paths, firmware) to a QEMU
// configuration plus an expect script. Pure: no I/O, so the plans are unit-testable and their
// JSON form can enter a node's key.
import { DEFAULT_FATAL_PATTERNS, type FatalPattern } from './expect.js';
import { requireFirmware, type FirmwareSet } from './firmware.js';
import type { DirectKernelBoot, DriveConfig, FirmwareConfig, Machine, QemuConfig } from './qemu-config.js';
import type { ScriptStep } from './script.js';
import type { Budget } from './wait-budget.js';

export type ScenarioName =
  | 'uefi'
  | 'bios'
  | 'uefi-disk'
  | 'bios-disk'
  | 'secure-boot-enroll'
  | 'secure-boot'
  | 'secure-boot-refuses-tampered'
  | 'slot-b'
  | 'direct-kernel'
  | 'install'
  | 'install-first-boot'
  | 'update'
  | 'update-broken'
  | 'update-refused';

export interface ScenarioPlan {
  name: ScenarioName;
  description: string;
  qemu: QemuConfig;
  fatalPatterns: readonly FatalPattern[];
  steps: ScriptStep[];
}

// Budgets of progress for each step (see wait-budget.ts), so that a slow or loaded machine gives
// the verdict of an idle one. CPU figures are QEMU's own CPU time. Idle, the demo costs 8-9 CPU-s
// to the shell by BIOS, 12-15 by UEFI, and its longest silence (loading and decompressing the
// kernel and initramfs) is 3.5-6 CPU-s. Under load the firmware's disk reads cost more: SeaBIOS
// and OVMF poll for completions that QEMU's I/O threads deliver late when they wait for a CPU
// (a BIOS boot with all of QEMU on one CPU shared with three busy loops: 25-31 CPU-s, up to 15.7
// of them silent while isolinux loaded the kernel). Each boot step gets twice that; the wall ceilings
// (time QEMU was not kept from a CPU) end only waits of a guest idling silently, and cover the
// initramfs's own 30 s wait for its root device, so its fatal line, not ours, names that failure.
// PIPELINE_BOOT_TIME_SCALE multiplies them all, for machines slower per core.
const BOOT_STEP = { cpuSeconds: 60, silentCpuSeconds: 30, wallSeconds: 120 } satisfies Budget;
export const BOOT_BUDGETS = {
  bios: BOOT_STEP,
  uefi: { ...BOOT_STEP, cpuSeconds: 90, wallSeconds: 150 },
  secureBoot: { ...BOOT_STEP, cpuSeconds: 90, wallSeconds: 150 },
  enrollment: BOOT_STEP,
} as const satisfies Record<string, Budget>;
/** A command in the live shell answers within ~0.3 s; variants' own checks may do real work. */
export const COMMAND_BUDGET: Budget = { cpuSeconds: 30, silentCpuSeconds: 15, wallSeconds: 60 };
/**
 * How long the refused-image test watches for a kernel that must not start: a started kernel
 * prints `EFI stub:` within a CPU-second; after a refusal OVMF sits idle.
 */
export const NO_KERNEL_WINDOW: Budget = { cpuSeconds: 10, wallSeconds: 15 };
export const DEFAULT_MEMORY_MIB = 1024;

/** The initramfs's contract: its lines start with `initramfs: ` (so the kernel is running). */
export const INITRAMFS_LINE = /initramfs: /;
export const INITRAMFS_WHAT = "the kernel's first `initramfs:` line";
const ISOLINUX_BANNER = /ISOLINUX \d/;
/** Any sign of a started kernel, `quiet` or not. */
const KERNEL_STARTED = /EFI stub: |Linux version \d|initramfs: /;

export const UEFI_FATAL: readonly FatalPattern[] = [
  ...DEFAULT_FATAL_PATTERNS,
  { pattern: 'No bootable option or device was found', reason: 'OVMF found nothing to boot' },
  { pattern: /^Shell> /m, reason: 'OVMF fell back to the UEFI shell: nothing bootable' },
];

const BIOS_FATAL: readonly FatalPattern[] = [
  ...DEFAULT_FATAL_PATTERNS,
  { pattern: 'No bootable device', reason: 'SeaBIOS found nothing to boot' },
  // Not `Boot failed: could not read the boot disk`: SeaBIOS prints it for the empty hard-disk
  // slot on every successful CD boot too.
  { pattern: 'Could not find kernel image', reason: 'isolinux did not find the kernel named in isolinux.cfg' },
];

export interface IsoScenarioInputs {
  /** The hybrid ISO under test. */
  iso: string;
  firmware: FirmwareSet;
  memoryMiB?: number;
  /** The variant's own checks, run in the live shell after the common ones: each must exit 0. */
  commands?: ImageCommand[];
}

/** A command that proves something about the image; `expect` is a regular expression its output must match. */
export interface ImageCommand {
  run: string;
  expect?: string;
}

export function imageCommandSteps(commands: readonly ImageCommand[] | undefined): ScriptStep[] {
  return (commands ?? []).map((c) => ({
    kind: 'run',
    command: c.run,
    budget: COMMAND_BUDGET,
    ...(c.expect !== undefined ? { output: new RegExp(c.expect, 'm') } : {}),
  }));
}

export interface SecureBootInputs extends IsoScenarioInputs {
  /** OVMF variable store with the variant's PK/KEK/db enrolled (see secureBootEnrollScenario). */
  enrolledVars: string;
}

export interface EnrollmentInputs {
  /** FAT image: db-signed systemd-boot, /loader/keys/auto/{PK,KEK,db}.auth, `secure-boot-enroll force`. */
  enrollmentDisk: string;
  firmware: FirmwareSet;
}

export interface SlotBInputs {
  /** GPT disk: ESP whose default entry is the system-b UKI + partition `system-b` (see slot-disk.ts). */
  disk: string;
  firmware: FirmwareSet;
  memoryMiB?: number;
  /** The variant's own checks, run in the booted slot's shell after the common ones: each must exit 0. */
  commands?: ImageCommand[];
}

export interface DirectKernelInputs {
  machine: Machine;
  firmware: FirmwareSet;
  boot: DirectKernelBoot;
  memoryMiB?: number;
  /** A pattern proving the kernel started (default: `Linux version`). */
  kernelMarker?: RegExp;
  /** Commands to run once the shell answers (each must exit 0). */
  commands?: string[];
}

/** The checks every live ISO boot ends with: a root shell, on the expected firmware path. */
function liveShellChecks(firmware: 'uefi' | 'bios'): ScriptStep[] {
  return [
    { kind: 'run', command: 'cat /proc/cmdline', budget: COMMAND_BUDGET },
    { kind: 'run', command: 'id -u', budget: COMMAND_BUDGET, output: /^0$/ },
    // /sys/firmware/efi exists only when the kernel was started by UEFI firmware.
    { kind: 'run', command: 'test -d /sys/firmware/efi', budget: COMMAND_BUDGET, exitCode: firmware === 'uefi' ? 0 : 1 },
  ];
}

export function ovmf(firmware: FirmwareSet, scenario: string): FirmwareConfig {
  return {
    type: 'ovmf',
    code: requireFirmware(firmware, 'ovmf-code', scenario).path,
    varsTemplate: requireFirmware(firmware, 'ovmf-vars', scenario).path,
  };
}

function secureOvmf(firmware: FirmwareSet, vars: string, scenario: string): FirmwareConfig {
  return { type: 'ovmf', code: requireFirmware(firmware, 'ovmf-code-secboot', scenario).path, varsTemplate: vars, secureBoot: true };
}

function seabios(firmware: FirmwareSet, scenario: string): FirmwareConfig {
  return { type: 'seabios', bios: requireFirmware(firmware, 'seabios', scenario).path };
}

function uefiLiveBoot(name: ScenarioName, description: string, inputs: IsoScenarioInputs, drive: DriveConfig): ScenarioPlan {
  return {
    name,
    description,
    qemu: { machine: 'q35', memoryMiB: inputs.memoryMiB ?? DEFAULT_MEMORY_MIB, firmware: ovmf(inputs.firmware, name), drives: [drive] },
    fatalPatterns: UEFI_FATAL,
    steps: [
      { kind: 'expect', marker: 'initramfs', pattern: INITRAMFS_LINE, what: INITRAMFS_WHAT, budget: BOOT_BUDGETS.uefi },
      { kind: 'shell', marker: 'shell', budget: BOOT_BUDGETS.uefi },
      ...liveShellChecks('uefi'),
      ...imageCommandSteps(inputs.commands),
    ],
  };
}

function biosLiveBoot(name: ScenarioName, description: string, inputs: IsoScenarioInputs, drive: DriveConfig): ScenarioPlan {
  return {
    name,
    description,
    qemu: { machine: 'pc', memoryMiB: inputs.memoryMiB ?? DEFAULT_MEMORY_MIB, firmware: seabios(inputs.firmware, name), drives: [drive] },
    fatalPatterns: BIOS_FATAL,
    steps: [
      // isolinux.cfg has `SERIAL 0 115200`, so its banner is the bootloader's marker.
      { kind: 'expect', marker: 'bootloader', pattern: ISOLINUX_BANNER, what: 'the ISOLINUX banner', budget: BOOT_BUDGETS.bios },
      { kind: 'expect', marker: 'initramfs', pattern: INITRAMFS_LINE, what: INITRAMFS_WHAT, budget: BOOT_BUDGETS.bios },
      { kind: 'shell', marker: 'shell', budget: BOOT_BUDGETS.bios },
      ...liveShellChecks('bios'),
      ...imageCommandSteps(inputs.commands),
    ],
  };
}

/** q35 + OVMF, the ISO as a CD-ROM (AHCI): El Torito -> ESP -> systemd-boot -> UKI -> live root shell. */
export function uefiScenario(inputs: IsoScenarioInputs): ScenarioPlan {
  return uefiLiveBoot('uefi', 'UEFI boot from CD-ROM to the live root shell', inputs, { type: 'cdrom', file: inputs.iso, bus: 'ide' });
}

/** pc + SeaBIOS, the ISO as an IDE CD-ROM: isolinux -> kernel + initramfs -> live root shell. */
export function biosScenario(inputs: IsoScenarioInputs): ScenarioPlan {
  return biosLiveBoot('bios', 'BIOS boot from CD-ROM (isolinux) to the live root shell', inputs, { type: 'cdrom', file: inputs.iso, bus: 'ide' });
}

/** The ISO as a virtio disk (as written to a USB stick): UEFI through the GPT/MBR ESP partition. */
export function uefiDiskScenario(inputs: IsoScenarioInputs): ScenarioPlan {
  return uefiLiveBoot('uefi-disk', 'UEFI boot of the ISO as a disk to the live root shell', inputs, { type: 'virtio-disk', file: inputs.iso, readonly: true });
}

/** The ISO as a virtio disk: BIOS through the isohybrid MBR. */
export function biosDiskScenario(inputs: IsoScenarioInputs): ScenarioPlan {
  return biosLiveBoot('bios-disk', 'BIOS boot of the ISO as a disk (isohybrid MBR) to the live root shell', inputs, { type: 'virtio-disk', file: inputs.iso, readonly: true });
}

/**
 * Boot 1 of Secure Boot: OVMF (SMM build) in setup mode boots the enrollment disk; systemd-boot
 * enrolls PK/KEK/db from /loader/keys/auto and resets, which ends QEMU (-no-reboot). The run's
 * variable store is then the enrolled store (keep it: runBootTest's saveVarsTo).
 */
export function secureBootEnrollScenario(inputs: EnrollmentInputs): ScenarioPlan {
  const name = 'secure-boot-enroll';
  const varsTemplate = requireFirmware(inputs.firmware, 'ovmf-vars', name).path;
  return {
    name,
    description: "Enroll the variant's PK/KEK/db into a fresh OVMF variable store",
    qemu: {
      machine: 'q35',
      memoryMiB: 256,
      firmware: secureOvmf(inputs.firmware, varsTemplate, name),
      drives: [{ type: 'virtio-disk', file: inputs.enrollmentDisk, readonly: true }],
    },
    fatalPatterns: [
      ...UEFI_FATAL,
      { pattern: /Failed to (?:enroll|write|open|read|load)[^\n]*/i, reason: 'systemd-boot could not enroll the keys' },
    ],
    steps: [
      { kind: 'expect', marker: 'enrolling', pattern: /Enrolling secure boot keys/i, what: "systemd-boot's `Enrolling secure boot keys`", budget: BOOT_BUDGETS.enrollment },
      { kind: 'exit', marker: 'reset', what: 'QEMU to exit after the reset that ends enrollment', budget: BOOT_BUDGETS.enrollment },
    ],
  };
}

/** q35 with the Secure Boot firmware and the enrolled variable store, the ISO as the only medium. */
function secureBootQemu(inputs: SecureBootInputs, name: string): ScenarioPlan['qemu'] {
  return {
    machine: 'q35',
    memoryMiB: inputs.memoryMiB ?? DEFAULT_MEMORY_MIB,
    firmware: secureOvmf(inputs.firmware, inputs.enrolledVars, name),
    drives: [{ type: 'cdrom', file: inputs.iso, bus: 'ide' }],
  };
}

/** Boot 2: the ISO with Secure Boot enforced by the enrolled keys reaches the live shell. */
export function secureBootScenario(inputs: SecureBootInputs): ScenarioPlan {
  const name = 'secure-boot';
  return {
    name,
    description: 'UEFI boot with Secure Boot enforced (own PK/KEK/db) to the live root shell',
    qemu: secureBootQemu(inputs, name),
    fatalPatterns: UEFI_FATAL,
    steps: [
      { kind: 'expect', marker: 'initramfs', pattern: INITRAMFS_LINE, what: INITRAMFS_WHAT, budget: BOOT_BUDGETS.secureBoot },
      { kind: 'shell', marker: 'shell', budget: BOOT_BUDGETS.secureBoot },
      ...liveShellChecks('uefi'),
      // The kernel's own verdict (`quiet` hides it from the console, not from dmesg).
      { kind: 'run', command: "dmesg | grep 'Secure boot enabled'", budget: COMMAND_BUDGET },
    ],
  };
}

/**
 * The negative case: the same ISO with one byte of the default UKI's .cmdline changed after
 * signing. The firmware must refuse it (`Access Denied`) and no kernel may start. Only that ISO
 * is attached: OVMF falls through to any other bootable medium after a refusal.
 */
export function secureBootRefusesTamperedScenario(inputs: SecureBootInputs): ScenarioPlan {
  const name = 'secure-boot-refuses-tampered';
  return {
    name,
    description: 'Secure Boot refuses a UKI changed after signing; no kernel starts',
    qemu: secureBootQemu(inputs, name),
    // `Access Denied` is the expected outcome here, and OVMF then finding nothing else to boot
    // is what a refusal with no other medium looks like: neither is a failure.
    fatalPatterns: UEFI_FATAL.filter(
      (fatal) => fatal.pattern !== 'Access Denied' && fatal.pattern !== 'No bootable option or device was found',
    ),
    steps: [
      { kind: 'expect', marker: 'refused', pattern: 'Access Denied', what: "the firmware's `Access Denied`", budget: BOOT_BUDGETS.secureBoot },
      { kind: 'absent', pattern: KERNEL_STARTED, window: NO_KERNEL_WINDOW, what: 'a started kernel' },
    ],
  };
}

/**
 * The installed A/B layout: the disk's ESP boots the system-b UKI by default, and its initramfs
 * must find `root=LABEL=system-b` (a filesystem label or a GPT partition name).
 */
export function slotBScenario(inputs: SlotBInputs): ScenarioPlan {
  const name = 'slot-b';
  return {
    name,
    description: 'UEFI boot of the system-b slot from an A/B disk; root=LABEL=system-b',
    qemu: {
      machine: 'q35',
      memoryMiB: inputs.memoryMiB ?? DEFAULT_MEMORY_MIB,
      firmware: ovmf(inputs.firmware, name),
      // Writable through a throwaway overlay: the system may write to `var`, the image stays as built.
      drives: [{ type: 'virtio-disk', file: inputs.disk, readonly: false, snapshot: true }],
    },
    fatalPatterns: UEFI_FATAL,
    steps: [
      { kind: 'expect', marker: 'initramfs', pattern: INITRAMFS_LINE, what: INITRAMFS_WHAT, budget: BOOT_BUDGETS.uefi },
      { kind: 'shell', marker: 'shell', budget: BOOT_BUDGETS.uefi },
      { kind: 'run', command: 'cat /proc/cmdline', budget: COMMAND_BUDGET, output: /(^|\s)root=LABEL=system-b(\s|$)/ },
      { kind: 'run', command: 'id -u', budget: COMMAND_BUDGET, output: /^0$/ },
      // The kernel sees the A/B layout: a partition named system-b exists.
      { kind: 'run', command: 'grep -lx PARTNAME=system-b /sys/class/block/*/uevent', budget: COMMAND_BUDGET },
      ...imageCommandSteps(inputs.commands),
    ],
  };
}

/** -kernel/-initrd boot (no bootloader, no ISO): proves the runner, firmware and expect engine. */
export function directKernelScenario(inputs: DirectKernelInputs): ScenarioPlan {
  const name = 'direct-kernel';
  const firmware = inputs.machine === 'pc' ? seabios(inputs.firmware, name) : ovmf(inputs.firmware, name);
  const budget = inputs.machine === 'pc' ? BOOT_BUDGETS.bios : BOOT_BUDGETS.uefi;
  return {
    name,
    description: `direct kernel boot on ${inputs.machine} to a shell`,
    qemu: { machine: inputs.machine, memoryMiB: inputs.memoryMiB ?? 512, firmware, drives: [], directKernel: inputs.boot },
    fatalPatterns: inputs.machine === 'pc' ? BIOS_FATAL : UEFI_FATAL,
    steps: [
      { kind: 'expect', marker: 'kernel', pattern: inputs.kernelMarker ?? /Linux version \d/, what: 'the kernel banner', budget },
      { kind: 'shell', marker: 'shell', budget },
      ...(inputs.commands ?? []).map((command): ScriptStep => ({ kind: 'run', command, budget: COMMAND_BUDGET })),
    ],
  };
}
