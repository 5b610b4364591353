// Several targets in one build (`pipeline build demo demo2`, `--all`), through the real `pipeline`
// command, from the fixture Alpine mirror served on 127.0.0.1. demo2 is a copy of the demo variant
// with its own motd, so the two share every package node: those run once, in one graph, and each
// variant still gets its own artifacts, summary and boot tests.
import { execFile } from 'node:child_process';
import { cp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { mergeVariantNodes } from '../../compile/merge.js';
import { ConfigError } from '../../graph/errors.js';
import type { NodeSpec } from '../../graph/node.js';
import { demoProject, serveDemoMirror, type DemoMirrorServer } from '../../fixtures/demo-project.js';
import { cli, jsonEvents, type CliResult } from '../engine/helpers.js';

const run = promisify(execFile);
const DEMO2_MOTD = 'Pipeline demo2: the same packages, another message';

let mirror: DemoMirrorServer;
let project: string;
let cold: CliResult;
let coldEvents: Array<Record<string, unknown>>;

/** variants/<name>.yaml: the demo variant renamed, its tests and overlay (motd) its own. */
async function demoCopy(name: string, motd: string): Promise<void> {
  const text = (await readFile(join(project, 'variants/demo.yaml'), 'utf8'))
    .replace('name: demo', `name: ${name}`)
    .replace('id: demo', `id: ${name}`)
    .replace(/ID=\\"demo\\"/, `ID=\\"${name}\\"`)
    .replace('^Pipeline demo: a live system', `^${motd}`);
  await writeFile(join(project, `variants/${name}.yaml`), text);
  await cp(join(project, 'variants/overlays/demo'), join(project, `variants/overlays/${name}`), { recursive: true });
  await writeFile(join(project, `variants/overlays/${name}/etc/motd`), `${motd}\n`);
}

type Summary = { event: 'summary'; variant?: string; variants?: string[]; built: number; cached: number; failed: number; skipped: number; artifacts: Record<string, string> };
const summaries = (events: Array<Record<string, unknown>>) => events.filter((e) => e.event === 'summary') as unknown as Summary[];
const graphIds = async (...args: string[]) => {
  const r = await cli(['graph', ...args, '--format', 'json', '--mirror', mirror.flag], project);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout).nodes as Array<{ id: string; status: string }>);
};
const motdIn = async (squashfs: string) => (await run('unsquashfs', ['-cat', squashfs, 'etc/motd'])).stdout;

beforeAll(async () => {
  mirror = await serveDemoMirror();
  project = await demoProject('pipeline-multi-');
  await demoCopy('demo2', DEMO2_MOTD);
  // Neither variant has a lock: each is locked first, one after the other, then both build at once.
  cold = await cli(['build', 'demo', 'demo2', '--json', '--mirror', mirror.flag], project);
  expect(cold.code, cold.stderr).toBe(0);
  coldEvents = jsonEvents(cold.stdout);
}, 600_000);

afterAll(async () => {
  await mirror?.server.stop();
});

describe('pipeline build with several targets', () => {
  it('locks each variant first, then builds both in one graph: a shared node runs once', async () => {
    const plans = coldEvents.filter((e) => e.event === 'plan').map((e) => e.label);
    expect(plans).toEqual(['resolve packages of demo', 'resolve packages of demo2', 'build demo, demo2']);
    for (const name of ['demo', 'demo2']) await stat(join(project, `variants/${name}.lock.yaml`));

    const lastPlan = coldEvents.findLastIndex((e) => e.event === 'plan');
    const built = coldEvents.slice(lastPlan).filter((e) => e.event === 'node') as Array<{ id: string; status: string }>;
    const ids = built.map((e) => e.id);
    expect(ids.length).toBe(new Set(ids).size);
    expect(ids).toEqual(expect.arrayContaining(['rootfs:demo', 'rootfs:demo2', 'iso:demo', 'iso:demo2']));
    const packageNodes = built.filter((e) => e.id.startsWith('apk-fetch:') || e.id.startsWith('apk:'));
    const locked = Object.keys(parseYaml(await readFile(join(project, 'variants/demo.lock.yaml'), 'utf8')).packages).length;
    expect(packageNodes.length).toBe(2 * locked); // one fetch and one unpack per package, for both variants
    for (const e of packageNodes) expect(`${e.id} ${e.status}`).toBe(`${e.id} built`);
    // One fetch per package file from the mirror, though two variants needed it.
    const apkRequests = mirror.server.requests.filter((r) => r.endsWith('.apk'));
    expect(apkRequests.length).toBe(new Set(apkRequests).size);
    expect(apkRequests.length).toBe(locked);
  });

  it("publishes each variant's artifacts to out/<variant>/, each with its own overlay", async () => {
    for (const name of ['demo', 'demo2']) {
      const iso = join(project, `out/${name}/${name}.iso`);
      const sum = await readFile(`${iso}.sha256`, 'utf8');
      expect(sum).toBe(`${(await run('sha256sum', [iso])).stdout.split(' ')[0]}  ${name}.iso\n`);
    }
    expect(await motdIn(join(project, 'out/demo2/overlayfs.squashfs'))).toBe(`${DEMO2_MOTD}\n`);
    expect(await motdIn(join(project, 'out/demo/overlayfs.squashfs'))).toMatch(/^Pipeline demo: a live system/);
  });

  it("sends one summary event per variant, counting that variant's nodes, then the total", async () => {
    const [demo, demo2, total, ...rest] = summaries(coldEvents);
    expect(rest).toEqual([]);
    expect([demo.variant, demo2.variant, total.variants]).toEqual(['demo', 'demo2', ['demo', 'demo2']]);
    expect(demo.artifacts['demo.iso']).toBe(join(project, 'out/demo/demo.iso'));
    expect(demo2.artifacts['demo2.iso']).toBe(join(project, 'out/demo2/demo2.iso'));
    expect(total.artifacts['demo2/demo2.iso']).toBe(join(project, 'out/demo2/demo2.iso'));

    const ran = new Set(coldEvents.filter((e) => e.event === 'node').map((e) => e.id as string));
    for (const s of [demo, demo2]) {
      // The variant's nodes that ran (its lock round and its part of the build): its own graph's.
      const own = (await graphIds(s.variant!)).filter((n) => ran.has(n.id));
      expect([s.variant, s.built + s.cached + s.failed + s.skipped, s.failed, s.skipped]).toEqual([s.variant, own.length, 0, 0]);
    }
    expect(total.built + total.cached).toBe(ran.size);
    // The shared nodes count in each variant's summary, once in the total.
    expect(demo.built + demo2.built).toBeGreaterThan(total.built);
  });

  it('a second run, and --all, take everything from the cache; one line per variant, then the total', async () => {
    const trace = join(tmpdir(), 'multi-trace.json');
    const again = await cli(['build', 'demo', 'demo2', '--trace', trace, '--mirror', mirror.flag], project);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/^demo built in .+: 0 built, \d+ cached, 0 failed, 0 skipped$/m);
    expect(again.stderr).toMatch(/^demo2 built in .+: 0 built, \d+ cached, 0 failed, 0 skipped$/m);
    expect(again.stderr).toMatch(/^all 2 variants built in .+: 0 built, \d+ cached, 0 failed, 0 skipped$/m);
    expect(again.stdout).toContain('demo.iso: out/demo/demo.iso\n');
    expect(again.stdout).toContain('demo2.iso: out/demo2/demo2.iso\n');
    const traced = JSON.stringify(JSON.parse(await readFile(trace, 'utf8')));
    for (const id of ['rootfs:demo', 'rootfs:demo2', 'apk-fetch:busybox@']) expect(traced).toContain(id);

    // --all: every variants/<name>.yaml, not the lock files beside them.
    const all = await cli(['build', '--all', '--json', '--mirror', mirror.flag], project);
    expect(all.code, all.stderr).toBe(0);
    const total = summaries(jsonEvents(all.stdout)).at(-1)!;
    expect([total.variants, total.built, total.failed]).toEqual([['demo', 'demo2'], 0, 0]);
  });

  it('one failing variant fails the command (exit 1); with --keep-going the other is still built and published', async () => {
    await writeFile(join(project, 'variants/broken.yaml'), 'name: broken\nsteps:\n  fails: { run: [sh, -c, "echo on purpose; exit 3"] }\n');
    try {
      await rm(join(project, 'out/demo'), { recursive: true });
      const r = await cli(['build', 'demo', 'broken', '--keep-going', '--mirror', mirror.flag], project);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain('✗ step:broken:fails (step) failed');
      expect(r.stderr).toMatch(/^demo built in .+: 0 built, \d+ cached, 0 failed, 0 skipped$/m);
      expect(r.stderr).toMatch(/^broken FAILED in .+: 0 built, 0 cached, 1 failed, 0 skipped$/m);
      expect(r.stderr).toMatch(/^1 of 2 variants built in /m);
      await stat(join(project, 'out/demo/demo.iso'));
    } finally {
      await rm(join(project, 'variants/broken.yaml'));
    }
  });

  it('the same node id defined differently by two variants is a configuration error naming it and both', async () => {
    // demo3's lock gives one package another checksum: its fetch node has the demo's id, other params.
    await demoCopy('demo3', 'demo3');
    const lock = await readFile(join(project, 'variants/demo.lock.yaml'), 'utf8');
    const [pkg, entry] = Object.entries(parseYaml(lock).packages as Record<string, { version: string; checksum: string }>)[0];
    const changed = entry.checksum.slice(0, -2) + (entry.checksum.at(-2) === 'A' ? 'B' : 'A') + entry.checksum.at(-1);
    await writeFile(join(project, 'variants/demo3.lock.yaml'), lock.replace('variant: demo\n', 'variant: demo3\n').replace(entry.checksum, changed));
    try {
      for (const command of ['build', 'graph']) {
        const r = await cli([command, 'demo', 'demo3', '--mirror', mirror.flag], project);
        expect([command, r.code]).toEqual([command, 2]);
        expect(r.stderr).toContain(`apk-fetch:${pkg}@${entry.version}: demo and demo3 differ in params`);
        expect(r.stderr).toContain('variants define the same node id differently');
      }
      await expect(stat(join(project, 'out/demo3'))).rejects.toThrow();
    } finally {
      for (const f of ['variants/demo3.yaml', 'variants/demo3.lock.yaml', 'variants/overlays/demo3']) await rm(join(project, f), { recursive: true });
    }
  });

  it('usage errors: neither targets nor --all, both, and a --mirror no variant uses', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['build'], /pipeline build: missing <target> \(.*--all/],
      [['graph'], /pipeline graph: missing <target>/],
      [['build', 'demo', '--all'], /pipeline build: give variant names or --all, not both/],
      [['test', '--all', 'demo2'], /pipeline test: give variant names or --all, not both/],
      [['build', 'demo', 'demo2', '--mirror', 'demoo=http://127.0.0.1:9/'], /none of demo, demo2 uses a mirror named 'demoo'.*did you mean 'demo'\?/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args, project);
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 2]);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe('pipeline graph with several targets', () => {
  it('one graph: each shared node once, in every format, and --all gives the same', async () => {
    const demo = await graphIds('demo');
    const demo2 = await graphIds('demo2');
    const both = await graphIds('demo', 'demo2');
    const ids = both.map((n) => n.id);
    expect(ids.length).toBe(new Set(ids).size);
    expect(new Set(ids)).toEqual(new Set([...demo, ...demo2].map((n) => n.id)));
    expect(ids.length).toBeLessThan(demo.length + demo2.length);
    expect(ids).toEqual(expect.arrayContaining(['rootfs:demo', 'rootfs:demo2', 'test:demo2:bios']));
    expect(both.filter((n) => n.id.startsWith('apk:')).every((n) => n.status === 'cached')).toBe(true);
    expect((await graphIds('--all')).map((n) => n.id)).toEqual(ids);

    const fetch = ids.find((id) => id.startsWith('apk-fetch:'))!;
    for (const format of ['text', 'dot', 'mermaid']) {
      const r = await cli(['graph', 'demo', 'demo2', '--format', format, '--mirror', mirror.flag], project);
      expect([format, r.code]).toEqual([format, 0]);
      // Declared once (text: its line; dot: its node statement; mermaid: its box).
      const declares: Record<string, (line: string) => boolean> = {
        text: (l) => l.slice(15).split(' ')[0] === fetch, // after the 14-column status mark
        dot: (l) => l.startsWith(`  "${fetch}" [`),
        mermaid: (l) => l.includes(`["${fetch}<br/>`),
      };
      const declared = r.stdout.split('\n').filter(declares[format]);
      expect([format, declared.length]).toEqual([format, 1]);
    }
    const text = await cli(['graph', 'demo', 'demo2', '--mirror', mirror.flag], project);
    expect(text.stdout).toContain(`\n${ids.length} nodes: `);
  });
});

describe('pipeline test with several targets', () => {
  it("builds both as one graph and boots each variant's own scenario", async () => {
    const r = await cli(['test', 'demo', 'demo2', '--scenario', 'bios', '--json', '--mirror', mirror.flag], project);
    expect(r.code, r.stderr).toBe(0);
    const tests = jsonEvents(r.stdout).filter((e) => e.event === 'tests') as Array<{ variant: string; results: Array<{ id: string; status: string }> }>;
    expect(tests.map((t) => [t.variant, t.results.map((x) => x.id)])).toEqual([
      ['demo', ['test:demo:bios']],
      ['demo2', ['test:demo2:bios']],
    ]);
    const [demo, demo2] = summaries(jsonEvents(r.stdout));
    expect([demo.variant, demo.built, demo2.variant, demo2.built]).toEqual(['demo', 1, 'demo2', 1]); // each its own boot
  }, 300_000);
});

describe('merging variant graphs', () => {
  const fetch = (extra: Partial<NodeSpec> = {}): NodeSpec => ({
    id: 'fetch:x@1',
    kind: 'fetch',
    version: 1,
    params: { sha256: 'ab' },
    env: { LC_ALL: 'C' },
    async run() {},
    ...extra,
  });

  it('keeps one node per id when only what cannot change its output differs, preferring one that can run', () => {
    const a = fetch({ description: 'for a', hints: { f: 'a.yaml:1:1' }, unkeyed: { url: 'http://127.0.0.1:1/x' }, unbuildable: "mirror 'm' has no location" });
    const b = fetch({ description: 'for b', hints: { f: 'b.yaml:1:1' }, unkeyed: { url: 'http://127.0.0.1:2/x' } });
    const merged = mergeVariantNodes([
      { variant: 'a', nodes: [a] },
      { variant: 'b', nodes: [b, fetch({ id: 'only-b' })] },
    ]);
    expect(merged.map((n) => n.id)).toEqual(['fetch:x@1', 'only-b']);
    expect(merged[0]).toBe(b);
  });

  it('refuses one id with different inputs, naming the id, both variants and the fields', () => {
    const merge = () =>
      mergeVariantNodes([
        { variant: 'a', nodes: [fetch()] },
        { variant: 'b', nodes: [fetch({ env: { LC_ALL: 'C.UTF-8' }, secrets: { key: '/secret/path' } })] },
      ]);
    expect(merge).toThrow(ConfigError);
    expect(merge).toThrow('fetch:x@1: a and b differ in env, secrets');
    expect(merge).not.toThrow(/secret\/path/);
  });
});
