// Recipes built as graph nodes in their sandbox, against the demo's fixture mirror: a recipe that
// installs files, and every way a recipe can be wrong. Each bad recipe fails its own node with
// the recipe's file and line, caches nothing for it, and leaves the build root it ran on cached.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileTarget } from '../../compile/index.js';
import { loadCompileInputs } from '../../compile/load.js';
import { build } from '../../graph/build.js';
import { Session } from '../../graph/session.js';
import { validateGraph } from '../../graph/validate.js';
import { PIPELINE_FILE_ROOTS } from '../../stages/shared/pipeline-files.js';
import { readManifest } from '../../stages/shared/manifest.js';
import { cli } from '../engine/helpers.js';
import { demoProject, serveDemoMirror, type DemoMirrorServer } from '../../fixtures/demo-project.js';

let mirror: DemoMirrorServer;
let project: string;
let cacheDir: string;
let probe: Server;
let probeHits = 0;
const SOURCE = Buffer.from('int main(void) { return 0; }\n');
const SOURCE_SHA = createHash('sha256').update(SOURCE).digest('hex');

const RECIPES: Record<string, string> = {
  files: `let ctx = #{ name: "files", version: "1.0", license: "MIT" };
fn install(ctx) {
    write_file(OUT + "/usr/share/files/hello.txt", "hi\\n");
    shell("mkdir -p $OUT/usr/bin && printf '#!/bin/sh\\\\necho files\\\\n' > $OUT/usr/bin/files && chmod 755 $OUT/usr/bin/files");
    ctx
}
`,
  syntax: `let ctx = #{ name: "syntax", version: "1.0" };
fn install(ctx) {
    shell("true"
}
`,
  unknown: `let ctx = #{ name: "unknown", version: "1.0" };
fn install(ctx) {
    shel("true");
    ctx
}
`,
  type: `let ctx = #{ name: "type", version: "1.0" };
fn install(ctx) {
    let n = ctx.version + 1;
    let m = n - #{};
    ctx
}
`,
  exit: `let ctx = #{ name: "exit", version: "1.0" };
fn build(ctx) {
    shell("echo compiling; exit 3");
    ctx
}
fn install(ctx) { ctx }
`,
  network: '',
  outside: `let ctx = #{ name: "outside", version: "1.0" };
fn install(ctx) {
    shell("mkdir -p /usr/lib/stray && echo x > /usr/lib/stray/file");
    write_file(OUT + "/usr/share/outside", "x");
    ctx
}
`,
  escape: `let ctx = #{ name: "escape", version: "1.0" };
fn install(ctx) {
    write_file("/build/../../etc/evil", "x");
    ctx
}
`,
  forever: `let ctx = #{ name: "forever", version: "1.0" };
fn build(ctx) {
    let i = 0;
    loop { i += 1; }
}
fn install(ctx) { ctx }
`,
  mismatch: '',
  // Runs the program the 'files' recipe installed: a recipe's deps are in its sandbox's root.
  uses: `let ctx = #{ name: "uses", version: "1.0" };
let deps = ["files"];
fn install(ctx) {
    shell("mkdir -p $OUT/usr/share/uses && files > $OUT/usr/share/uses/said");
    ctx
}
`,
  empty: `let ctx = #{ name: "empty", version: "1.0" };
fn install(ctx) { ctx }
`,
};

/** Compiles the demo with these recipes and builds only their nodes (and what they need). */
async function buildRecipes(names: string[]) {
  const file = join(project, 'variants/demo.yaml');
  const text = (await readFile(file, 'utf8')).replace(/\nrecipes:.*\n/, '\n');
  await writeFile(file, `${text}\nrecipes: [${names.join(', ')}]\n`);
  const inputs = await loadCompileInputs('demo', { cwd: project, mirrorFlags: [mirror.flag] });
  const compiled = await compileTarget(inputs);
  const session = await Session.open({ root: project, cacheDir, fileRoots: PIPELINE_FILE_ROOTS });
  const targets = names.map((n) => `recipe:demo:${n}`);
  const result = await build(session, validateGraph(compiled.nodes), { targets, keepGoing: true });
  return { result, compiled };
}

async function failure(name: string): Promise<string> {
  const { result } = await buildRecipes([name]);
  const outcome = result.outcomes.get(`recipe:demo:${name}`)!;
  expect(outcome.status).toBe('failed');
  // Nothing cached: the node runs (and fails) again.
  const again = await buildRecipes([name]);
  expect(again.result.outcomes.get(`recipe:demo:${name}`)!.status).toBe('failed');
  expect([...again.result.outcomes.values()].filter((o) => o.kind === 'rootfs').map((o) => o.status)).toEqual(['cached']);
  return outcome.error!.message;
}

beforeAll(async () => {
  mirror = await serveDemoMirror();
  project = await demoProject('pipeline-recipes-');
  cacheDir = join(project, 'out/cache');
  probe = createServer((_req, res) => {
    probeHits++;
    res.end('reached');
  });
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  RECIPES.network = `let ctx = #{ name: "network", version: "1.0" };
fn build(ctx) {
    shell("wget -q -O - http://127.0.0.1:${port}/ || exit 7");
    ctx
}
fn install(ctx) { ctx }
`;
  RECIPES.mismatch = `let ctx = #{ name: "mismatch", version: "1.0", url: "http://127.0.0.1:${port}/main.c", sha256: "${SOURCE_SHA}" };
fn install(ctx) { ctx }
`;
  await mkdir(join(project, 'recipes'), { recursive: true });
  for (const [name, text] of Object.entries(RECIPES)) await writeFile(join(project, 'recipes', `${name}.rhai`), text);
  const file = join(project, 'variants/demo.yaml');
  // The demo's own recipes (hello, welcome) are replaced by this file's: each test builds only its own.
  const demo = await readFile(file, 'utf8');
  expect(demo).toMatch(/^recipes:\n(  - .*\n)+/m);
  await writeFile(file, demo.replace(/^recipes:\n(  - .*\n)+/m, 'recipes: [files]\n'));
  const locked = await cli(['lock', 'demo', '--mirror', mirror.flag], project);
  expect(locked.code, locked.stderr).toBe(0);
}, 600_000);

afterAll(async () => {
  await mirror?.server.stop();
  await new Promise((resolve) => probe?.close(resolve));
  if (project) await rm(project, { recursive: true, force: true });
});

describe('recipe nodes', () => {
  it('build a recipe in its sandbox into a tree with a manifest owned by root', async () => {
    const { result } = await buildRecipes(['files']);
    const outcome = result.outcomes.get('recipe:demo:files')!;
    expect(outcome.status, outcome.error?.message).toBe('built');
    const out = outcome.path!;
    expect(await readFile(join(out, 'root/usr/share/files/hello.txt'), 'utf8')).toBe('hi\n');
    const manifest = await readManifest(join(out, 'manifest.json'));
    const bin = manifest.entries.find((e) => e.path === 'usr/bin/files')!;
    expect(bin).toMatchObject({ type: 'file', mode: 0o755, uid: 0, gid: 0 });
    const info = JSON.parse(await readFile(join(out, 'recipe.json'), 'utf8'));
    expect(info).toMatchObject({ name: 'files', version: '1.0', license: 'MIT', file: 'recipes/files.rhai' });
    // The build root is the variant's own busybox, not the host: cached for the next recipe.
    expect([...result.outcomes.values()].filter((o) => o.kind === 'rootfs').map((o) => o.id)).toEqual(['build-root:demo:busybox']);
    const again = await buildRecipes(['files']);
    expect(again.result.outcomes.get('recipe:demo:files')!.status).toBe('cached');
  }, 300_000);

  it("a recipe's deps are in its sandbox, and every recipe's tree joins the upper layer", async () => {
    const { result, compiled } = await buildRecipes(['uses']);
    const uses = result.outcomes.get('recipe:demo:uses')!;
    expect(uses.status, uses.error?.message).toBe('built');
    expect(await readFile(join(uses.path!, 'root/usr/share/uses/said'), 'utf8')).toBe('files\n');
    // Its own tree holds only what it installed; the dependency's tree is its own node.
    expect(existsSync(join(uses.path!, 'root/usr/bin/files'))).toBe(false);
    expect(['built', 'cached']).toContain(result.outcomes.get('recipe:demo:files')!.status);
    const node = (id: string) => compiled.nodes.find((n) => n.id === id)!;
    expect(node('recipe:demo:uses').deps).toMatchObject({ 'build-root': 'build-root:demo:busybox', 'recipe-files': 'recipe:demo:files' });
    expect(node('layer:demo').deps).toMatchObject({ 'tree:recipe:files': 'recipe:demo:files', 'tree:recipe:uses': 'recipe:demo:uses' });
  }, 300_000);

  it('graph and explain show the recipe node and its build root', async () => {
    await buildRecipes(['files']);
    const graph = await cli(['graph', 'demo', '--format', 'json', '--mirror', mirror.flag], project);
    expect(graph.code, graph.stderr).toBe(0);
    const nodes = JSON.parse(graph.stdout).nodes as { id: string; kind: string; status?: string }[];
    expect(nodes.find((n) => n.id === 'recipe:demo:files')).toMatchObject({ kind: 'recipe' });
    expect(nodes.find((n) => n.id === 'build-root:demo:busybox')).toMatchObject({ kind: 'rootfs' });
    const text = await cli(['graph', 'demo', '--mirror', mirror.flag], project);
    expect(text.stdout).toMatch(/recipe:demo:files/);
    const why = await cli(['explain', 'demo', 'recipe:demo:files', '--mirror', mirror.flag], project);
    expect(why.code, why.stderr).toBe(0);
    expect(why.stdout + why.stderr).toMatch(/recipe:demo:files/);
    // Change the recipe: explain names its file as the cause.
    const file = join(project, 'recipes/files.rhai');
    await writeFile(file, (await readFile(file, 'utf8')).replace('"hi\\n"', '"hello\\n"'));
    const changed = await cli(['explain', 'demo', 'recipe:demo:files', '--mirror', mirror.flag], project);
    expect(changed.stdout + changed.stderr).toContain('recipes/files.rhai');
    await writeFile(file, RECIPES.files);
  }, 300_000);

  it('a syntax error names the file, line and column', async () => {
    await expect(buildRecipes(['syntax'])).rejects.toThrow(/recipes\/syntax\.rhai:4:1: .*syntax error/);
  });

  it('an unknown function fails the node with the line and a did-you-mean', async () => {
    const message = await failure('unknown');
    expect(message).toMatch(/recipes\/unknown\.rhai:3:5: .*shel.*/);
    expect(message).toMatch(/shell/);
    expect(message).toMatch(/in call to function 'install'/);
  }, 120_000);

  it('a type error at run time names the types', async () => {
    const message = await failure('type');
    expect(message).toMatch(/recipes\/type\.rhai:4/);
  }, 120_000);

  it('a command that exits non-zero fails with its exit code and command', async () => {
    const message = await failure('exit');
    expect(message).toMatch(/recipes\/exit\.rhai:3:5/);
    expect(message).toContain('exited with code 3');
  }, 120_000);

  it('a build has no network', async () => {
    const message = await failure('network');
    expect(message).toContain('exited with code 7');
    expect(probeHits).toBe(0);
  }, 120_000);

  it('an install that writes outside OUT fails and names the path', async () => {
    const message = await failure('outside');
    expect(message).toContain('/usr/lib/stray/');
  }, 120_000);

  it('a path that escapes the sandbox is refused', async () => {
    const message = await failure('escape');
    expect(message).toMatch(/recipes\/escape\.rhai:3:5: .*'\.\.' is not allowed/);
    expect(existsSync('/etc/evil')).toBe(false);
  }, 120_000);

  it('an infinite loop stops at the operation budget', async () => {
    const message = await failure('forever');
    expect(message).toMatch(/recipes\/forever\.rhai:4/);
    expect(message).toMatch(/budget/);
  }, 120_000);

  it('an install that puts nothing into OUT is an error', async () => {
    const message = await failure('empty');
    expect(message).toContain('put nothing into $OUT');
  }, 120_000);

  it('a source whose bytes do not match its sha256 fails its source node and caches nothing', async () => {
    const { result } = await buildRecipes(['mismatch']);
    const source = [...result.outcomes.values()].find((o) => o.kind === 'source')!;
    expect(source.status).toBe('failed');
    expect(source.error!.message).toContain(`the recipe pins ${SOURCE_SHA}`);
    expect(result.outcomes.get('recipe:demo:mismatch')!.status).not.toBe('built');
  }, 120_000);
});
