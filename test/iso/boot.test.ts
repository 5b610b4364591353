// Boot proof: the hybrid ISO boots under QEMU (TCG) by every path it offers, driven by the
// project's boot-test scenarios (qemu/): BIOS from CD (SeaBIOS -> isolinux), UEFI from CD
// (OVMF -> El Torito ESP -> systemd-boot -> signed live UKI), and, with an ESP over 32 MiB,
// UEFI from CD and both firmwares from the ISO attached as a disk (isohybrid MBR / ESP partition);
// then Secure Boot: an enrollment ESP made by buildEsp enrolls the test keys, and the ISO boots
// with Secure Boot enforced.
// Each boot must reach the initramfs, find the medium by its label, loop-mount the squashfs and
// give a root shell, which answers `cat /proc/cmdline`.
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runBootTest } from '../../qemu/boot-test.js';
import { locateFirmware, type FirmwareSet } from '../../qemu/firmware.js';
import {
  biosDiskScenario, biosScenario, secureBootEnrollScenario, secureBootScenario, uefiDiskScenario, uefiScenario, type ScenarioPlan,
} from '../../qemu/scenarios.js';
import { buildEsp, liveEspEntries, loaderConf, type EspEntry } from '../../stages/esp.js';
import { buildIso } from '../../stages/iso.js';
import {
  buildBootPieces, hostTools, isolinuxTemplate, LIVE_LABEL, OS, ROOT_MARKER, scratchDir, sparseFile, TEST_EPOCH, VARIANT_CMDLINE, type BootPieces,
} from './fixtures.js';

let dir: string;
let firmware: FirmwareSet;
let pieces: BootPieces;
const isos: Record<'standard' | 'large-esp', string> = { standard: '', 'large-esp': '' };

async function liveIso(pieces: BootPieces, name: keyof typeof isos, fillerBytes: number): Promise<string> {
  const entries = liveEspEntries({ os: OS, systemdBoot: pieces.systemdBoot, liveUki: pieces.liveUki, loader: { timeoutSeconds: 2 } });
  if (fillerBytes > 0) entries.push({ path: `EFI/${OS}/filler.bin`, source: await sparseFile(join(dir, `${name}-filler`), fillerBytes) });
  const esp = join(dir, `${name}-efiboot.img`);
  await buildEsp({ entries, output: esp, sourceDateEpoch: TEST_EPOCH, scratch: join(dir, `${name}-scratch`), runner: hostTools });
  const iso = join(dir, `${name}.iso`);
  await buildIso({
    output: iso, os: OS, volumeLabel: LIVE_LABEL, cmdline: VARIANT_CMDLINE, timeoutSeconds: 2, isolinuxTemplate: await isolinuxTemplate(),
    sourceDateEpoch: TEST_EPOCH, esp, syslinux: pieces.syslinux, kernel: pieces.kernel, initramfs: pieces.initramfs, rootImage: pieces.rootImage,
    systemA: pieces.systemA, systemB: pieces.systemB, scratch: join(dir, `${name}-scratch`), runner: hostTools,
  });
  return iso;
}

beforeAll(async () => {
  dir = await scratchDir('iso-boot');
  firmware = await locateFirmware(['seabios', 'ovmf-code', 'ovmf-vars', 'ovmf-code-secboot']);
  pieces = await buildBootPieces(dir);
  isos.standard = await liveIso(pieces, 'standard', 0);
  isos['large-esp'] = await liveIso(pieces, 'large-esp', 40 * 2 ** 20);
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const EXPECTED_CMDLINE = `root=live:LABEL=${LIVE_LABEL} ${VARIANT_CMDLINE}`;

describe.each([
  ['bios', 'standard', biosScenario],
  ['uefi', 'standard', uefiScenario],
  ['uefi', 'large-esp', uefiScenario],
  ['uefi-disk', 'large-esp', uefiDiskScenario],
  ['bios-disk', 'large-esp', biosDiskScenario],
] as [string, keyof typeof isos, (inputs: { iso: string; firmware: FirmwareSet }) => ScenarioPlan][])('%s boot of the %s ISO', (scenario, which, plan) => {
  test('reaches the live root shell through the initramfs, with the live command line', async () => {
    if (which === 'large-esp') expect((await stat(join(dir, 'large-esp-efiboot.img'))).size).toBeGreaterThan(32 * 2 ** 20);
    const outDir = join(dir, `${scenario}-${which}`);
    const result = await runBootTest(plan({ iso: isos[which], firmware }), { outDir, runDir: join(outDir, 'run') });
    const log = await readFile(join(outDir, 'serial.log'), 'utf8');
    expect(result.passed, `${result.failure}\n--- serial log tail ---\n${log.slice(-4000)}`).toBe(true);
    console.info(`${scenario} (${which} ISO): ${result.markers.map((m) => `${m.name} ${m.seconds}s`).join(', ')}; ${result.accel}`);

    const cmdline = result.commands.find((c) => c.command === 'cat /proc/cmdline');
    // isolinux adds BOOT_IMAGE= and initrd= around the APPEND line; the UKI passes its .cmdline as is.
    const bios = scenario.startsWith('bios');
    expect(cmdline?.output.trim()).toBe(bios ? `BOOT_IMAGE=/boot/vmlinuz ${EXPECTED_CMDLINE} initrd=/boot/initramfs-live.img` : EXPECTED_CMDLINE);
    expect(log).toMatch(/initramfs: mounted the live medium \/dev\/\S+ on \/run\/live\/medium/);
    expect(log).toContain('initramfs: mounted /live/filesystem.squashfs (squashfs)');
    expect(log).toContain(ROOT_MARKER);
    if (bios) expect(log).toContain(`Booting ${OS} live (${LIVE_LABEL}) (BIOS, isolinux)`);
    else expect(log).toMatch(/EFI stub: /);
  }, 240_000);
});

describe('Secure Boot', () => {
  test('an enrollment ESP from buildEsp enrolls the keys; the ISO then boots with Secure Boot enforced', async () => {
    const entries: EspEntry[] = [
      { path: 'EFI/BOOT/BOOTX64.EFI', source: pieces.systemdBoot },
      ...Object.entries(pieces.keys.espFiles).map(([path, source]) => ({ path, source })),
      { path: 'loader/loader.conf', data: loaderConf({ timeoutSeconds: 0, secureBootEnroll: 'force' }) },
    ];
    const enrollmentDisk = join(dir, 'enroll.img');
    await buildEsp({ entries, output: enrollmentDisk, label: 'ENROLL', sourceDateEpoch: TEST_EPOCH, scratch: join(dir, 'enroll-scratch'), runner: hostTools });
    const enrolledVars = join(dir, 'enrolled-vars.fd');
    const enroll = await runBootTest(secureBootEnrollScenario({ enrollmentDisk, firmware }), {
      outDir: join(dir, 'enroll'), runDir: join(dir, 'enroll', 'run'), saveVarsTo: enrolledVars,
    });
    expect(enroll.passed, enroll.failure).toBe(true);

    const outDir = join(dir, 'secure-boot');
    const result = await runBootTest(secureBootScenario({ iso: isos['large-esp'], firmware, enrolledVars }), { outDir, runDir: join(outDir, 'run') });
    const log = await readFile(join(outDir, 'serial.log'), 'utf8');
    expect(result.passed, `${result.failure}\n--- serial log tail ---\n${log.slice(-4000)}`).toBe(true);
    console.info(`secure-boot: enroll ${enroll.seconds}s; boot ${result.markers.map((m) => `${m.name} ${m.seconds}s`).join(', ')}`);
    expect(log).toMatch(/Secure boot enabled/);
    expect(log).toContain('initramfs: mounted /live/filesystem.squashfs (squashfs)');
  }, 300_000);
});
