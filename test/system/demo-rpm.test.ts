// The RPM demo (variants/demo-rpm.yaml) end to end through the real `pipeline` command, from the
// fixture RPM mirror served on 127.0.0.1: lock (resolution, package heads, scriptlet review, pinned
// keys), build, every boot scenario with systemd as PID 1, a one-change rebuild, a byte-identical
// build in another directory, and an Alpine variant on the same cache.
import { execFile } from 'node:child_process';
import { copyFile, cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoProject, demoRpmProject, serveDemoMirror, serveRpmMirror, type DemoMirrorServer } from '../../fixtures/demo-project.js';
import { readManifest } from '../../stages/shared/manifest.js';
import { parseRpmLock, type RpmLock } from '../../stages/sources/rpm/lock.js';
import { cli, jsonEvents, statuses } from '../engine/helpers.js';

const run = promisify(execFile);
const LOCK = 'variants/demo-rpm.lock.yaml';
const VARIANT = 'variants/demo-rpm.yaml';
let mirror: DemoMirrorServer;
let project: string;
let lock: RpmLock;
let requestsAtLock: string[];
let first: { code: number; stdout: string; stderr: string };
let events: Array<Record<string, unknown>>;
const projects: string[] = [];

beforeAll(async () => {
  mirror = await serveRpmMirror();
  project = await demoRpmProject();
  projects.push(project);
  const locked = await cli(['lock', 'demo-rpm', '--mirror', mirror.flag], project);
  expect(locked.code, locked.stderr).toBe(0);
  lock = parseRpmLock(await readFile(join(project, LOCK), 'utf8'), LOCK);
  requestsAtLock = [...mirror.server.requests];
  // `pipeline test` builds the ISO, then boots it in every scenario.
  first = await cli(['test', 'demo-rpm', '--json', '--mirror', mirror.flag], project);
  events = first.stdout.trim() ? jsonEvents(first.stdout) : [];
}, 1_500_000);

afterAll(async () => {
  await mirror?.server.stop();
  for (const p of projects) await rm(p, { recursive: true, force: true });
});

const sha256 = async (path: string) => (await run('sha256sum', [path])).stdout.split(' ')[0];
const outputOf = (id: string) => (events.find((e) => e.event === 'node' && e.id === id) as { output: string }).output;

/** A fresh copy of the variant with this file's lock, and an edit to the variant text. */
async function ownProject(edit: (text: string) => string = (t) => t): Promise<string> {
  const p = await demoRpmProject();
  projects.push(p);
  await copyFile(join(project, LOCK), join(p, LOCK));
  await writeFile(join(p, VARIANT), edit(await readFile(join(p, VARIANT), 'utf8')));
  return p;
}

describe('pipeline lock demo-rpm', () => {
  it('pins every package with its EVR, checksum and mirror:// location, and records each scriptlet with what covers it', () => {
    expect(lock).toMatchObject({ format: 'rpm', variant: 'demo-rpm', arch: 'x86_64', weakDeps: true });
    const byName = new Map(lock.packages.map((p) => [p.name, p]));
    for (const name of ['filesystem', 'glibc', 'systemd', 'systemd-udev', 'kernel-core', 'busybox', 'util-linux', 'grep']) expect(byName.has(name), name).toBe(true);
    for (const p of lock.packages) {
      expect(p.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(p.location.startsWith(`mirror://demo-rpm/10/${p.repository === 'baseos' ? 'BaseOS' : 'AppStream'}/x86_64/os/Packages/`), p.location).toBe(true);
    }
    // Dependencies pulled in by the requests (sonames from rpm's elfdeps) come with the lock.
    expect(byName.get('systemd')!.depends).toEqual(expect.arrayContaining(['glibc', 'systemd-libs']));
    // Scriptlets: recorded with digests; covered by a named action, not run on install, or reviewed.
    const scriptlet = (pkg: string, name: string) => byName.get(pkg)!.scriptlets.find((s) => s.name === name);
    expect(scriptlet('systemd', 'postin')).toMatchObject({ interpreter: '/bin/sh', covered: expect.arrayContaining(['presets']) });
    expect(scriptlet('systemd', 'prein')!.covered).toContain('sysusers');
    expect(scriptlet('crypto-policies', 'postin')).toMatchObject({ interpreter: '<lua>', covered: ['crypto-policies'] });
    expect(scriptlet('util-linux', 'postin')!.covered).toEqual(['reviewed']);
    expect(scriptlet('systemd', 'preun')!.covered).toEqual(['not-on-install']);
    for (const p of lock.packages) for (const s of p.scriptlets) expect(s.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reads the metadata and each package head only; a locked build reads no metadata', () => {
    expect(requestsAtLock.filter((r) => r.endsWith('/repodata/repomd.xml'))).toHaveLength(2);
    expect(requestsAtLock.filter((r) => r.endsWith('/repodata/repomd.xml.asc'))).toHaveLength(2);
    expect(requestsAtLock.filter((r) => r.endsWith('.rpm'))).toHaveLength(lock.packages.length);
    const build = mirror.server.requests.slice(requestsAtLock.length);
    expect(build.filter((r) => r.includes('/repodata/'))).toEqual([]);
    expect(build.filter((r) => r.endsWith('.rpm'))).toHaveLength(lock.packages.length);
  });

  it('fails on a scriptlet no action covers until the variant marks it reviewed, listing it', async () => {
    const p = await ownProject((t) => t.replace(/ {2}reviewed_scriptlets:\n.*\n/, ''));
    const result = await cli(['lock', 'demo-rpm', '--mirror', mirror.flag], p);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/1 scriptlet\(s\) that no post-install action covers/);
    expect(result.stderr).toMatch(/util-linux\/post \(\/bin\/sh\): line 2: ln -sf \.\.\/proc\/self\/mounts \/etc\/mtab/);
    expect(result.stderr).toMatch(/rpm\.reviewed_scriptlets/);
  });

  it('refuses a key file whose fingerprint is not the pinned one, before it trusts anything it signed', async () => {
    const p = await ownProject();
    // The RSA key's file now holds the Ed25519 key: every signature would still verify with it.
    await copyFile(join(p, 'fixtures/keys/rpm/RPM-GPG-KEY-pipeline-demo-ed25519'), join(p, 'fixtures/keys/rpm/RPM-GPG-KEY-pipeline-demo-rsa'));
    const result = await cli(['lock', 'demo-rpm', '--mirror', mirror.flag], p);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/RPM-GPG-KEY-pipeline-demo-rsa: pinned fingerprint 1A568A1F6DC70CF2CBBBF61C5E736BBA9B41E034 is not among its keys \(it holds B102BBA8F80ADCB9B31CD1CC8E985CD4FB0A1FB7\)/);
  });
});

describe('pipeline test demo-rpm', () => {
  it('builds and boots to a root shell with systemd as PID 1 in every scenario', () => {
    expect(first.code, first.stderr).toBe(0);
    const tests = events.find((e) => e.event === 'tests') as { results: Array<{ id: string; passed: boolean; commands: Array<{ command: string; exitCode: number; output: string }> }> };
    const ids = tests.results.map((r) => r.id).sort();
    expect(ids).toEqual(
      ['uefi', 'bios', 'uefi-disk', 'bios-disk', 'secure-boot', 'secure-boot-refuses-tampered', 'slot-b', 'install', 'update'].map((s) => `test:demo-rpm:${s}`).sort(),
    );
    for (const r of tests.results) expect(`${r.id} ${r.passed}`).toBe(`${r.id} true`);
    // The variant's commands run in the live and installed boots (Secure Boot checks the firmware's verdict).
    // install: the disk it installed, booted alone; update: slot B committed, after reboots.
    const withCommands = ['uefi', 'bios', 'uefi-disk', 'bios-disk', 'slot-b', 'install', 'update'].map((s) => `test:demo-rpm:${s}`);
    for (const r of tests.results.filter((t) => withCommands.includes(t.id))) {
      const out = new Map(r.commands.map((c) => [c.command, c]));
      expect(out.get('cat /proc/1/comm')?.output, r.id).toBe('systemd');
      expect(out.get('timeout 120 systemctl is-system-running --wait')?.output, r.id).toBe('running');
      expect(out.get('getent group systemd-journal')?.output, r.id).toMatch(/^systemd-journal:x:\d+:/);
    }
  });

  it('the root image has the RPM headers\' owners and modes, resolved against the accounts sysusers made', async () => {
    const manifest = await readManifest(join(project, 'out/cache/cas', outputOf('rootfs:demo-rpm'), 'manifest.json'));
    const entry = (path: string) => manifest.entries.find((e) => e.path === path);
    expect(entry('usr/bin/passwd')).toMatchObject({ type: 'file', mode: 0o4755, uid: 0, gid: 0, package: 'shadow-utils' });
    // Created by the post-install actions, recorded as theirs.
    expect(entry('etc/machine-id')).toMatchObject({ size: 0, mode: 0o444, package: 'rpm-action:machine-id' });
    expect(entry('etc/pam.d/system-auth')).toMatchObject({ type: 'symlink', target: '/etc/authselect/system-auth' });
    const group = await readFile(join(project, 'out/cache/cas', outputOf('rootfs:demo-rpm'), 'root/etc/group'), 'utf8');
    const journal = /^systemd-journal:x:(\d+):/m.exec(group);
    expect(journal).not.toBeNull();
    // A %ghost file is not in the tree.
    expect(entry('etc/nsswitch.conf')?.type).toBe('symlink');
  });

  it('rebuilds only what one change reaches, byte for byte the same in another directory', async () => {
    const changed = await ownProject((t) => t.replace(/^hostname: levitate-demo$/m, 'hostname: levitate-demo-2'));
    await cp(join(project, 'out/cache'), join(changed, 'out/cache'), { recursive: true });
    const rebuilt = await cli(['build', 'demo-rpm', '--json', '--mirror', mirror.flag], changed);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    const built = Object.entries(statuses(rebuilt.stdout)).filter(([, s]) => s === 'built').map(([id]) => id).sort();
    // The upper layer (the installer tools) reads the base's manifest, so it reruns, and writes the
    // same tree: its image stays cached (early cutoff).
    expect(built).toEqual(['bundle:demo-rpm', 'iso:demo-rpm', 'layer:demo-rpm', 'rootfs:demo-rpm', 'squashfs:demo-rpm']);
    expect(statuses(rebuilt.stdout)['squashfs:demo-rpm:upper']).toBe('cached');

    const elsewhere = await ownProject();
    const clean = await cli(['build', 'demo-rpm', '--json', '--mirror', mirror.flag], elsewhere);
    expect(clean.code, clean.stderr).toBe(0);
    expect(Object.values(statuses(clean.stdout)).every((s) => s === 'built')).toBe(true);
    expect(await sha256(join(elsewhere, 'out/demo-rpm/demo-rpm.iso'))).toBe(await sha256(join(project, 'out/demo-rpm/demo-rpm.iso')));
  });

  it('a second RPM variant on the same cache takes every package download and unpack from it', async () => {
    const text = (await readFile(join(project, VARIANT), 'utf8')).replace(/^name: demo-rpm$/m, 'name: demo-rpm-2').replace(/^iso_label: .*$/m, 'iso_label: PIPELINE_RPM2');
    await writeFile(join(project, 'variants/demo-rpm-2.yaml'), text);
    await writeFile(join(project, 'variants/demo-rpm-2.lock.yaml'), (await readFile(join(project, LOCK), 'utf8')).replace(/^variant: demo-rpm$/m, 'variant: demo-rpm-2'));
    try {
      const second = await cli(['build', 'demo-rpm-2', '--json', '--mirror', mirror.flag], project);
      expect(second.code, second.stderr).toBe(0);
      const status = statuses(second.stdout);
      const packageNodes = Object.entries(status).filter(([id]) => id.startsWith('rpm-fetch:') || id.startsWith('rpm:'));
      expect(packageNodes).toHaveLength(2 * lock.packages.length);
      expect(packageNodes.filter(([, s]) => s !== 'cached')).toEqual([]);
      expect(status['rootfs:demo-rpm-2']).toBe('built');
    } finally {
      await rm(join(project, 'variants/demo-rpm-2.yaml'), { force: true });
      await rm(join(project, 'variants/demo-rpm-2.lock.yaml'), { force: true });
    }
  });

  it('an Alpine variant on the same cache: the same image stages, no node of one reused by the other', async () => {
    const alpine = await demoProject('pipeline-demo-with-rpm-');
    projects.push(alpine);
    const alpineMirror = await serveDemoMirror();
    try {
      const cache = join(project, 'out/cache');
      const built = await cli(['build', 'demo', '--json', '--cache-dir', cache, '--mirror', alpineMirror.flag], alpine);
      expect(built.code, built.stderr).toBe(0);
      const apkIds = Object.keys(statuses(built.stdout));
      const rpmIds = Object.keys(statuses(first.stdout));
      const kinds = (stdout: string) => new Set(jsonEvents(stdout).filter((e) => e.event === 'node').map((e) => String(e.id).split(':')[0]));
      const imageKinds = ['rootfs', 'squashfs', 'initramfs', 'uki', 'sign', 'esp', 'iso', 'sbom'];
      for (const kind of imageKinds) {
        expect(kinds(built.stdout).has(kind), `demo has ${kind}`).toBe(true);
        expect(kinds(first.stdout).has(kind), `demo-rpm has ${kind}`).toBe(true);
      }
      // Nothing in common: every node of the Alpine build was built, none came from the RPM one.
      expect(apkIds.filter((id) => rpmIds.includes(id))).toEqual([]);
      expect(Object.entries(statuses(built.stdout)).filter(([, s]) => s !== 'built')).toEqual([]);
      // And the RPM build is still whole on that cache.
      const again = await cli(['build', 'demo-rpm', '--json', '--mirror', mirror.flag], project);
      expect(again.code, again.stderr).toBe(0);
      const rebuilt = Object.entries(statuses(again.stdout)).filter(([, s]) => s !== 'cached');
      const why = rebuilt.length ? (await cli(['explain', 'demo-rpm', rebuilt[0]![0]], project)).stdout : '';
      expect(rebuilt, why).toEqual([]);
    } finally {
      await alpineMirror.server.stop();
    }
  });
});
