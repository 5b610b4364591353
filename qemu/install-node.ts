// Node factories of the install and update scenarios. `test:<v>:install` installs onto a blank
// disk from the ISO, boots the disk alone, and keeps the installed disk (qcow2) as its output;
// the update tests boot copy-on-write overlays of that disk, so the install runs once per ISO
// and every update test starts from the same installed system.
import { generateKeyPairSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeSpec, RunContext } from '../graph/node.js';
import { readTar, TAR_BLOCK } from '../formats/tar.js';
import { resignUpdateBundle } from '../formats/update-bundle.js';
import type { BootTestResult } from './boot-test.js';
import { RESULT_JSON } from './boot-test.js';
import type { FirmwareRole } from './firmware.js';
import {
  installedFirstBootScenario,
  installScenario,
  layoutDiskMiB,
  updateBrokenScenario,
  updateRefusedScenario,
  updateScenario,
  type InstallLayout,
} from './install-scenarios.js';
import { bootTestSpec, depFile, firmwareOf, QEMU_IMG, runPlan, type FileRef } from './node.js';
import { placeholderFirmware } from './plan-key.js';
import { xorBytes } from './tamper.js';
import type { ImageCommand } from './scenarios.js';

const ROLES: FirmwareRole[] = ['ovmf-code', 'ovmf-vars'];
/** The install node's output: the installed disk, the base of every update test's overlay. */
export const INSTALLED_DISK = 'installed.qcow2';
const MIB = 1 << 20;
const roundUp = (n: number, step: number) => Math.ceil(n / step) * step;

/**
 * Partition sizes from the ISO's size (it holds the root image and the UKIs): slots four times
 * it (slot A takes the system extracted), the ESP room for systemd-boot and two UKIs and a spare.
 */
export function installLayout(isoBytes: number): InstallLayout {
  const isoMiB = Math.ceil(isoBytes / MIB);
  return { espMiB: Math.max(128, roundUp(isoMiB, 32)), slotMiB: Math.max(256, roundUp(4 * isoMiB, 64)), varMiB: 128 };
}

/** Titles in loader entries are typed inside quotes on the serial console: keep them plain. */
function plainTitle(name: string): string {
  return name.replace(/[^A-Za-z0-9 ._-]/g, '').trim() || 'Linux';
}

export function installTestNode(options: { variant: string; os: string; osName: string; iso: FileRef; commands?: ImageCommand[] }): NodeSpec {
  const osName = plainTitle(options.osName);
  const placeholderLayout: InstallLayout = { espMiB: 0, slotMiB: 0, varMiB: 0 };
  const firstRun = installScenario({ iso: '<iso>', disk: '<disk>', firmware: placeholderFirmware(ROLES), os: options.os, osName, layout: placeholderLayout });
  // The second boot (the disk alone) is part of the node too.
  const installKeyPlan = {
    ...firstRun,
    steps: [...firstRun.steps, ...installedFirstBootScenario({ disk: '<disk>', firmware: placeholderFirmware(ROLES), commands: options.commands }).steps],
  };
  return bootTestSpec({
    id: `test:${options.variant}:install`,
    deps: { iso: options.iso.node },
    files: { iso: options.iso.file },
    roles: ROLES,
    extraTools: [QEMU_IMG],
    extraParams: { os: options.os, osName },
    keyPlan: installKeyPlan,
    description: `install ${options.variant} from its ISO onto a blank disk, then boot the disk alone`,
    async run(ctx) {
      const iso = depFile(ctx, 'iso', options.iso);
      const layout = installLayout((await stat(iso)).size);
      const disk = join(ctx.tmp, 'disk.raw');
      await writeFile(disk, '');
      await truncate(disk, layoutDiskMiB(layout) * MIB);
      ctx.log(`blank disk of ${layoutDiskMiB(layout)} MiB: ESP ${layout.espMiB}, slots ${layout.slotMiB}, var ${layout.varMiB} MiB`);
      const firmware = firmwareOf(ctx, ROLES);
      const install = await runPlan(ctx, installScenario({ iso, disk, firmware, os: options.os, osName, layout }), {
        outDir: join(ctx.out, 'install'),
        runDir: join(ctx.tmp, 'qemu-install'),
      });
      const firstBoot = await runPlan(ctx, installedFirstBootScenario({ disk, firmware, commands: options.commands }), {
        outDir: join(ctx.out, 'first-boot'),
        runDir: join(ctx.tmp, 'qemu-first-boot'),
      });
      await writeFile(join(ctx.out, RESULT_JSON), JSON.stringify(mergeResults('install', install, firstBoot), null, 2) + '\n');
      await ctx.exec(QEMU_IMG, ['convert', '-q', '-f', 'raw', '-O', 'qcow2', disk, join(ctx.out, INSTALLED_DISK)]);
      ctx.log(`installed disk kept as ${INSTALLED_DISK} (${(await stat(join(ctx.out, INSTALLED_DISK))).size} bytes)`);
    },
  });
}

/** One result for a node that booted twice: markers and commands in order, times summed. */
function mergeResults(scenario: string, first: BootTestResult, second: BootTestResult): BootTestResult {
  return {
    ...second,
    scenario,
    markers: [...first.markers, ...second.markers.map((m) => ({ ...m, name: `disk-${m.name}` }))],
    commands: [...first.commands, ...second.commands],
    seconds: first.seconds + second.seconds,
    cpuSeconds: first.cpuSeconds + second.cpuSeconds,
    starvedSeconds: first.starvedSeconds + second.starvedSeconds,
    qemuCommand: `${first.qemuCommand}\n${second.qemuCommand}`,
  };
}

/** A copy-on-write overlay of the installed disk in the node's scratch space. */
async function overlayOfInstalled(ctx: RunContext, installed: string): Promise<string> {
  const overlay = join(ctx.tmp, 'disk.qcow2');
  await ctx.exec(QEMU_IMG, ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', installed, overlay]);
  return overlay;
}

interface UpdateNodeOptions {
  variant: string;
  installed: FileRef;
  commands?: ImageCommand[];
}

/** `test:<v>:update`: the next version's bundle through trial, rollback, trial and commit. */
export function updateTestNode(options: UpdateNodeOptions & { next: FileRef; nextVersion: string }): NodeSpec {
  const plan = (disk: string, bundle: string, ctx?: RunContext) =>
    updateScenario({ disk, bundles: [bundle], firmware: ctx ? firmwareOf(ctx, ROLES) : placeholderFirmware(ROLES), nextVersion: options.nextVersion, commands: options.commands });
  return bootTestSpec({
    id: `test:${options.variant}:update`,
    deps: { installed: options.installed.node, next: options.next.node },
    files: { installed: options.installed.file, next: options.next.file },
    roles: ROLES,
    extraTools: [QEMU_IMG],
    keyPlan: plan('<installed-overlay>', '<next-bundle>'),
    description: `update ${options.variant}'s installed disk: trial boot, rollback, commit`,
    plan: async (ctx) => plan(await overlayOfInstalled(ctx, depFile(ctx, 'installed', options.installed)), depFile(ctx, 'next', options.next), ctx),
  });
}

/** `test:<v>:update-broken`: a bundle whose init dies is tried once, then slot A boots again. */
export function updateBrokenTestNode(options: UpdateNodeOptions & { broken: FileRef }): NodeSpec {
  const plan = (disk: string, bundle: string, ctx?: RunContext) =>
    updateBrokenScenario({ disk, bundles: [bundle], firmware: ctx ? firmwareOf(ctx, ROLES) : placeholderFirmware(ROLES) });
  return bootTestSpec({
    id: `test:${options.variant}:update-broken`,
    deps: { installed: options.installed.node, broken: options.broken.node },
    files: { installed: options.installed.file, broken: options.broken.file },
    roles: ROLES,
    extraTools: [QEMU_IMG],
    keyPlan: plan('<installed-overlay>', '<broken-bundle>'),
    description: `a crashing update of ${options.variant} rolls back unattended`,
    plan: async (ctx) => plan(await overlayOfInstalled(ctx, depFile(ctx, 'installed', options.installed)), depFile(ctx, 'broken', options.broken), ctx),
  });
}

/**
 * `test:<v>:update-refused`: from the next version's bundle it makes one signed by a throwaway
 * key, one with a byte of slot.img changed and one cut short; the foreign-variant bundle is
 * built, signed with the variant's own key, by the graph.
 */
export function updateRefusedTestNode(options: UpdateNodeOptions & { next: FileRef; foreign: FileRef }): NodeSpec {
  const plan = (disk: string, bundles: string[], ctx?: RunContext) =>
    updateRefusedScenario({ disk, bundles, firmware: ctx ? firmwareOf(ctx, ROLES) : placeholderFirmware(ROLES) });
  return bootTestSpec({
    id: `test:${options.variant}:update-refused`,
    deps: { installed: options.installed.node, next: options.next.node, foreign: options.foreign.node },
    files: { installed: options.installed.file, next: options.next.file, foreign: options.foreign.file },
    roles: ROLES,
    extraTools: [QEMU_IMG],
    keyPlan: plan('<installed-overlay>', ['<other-key>', '<foreign>', '<tampered>', '<truncated>', '<next>']),
    description: `bad update bundles are refused by ${options.variant}; a power cut mid-write leaves slot A booting`,
    plan: async (ctx) => {
      const next = depFile(ctx, 'next', options.next);
      const otherKey = join(ctx.tmp, 'other-key.update');
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      await resignUpdateBundle(next, otherKey, { sign: privateKey });
      const tampered = join(ctx.tmp, 'tampered.update');
      await copyFile(next, tampered);
      const slot = await tarMember(tampered, 'slot.img');
      await xorBytes(tampered, [slot.offset + Math.floor(slot.size / 2)], 0xff);
      const truncated = join(ctx.tmp, 'truncated.update');
      await copyFile(next, truncated);
      await truncate(truncated, Math.floor((slot.offset + slot.size / 2) / 512) * 512);
      ctx.log(`made other-key, tampered (a byte of slot.img at ${slot.offset + Math.floor(slot.size / 2)}) and truncated bundles from ${options.next.file}`);
      const disk = await overlayOfInstalled(ctx, depFile(ctx, 'installed', options.installed));
      return plan(disk, [otherKey, depFile(ctx, 'foreign', options.foreign), tampered, truncated, next], ctx);
    },
  });
}

/** Where a bundle member's data starts, and its size (bundles are plain ustar: data follows its header). */
async function tarMember(path: string, name: string): Promise<{ offset: number; size: number }> {
  for await (const entry of readTar(createReadStream(path))) {
    if (entry.path === name) return { offset: entry.offset + TAR_BLOCK, size: entry.size };
  }
  throw new Error(`${path}: no member ${name}`);
}
