// The QEMU command lines the scenarios produce, checked argument by argument. (Every scenario is
// also booted for real in iso-scenarios.test.ts; these pin the exact flags.)
import { describe, expect, it } from 'vitest';
import { buildQemuArgs, QemuConfigError, qemuOptionValue, type QemuConfig } from '../../qemu/qemu-config.js';
import type { FirmwareSet } from '../../qemu/firmware.js';
import {
  biosDiskScenario,
  biosScenario,
  secureBootEnrollScenario,
  secureBootRefusesTamperedScenario,
  secureBootScenario,
  slotBScenario,
  uefiDiskScenario,
  uefiScenario,
} from '../../qemu/scenarios.js';
import { shellQuote } from '../../util/shell-quote.js';

const firmware: FirmwareSet = {
  'ovmf-code': { role: 'ovmf-code', fileName: 'OVMF_CODE_4M.fd', path: '/fw/OVMF_CODE_4M.fd', sha256: 'a' },
  'ovmf-code-secboot': { role: 'ovmf-code-secboot', fileName: 'OVMF_CODE_4M.secboot.fd', path: '/fw/OVMF_CODE_4M.secboot.fd', sha256: 'b' },
  'ovmf-vars': { role: 'ovmf-vars', fileName: 'OVMF_VARS_4M.fd', path: '/fw/OVMF_VARS_4M.fd', sha256: 'c' },
  seabios: { role: 'seabios', fileName: 'bios-256k.bin', path: '/fw/bios-256k.bin', sha256: 'd' },
};
const facts = { accel: 'tcg' as const, varsPath: '/run/efivars.fd' };
const COMMON = ['-accel', 'tcg', '-cpu', 'max', '-m', '1024', '-smp', '1', '-nodefaults', '-no-user-config', '-nographic', '-no-reboot', '-serial', 'stdio'];
const OVMF = ['-drive', 'if=pflash,format=raw,unit=0,readonly=on,file=/fw/OVMF_CODE_4M.fd', '-drive', 'if=pflash,format=raw,unit=1,file=/run/efivars.fd'];
const SECURE_OVMF = [
  '-drive', 'if=pflash,format=raw,unit=0,readonly=on,file=/fw/OVMF_CODE_4M.secboot.fd',
  '-drive', 'if=pflash,format=raw,unit=1,file=/run/efivars.fd',
  '-global', 'driver=cfi.pflash01,property=secure,value=on',
];
const CD_AHCI = ['-drive', 'if=none,id=cd0,media=cdrom,format=raw,readonly=on,file=/img/x.iso', '-device', 'ide-cd,drive=cd0,bus=ide.0'];

describe('scenario command lines', () => {
  it('uefi: q35, OVMF code read-only + a private vars copy, the ISO on an AHCI CD-ROM', () => {
    expect(buildQemuArgs(uefiScenario({ iso: '/img/x.iso', firmware }).qemu, facts)).toEqual([
      '-machine', 'q35', ...COMMON, ...OVMF, ...CD_AHCI,
    ]);
  });

  it('bios: pc, SeaBIOS, the ISO on the secondary IDE channel', () => {
    expect(buildQemuArgs(biosScenario({ iso: '/img/x.iso', firmware }).qemu, facts)).toEqual([
      '-machine', 'pc', ...COMMON, '-bios', '/fw/bios-256k.bin',
      '-drive', 'if=none,id=cd0,media=cdrom,format=raw,readonly=on,file=/img/x.iso', '-device', 'ide-cd,drive=cd0,bus=ide.1',
    ]);
  });

  it('uefi-disk and bios-disk: the ISO as a read-only virtio disk', () => {
    const disk = ['-drive', 'if=virtio,format=raw,readonly=on,file=/img/x.iso'];
    expect(buildQemuArgs(uefiDiskScenario({ iso: '/img/x.iso', firmware }).qemu, facts)).toEqual(['-machine', 'q35', ...COMMON, ...OVMF, ...disk]);
    expect(buildQemuArgs(biosDiskScenario({ iso: '/img/x.iso', firmware }).qemu, facts)).toEqual([
      '-machine', 'pc', ...COMMON, '-bios', '/fw/bios-256k.bin', ...disk,
    ]);
  });

  it('secure-boot: q35 with SMM, the secboot build, a secure pflash, the enrolled store as template', () => {
    const plan = secureBootScenario({ iso: '/img/x.iso', firmware, enrolledVars: '/keys/enrolled.fd' });
    expect(plan.qemu.firmware).toEqual({ type: 'ovmf', code: '/fw/OVMF_CODE_4M.secboot.fd', varsTemplate: '/keys/enrolled.fd', secureBoot: true });
    expect(buildQemuArgs(plan.qemu, facts)).toEqual(['-machine', 'q35,smm=on', ...COMMON, ...SECURE_OVMF, ...CD_AHCI]);
    expect(plan.steps.at(-1)).toMatchObject({ kind: 'run', command: "dmesg | grep 'Secure boot enabled'" });
  });

  it('secure-boot enrollment: setup-mode vars, the enrollment disk, and QEMU exiting on the reset', () => {
    const plan = secureBootEnrollScenario({ enrollmentDisk: '/img/enroll.img', firmware });
    expect(plan.qemu.firmware).toMatchObject({ varsTemplate: '/fw/OVMF_VARS_4M.fd', secureBoot: true });
    expect(buildQemuArgs(plan.qemu, facts)).toEqual([
      '-machine', 'q35,smm=on', '-accel', 'tcg', '-cpu', 'max', '-m', '256', '-smp', '1', ...COMMON.slice(8), ...SECURE_OVMF,
      '-drive', 'if=virtio,format=raw,readonly=on,file=/img/enroll.img',
    ]);
    expect(plan.steps.map((s) => s.kind)).toEqual(['expect', 'exit']);
  });

  it('the tampered case attaches nothing but the tampered ISO, and Access Denied is its expected output', () => {
    const plan = secureBootRefusesTamperedScenario({ iso: '/img/bad.iso', firmware, enrolledVars: '/keys/enrolled.fd' });
    expect(plan.qemu.drives).toEqual([{ type: 'cdrom', file: '/img/bad.iso', bus: 'ide' }]);
    expect(plan.qemu.directKernel).toBeUndefined();
    expect(plan.fatalPatterns.map((f) => f.pattern)).not.toContain('Access Denied');
    expect(plan.fatalPatterns.map((f) => f.pattern)).toContain('Kernel panic');
    expect(plan.steps).toEqual([
      expect.objectContaining({ kind: 'expect', pattern: 'Access Denied' }),
      expect.objectContaining({ kind: 'absent', what: 'a started kernel' }),
    ]);
  });

  it('slot-b: the A/B disk writable through a snapshot overlay, /proc/cmdline checked', () => {
    const plan = slotBScenario({ disk: '/img/slot.img', firmware });
    expect(buildQemuArgs(plan.qemu, facts)).toEqual([
      '-machine', 'q35', ...COMMON, ...OVMF, '-drive', 'if=virtio,format=raw,readonly=off,snapshot=on,file=/img/slot.img',
    ]);
    const cmdline = plan.steps.find((s) => s.kind === 'run' && s.command === 'cat /proc/cmdline');
    expect(cmdline).toMatchObject({ output: /(^|\s)root=LABEL=system-b(\s|$)/ });
  });

  it('every live boot checks for a root shell and the firmware path it took', () => {
    const efiCheck = (plan: ReturnType<typeof uefiScenario>) =>
      plan.steps.find((s) => s.kind === 'run' && s.command === 'test -d /sys/firmware/efi');
    expect(efiCheck(uefiScenario({ iso: '/i', firmware }))).toMatchObject({ exitCode: 0 });
    expect(efiCheck(biosScenario({ iso: '/i', firmware }))).toMatchObject({ exitCode: 1 });
    expect(uefiScenario({ iso: '/i', firmware }).steps.find((s) => s.kind === 'run' && s.command === 'id -u')).toMatchObject({ output: /^0$/ });
  });

  it('names the missing firmware role', () => {
    expect(() => uefiScenario({ iso: '/i', firmware: { seabios: firmware.seabios } })).toThrow(
      /scenario 'uefi' needs ovmf-code firmware \(OVMF_CODE_4M.fd\)/,
    );
  });
});

describe('command line details', () => {
  const base: QemuConfig = { machine: 'q35', memoryMiB: 512, firmware: { type: 'seabios', bios: '/b' }, drives: [] };

  it('uses KVM with the host CPU when told to', () => {
    expect(buildQemuArgs(base, { accel: 'kvm' }).slice(0, 6)).toEqual(['-machine', 'q35', '-accel', 'kvm', '-cpu', 'host']);
  });

  it('gives TCG every CPU feature it emulates, so an x86-64-v3 userland (EL10) runs', () => {
    expect(buildQemuArgs(base, { accel: 'tcg' }).slice(0, 6)).toEqual(['-machine', 'q35', '-accel', 'tcg', '-cpu', 'max']);
  });

  it('escapes commas in file names inside option lists', () => {
    expect(qemuOptionValue('/a,b/x.iso')).toBe('/a,,b/x.iso');
    const args = buildQemuArgs({ ...base, drives: [{ type: 'virtio-disk', file: '/a,b/x.iso' }] }, { accel: 'tcg' });
    expect(args.at(-1)).toBe('if=virtio,format=raw,readonly=on,file=/a,,b/x.iso');
  });

  it('puts a CD-ROM on virtio-scsi when asked', () => {
    const args = buildQemuArgs({ ...base, drives: [{ type: 'cdrom', file: '/x.iso', bus: 'scsi' }] }, { accel: 'tcg' });
    expect(args.slice(-6)).toEqual([
      '-drive', 'if=none,id=cd0,media=cdrom,format=raw,readonly=on,file=/x.iso',
      '-device', 'virtio-scsi-pci,id=scsi0', '-device', 'scsi-cd,drive=cd0,bus=scsi0.0',
    ]);
  });

  it('puts an internal hard disk on the AHCI (q35) or IDE (pc) controller, writes thrown away when asked', () => {
    const args = buildQemuArgs({ ...base, drives: [{ type: 'ide-disk', file: '/disk.img', snapshot: true }] }, { accel: 'tcg' });
    expect(args.slice(-4)).toEqual(['-drive', 'if=none,id=hd0,format=raw,snapshot=on,file=/disk.img', '-device', 'ide-hd,drive=hd0,bus=ide.0']);
  });

  it('passes -kernel/-initrd/-append for direct kernel boot', () => {
    const args = buildQemuArgs({ ...base, directKernel: { kernel: '/k', initrd: '/i', append: 'console=ttyS0 quiet' } }, { accel: 'tcg' });
    expect(args.slice(-6)).toEqual(['-kernel', '/k', '-initrd', '/i', '-append', 'console=ttyS0 quiet']);
  });

  it('refuses OVMF without a private vars copy, and Secure Boot on pc', () => {
    const ovmf: QemuConfig = { ...base, firmware: { type: 'ovmf', code: '/c', varsTemplate: '/v' } };
    expect(() => buildQemuArgs(ovmf, { accel: 'tcg' })).toThrow(QemuConfigError);
    const securePc: QemuConfig = { ...base, machine: 'pc', firmware: { type: 'ovmf', code: '/c', varsTemplate: '/v', secureBoot: true } };
    expect(() => buildQemuArgs(securePc, { accel: 'tcg', varsPath: '/x' })).toThrow(/Secure Boot OVMF needs machine q35/);
  });

  it('shell-quotes the command line so it can be pasted', () => {
    expect(shellQuote(['qemu-system-x86_64', '-append', 'console=ttyS0 quiet', '-drive', "file=/it's.iso"])).toBe(
      `qemu-system-x86_64 -append 'console=ttyS0 quiet' -drive 'file=/it'\\''s.iso'`,
    );
  });
});
