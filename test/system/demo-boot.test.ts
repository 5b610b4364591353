// `pipeline test demo`: the demo ISO booted in QEMU (TCG) in every scenario, results cached by the
// ISO's digest, and a failing check reported with what a user needs to reproduce it. The boots in
// every scenario are the suite's shared product boots (test/qemu/demo-boots.ts: once per test
// run, whichever file asks first); this file adds what only the command shows.
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, jsonEvents, statuses } from '../engine/helpers.js';
import { demoBoots, type DemoBoots } from '../qemu/demo-boots.js';
import { demoProject } from '../../fixtures/demo-project.js';

const LOCK = 'variants/demo.lock.yaml';
let demo: DemoBoots;
/** Projects of this file (copies of the demo variant); the shared project is read, never changed. */
const projects: string[] = [];

beforeAll(async () => {
  demo = await demoBoots();
}, 900_000);

afterAll(async () => {
  for (const project of projects) await rm(project, { recursive: true, force: true });
});

/** A fresh copy of the demo variant with the shared project's lock (a locked build resolves nothing). */
async function ownProject(prefix: string): Promise<string> {
  const project = await demoProject(prefix);
  projects.push(project);
  await copyFile(join(demo.project, LOCK), join(project, LOCK));
  return project;
}

/** `pipeline test demo` on the shared cache (the ISO and the shared boots are cached there). */
function pipelineTest(project: string, ...args: string[]) {
  return cli(['test', 'demo', '--cache-dir', demo.cacheDir, '--mirror', demo.mirrorFlag, ...args], project);
}

const SCENARIO_NODES = [
  'test:demo:uefi',
  'test:demo:bios',
  'test:demo:uefi-disk',
  'test:demo:bios-disk',
  'test:demo:secure-boot',
  'test:demo:secure-boot-refuses-tampered',
  'test:demo:slot-b',
  'test:demo:install',
  'test:demo:update',
  'test:demo:update-broken',
  'test:demo:update-refused',
];

describe('pipeline test demo', () => {
  it('builds the ISO and boots it in every scenario, then answers from the cache, in another checkout too', async () => {
    for (const id of SCENARIO_NODES) expect(`${id} ${demo.nodes[id]?.status}`).toBe(`${id} built`);
    expect(Object.keys(demo.results).sort()).toEqual([...SCENARIO_NODES].sort());
    for (const r of Object.values(demo.results)) expect(`${r.id} ${r.passed}`).toBe(`${r.id} true`);

    const uefi = demo.results['test:demo:uefi'];
    expect(uefi.markers.map((m) => m.name)).toEqual(['initramfs', 'shell']);
    // The live shell proved the image: the variant's os-release ID, a kernel matching its modules.
    const ran = uefi.commands.map((c) => `${c.command} => ${c.exitCode}`);
    expect(ran).toContain('. /etc/os-release && test "$ID" = demo => 0');
    expect(ran).toContain('test -d "/lib/modules/$(uname -r)" => 0');
    expect(ran).toContain('test -d /sys/firmware/efi => 0');
    const bios = demo.results['test:demo:bios'];
    expect(bios.commands.map((c) => `${c.command} => ${c.exitCode}`)).toContain('test -d /sys/firmware/efi => 1');
    // The root is two layers joined by overlayfs, live and from the installed slot: the overlay's
    // /etc/motd (only in the upper layer) is the one the system shows.
    const layers = { 'test:demo:uefi': '/run/live/layers', 'test:demo:bios': '/run/live/layers', 'test:demo:slot-b': '/run/slot/layers' };
    for (const [id, dir] of Object.entries(layers)) {
      const commands = demo.results[id].commands;
      const mounts = commands.find((c) => c.command.startsWith("grep -E '^overlay / overlay"));
      expect(`${id} ${mounts?.exitCode} ${mounts?.output}`).toMatch(new RegExp(`^${id} 0 overlay / overlay \\S*lowerdir=${dir}/1:${dir}/0,upperdir=`));
      const motd = commands.find((c) => c.command === 'cat /etc/motd');
      expect(`${id} ${motd?.output}`).toBe(`${id} ${(await readFile(join(demo.project, 'variants/overlays/demo/etc/motd'), 'utf8')).trim()}`);
    }
    const slotLog = await readFile(join(demo.nodes['test:demo:slot-b'].outputDir!, 'serial.log'), 'utf8');
    expect(slotLog).toMatch(/initramfs: mounted layer 0 of \/dev\/vda3 \(system-b, squashfs at byte 4096\)/);
    expect(slotLog).toMatch(/initramfs: mounted layer 1 of \/dev\/vda3 \(system-b, squashfs at byte \d+\)/);
    const refused = demo.results['test:demo:secure-boot-refuses-tampered'];
    expect(refused.markers.map((m) => m.name)).toContain('refused');

    const again = await pipelineTest(await ownProject('pipeline-demo-again-'), '--json');
    expect(again.code, again.stderr).toBe(0);
    const cached = statuses(again.stdout);
    for (const id of SCENARIO_NODES) expect(`${id} ${cached[id]}`).toBe(`${id} cached`);
    const summary = jsonEvents(again.stdout).find((e) => e.event === 'summary')!;
    expect(summary.built).toBe(0);
  }, 300_000);

  it('--no-cache boots again; --scenario picks one', async () => {
    const r = await pipelineTest(await ownProject('pipeline-demo-nocache-'), '--json', '--scenario', 'bios', '--no-cache');
    expect(r.code, r.stderr).toBe(0);
    const s = statuses(r.stdout);
    expect(s['test:demo:bios']).toBe('built');
    expect(s['test:demo:uefi']).toBeUndefined();
    expect(s['iso:demo']).toBe('cached');
  }, 300_000);

  it('a failing check names the scenario and shows the serial log, its path and the QEMU command', async () => {
    const project = await ownProject('pipeline-demo-failing-');
    const file = join(project, 'variants/demo.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('tests:\n  commands:\n', 'tests:\n  commands:\n    - { run: "test -e /no/such/tool" }\n'));
    const r = await pipelineTest(project, '--scenario', 'bios');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('test:demo:bios');
    expect(r.stderr).toContain('`test -e /no/such/tool` exited with 1');
    expect(r.stderr).toMatch(/qemu-system-x86_64 .*-machine pc/);
    expect(r.stderr).toMatch(/serial\.log|out\/logs\/test_demo_bios/);
    expect(r.stderr).toContain('FAIL  test:demo:bios');
  }, 300_000);
});
