// The boot-test node factories wired into the real engine (graph/build.ts): a passing boot
// stores result.json + serial.log and is cached by key; a failing boot fails the node with the
// boot error, its serial console in the node's log; keys hold digests, never host paths. The
// passing boots are the product's (the demo's boot-test nodes, booted once per test run by
// demo-boots.ts); the failing one boots a blank image, which the product cannot show.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../graph/build.js';
import { NodeFailure } from '../../graph/errors.js';
import type { NodeSpec } from '../../graph/node.js';
import { Session } from '../../graph/session.js';
import { FIRMWARE_HOST_FILES, locateFirmware, type FirmwareSet } from '../../qemu/firmware.js';
import { computeKey } from '../../graph/key.js';
import {
  liveIsoTestNode,
  secureBootRefusalTestNode,
  secureBootTestNode,
  secureBootVarsNode,
  slotBTestNode,
} from '../../qemu/node.js';
import { projectRoot } from '../../fixtures/paths.js';
import { demoBoots } from './demo-boots.js';

let work: string;
let firmware: FirmwareSet;
let session: Session;

/** A node that provides one file (a stand-in for the ISO stage's output). */
function provide(id: string, file: string, write: (path: string) => Promise<void>): NodeSpec {
  return { id, kind: 'fixture', version: 1, params: { file }, run: (ctx) => write(join(ctx.out, file)) };
}

beforeAll(async () => {
  firmware = await locateFirmware(['seabios', 'ovmf-code', 'ovmf-code-secboot', 'ovmf-vars']);
  work = await mkdtemp(join(tmpdir(), 'boot-nodes-'));
  session = await Session.open({ root: projectRoot(), cacheDir: join(work, 'cache'), logDir: join(work, 'logs'), hostFiles: FIRMWARE_HOST_FILES });
}, 300_000);

afterAll(async () => {
  await session?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('boot-test nodes in the engine', () => {
  it('a passing boot stores result.json and serial.log in its output, its serial console in its log', async () => {
    const demo = await demoBoots(['bios']);
    const node = demo.nodes['test:demo:bios'];
    expect(node.status).toBe('built');
    const result = JSON.parse(await readFile(join(node.outputDir!, 'result.json'), 'utf8'));
    expect(result).toMatchObject({ scenario: 'bios', passed: true });
    expect(result.markers.map((m: { name: string }) => m.name)).toEqual(['bootloader', 'initramfs', 'shell']);
    expect(result.commands.slice(0, 3).map((c: { command: string; exitCode: number }) => [c.command, c.exitCode])).toEqual([
      ['cat /proc/cmdline', 0],
      ['id -u', 0],
      ['test -d /sys/firmware/efi', 1],
    ]);
    expect(result.cpuSeconds).toBeGreaterThan(0);
    expect(await readFile(join(node.outputDir!, 'serial.log'), 'utf8')).toContain('__READY_42__');
    const log = await readFile(node.log!, 'utf8');
    expect(log).toMatch(/^# test:demo:bios \(boot-test v3\)/);
    expect(log).toMatch(/^qemu: \S*qemu-system-x86_64 -machine pc /m);
    expect(log).toContain('serial| __READY_42__');
  }, 900_000);

  it('a failing boot fails the node with the boot error; the serial console is in the node log', async () => {
    const broken = provide('iso:broken', 'broken.iso', (path) => writeFile(path, Buffer.alloc(1 << 20)));
    const test = liveIsoTestNode({ variant: 'broken', scenario: 'bios', iso: { node: broken.id, file: 'broken.iso' } });
    const result = await build(session, [broken, test], { jobs: 1 });
    const outcome = result.outcomes.get(test.id)!;
    expect(result.ok).toBe(false);
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toBeInstanceOf(NodeFailure);
    const failure = outcome.error as NodeFailure;
    expect(failure.message).toContain(`boot test 'bios' failed: SeaBIOS found nothing to boot: "No bootable device."`);
    expect(failure.message).toMatch(/reproduce with: .*qemu-system-x86_64 -machine pc .*broken\.iso/);
    expect(failure.message).toContain("the node's log holds it too");
    const log = await readFile(failure.details.logPath!, 'utf8');
    expect(log).toContain('serial| No bootable device.');
    expect(log).toContain('boot test failed: SeaBIOS found nothing to boot');
  }, 120_000);
});

describe('nodes that build images through ctx.exec', () => {
  it('secureboot-vars enrolls the keys; slot-b builds its A/B disk from the ISO and boots system-b', async () => {
    const demo = await demoBoots(['secure-boot', 'slot-b']);
    for (const id of ['secureboot-vars:demo', 'test:demo:slot-b']) expect(`${id} ${demo.nodes[id].status}`).toBe(`${id} built`);
    const slotLog = await readFile(demo.nodes['test:demo:slot-b'].log!, 'utf8');
    expect(slotLog).toMatch(/slot disk: EFI@\d+\+\d+ system-a@\d+\+\d+ system-b@\d+\+\d+ var@\d+\+\d+/);
    const slotResult = JSON.parse(await readFile(join(demo.nodes['test:demo:slot-b'].outputDir!, 'result.json'), 'utf8'));
    expect(slotResult.commands.find((c: { command: string }) => c.command === 'cat /proc/cmdline').output).toContain('root=LABEL=system-b');
  }, 900_000);
});

describe('boot-test keys', () => {
  const iso = { node: 'iso:acorn', file: 'acorn.iso' };

  it('hold firmware digests and the scenario definition, never host paths', () => {
    const nodes = [
      liveIsoTestNode({ variant: 'acorn', scenario: 'uefi', iso }),
      liveIsoTestNode({ variant: 'acorn', scenario: 'bios-disk', iso }),
      secureBootVarsNode({
        variant: 'acorn',
        keys: { pkAuth: { node: 'keys:acorn', file: 'PK.auth' }, kekAuth: { node: 'keys:acorn', file: 'KEK.auth' }, dbAuth: { node: 'keys:acorn', file: 'db.auth' } },
        signedSystemdBoot: { node: 'sign:acorn:systemd-boot', file: 'systemd-bootx64.efi' },
      }),
      secureBootTestNode({ variant: 'acorn', iso, enrolledVars: { node: 'secureboot-vars:acorn', file: 'OVMF_VARS.enrolled.fd' } }),
      secureBootRefusalTestNode({
        variant: 'acorn',
        tampered: { fromIso: iso, signedUki: { node: 'sign:acorn:live', file: 'acorn-live.efi' } },
        enrolledVars: { node: 'secureboot-vars:acorn', file: 'OVMF_VARS.enrolled.fd' },
      }),
      slotBTestNode({
        variant: 'acorn',
        iso,
        systemdBoot: { node: 'sign:acorn:systemd-boot', file: 'systemd-bootx64.efi' },
        ukiInIso: '/boot/uki/acorn-system-b.efi',
        layersInIso: ['/live/filesystem.squashfs', '/live/overlayfs.squashfs'],
      }),
    ];
    for (const node of nodes) {
      const params = JSON.stringify(node.params);
      expect(params, node.id).not.toMatch(/\/usr\/share|\/work\/|\/tmp\//);
      expect(node.tools).toContain('qemu-system-x86_64');
    }
    const uefi = nodes[0].params as { scenario: { qemu: { machine: string } } };
    // The firmware is a host file: the engine keys it by content.
    expect(nodes[0].hostFiles).toEqual(['ovmf-code', 'ovmf-vars']);
    expect(nodes[1].hostFiles).toEqual(['seabios']);
    expect(uefi.scenario.qemu.machine).toBe('q35');
    expect(nodes[0].deps).toEqual({ iso: 'iso:acorn' });
    expect(nodes[2].id).toBe('secureboot-vars:acorn');
    expect(nodes[2].tools).toEqual(['qemu-system-x86_64', 'setpriv', 'mkfs.fat', 'mmd', 'mcopy']);
    expect(nodes[5].tools).toEqual(['qemu-system-x86_64', 'setpriv', 'xorriso', 'sfdisk', 'mkfs.fat', 'mmd', 'mcopy', 'mkfs.ext4']);
  });

  it("change when a firmware file's content or the scenario changes, not when the firmware moves", async () => {
    const base = liveIsoTestNode({ variant: 'acorn', scenario: 'uefi', iso });
    const disk = liveIsoTestNode({ variant: 'acorn', scenario: 'uefi-disk', iso });
    const bigger = liveIsoTestNode({ variant: 'acorn', scenario: 'uefi', iso, memoryMiB: 2048 });
    const keyWith = async (node: NodeSpec, files: Partial<Record<string, string>>) => {
      const table = { ...FIRMWARE_HOST_FILES };
      for (const [role, path] of Object.entries(files)) table[role as keyof typeof table] = { candidates: [path!] };
      const s = await Session.open({ root: projectRoot(), cacheDir: join(work, 'keys-cache'), hostFiles: table });
      return computeKey(await s.material(node, { iso: '0'.repeat(64) }));
    };
    const key = await keyWith(base, {});
    expect(new Set([key, await keyWith(disk, {}), await keyWith(bigger, {})]).size).toBe(3);
    // The same OVMF at another path (another machine's layout): the same key.
    const moved = join(work, 'OVMF_CODE_4M.fd');
    await writeFile(moved, await readFile(firmware['ovmf-code']!.path));
    expect(await keyWith(base, { 'ovmf-code': moved })).toBe(key);
    // Patched OVMF: a new key. SeaBIOS is not part of a UEFI test's key.
    const patched = join(work, 'patched.fd');
    await writeFile(patched, Buffer.concat([await readFile(firmware['ovmf-code']!.path), Buffer.from('x')]));
    expect(await keyWith(base, { 'ovmf-code': patched })).not.toBe(key);
    expect(await keyWith(base, { seabios: patched })).toBe(key);
  });
});
