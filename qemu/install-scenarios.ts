// The install and A/B update scenarios: the seed's manual install typed on the live ISO's serial
// console, the installed disk booted alone, and updates with trial boot, commit and rollback on
// it. Pure like scenarios.ts: inputs (paths, sizes) to QEMU configurations and expect scripts.
import type { FatalPattern } from './expect.js';
import type { FirmwareSet } from './firmware.js';
import type { DriveConfig } from './qemu-config.js';
import {
  BOOT_BUDGETS,
  COMMAND_BUDGET,
  DEFAULT_MEMORY_MIB,
  imageCommandSteps,
  INITRAMFS_LINE,
  INITRAMFS_WHAT,
  ovmf,
  UEFI_FATAL,
  type ImageCommand,
  type ScenarioName,
  type ScenarioPlan,
} from './scenarios.js';
import type { ScriptStep } from './script.js';
import type { Budget } from './wait-budget.js';

/** Installing and verifying do real work (mkfs, copying the system, hashing a slot): a larger budget. */
export const INSTALL_STEP_BUDGET: Budget = { cpuSeconds: 300, silentCpuSeconds: 240, wallSeconds: 600 };

/** The partition sizes of the installed disk, in MiB (var takes the rest). */
export interface InstallLayout {
  espMiB: number;
  slotMiB: number;
  varMiB: number;
}

export interface InstallInputs {
  iso: string;
  /** A blank raw disk of at least layoutDiskMiB(layout). */
  disk: string;
  firmware: FirmwareSet;
  /** The OS id: the UKIs are /boot/uki/<os>-system-a.efi and -system-b.efi on the medium. */
  os: string;
  /** The OS name, for the loader entries' titles. */
  osName: string;
  layout: InstallLayout;
  memoryMiB?: number;
}

export interface InstalledDiskInputs {
  /** The installed disk (qcow2: a copy-on-write overlay of the one the install made). */
  disk: string;
  firmware: FirmwareSet;
  /** Update bundles as read-only raw disks, /dev/vdb, /dev/vdc, ... in this order. */
  bundles?: string[];
  memoryMiB?: number;
  commands?: ImageCommand[];
}

/** The whole disk: 1 MiB before the first partition and room for the backup GPT after the last. */
export function layoutDiskMiB(layout: InstallLayout): number {
  return layout.espMiB + 2 * layout.slotMiB + layout.varMiB + 2;
}

const DISK = '/dev/vda';
const run = (command: string, extra: Partial<Extract<ScriptStep, { kind: 'run' }>> = {}): ScriptStep => ({
  kind: 'run',
  command,
  budget: INSTALL_STEP_BUDGET,
  ...extra,
});
const check = (command: string, output?: RegExp, exitCode?: number): ScriptStep => ({
  kind: 'run',
  command,
  budget: COMMAND_BUDGET,
  ...(output ? { output } : {}),
  ...(exitCode !== undefined ? { exitCode } : {}),
});

/**
 * A reboot's wait covers the shutdown too, and firmware that may reclaim its variable store
 * (every boot writes variables): silent CPU work the first boot of a run does not have. An RPM
 * demo reboot under load once sat 30 CPU-s silent between systemd-boot's menu and the kernel.
 */
export const REBOOT_BUDGET: Budget = { cpuSeconds: 180, silentCpuSeconds: 90, wallSeconds: 300 };

/** Waits for a (re)boot to reach the shell: the initramfs's first line, then the ready probe. */
function bootToShell(marker: string, budget: Budget = BOOT_BUDGETS.uefi): ScriptStep[] {
  return [
    { kind: 'expect', marker: `${marker}-initramfs`, pattern: INITRAMFS_LINE, what: INITRAMFS_WHAT, budget },
    { kind: 'shell', marker: `${marker}-shell`, budget },
  ];
}

const afterReboot = (marker: string) => bootToShell(marker, REBOOT_BUDGET);

const runningSlot = (slot: 'system-a' | 'system-b'): ScriptStep => check('cat /proc/cmdline', new RegExp(`(^|\\s)root=LABEL=${slot}(\\s|$)`));
const reboot: ScriptStep = { kind: 'send', line: 'sync; reboot' };

/**
 * Boot 1 of `install`: the live ISO (UEFI) with a blank virtio disk; the seed's manual install
 * typed on the serial console (busybox has no `mount --mkdir` or `umount -R`: mkdir and three
 * umounts instead; `recab bootloader` stands for `bootctl install`, which needs systemd), then
 * power off.
 */
export function installScenario(inputs: InstallInputs): ScenarioPlan {
  const { espMiB, slotMiB } = inputs.layout;
  const os = inputs.os;
  const entry = (slot: 'a' | 'b') =>
    `recchroot /mnt sh -c "printf 'title   ${inputs.osName} (Slot ${slot.toUpperCase()})\\nefi     /EFI/Linux/${os}-system-${slot}.efi\\n' > /boot/loader/entries/${os}-${slot}.conf"`;
  return {
    name: 'install',
    description: "the manual install from the live ISO onto a blank disk (EFI + system-a + system-b + var)",
    qemu: {
      machine: 'q35',
      memoryMiB: inputs.memoryMiB ?? DEFAULT_MEMORY_MIB,
      firmware: ovmf(inputs.firmware, 'install'),
      drives: [
        { type: 'virtio-disk', file: inputs.disk, readonly: false },
        { type: 'cdrom', file: inputs.iso, bus: 'ide' },
      ],
    },
    fatalPatterns: UEFI_FATAL,
    steps: [
      ...bootToShell('live'),
      check('recab status', /^running: live$/m),
      run(`sgdisk -Z ${DISK}`),
      run(
        `sgdisk -n 1:0:+${espMiB}M -t 1:ef00 -c 1:EFI -n 2:0:+${slotMiB}M -t 2:8300 -c 2:system-a ` +
          `-n 3:0:+${slotMiB}M -t 3:8300 -c 3:system-b -n 4:0:0 -t 4:8300 -c 4:var ${DISK}`,
      ),
      // The kernel re-reads the table when sgdisk asks; devtmpfs makes the nodes a moment later.
      run(`for i in 1 2 3 4 5 6 7 8 9 10; do [ -b ${DISK}4 ] && break; sleep 1; done; [ -b ${DISK}4 ]`),
      run(`mkfs.fat -F32 -n EFI ${DISK}1`),
      run(`mkfs.ext4 -q -L system-a ${DISK}2`),
      run(`mkfs.ext4 -q -L system-b ${DISK}3`),
      run(`mkfs.ext4 -q -L var ${DISK}4`),
      run(`mount ${DISK}2 /mnt`),
      run(`mkdir -p /mnt/boot /mnt/var && mount ${DISK}1 /mnt/boot && mount ${DISK}4 /mnt/var`),
      run('recstrap /mnt'),
      // The immutable layout's way: the root image itself into a slot partition; never a mounted one.
      run(`recstrap ${DISK}2 2>&1`, { exitCode: 1, output: /is mounted on \/mnt: unmount it first/ }),
      run(`recstrap ${DISK}3`, { output: /done: \/dev\/vda3 holds the root image/ }),
      run('recfstab /mnt >> /mnt/etc/fstab'),
      check('cat /mnt/etc/fstab', /^UUID=\S+\s+\/boot\s+vfat[^\n]*\nUUID=\S+\s+\/var\s+ext4/m),
      run('recchroot /mnt mkdir -p /boot/EFI/Linux /boot/loader/entries'),
      run(`recchroot /mnt cp /run/live/medium/boot/uki/${os}-system-a.efi /run/live/medium/boot/uki/${os}-system-b.efi /boot/EFI/Linux/`),
      run('recchroot /mnt recab bootloader'),
      run(entry('a')),
      run(entry('b')),
      run(`recchroot /mnt sh -c "printf 'default ${os}-a.conf\\ntimeout 3\\neditor no\\n' > /boot/loader/loader.conf"`),
      // A command that fails inside: its exit code comes out, and the binds come off all the same.
      run('recchroot /mnt false', { exitCode: 1 }),
      // recchroot unmounted what it bound: nothing of the live system is left below /mnt.
      check("grep -cE ' /mnt/(proc|sys|dev|run)' /proc/mounts", /^0$/, 1),
      run('umount /mnt/boot /mnt/var && umount /mnt && sync'),
      { kind: 'send', line: 'poweroff' },
      { kind: 'exit', marker: 'poweroff', what: 'QEMU to exit after poweroff', budget: BOOT_BUDGETS.uefi },
    ],
  };
}

/**
 * Boot 2 of `install`: the installed disk alone. Slot A comes up with var mounted on /var; a
 * file written under /var survives a reboot.
 */
export function installedFirstBootScenario(inputs: InstalledDiskInputs): ScenarioPlan {
  return {
    name: 'install-first-boot',
    description: 'the installed disk alone boots slot A; /var is the var partition and keeps a file across a reboot',
    qemu: installedQemu(inputs, 'install-first-boot', [{ type: 'virtio-disk', file: inputs.disk, readonly: false }]),
    fatalPatterns: UEFI_FATAL,
    steps: [
      ...bootToShell('slot-a'),
      runningSlot('system-a'),
      check("grep -E '^/dev/vda4 /var ext4 ' /proc/mounts"),
      check("grep -E '^/dev/vda1 /boot vfat ' /proc/mounts"),
      check('recab status', /^system-a: committed \S+ \S+; running; default$/m),
      ...imageCommandSteps(inputs.commands),
      check('echo "written by the install test" > /var/lib/install-test-marker && sync'),
      reboot,
      ...afterReboot('reboot'),
      runningSlot('system-a'),
      check('cat /var/lib/install-test-marker', /^written by the install test$/),
      { kind: 'send', line: 'poweroff' },
      { kind: 'exit', marker: 'poweroff', what: 'QEMU to exit after poweroff', budget: BOOT_BUDGETS.uefi },
    ],
  };
}

function installedQemu(inputs: InstalledDiskInputs, name: string, system: DriveConfig[]): ScenarioPlan['qemu'] {
  return {
    machine: 'q35',
    memoryMiB: inputs.memoryMiB ?? DEFAULT_MEMORY_MIB,
    firmware: ovmf(inputs.firmware, name),
    drives: [...system, ...(inputs.bundles ?? []).map((file): DriveConfig => ({ type: 'virtio-disk', file, readonly: true }))],
    reboots: true,
  };
}

function overlayDisk(inputs: InstalledDiskInputs): DriveConfig {
  return { type: 'virtio-disk', file: inputs.disk, readonly: false, format: 'qcow2' };
}

/**
 * `update`: a bundle of the next version (/dev/vdb) goes into slot B and boots once on trial;
 * a reboot without commit returns to slot A; installed again, booted and committed, slot B is
 * the default across reboots.
 */
export function updateScenario(inputs: InstalledDiskInputs & { nextVersion: string }): ScenarioPlan {
  const version = new RegExp(`^${inputs.nextVersion.replace(/\./g, '\\.')}$`);
  const osVersion = check('. /etc/os-release && echo "$VERSION_ID"', version);
  return {
    name: 'update',
    description: 'an update into slot B: trial boot, rollback by reboot, install again, commit',
    qemu: installedQemu(inputs, 'update', [overlayDisk(inputs)]),
    fatalPatterns: UEFI_FATAL,
    steps: [
      ...bootToShell('slot-a'),
      runningSlot('system-a'),
      run('recab install /dev/vdb'),
      check('recab status', /^next boot: system-b \(one-shot trial\)$/m),
      reboot,
      ...afterReboot('trial'),
      runningSlot('system-b'),
      osVersion,
      check('recab status', /^system-b: installed \S+ \S+; running; on trial/m),
      reboot,
      ...afterReboot('rollback'),
      runningSlot('system-a'),
      check('recab status', /^system-b: installed \S+ \S+; tried once, not committed: rolled back$/m),
      run('recab install /dev/vdb'),
      reboot,
      ...afterReboot('trial-again'),
      runningSlot('system-b'),
      run('recab commit'),
      check('recab status', /^default: system-b /m),
      reboot,
      ...afterReboot('committed'),
      runningSlot('system-b'),
      osVersion,
      check('recab status', /^system-b: committed \S+ \S+; running; default$/m),
      ...imageCommandSteps(inputs.commands),
    ],
  };
}

/** The kernel's panic when the trial's init dies; expected here, so not fatal. */
const INIT_DIED = /Kernel panic - not syncing/;

/**
 * `update-broken`: a bundle whose init dies at once is tried once; the kernel panics, panic=
 * reboots it, and the next boot is the committed slot A, with nobody typing anything.
 */
export function updateBrokenScenario(inputs: InstalledDiskInputs): ScenarioPlan {
  const fatal: readonly FatalPattern[] = UEFI_FATAL.filter((f) => f.pattern !== 'Kernel panic');
  return {
    name: 'update-broken',
    description: 'a bundle that crashes on boot is tried once; the next boot is the committed slot, unattended',
    qemu: installedQemu(inputs, 'update-broken', [overlayDisk(inputs)]),
    fatalPatterns: fatal,
    steps: [
      ...bootToShell('slot-a'),
      run('recab install /dev/vdb'),
      reboot,
      { kind: 'expect', marker: 'trial-panics', pattern: INIT_DIED, what: "the broken trial's kernel panic", budget: REBOOT_BUDGET },
      ...afterReboot('fallback'),
      runningSlot('system-a'),
      check('recab status', /^system-b: installed \S+ \S+; tried once, not committed: rolled back$/m),
      check('recab status', /^default: system-a /m),
    ],
  };
}

/**
 * `update-refused`: bundles signed by another key (/dev/vdb), for another variant (/dev/vdc),
 * tampered after signing (/dev/vdd) and truncated (/dev/vde) are refused and change nothing on
 * the disk; then a power cut (sysrq b: no sync, no unmount) while a good bundle (/dev/vdf) is
 * being written: slot A still boots and `recab status` says slot B is incomplete.
 */
export function updateRefusedScenario(inputs: InstalledDiskInputs): ScenarioPlan {
  const refused = (device: string, reason: RegExp): ScriptStep => run(`recab install ${device} 2>&1`, { exitCode: 1, output: reason });
  return {
    name: 'update-refused',
    description: 'bundles with a foreign key, for another variant, tampered or truncated are refused; a power cut mid-write leaves slot A booting',
    qemu: installedQemu(inputs, 'update-refused', [overlayDisk(inputs)]),
    fatalPatterns: UEFI_FATAL,
    steps: [
      ...bootToShell('slot-a'),
      run('sha256sum /dev/vda2 /dev/vda3 /boot/EFI/Linux/* /boot/EFI/BOOT/* /boot/loader/loader.conf /boot/loader/entries/* > /run/disk.sums'),
      refused('/dev/vdb', /signature does not verify/),
      refused('/dev/vdc', /it is for variant '[^']+', this system is/),
      refused('/dev/vdd', /slot\.img does not match its manifest/),
      refused('/dev/vde', /not an update bundle, or a truncated one|does not match its manifest/),
      run('sha256sum -c /run/disk.sums'),
      check('ls /sys/firmware/efi/efivars/ | grep -c LoaderEntryOneShot', /^0$/, 1),
      check('recab status', /^system-b: unknown/m),
      // The power cut: as soon as slot B's state says it is being written, and that record is on
      // disk (recab syncs it before it writes the slot; a cut before its sync returns would find
      // slot B untouched and no record, which is the truth then, but not the case to test). `sync
      // -f` flushes /var's file system only, so the slot write is still under way.
      {
        kind: 'send',
        line:
          '(recab install /dev/vdf >/dev/null 2>&1 &); while ! grep -q state=writing /var/lib/recab/system-b 2>/dev/null; do sleep 0.1; done; ' +
          'sync -f /var/lib/recab/system-b; echo b > /proc/sysrq-trigger',
      },
      ...afterReboot('after-power-cut'),
      runningSlot('system-a'),
      check('recab status', /^system-b: incomplete: an install of \S+ \S+ was interrupted; not bootable$/m),
      check('recab status', /^default: system-a /m),
    ],
  };
}

export type InstallScenarioName = Extract<ScenarioName, 'install' | 'update' | 'update-broken' | 'update-refused'>;
