// The install and A/B update scenarios of the demo (test/qemu/demo-boots.ts boots them once per
// run): what the serial console showed at each step, read back from the results and logs, and
// the bundles the build writes.
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readUpdateBundleManifest, verifyUpdateBundle, updatePublicKeyPem } from '../../formats/update-bundle.js';
import { demoProject } from '../../fixtures/demo-project.js';
import { cli } from '../engine/helpers.js';
import { demoBoots, type DemoBoot, type DemoBoots } from '../qemu/demo-boots.js';

const exec = promisify(execFile);
let demo: DemoBoots;
const projects: string[] = [];

beforeAll(async () => {
  demo = await demoBoots(['install', 'update', 'update-broken', 'update-refused']);
}, 1_800_000);

afterAll(async () => {
  for (const project of projects) await rm(project, { recursive: true, force: true });
});

function result(scenario: string): DemoBoot {
  const found = demo.results[`test:demo:${scenario}`];
  if (!found) throw new Error(`no result for test:demo:${scenario}; results: ${Object.keys(demo.results).join(', ')}`);
  expect(found.passed).toBe(true);
  return found;
}

/** The output of every run of a command, in order. */
function outputs(r: DemoBoot, command: string): string[] {
  return r.commands.filter((c) => c.command === command).map((c) => c.output);
}

describe('installing the demo from its ISO', () => {
  it('types the manual install, then boots the disk alone: slot A, var on /var, a file kept across a reboot', async () => {
    const r = result('install');
    expect(r.markers.map((m) => m.name)).toEqual([
      'live-initramfs', 'live-shell', 'poweroff',
      'disk-slot-a-initramfs', 'disk-slot-a-shell', 'disk-reboot-initramfs', 'disk-reboot-shell', 'disk-poweroff',
    ]);
    expect(outputs(r, 'recstrap /mnt')[0]).toMatch(/^recstrap: extracting the system \(\d+ KiB\) into \/mnt\n.*recstrap: done/ms);
    expect(outputs(r, 'cat /mnt/etc/fstab')[0]).toMatch(/^# \/etc\/fstab of an installed system/);
    for (const line of outputs(r, 'cat /proc/cmdline')) expect(line).toMatch(/(^| )root=LABEL=system-a( |$)/);
    expect(outputs(r, 'cat /var/lib/install-test-marker')).toEqual(['written by the install test']);
    expect(outputs(r, 'recab status')[1]).toContain('system-a: committed demo 1; running; default');
    const dir = demo.nodes['test:demo:install'].outputDir!;
    const firstBoot = await readFile(join(dir, 'first-boot/serial.log'), 'utf8');
    // The slot holds the system extracted into ext4, mounted read-only under the tmpfs overlay.
    expect(firstBoot).toMatch(/initramfs: mounted \/dev\/vda2 \(system-a, ext4 read-only\)/);
    const info = JSON.parse((await exec('qemu-img', ['info', '--output=json', join(dir, 'installed.qcow2')])).stdout) as { format: string; 'virtual-size': number };
    expect(info.format).toBe('qcow2');
    expect(info['virtual-size']).toBeGreaterThan(500 << 20);
  });

  it('update: trial boot of slot B, rollback by reboot, install again, commit; slot B stays the default', () => {
    const r = result('update');
    expect(r.markers.map((m) => m.name.replace(/-(initramfs|shell)$/, ''))).toEqual([
      'slot-a', 'slot-a', 'trial', 'trial', 'rollback', 'rollback', 'trial-again', 'trial-again', 'committed', 'committed',
    ]);
    const cmdlines = outputs(r, 'cat /proc/cmdline').map((l) => /root=LABEL=(system-[ab])/.exec(l)![1]);
    expect(cmdlines).toEqual(['system-a', 'system-b', 'system-a', 'system-b', 'system-b']);
    expect(outputs(r, '. /etc/os-release && echo "$VERSION_ID"')).toEqual(['1.1', '1.1']);
    const statuses = outputs(r, 'recab status');
    expect(statuses[0]).toMatch(/^next boot: system-b \(one-shot trial\)$/m);
    expect(statuses[1]).toMatch(/^system-b: installed demo 1\.1; running; on trial/m);
    expect(statuses[2]).toMatch(/^system-b: installed demo 1\.1; tried once, not committed: rolled back$/m);
    expect(statuses.at(-1)).toMatch(/^system-a: previous demo 1$/m);
    expect(outputs(r, 'recab commit')).toEqual(['recab: committed: system-b (demo-b.conf) is the default from now on']);
  });

  it('update-broken: the trial whose init dies panics, reboots, and slot A comes back unattended', async () => {
    const r = result('update-broken');
    expect(r.markers.map((m) => m.name)).toEqual(['slot-a-initramfs', 'slot-a-shell', 'trial-panics', 'fallback-initramfs', 'fallback-shell']);
    const log = await readFile(join(demo.nodes['test:demo:update-broken'].outputDir!, 'serial.log'), 'utf8');
    const trial = log.slice(log.indexOf('root=LABEL=system-b') >= 0 ? 0 : 0);
    expect(trial).toMatch(/update test: this init exits at once[^]*Kernel panic - not syncing: Attempted to kill init/);
    expect(outputs(r, 'cat /proc/cmdline').at(-1)).toMatch(/root=LABEL=system-a/);
  });

  it('update-refused: every bad bundle is refused with its reason and nothing changes; a power cut mid-write is reported', () => {
    const r = result('update-refused');
    const refusals = r.commands.filter((c) => c.command.startsWith('recab install /dev/vd')).map((c) => `${c.exitCode} ${c.output.split('\n').at(-1)}`);
    expect(refusals).toEqual([
      expect.stringMatching(/^1 recab: error: refused \/dev\/vdb: its signature does not verify against the update key/),
      expect.stringMatching(/^1 recab: error: refused \/dev\/vdc: it is for variant 'demo-other', this system is 'demo'/),
      expect.stringMatching(/^1 recab: error: refused \/dev\/vdd: slot\.img does not match its manifest/),
      expect.stringMatching(/^1 recab: error: refused \/dev\/vde: tar cannot read its manifest .*a truncated one|^1 .*does not match its manifest/),
    ]);
    expect(r.commands.find((c) => c.command === 'sha256sum -c /run/disk.sums')!.output).not.toMatch(/FAILED/);
    expect(outputs(r, 'recab status').at(-2)).toMatch(/^system-b: incomplete: an install of demo 1\.1 was interrupted; not bootable$/m);
  });
});

describe('update bundles from the build', () => {
  it('pipeline build writes <variant>-<version>.update, signed with the db key; a changed build of the next version makes a new one', async () => {
    const certificate = await readFile(join(demo.project, 'variants/keys/demo-secureboot/db.crt'));
    const project = await demoProject('pipeline-bundle-next-');
    projects.push(project);
    await writeFile(join(project, 'variants/demo.lock.yaml'), await readFile(join(demo.project, 'variants/demo.lock.yaml')));
    const build = (cwd: string) => cli(['build', 'demo', '--cache-dir', demo.cacheDir, '--mirror', demo.mirrorFlag], cwd);
    const first = await build(project);
    expect(first.code, first.stderr).toBe(0);
    const one = await verifyUpdateBundle(join(project, 'out/demo/demo-1.update'), updatePublicKeyPem(certificate));
    expect(one).toMatchObject({ variant: 'demo', os: 'demo', version: '1' });

    const variantFile = join(project, 'variants/demo.yaml');
    await writeFile(variantFile, (await readFile(variantFile, 'utf8')).replace('version_id: "1"', 'version_id: "2"'));
    await writeFile(join(project, 'variants/overlays/demo/etc/motd'), 'Pipeline demo, version 2\n');
    const second = await build(project);
    expect(second.code, second.stderr).toBe(0);
    const two = await verifyUpdateBundle(join(project, 'out/demo/demo-2.update'), updatePublicKeyPem(certificate));
    expect(two.version).toBe('2');
    const slot = (m: typeof one) => m.files.find((f) => f.name === 'slot.img')!.sha256;
    expect(slot(two)).not.toBe(slot(one));
    expect((await readUpdateBundleManifest(join(project, 'out/demo/demo-2.update'))).manifest.epoch).toBe(one.epoch);
  }, 600_000);
});
