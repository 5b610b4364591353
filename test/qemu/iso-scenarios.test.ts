// Every ISO scenario proven on the product: the demo ISO that the pipeline's stages build, booted
// by its boot-test nodes (test/qemu/demo-boots.ts: each scenario boots once per test run, shared
// with the other files that read it). UEFI and BIOS from CD and as a disk, Secure Boot with the
// variant's own enrolled keys, the refused tampered UKI, and the system-b slot of an A/B disk.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SERIAL_LOG } from '../../qemu/boot-test.js';
import { locateFirmware } from '../../qemu/firmware.js';
import { ENROLLED_VARS_FILE } from '../../qemu/node.js';
import { BOOT_BUDGETS } from '../../qemu/scenarios.js';
import { demoBoots, type DemoBoot, type DemoBoots } from './demo-boots.js';

let demo: DemoBoots;

beforeAll(async () => {
  demo = await demoBoots();
}, 900_000);

function result(scenario: string): DemoBoot {
  const found = demo.results[`test:demo:${scenario}`];
  if (!found) throw new Error(`no result for test:demo:${scenario}; results: ${Object.keys(demo.results).join(', ')}`);
  return found;
}

function output(r: DemoBoot, command: string): string | undefined {
  return r.commands.find((c) => c.command === command)?.output;
}

async function serialLog(scenario: string): Promise<string> {
  return readFile(join(demo.nodes[`test:demo:${scenario}`].outputDir!, SERIAL_LOG), 'utf8');
}

describe('live ISO boots', () => {
  it('uefi: q35 + OVMF, ISO as CD-ROM, to the root shell', () => {
    const r = result('uefi');
    expect(r.passed).toBe(true);
    expect(r.markers.map((m) => m.name)).toEqual(['initramfs', 'shell']);
    expect(output(r, 'cat /proc/cmdline')).toMatch(/(^| )console=ttyS0,115200( |$)/);
    expect(r.commands.find((c) => c.command === 'test -d /sys/firmware/efi')?.exitCode).toBe(0);
  });

  it('bios: pc + SeaBIOS + isolinux, ISO as CD-ROM, to the root shell', () => {
    const r = result('bios');
    expect(r.markers.map((m) => m.name)).toEqual(['bootloader', 'initramfs', 'shell']);
    // isolinux adds BOOT_IMAGE and initrd= to the APPEND line.
    expect(output(r, 'cat /proc/cmdline')).toMatch(/^BOOT_IMAGE=\S+ .*console=ttyS0,115200.* initrd=\S+$/);
    expect(r.commands.find((c) => c.command === 'test -d /sys/firmware/efi')?.exitCode).toBe(1);
  });

  it('uefi-disk: the ISO as a virtio disk boots through its GPT ESP', () => {
    expect(result('uefi-disk').markers.map((m) => m.name)).toEqual(['initramfs', 'shell']);
  });

  it('bios-disk: the ISO as a virtio disk boots through its isohybrid MBR', () => {
    expect(result('bios-disk').markers.map((m) => m.name)).toEqual(['bootloader', 'initramfs', 'shell']);
  });

  it('every boot records its cost in QEMU CPU time, and its longest silence stays well inside the budget', () => {
    for (const scenario of ['uefi', 'bios', 'uefi-disk', 'bios-disk', 'secure-boot', 'slot-b']) {
      const r = result(scenario);
      const cpu = r.markers.map((m) => m.cpuSeconds);
      expect(cpu.every((c, i) => c > 0 && (i === 0 || c >= cpu[i - 1])), `${scenario}: ${JSON.stringify(r.markers)}`).toBe(true);
      expect(r.cpuSeconds).toBeGreaterThanOrEqual(cpu.at(-1)!);
      expect(r.longestSilence!.cpuSeconds, `${scenario}: ${JSON.stringify(r.longestSilence)}`).toBeLessThan(BOOT_BUDGETS.bios.silentCpuSeconds / 2);
      console.info(`${scenario}: shell at ${r.markers.at(-1)!.seconds} s, ${r.markers.at(-1)!.cpuSeconds} CPU-s; ` +
        `waited ${r.starvedSeconds} s for a CPU; longest silence ${r.longestSilence!.cpuSeconds} CPU-s before ${JSON.stringify(r.longestSilence!.endedBy)}`);
    }
  });
});

describe('secure boot', () => {
  it("enrolls the variant's keys into a copy of the OVMF variable store", async () => {
    const firmware = await locateFirmware(['ovmf-vars']);
    const enrolled = await readFile(join(demo.nodes['secureboot-vars:demo'].outputDir!, ENROLLED_VARS_FILE));
    const template = await readFile(firmware['ovmf-vars']!.path);
    expect(enrolled.length).toBe(template.length);
    expect(enrolled.equals(template)).toBe(false);
  });

  it('boots the signed ISO with Secure Boot enforced by the enrolled keys', () => {
    expect(output(result('secure-boot'), "dmesg | grep 'Secure boot enabled'")).toMatch(/secureboot: Secure boot enabled/);
  });

  it('refuses the ISO whose UKI .cmdline changed after signing, and starts no kernel', async () => {
    const r = result('secure-boot-refuses-tampered');
    expect(r.markers.map((m) => m.name)).toEqual(['refused']);
    const log = await serialLog('secure-boot-refuses-tampered');
    expect(log).toMatch(/Access Denied/);
    expect(log).not.toMatch(/EFI stub: |Linux version|initramfs: /);
  });
});

describe('A/B slot', () => {
  it('slot-b: the system-b UKI boots from an A/B disk built from the ISO', () => {
    const r = result('slot-b');
    expect(output(r, 'cat /proc/cmdline')).toMatch(/(^| )root=LABEL=system-b( |$)/);
    expect(output(r, 'grep -lx PARTNAME=system-b /sys/class/block/*/uevent')).toBe('/sys/class/block/vda3/uevent');
  });
});
