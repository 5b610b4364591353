// Every ISO scenario booted for real against a fixture hybrid ISO (Debian kernel, busybox
// initramfs, Debian systemd-boot): UEFI and BIOS from CD and as a disk, Secure Boot with the
// test's own enrolled keys, the refused tampered UKI, and the system-b slot of an A/B disk.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBootTest, type BootTestResult } from '../../qemu/boot-test.js';
import { buildEnrollmentDisk } from '../../qemu/enrollment-disk.js';
import { hostExec } from '../../qemu/exec-tool.js';
import { locateFirmware, type FirmwareSet } from '../../qemu/firmware.js';
import { extractFromIso } from '../../qemu/iso-extract.js';
import {
  biosDiskScenario,
  biosScenario,
  secureBootEnrollScenario,
  secureBootRefusesTamperedScenario,
  secureBootScenario,
  slotBScenario,
  uefiDiskScenario,
  uefiScenario,
  type ScenarioPlan,
} from '../../qemu/scenarios.js';
import { buildSlotBDisk } from '../../qemu/slot-disk.js';
import { tamperUkiCmdline } from '../../qemu/tamper.js';
import {
  FIXTURE_CONSOLE as CONSOLE,
  FIXTURE_ROOT_IMAGE,
  FIXTURE_SYSTEM_B_UKI as SYSTEM_B_UKI,
  fixtureBootSet,
  type FixtureBootSet,
} from './fixture-iso.js';
import { qemuFixturesDir } from './fixtures.js';

let work: string;
let firmware: FirmwareSet;
let set: FixtureBootSet;
let iso: string;

beforeAll(async () => {
  set = await fixtureBootSet();
  iso = set.iso;
  work = await mkdtemp(join(qemuFixturesDir(), '.iso-scenarios-'));
  firmware = await locateFirmware(['seabios', 'ovmf-code', 'ovmf-code-secboot', 'ovmf-vars']);
}, 300_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function boot(plan: ScenarioPlan, options: { saveVarsTo?: string } = {}): Promise<BootTestResult> {
  const result = await runBootTest(plan, {
    outDir: join(work, `${plan.name}-out`),
    runDir: join(work, `${plan.name}-run`),
    ...options,
  });
  console.info(`${plan.name}: ${result.accel}, markers ${result.markers.map((m) => `${m.name}=${m.seconds}s`).join(' ')}, ` +
    `commands ${result.commands.map((c) => `${c.seconds}s`).join(' ')}`);
  return result;
}

function output(result: BootTestResult, command: string): string | undefined {
  return result.commands.find((c) => c.command === command)?.output;
}

describe('live ISO boots', () => {
  it('uefi: q35 + OVMF, ISO as CD-ROM, to the root shell', async () => {
    const result = await boot(uefiScenario({ iso, firmware }));
    expect(result.markers.map((m) => m.name)).toEqual(['initramfs', 'shell']);
    expect(output(result, 'cat /proc/cmdline')).toBe(CONSOLE);
  }, 180_000);

  it('bios: pc + SeaBIOS + isolinux, ISO as CD-ROM, to the root shell', async () => {
    const result = await boot(biosScenario({ iso, firmware }));
    expect(result.markers.map((m) => m.name)).toEqual(['bootloader', 'initramfs', 'shell']);
    // isolinux adds BOOT_IMAGE and initrd= to the APPEND line.
    expect(output(result, 'cat /proc/cmdline')).toContain(CONSOLE);
  }, 180_000);

  it('uefi-disk: the ISO as a virtio disk boots through its GPT ESP', async () => {
    const result = await boot(uefiDiskScenario({ iso, firmware }));
    expect(result.passed).toBe(true);
  }, 180_000);

  it('bios-disk: the ISO as a virtio disk boots through its isohybrid MBR', async () => {
    const result = await boot(biosDiskScenario({ iso, firmware }));
    expect(result.markers.map((m) => m.name)).toEqual(['bootloader', 'initramfs', 'shell']);
  }, 180_000);
});

describe('secure boot', () => {
  let enrolledVars: string;

  beforeAll(async () => {
    const disk = await buildEnrollmentDisk({
      signedSystemdBoot: set.signedSystemdBoot,
      keys: { pkAuth: set.keys.PK.auth, kekAuth: set.keys.KEK.auth, dbAuth: set.keys.db.auth },
      out: join(work, 'enroll.img'),
      tmp: work,
      exec: hostExec,
    });
    enrolledVars = join(work, 'OVMF_VARS.enrolled.fd');
    const result = await boot(secureBootEnrollScenario({ enrollmentDisk: disk, firmware }), { saveVarsTo: enrolledVars });
    expect(result.markers.map((m) => m.name)).toEqual(['enrolling', 'reset']);
    const template = await readFile(firmware['ovmf-vars']!.path);
    expect((await readFile(enrolledVars)).equals(template)).toBe(false);
  }, 180_000);

  it('boots the signed ISO with Secure Boot enforced by the enrolled keys', async () => {
    const result = await boot(secureBootScenario({ iso, firmware, enrolledVars }));
    expect(output(result, "dmesg | grep 'Secure boot enabled'")).toMatch(/secureboot: Secure boot enabled/);
  }, 180_000);

  it('refuses the ISO whose UKI .cmdline changed after signing, and starts no kernel', async () => {
    const tampered = join(work, 'tampered.iso');
    const { offsets } = await tamperUkiCmdline(iso, set.signedLiveUki, tampered);
    expect(offsets.length).toBe(1);
    const result = await boot(secureBootRefusesTamperedScenario({ iso: tampered, firmware, enrolledVars }));
    expect(result.markers.map((m) => m.name)).toEqual(['refused']);
    const log = await readFile(join(work, 'secure-boot-refuses-tampered-out', 'serial.log'), 'utf8');
    expect(log).toMatch(/Error loading .*fixture-live\.efi.*Access Denied|Access Denied/);
    expect(log).not.toMatch(/EFI stub: |Linux version|initramfs: /);
  }, 180_000);
});

describe('A/B slot', () => {
  it('slot-b: the system-b UKI boots from an A/B disk built from the ISO', async () => {
    const tmp = join(work, 'slot-build');
    await mkdir(tmp);
    const layout = await buildSlotBDisk({
      systemdBoot: set.signedSystemdBoot,
      ukiSystemB: await extractFromIso(iso, `/boot/uki/${SYSTEM_B_UKI}`, join(tmp, SYSTEM_B_UKI), hostExec),
      ukiFileName: SYSTEM_B_UKI,
      rootImage: await extractFromIso(iso, FIXTURE_ROOT_IMAGE, join(tmp, 'root.squashfs'), hostExec),
      out: join(work, 'slot.img'),
      tmp,
      exec: hostExec,
    });
    expect(layout.map((p) => p.name)).toEqual(['EFI', 'system-a', 'system-b', 'var']);
    const result = await boot(slotBScenario({ disk: join(work, 'slot.img'), firmware }));
    expect(output(result, 'cat /proc/cmdline')).toBe(`${CONSOLE} root=LABEL=system-b`);
    expect(output(result, 'grep -lx PARTNAME=system-b /sys/class/block/*/uevent')).toBe('/sys/class/block/vda3/uevent');
  }, 180_000);
});
