// `pipeline test demo`: the demo ISO booted in QEMU (TCG) in every scenario, results cached by the
// ISO's digest, and a failing check reported with what a user needs to reproduce it.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, jsonEvents, statuses } from '../engine/helpers.js';
import { demoProject, serveDemoMirror, type DemoMirrorServer } from './demo-project.js';

let mirror: DemoMirrorServer;
let project: string;

beforeAll(async () => {
  mirror = await serveDemoMirror();
  project = await demoProject('pipeline-demo-boot-');
}, 600_000);

afterAll(async () => {
  await mirror?.server.stop();
});

const SCENARIO_NODES = [
  'test:demo:uefi',
  'test:demo:bios',
  'test:demo:uefi-disk',
  'test:demo:bios-disk',
  'test:demo:secure-boot',
  'test:demo:secure-boot-refuses-tampered',
  'test:demo:slot-b',
];

interface TestResult {
  id: string;
  scenario: string;
  passed: boolean;
  markers: { name: string; seconds: number }[];
  commands: { command: string; exitCode: number; output: string }[];
}

describe('pipeline test demo', () => {
  it('builds the ISO and boots it in every scenario, then answers from the cache', async () => {
    const first = await cli(['test', 'demo', '--json', '--mirror', mirror.flag], project);
    expect(first.code, first.stderr).toBe(0);
    const events = jsonEvents(first.stdout);
    const s = statuses(first.stdout);
    for (const id of SCENARIO_NODES) expect(`${id} ${s[id]}`).toBe(`${id} built`);
    const results = (events.find((e) => e.event === 'tests') as { results: TestResult[] }).results;
    expect(results.map((r) => r.id).sort()).toEqual([...SCENARIO_NODES].sort());
    for (const r of results) expect(`${r.id} ${r.passed}`).toBe(`${r.id} true`);

    const uefi = results.find((r) => r.id === 'test:demo:uefi')!;
    expect(uefi.markers.map((m) => m.name)).toEqual(['initramfs', 'shell']);
    // The live shell proved the image: the variant's os-release ID, a kernel matching its modules.
    const ran = uefi.commands.map((c) => `${c.command} => ${c.exitCode}`);
    expect(ran).toContain('. /etc/os-release && test "$ID" = demo => 0');
    expect(ran).toContain('test -d "/lib/modules/$(uname -r)" => 0');
    expect(ran).toContain('test -d /sys/firmware/efi => 0');
    const bios = results.find((r) => r.id === 'test:demo:bios')!;
    expect(bios.commands.map((c) => `${c.command} => ${c.exitCode}`)).toContain('test -d /sys/firmware/efi => 1');
    const slotB = results.find((r) => r.id === 'test:demo:slot-b')!;
    expect(slotB.commands.find((c) => c.command === 'cat /proc/cmdline')!.output).toMatch(/(^| )root=LABEL=system-b( |$)/);
    const refused = results.find((r) => r.id === 'test:demo:secure-boot-refuses-tampered')!;
    expect(refused.markers.map((m) => m.name)).toContain('refused');

    const again = await cli(['test', 'demo', '--json', '--mirror', mirror.flag], project);
    expect(again.code).toBe(0);
    const cached = statuses(again.stdout);
    for (const id of SCENARIO_NODES) expect(`${id} ${cached[id]}`).toBe(`${id} cached`);
    const summary = jsonEvents(again.stdout).find((e) => e.event === 'summary')!;
    expect(summary.built).toBe(0);
  }, 900_000);

  it('--no-cache boots again; --scenario picks one', async () => {
    const r = await cli(['test', 'demo', '--json', '--scenario', 'bios', '--no-cache', '--mirror', mirror.flag], project);
    expect(r.code, r.stderr).toBe(0);
    const s = statuses(r.stdout);
    expect(s['test:demo:bios']).toBe('built');
    expect(s['test:demo:uefi']).toBeUndefined();
    expect(s['iso:demo']).toBe('cached');
  }, 300_000);

  it('a failing check names the scenario and shows the serial log, its path and the QEMU command', async () => {
    const file = join(project, 'variants/demo.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('tests:\n  commands:\n', 'tests:\n  commands:\n    - { run: "test -e /no/such/tool" }\n'));
    const r = await cli(['test', 'demo', '--scenario', 'bios', '--mirror', mirror.flag], project);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('test:demo:bios');
    expect(r.stderr).toContain('`test -e /no/such/tool` exited with 1');
    expect(r.stderr).toMatch(/qemu-system-x86_64 .*-machine pc/);
    expect(r.stderr).toMatch(/serial\.log|out\/logs\/test_demo_bios/);
    expect(r.stderr).toContain('FAIL  test:demo:bios');
  }, 300_000);
});
