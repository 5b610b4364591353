// What a boot test asks of QEMU, as data, and the pure translation to a command line.
import type { Accelerator } from './accel.js';

export type Machine = 'q35' | 'pc';

export type FirmwareConfig =
  /** SeaBIOS: legacy BIOS boot (isolinux, or -kernel direct boot). */
  | { type: 'seabios'; bios: string }
  /**
   * OVMF: code (read-only pflash) + variable store. The store is copied per run from
   * `varsTemplate`, so a run never changes the template. `secureBoot` selects the SMM build's
   * requirements (q35,smm=on and a secure pflash).
   */
  | { type: 'ovmf'; code: string; varsTemplate: string; secureBoot?: boolean };

/**
 * `ide`: ide-cd on the PIIX IDE controller (pc) or on the ICH9 AHCI ports (q35).
 * `scsi`: scsi-cd on virtio-scsi.
 */
export type CdromBus = 'ide' | 'scsi';

/** qcow2 for disks that carry a backing file (an installed disk shared between tests through the cache). */
export type DiskFormat = 'raw' | 'qcow2';

export type DriveConfig =
  /** An ISO as an optical disc (El Torito boot). */
  | { type: 'cdrom'; file: string; bus?: CdromBus }
  /**
   * An image as a virtio disk, as a USB stick would present it (hybrid MBR/GPT boot).
   * Read-only by default; `snapshot` lets the guest write to a throwaway overlay instead.
   */
  | { type: 'virtio-disk'; file: string; readonly?: boolean; snapshot?: boolean; format?: DiskFormat }
  /**
   * An image as an internal hard disk on the machine's own controller: IDE on pc, AHCI (SATA) on
   * q35. Writable (ide-hd takes no read-only drive); `snapshot` keeps the writes in a throwaway overlay.
   */
  | { type: 'ide-disk'; file: string; snapshot?: boolean };

export interface DirectKernelBoot {
  kernel: string;
  initrd?: string;
  append?: string;
}

export interface QemuConfig {
  machine: Machine;
  memoryMiB: number;
  cpus?: number;
  firmware: FirmwareConfig;
  drives: DriveConfig[];
  /** -kernel/-initrd/-append: boot a kernel without a bootloader (SeaBIOS and OVMF both can). */
  directKernel?: DirectKernelBoot;
  /**
   * A guest reboot restarts the machine inside the same QEMU (firmware variables and disks
   * kept), for scenarios that reboot; by default a reset ends QEMU (-no-reboot).
   */
  reboots?: boolean;
}

/** Per-run facts the config leaves open. */
export interface QemuRunFacts {
  accel: Accelerator;
  /** The run's private copy of the OVMF variable store (required for OVMF). */
  varsPath?: string;
}

export class QemuConfigError extends Error {
  override name = 'QemuConfigError';
}

/** Escapes a value inside a QEMU `-drive`/`-device` option list (a comma is written `,,`). */
export function qemuOptionValue(value: string): string {
  return value.replaceAll(',', ',,');
}

export function buildQemuArgs(config: QemuConfig, facts: QemuRunFacts): string[] {
  const args: string[] = [];
  args.push('-machine', machineOption(config));
  args.push('-accel', facts.accel);
  // TCG's default CPU (qemu64) lacks even x86-64-v2; EL10 userlands are built for x86-64-v3 and
  // die with an illegal instruction without `max` (everything TCG emulates).
  args.push('-cpu', facts.accel === 'kvm' ? 'host' : 'max');
  args.push('-m', String(config.memoryMiB), '-smp', String(config.cpus ?? 1));
  // No default devices (NIC, VGA, monitor, floppy), no display, no user config file; the guest's
  // reset ends QEMU instead of rebooting it (the enrollment boot relies on that).
  args.push('-nodefaults', '-no-user-config', '-nographic', ...(config.reboots ? [] : ['-no-reboot']));
  // The serial console on QEMU's stdin/stdout: read and written by the expect engine, and
  // interactive when a user pastes the command line into a terminal.
  args.push('-serial', 'stdio');
  args.push(...firmwareArgs(config, facts));
  config.drives.forEach((drive, index) => args.push(...driveArgs(config.machine, drive, index)));
  if (config.directKernel) {
    const { kernel, initrd, append } = config.directKernel;
    args.push('-kernel', kernel);
    if (initrd !== undefined) args.push('-initrd', initrd);
    if (append !== undefined) args.push('-append', append);
  }
  return args;
}

function machineOption(config: QemuConfig): string {
  const secure = config.firmware.type === 'ovmf' && config.firmware.secureBoot;
  if (secure && config.machine !== 'q35') {
    throw new QemuConfigError(`Secure Boot OVMF needs machine q35 (SMM), not '${config.machine}'`);
  }
  return secure ? 'q35,smm=on' : config.machine;
}

function firmwareArgs(config: QemuConfig, facts: QemuRunFacts): string[] {
  const firmware = config.firmware;
  if (firmware.type === 'seabios') return ['-bios', firmware.bios];
  if (!facts.varsPath) {
    throw new QemuConfigError('OVMF needs a writable copy of its variable store (varsPath) for this run');
  }
  const args = [
    '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${qemuOptionValue(firmware.code)}`,
    '-drive', `if=pflash,format=raw,unit=1,file=${qemuOptionValue(facts.varsPath)}`,
  ];
  // The Secure Boot build keeps its variables behind SMM; without a secure pflash any guest
  // code could rewrite the key databases.
  if (firmware.secureBoot) args.push('-global', 'driver=cfi.pflash01,property=secure,value=on');
  return args;
}

function driveArgs(machine: Machine, drive: DriveConfig, index: number): string[] {
  const file = qemuOptionValue(drive.file);
  if (drive.type === 'virtio-disk') {
    const readonly = drive.readonly ?? true;
    const options = [`if=virtio`, `format=${drive.format ?? 'raw'}`, `readonly=${readonly ? 'on' : 'off'}`];
    if (drive.snapshot) options.push('snapshot=on');
    return ['-drive', `${options.join(',')},file=${file}`];
  }
  if (drive.type === 'ide-disk') {
    const id = `hd${index}`;
    const options = [`if=none`, `id=${id}`, `format=raw`, ...(drive.snapshot ? ['snapshot=on'] : [])];
    // The primary channel (pc) or the first AHCI port (q35): where firmware and kernel look first.
    return ['-drive', `${options.join(',')},file=${file}`, '-device', `ide-hd,drive=${id},bus=ide.0`];
  }
  const id = `cd${index}`;
  const drv = ['-drive', `if=none,id=${id},media=cdrom,format=raw,readonly=on,file=${file}`];
  if ((drive.bus ?? 'ide') === 'scsi') {
    return [...drv, '-device', `virtio-scsi-pci,id=scsi${index}`, '-device', `scsi-cd,drive=${id},bus=scsi${index}.0`];
  }
  // pc: the secondary IDE channel, where BIOSes expect an optical drive; q35: an AHCI port.
  const bus = machine === 'pc' ? 'ide.1' : 'ide.0';
  return [...drv, '-device', `ide-cd,drive=${id},bus=${bus}`];
}
