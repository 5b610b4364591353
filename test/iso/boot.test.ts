// Boot proof: the hybrid ISO boots under QEMU (TCG) by every path it offers. The product's ISO
// (the demo, built by the pipeline and booted once per test run by test/qemu/demo-boots.ts) shows
// BIOS from CD (SeaBIOS -> isolinux) and as a disk (isohybrid MBR), UEFI from CD (OVMF -> El Torito
// ESP -> systemd-boot -> signed live UKI) and as a disk (the ESP partition); each boot reached the
// initramfs, which found the medium by its label and loop-mounted the squashfs, and a root shell
// answered `cat /proc/cmdline`. The demo's ESP is small, so an ISO built here by the stage
// functions with an ESP over 32 MiB (the El Torito load-size trap of boot-facts.md) is booted by
// UEFI from CD and as a disk: that the product cannot show. (BIOS ignores the ESP; Secure Boot is
// proven on the product in test/qemu/iso-scenarios.test.ts.)
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runBootTest, SERIAL_LOG } from '../../qemu/boot-test.js';
import { locateFirmware, type FirmwareSet } from '../../qemu/firmware.js';
import { uefiDiskScenario, uefiScenario, type ScenarioPlan } from '../../qemu/scenarios.js';
import { buildEsp, liveEspEntries } from '../../stages/esp.js';
import { buildIso } from '../../stages/iso.js';
import { demoBoots, type DemoBoots } from '../qemu/demo-boots.js';
import {
  buildBootPieces, hostTools, isolinuxTemplate, LIVE_LABEL, OS, ROOT_MARKER, scratchDir, sparseFile, TEST_EPOCH, VARIANT_CMDLINE,
} from './fixtures.js';

/** The demo variant's label and command line (variants/demo.yaml). */
const DEMO = { os: 'demo', label: 'PIPELINE_DEMO', cmdline: 'console=ttyS0,115200' };

describe.each(['bios', 'bios-disk', 'uefi', 'uefi-disk'])('the product ISO, %s boot', (scenario) => {
  let demo: DemoBoots;
  beforeAll(async () => {
    demo = await demoBoots();
  }, 900_000);

  test('reached the live root shell through the initramfs, with the live command line', async () => {
    const result = demo.results[`test:demo:${scenario}`];
    expect(result.passed).toBe(true);
    const log = await readFile(join(demo.nodes[`test:demo:${scenario}`].outputDir!, SERIAL_LOG), 'utf8');
    const cmdline = result.commands.find((c) => c.command === 'cat /proc/cmdline')?.output.trim();
    // isolinux adds BOOT_IMAGE= and initrd= around the APPEND line; the UKI passes its .cmdline as is.
    const live = `root=live:LABEL=${DEMO.label} ${DEMO.cmdline}`;
    const bios = scenario.startsWith('bios');
    expect(cmdline).toBe(bios ? `BOOT_IMAGE=/boot/vmlinuz ${live} initrd=/boot/initramfs-live.img` : live);
    expect(log).toMatch(/initramfs: mounted the live medium \/dev\/\S+ on \/run\/live\/medium/);
    expect(log).toContain('initramfs: mounted /live/filesystem.squashfs (squashfs)');
    if (bios) expect(log).toContain(`Booting ${DEMO.os} live (${DEMO.label}) (BIOS, isolinux)`);
    else expect(log).toMatch(/EFI stub: /);
  });
});

describe('an ISO with an ESP over 32 MiB, built by the stage functions', () => {
  let dir: string;
  let firmware: FirmwareSet;
  let iso: string;

  beforeAll(async () => {
    dir = await scratchDir('iso-boot');
    firmware = await locateFirmware(['ovmf-code', 'ovmf-vars']);
    const pieces = await buildBootPieces(dir);
    const entries = liveEspEntries({ os: OS, systemdBoot: pieces.systemdBoot, liveUki: pieces.liveUki, loader: { timeoutSeconds: 2 } });
    entries.push({ path: `EFI/${OS}/filler.bin`, source: await sparseFile(join(dir, 'filler'), 40 * 2 ** 20) });
    const esp = join(dir, 'efiboot.img');
    await buildEsp({ entries, output: esp, sourceDateEpoch: TEST_EPOCH, scratch: join(dir, 'scratch'), runner: hostTools });
    expect((await stat(esp)).size).toBeGreaterThan(32 * 2 ** 20);
    iso = join(dir, 'large-esp.iso');
    await buildIso({
      output: iso, os: OS, volumeLabel: LIVE_LABEL, cmdline: VARIANT_CMDLINE, timeoutSeconds: 2, isolinuxTemplate: await isolinuxTemplate(),
      sourceDateEpoch: TEST_EPOCH, esp, syslinux: pieces.syslinux, kernel: pieces.kernel, initramfs: pieces.initramfs, rootImage: pieces.rootImage,
      systemA: pieces.systemA, systemB: pieces.systemB, scratch: join(dir, 'scratch'), runner: hostTools,
    });
  }, 300_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test.each([
    ['uefi', uefiScenario],
    ['uefi-disk', uefiDiskScenario],
  ] as [string, (inputs: { iso: string; firmware: FirmwareSet }) => ScenarioPlan][])('%s: reaches the live root shell', async (scenario, plan) => {
    const outDir = join(dir, scenario);
    // A failed boot throws, with the last serial lines, the log's path and the QEMU command.
    const result = await runBootTest(plan({ iso, firmware }), { outDir, runDir: join(outDir, 'run') });
    const log = await readFile(join(outDir, SERIAL_LOG), 'utf8');
    console.info(`${scenario} (large-ESP ISO): ${result.markers.map((m) => `${m.name} ${m.seconds}s / ${m.cpuSeconds} CPU-s`).join(', ')}; ${result.accel}`);
    expect(result.commands.find((c) => c.command === 'cat /proc/cmdline')?.output.trim()).toBe(`root=live:LABEL=${LIVE_LABEL} ${VARIANT_CMDLINE}`);
    expect(log).toContain('initramfs: mounted /live/filesystem.squashfs (squashfs)');
    expect(log).toContain(ROOT_MARKER);
    expect(log).toMatch(/EFI stub: /);
  }, 240_000);
});
