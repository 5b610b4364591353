// Node factories of the boot-test stage (see graph/node.ts). Thin: the work is in boot-test.ts,
// scenarios.ts and the image helpers. Each key holds: the booted images as dependencies (their
// output digests), qemu-system-x86_64 as a declared tool, the firmware files as host files (their
// digests, found by the engine: compiling reads no firmware) and the scenario definition (params).
import { join } from 'node:path';
import type { Json, NodeSpec, RunContext } from '../graph/node.js';
import { detectAccelerator } from './accel.js';
import { BootTestError } from './boot-error.js';
import { runBootTest, type BootTestResult } from './boot-test.js';
import { buildEnrollmentDisk } from './enrollment-disk.js';
import type { HostTool, StageKind } from '../stages/kind.js';
import { MCOPY, MKFS_FAT, MMD, XORRISO } from '../stages/shared/tools.js';
import { FIRMWARE_CANDIDATES, FIRMWARE_HOST_FILES, type FirmwareRole, type FirmwareSet } from './firmware.js';
import { extractFromIso } from './iso-extract.js';
import { placeholderFirmware, planKeyMaterial } from './plan-key.js';
import { QEMU_BINARY, SETPRIV_BINARY } from './runner.js';
import {
  biosDiskScenario,
  biosScenario,
  secureBootEnrollScenario,
  secureBootRefusesTamperedScenario,
  secureBootScenario,
  slotBScenario,
  uefiDiskScenario,
  uefiScenario,
  type ImageCommand,
  type IsoScenarioInputs,
  type ScenarioPlan,
} from './scenarios.js';
import { buildSlotBDisk, SLOT_DISK_TOOLS } from './slot-disk.js';
import { tamperUkiCmdline } from './tamper.js';
import { bootTimeScale } from './time-scale.js';

const QEMU_TOOLS: HostTool[] = [
  { name: QEMU_BINARY, debianPackage: 'qemu-system-x86', versionArgs: ['--version'] },
  // util-linux: `setpriv --pdeathsig KILL` makes the kernel kill QEMU if we die.
  { name: SETPRIV_BINARY, debianPackage: 'util-linux', versionArgs: ['--version'] },
];

/** Firmware as the host files boot-test nodes declare, with the package that ships each. */
const FIRMWARE: StageKind['hostFiles'] = Object.fromEntries(
  Object.entries(FIRMWARE_HOST_FILES).map(([role, spec]) => [role, { ...spec, debianPackage: FIRMWARE_CANDIDATES[role as FirmwareRole].debianPackage.split(' ')[0] }]),
);

/** qemu-img: the installed disk is kept as qcow2, and each update test boots an overlay of it. */
export const QEMU_IMG = 'qemu-img';

/** A boot of an image under QEMU, its verdict the output. */
export const BOOT_TEST_STAGE: StageKind = {
  kind: 'boot-test',
  // 2: budgets of progress (QEMU CPU time, silence, a wall ceiling) instead of wall-clock timeouts.
  // 3: the slot disk's ESP and var carry the labels the fstab names (var an ext4).
  version: 3,
  summary: 'boot tests',
  tools: [
    ...QEMU_TOOLS,
    XORRISO,
    { name: 'sfdisk', debianPackage: 'fdisk', versionArgs: ['--version'] },
    MKFS_FAT,
    MMD,
    MCOPY,
    { name: 'mkfs.ext4', debianPackage: 'e2fsprogs', versionArgs: ['-V'] },
    { name: QEMU_IMG, debianPackage: 'qemu-utils', versionArgs: ['--version'] },
  ],
  hostFiles: FIRMWARE,
};

/** Boot 1 of Secure Boot: the variant's keys enrolled into an OVMF variable store. */
export const SECUREBOOT_VARS_STAGE: StageKind = {
  kind: 'secureboot-vars',
  version: 2,
  summary: 'Secure Boot key enrollment',
  tools: [...QEMU_TOOLS, MKFS_FAT, MMD, MCOPY],
  hostFiles: { 'ovmf-code-secboot': FIRMWARE!['ovmf-code-secboot'], 'ovmf-vars': FIRMWARE!['ovmf-vars'] },
};
/** The enrolled variable store in a secureboot-vars node's output. */
export const ENROLLED_VARS_FILE = 'OVMF_VARS.enrolled.fd';

/** A file inside a dependency's output directory. */
export interface FileRef {
  node: string;
  /** Path relative to that node's output directory. */
  file: string;
}

const FAT_TOOLS = ['mkfs.fat', 'mmd', 'mcopy'];

export type LiveIsoScenario = 'uefi' | 'bios' | 'uefi-disk' | 'bios-disk';

const LIVE_ISO_SCENARIOS: Record<LiveIsoScenario, { plan: (inputs: IsoScenarioInputs) => ScenarioPlan; firmware: FirmwareRole[] }> = {
  uefi: { plan: uefiScenario, firmware: ['ovmf-code', 'ovmf-vars'] },
  'uefi-disk': { plan: uefiDiskScenario, firmware: ['ovmf-code', 'ovmf-vars'] },
  bios: { plan: biosScenario, firmware: ['seabios'] },
  'bios-disk': { plan: biosDiskScenario, firmware: ['seabios'] },
};

/** `test:<variant>:uefi` etc.: boots the ISO to the live root shell. */
export function liveIsoTestNode(options: {
  variant: string;
  scenario: LiveIsoScenario;
  iso: FileRef;
  memoryMiB?: number;
  /** The variant's checks in the live shell (they enter the key with the rest of the plan). */
  commands?: ImageCommand[];
}): NodeSpec {
  const { plan, firmware: roles } = LIVE_ISO_SCENARIOS[options.scenario];
  const build = (iso: string, firmware: FirmwareSet) => plan({ iso, firmware, memoryMiB: options.memoryMiB, commands: options.commands });
  return bootTestSpec({
    id: `test:${options.variant}:${options.scenario}`,
    deps: { iso: options.iso.node },
    files: { iso: options.iso.file },
    roles,
    keyPlan: build('<iso>', placeholderFirmware(roles)),
    description: `boot ${options.variant}'s ISO: ${options.scenario}`,
    plan: async (ctx) => build(depFile(ctx, 'iso', options.iso), firmwareOf(ctx, roles)),
  });
}

/**
 * `secureboot-vars:<variant>`: boot 1 of Secure Boot. Boots a throwaway disk on which
 * systemd-boot enrolls the variant's PK/KEK/db, and keeps the resulting variable store.
 */
export function secureBootVarsNode(options: {
  variant: string;
  /** The .auth files (signed EFI signature lists) of the variant's keys. */
  keys: { pkAuth: FileRef; kekAuth: FileRef; dbAuth: FileRef };
  /** systemd-boot signed with the variant's db key. */
  signedSystemdBoot: FileRef;
}): NodeSpec {
  const roles: FirmwareRole[] = ['ovmf-code-secboot', 'ovmf-vars'];
  return bootTestSpec({
    id: `secureboot-vars:${options.variant}`,
    kind: SECUREBOOT_VARS_STAGE.kind,
    version: SECUREBOOT_VARS_STAGE.version,
    deps: {
      pk: options.keys.pkAuth.node,
      kek: options.keys.kekAuth.node,
      db: options.keys.dbAuth.node,
      bootloader: options.signedSystemdBoot.node,
    },
    files: {
      pk: options.keys.pkAuth.file,
      kek: options.keys.kekAuth.file,
      db: options.keys.dbAuth.file,
      bootloader: options.signedSystemdBoot.file,
    },
    roles,
    extraTools: FAT_TOOLS,
    keyPlan: secureBootEnrollScenario({ enrollmentDisk: '<enrollment-disk>', firmware: placeholderFirmware(roles) }),
    description: `enroll ${options.variant}'s Secure Boot keys into an OVMF variable store`,
    saveVars: true,
    plan: async (ctx) => {
      const enrollmentDisk = await buildEnrollmentDisk({
        signedSystemdBoot: depFile(ctx, 'bootloader', options.signedSystemdBoot),
        keys: {
          pkAuth: depFile(ctx, 'pk', options.keys.pkAuth),
          kekAuth: depFile(ctx, 'kek', options.keys.kekAuth),
          dbAuth: depFile(ctx, 'db', options.keys.dbAuth),
        },
        out: join(ctx.tmp, 'enroll.img'),
        tmp: ctx.tmp,
        runner: ctx,
      });
      return secureBootEnrollScenario({ enrollmentDisk, firmware: firmwareOf(ctx, roles) });
    },
  });
}

/** `test:<variant>:secure-boot`: the ISO boots with Secure Boot enforced by the enrolled keys. */
export function secureBootTestNode(options: {
  variant: string;
  iso: FileRef;
  /** The secureboot-vars node's output. */
  enrolledVars: FileRef;
  memoryMiB?: number;
}): NodeSpec {
  const roles: FirmwareRole[] = ['ovmf-code-secboot'];
  return bootTestSpec({
    id: `test:${options.variant}:secure-boot`,
    deps: { iso: options.iso.node, vars: options.enrolledVars.node },
    files: { iso: options.iso.file, vars: options.enrolledVars.file },
    roles,
    keyPlan: secureBootScenario({ iso: '<iso>', enrolledVars: '<enrolled-vars>', firmware: placeholderFirmware(roles) }),
    description: `boot ${options.variant}'s ISO with Secure Boot enforced`,
    plan: async (ctx) =>
      secureBootScenario({
        iso: depFile(ctx, 'iso', options.iso),
        enrolledVars: depFile(ctx, 'vars', options.enrolledVars),
        firmware: firmwareOf(ctx, roles),
        memoryMiB: options.memoryMiB,
      }),
  });
}

/**
 * `test:<variant>:secure-boot-refuses-tampered`: the negative case. The tampered ISO is either
 * given, or made here from the ISO and the signed default UKI stored on it.
 */
export function secureBootRefusalTestNode(options: {
  variant: string;
  tampered: { iso: FileRef } | { fromIso: FileRef; signedUki: FileRef };
  enrolledVars: FileRef;
  memoryMiB?: number;
}): NodeSpec {
  const roles: FirmwareRole[] = ['ovmf-code-secboot'];
  const tampered = options.tampered;
  const given = 'iso' in tampered;
  return bootTestSpec({
    id: `test:${options.variant}:secure-boot-refuses-tampered`,
    deps: given
      ? { iso: tampered.iso.node, vars: options.enrolledVars.node }
      : { iso: tampered.fromIso.node, uki: tampered.signedUki.node, vars: options.enrolledVars.node },
    files: given
      ? { iso: tampered.iso.file, vars: options.enrolledVars.file }
      : { iso: tampered.fromIso.file, uki: tampered.signedUki.file, vars: options.enrolledVars.file },
    roles,
    keyPlan: secureBootRefusesTamperedScenario({ iso: '<tampered-iso>', enrolledVars: '<enrolled-vars>', firmware: placeholderFirmware(roles) }),
    description: `Secure Boot must refuse ${options.variant}'s ISO with a UKI changed after signing`,
    plan: async (ctx) => {
      let iso: string;
      if ('iso' in tampered) {
        iso = depFile(ctx, 'iso', tampered.iso);
      } else {
        iso = join(ctx.tmp, 'tampered.iso');
        const { offsets } = await tamperUkiCmdline(depFile(ctx, 'iso', tampered.fromIso), depFile(ctx, 'uki', tampered.signedUki), iso);
        ctx.log(`tampered the UKI's .cmdline at ISO offsets ${offsets.join(', ')}`);
      }
      return secureBootRefusesTamperedScenario({
        iso,
        enrolledVars: depFile(ctx, 'vars', options.enrolledVars),
        firmware: firmwareOf(ctx, roles),
        memoryMiB: options.memoryMiB,
      });
    },
  });
}

/**
 * `test:<variant>:slot-b`: builds an A/B disk from the ISO's system-b UKI and root layers (see
 * slot-disk.ts) and boots it; /proc/cmdline must show root=LABEL=system-b.
 */
export function slotBTestNode(options: {
  variant: string;
  iso: FileRef;
  /** systemd-boot for the disk's ESP (the signed one the ISO's ESP carries). */
  systemdBoot: FileRef;
  /** Paths inside the ISO: `/boot/uki/<os>-system-b.efi`, and the layers base first (`/live/filesystem.squashfs`, `/live/overlayfs.squashfs`). */
  ukiInIso: string;
  layersInIso: string[];
  memoryMiB?: number;
  /** The variant's checks in the booted slot's shell. */
  commands?: ImageCommand[];
}): NodeSpec {
  const roles: FirmwareRole[] = ['ovmf-code', 'ovmf-vars'];
  const ukiFileName = options.ukiInIso.split('/').pop()!;
  return bootTestSpec({
    id: `test:${options.variant}:slot-b`,
    deps: { iso: options.iso.node, bootloader: options.systemdBoot.node },
    files: { iso: options.iso.file, bootloader: options.systemdBoot.file },
    roles,
    extraTools: ['xorriso', ...SLOT_DISK_TOOLS],
    extraParams: { ukiInIso: options.ukiInIso, layersInIso: options.layersInIso },
    keyPlan: slotBScenario({ disk: '<slot-disk>', firmware: placeholderFirmware(roles), commands: options.commands }),
    description: `boot ${options.variant}'s system-b slot from an A/B disk`,
    plan: async (ctx) => {
      const iso = depFile(ctx, 'iso', options.iso);
      const disk = join(ctx.tmp, 'slot.img');
      const layout = await buildSlotBDisk({
        systemdBoot: depFile(ctx, 'bootloader', options.systemdBoot),
        ukiSystemB: await extractFromIso(iso, options.ukiInIso, join(ctx.tmp, ukiFileName), ctx),
        ukiFileName,
        layers: await extractLayers(iso, options.layersInIso, ctx),
        out: disk,
        tmp: ctx.tmp,
        runner: ctx,
      });
      ctx.log(`slot disk: ${layout.map((p) => `${p.name}@${p.startSector}+${p.sectors}`).join(' ')}`);
      return slotBScenario({ disk, firmware: firmwareOf(ctx, roles), memoryMiB: options.memoryMiB, commands: options.commands });
    },
  });
}

export interface BootTestSpecOptions {
  id: string;
  kind?: string;
  version?: number;
  deps: Record<string, string>;
  /** Per dependency: the file used from its output (enters the key). */
  files: Record<string, string>;
  /** Firmware the scenario boots with: host files, keyed by their content (never their path). */
  roles: FirmwareRole[];
  extraTools?: string[];
  extraParams?: Record<string, Json>;
  keyPlan: ScenarioPlan;
  description: string;
  saveVars?: boolean;
  /** The plan a one-boot node runs. */
  plan?(ctx: RunContext): Promise<ScenarioPlan>;
  /** Instead of `plan`: a node that boots several times (install, then the installed disk). */
  run?(ctx: RunContext): Promise<void>;
}

export function bootTestSpec(options: BootTestSpecOptions): NodeSpec {
  return {
    id: options.id,
    kind: options.kind ?? BOOT_TEST_STAGE.kind,
    version: options.version ?? BOOT_TEST_STAGE.version,
    deps: options.deps,
    tools: [QEMU_BINARY, SETPRIV_BINARY, ...(options.extraTools ?? [])],
    hostFiles: [...options.roles],
    params: {
      files: options.files,
      scenario: planKeyMaterial(options.keyPlan),
      ...options.extraParams,
    },
    description: options.description,
    async run(ctx) {
      if (options.run) return options.run(ctx);
      const plan = await options.plan!(ctx);
      await runPlan(ctx, plan, { outDir: ctx.out, runDir: join(ctx.tmp, 'qemu'), saveVarsTo: options.saveVars ? join(ctx.out, ENROLLED_VARS_FILE) : undefined });
    },
  };
}

/** Boots one plan for a node: QEMU from the node's tools, serial lines into its log. */
export async function runPlan(ctx: RunContext, plan: ScenarioPlan, where: { outDir: string; runDir: string; saveVarsTo?: string }): Promise<BootTestResult> {
  try {
    return await runBootTest(plan, {
      outDir: where.outDir,
      runDir: where.runDir,
      qemuBinary: ctx.tool(QEMU_BINARY),
      setpriv: ctx.tool(SETPRIV_BINARY),
      // A host capability (like the core count), not an input: it changes speed, not results.
      accel: await detectAccelerator(process.env),
      // Likewise how slow this machine is per core: it widens budgets, it changes no result.
      timeScale: bootTimeScale(process.env),
      signal: ctx.signal,
      env: { ...ctx.env },
      onStart: (_qemu, command) => ctx.log(`qemu: ${command}`),
      onLine: (line) => ctx.log(`serial| ${line}`),
      logNote: "kept only when the test passes; the node's log holds it too, as 'serial| ' lines",
      saveVarsTo: where.saveVarsTo,
    });
  } catch (error) {
    if (error instanceof BootTestError) ctx.log(`boot test failed: ${error.reason}`);
    throw error;
  }
}

async function extractLayers(iso: string, inIso: readonly string[], ctx: RunContext): Promise<string[]> {
  const out: string[] = [];
  for (const [i, path] of inIso.entries()) out.push(await extractFromIso(iso, path, join(ctx.tmp, `layer-${i}.img`), ctx));
  return out;
}

export function depFile(ctx: RunContext, name: string, ref: FileRef): string {
  return join(ctx.dep(name), ref.file);
}

/** The firmware files the engine found for this node (their digests are in its key). */
export function firmwareOf(ctx: RunContext, roles: readonly FirmwareRole[]): FirmwareSet {
  const set: FirmwareSet = {};
  for (const role of roles) set[role] = { role, fileName: FIRMWARE_CANDIDATES[role].fileName, path: ctx.hostFile(role), sha256: '' };
  return set;
}
