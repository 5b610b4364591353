// The demo with other settings: mirrors from pipeline.config.yaml, an EROFS root image booted by
// BIOS, and gzip in the initramfs.
import { readFile, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, jsonEvents, statuses } from '../engine/helpers.js';
import { demoProject, serveDemoMirror, type DemoMirrorServer } from '../../fixtures/demo-project.js';

const run = promisify(execFile);
let mirror: DemoMirrorServer;

beforeAll(async () => {
  mirror = await serveDemoMirror();
}, 600_000);

afterAll(async () => {
  await mirror?.server.stop();
});

describe('demo variations', () => {
  it('takes its mirror from pipeline.config.yaml, and --mirror wins over it', async () => {
    const project = await demoProject('pipeline-demo-config-');
    await writeFile(join(project, 'pipeline.config.yaml'), `mirrors:\n  demo: ${mirror.server.url}\n`);
    const locked = await cli(['lock', 'demo'], project);
    expect(locked.code, locked.stderr).toBe(0);
    expect(mirror.server.requests).toContain('/v3.23/main/x86_64/APKINDEX.tar.gz');
    const before = mirror.server.requests.length;
    await writeFile(join(project, 'pipeline.config.yaml'), 'mirrors:\n  demo: http://127.0.0.1:9/nothing-here\n');
    const relocked = await cli(['lock', 'demo', '--mirror', mirror.flag], project);
    expect(relocked.code, relocked.stderr).toBe(0);
    expect(mirror.server.requests.length).toBeGreaterThan(before);
    await writeFile(join(project, 'pipeline.config.yaml'), 'mirrors:\n  demo: 42\n');
    const bad = await cli(['graph', 'demo'], project);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('pipeline.config.yaml:2:9: mirrors.demo must be a string');
  });

  it('an EROFS root image and a gzip initramfs build and boot (BIOS)', async () => {
    const project = await demoProject('pipeline-demo-erofs-');
    const file = join(project, 'variants/demo.yaml');
    const text = (await readFile(file, 'utf8'))
      .replace('root_image:\n  format: squashfs', 'root_image:\n  format: erofs')
      .replace('initramfs:\n  busybox: { package: busybox, path: bin/busybox }', 'initramfs:\n  busybox: { package: busybox, path: bin/busybox }\n  compression: gzip\n  level: 6');
    await writeFile(file, text);
    const r = await cli(['test', 'demo', '--scenario', 'bios', '--json', '--mirror', mirror.flag], project);
    expect(r.code, r.stderr).toBe(0);
    const s = statuses(r.stdout);
    expect(s['erofs:demo']).toBe('built');
    expect(s['erofs:demo:upper']).toBe('built');
    expect(s['squashfs:demo']).toBeUndefined();
    expect(s['test:demo:bios']).toBe('built');
    const { stdout } = await run('xorriso', ['-indev', join(project, 'out/demo/demo.iso'), '-find', '/live', '-type', 'f']);
    expect(stdout).toContain("'/live/filesystem.erofs'");
    expect(stdout).toContain("'/live/overlayfs.erofs'");
    const tests = jsonEvents(r.stdout).find((e) => e.event === 'tests') as { results: { commands: { command: string; output: string }[] }[] };
    expect(tests.results[0].commands.find((c) => c.command === 'cat /proc/cmdline')).toBeDefined();
    // Both EROFS layers joined: the overlay's motd is what the booted system shows.
    expect(tests.results[0].commands.find((c) => c.command.startsWith('grep -E \'^overlay / overlay'))?.output).toContain('lowerdir=/run/live/layers/1:/run/live/layers/0');
    expect(tests.results[0].commands.find((c) => c.command === 'cat /etc/motd')?.output).toMatch(/^Pipeline demo: a live system/);
    const magic = await run('sh', ['-c', `head -c 2 '${join(project, 'out/demo/initramfs-live.img')}' | od -An -tx1`]);
    expect(magic.stdout.trim()).toBe('1f 8b'); // gzip
  }, 300_000);
});
