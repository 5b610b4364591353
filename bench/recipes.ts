// Recipes benchmark (issue 10): a large demo (the demo mirror with linux-lts carrying the kernel's
// whole module tree, some hundreds of MB) with its recipes (hello compiled from source, welcome
// installing files), built cold; then one recipe's build edited (welcome's installed script
// changes: its node, the upper layer, its image and the ISO rebuild); then one recipe edited
// without changing its output (a comment: the recipe node reruns, early cutoff stops the rest).
// Goal: the one-recipe rebuild <= 10 % of the cold build and within 1.5 x (that recipe's own node
// time + the ISO node's time). Also: parse and check of 100 recipes, in milliseconds.
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { checkRhai, parseRhai } from '../rhai/index.js';
import { RECIPE_CONSTANTS, RECIPE_FUNCTIONS } from '../recipe/api.js';
import { buildApk } from '../fixtures/alpine/abuild.js';
import { buildApkIndex, indexPackageOf } from '../fixtures/alpine/apkindex-writer.js';
import { DEMO_EPOCH, fetchDemoDebs, linuxLtsSpec } from '../fixtures/alpine/demo-packages.js';
import { DEMO_DESCRIPTION, demoRepoDir, ensureDemoMirror } from '../fixtures/build-mirror.js';
import { projectRoot } from '../fixtures/paths.js';
import { demoProject } from '../fixtures/demo-project.js';
import { median, round, writeResult } from './stats.js';

const run = promisify(execFile);
const PIPELINE = join(projectRoot(), 'bin', 'pipeline.js');

interface Timed {
  ms: number;
  built: string[];
  nodeMs: Record<string, number>;
}

async function timedBuild(project: string, flag: string[]): Promise<Timed> {
  const started = performance.now();
  const { stdout } = await run(process.execPath, [PIPELINE, 'build', 'demo', '--json', ...flag], { cwd: project, maxBuffer: 64 << 20 });
  const ms = performance.now() - started;
  const events = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event: string; id?: string; status?: string; ms?: number });
  const built = events.filter((e) => e.event === 'node' && e.status === 'built');
  return { ms, built: built.map((e) => e.id!).sort(), nodeMs: Object.fromEntries(built.map((e) => [e.id!, e.ms ?? 0])) };
}

function parseAndCheck100(text: string): number {
  const started = performance.now();
  const functions = new Map(Object.entries(RECIPE_FUNCTIONS));
  for (let i = 0; i < 100; i++) {
    const program = parseRhai(text.replace(/name: "welcome"/, `name: "r${i}"`), `recipes/r${i}.rhai`);
    checkRhai(program, { functions, constants: new Set(RECIPE_CONSTANTS) });
  }
  return performance.now() - started;
}

/**
 * A copy of the demo mirror in `dir` whose linux-lts keeps every module of the Debian kernel,
 * re-indexed and signed like the original. Returns the package's installed size.
 */
async function largeMirror(dir: string): Promise<{ root: string; kernelInstalledBytes: number }> {
  const mirror = await ensureDemoMirror();
  const root = join(dir, 'alpine');
  await cp(mirror.root, root, { recursive: true });
  const work = join(dir, 'work');
  await mkdir(work);
  const kernel = await buildApk(await linuxLtsSpec((await fetchDemoDebs()).kernel, work, 'all'));
  await rm(work, { recursive: true, force: true });
  const repoDir = demoRepoDir(root);
  const old = mirror.packages.find((p) => p.name === 'linux-lts')!;
  await rm(join(repoDir, `${old.name}-${old.version}.apk`));
  await writeFile(join(repoDir, kernel.fileName), kernel.bytes);
  const packages = mirror.packages.map((p) => (p.name === 'linux-lts' ? indexPackageOf(kernel) : p));
  await writeFile(join(repoDir, 'APKINDEX.tar.gz'), await buildApkIndex(packages, { description: DEMO_DESCRIPTION, epoch: DEMO_EPOCH }));
  return { root, kernelInstalledBytes: indexPackageOf(kernel).installedSize };
}

async function sizeOf(path: string): Promise<number> {
  return (await stat(path)).size;
}

export async function benchRecipes(repeats = 3): Promise<object> {
  const scratch = join(tmpdir(), `pipeline-bench-recipes-mirror-${process.pid}`);
  const project = await demoProject('pipeline-bench-recipes-');
  try {
    const mirror = await largeMirror(scratch);
    const flag = ['--mirror', `demo=${mirror.root}`];
    await run(process.execPath, [PIPELINE, 'lock', 'demo', ...flag], { cwd: project });
    const cold: Timed[] = [];
    for (let r = 0; r < repeats; r++) {
      await rm(join(project, 'out'), { recursive: true, force: true });
      cold.push(await timedBuild(project, flag));
    }
    const script = join(project, 'recipes/welcome/welcome.sh');
    const original = await readFile(script, 'utf8');
    const edited: Timed[] = [];
    for (let r = 0; r < repeats; r++) {
      await writeFile(script, `${original}echo "benchmark edit ${r}"\n`);
      edited.push(await timedBuild(project, flag));
    }
    const recipe = join(project, 'recipes/welcome.rhai');
    const recipeText = await readFile(recipe, 'utf8');
    const same: Timed[] = [];
    for (let r = 0; r < repeats; r++) {
      await writeFile(recipe, `${recipeText}// benchmark comment ${r}\n`);
      same.push(await timedBuild(project, flag));
    }
    const out = join(project, 'out/demo');
    const sizes = {
      linuxLtsInstalledBytes: mirror.kernelInstalledBytes,
      baseImageBytes: await sizeOf(join(out, 'filesystem.squashfs')),
      upperImageBytes: await sizeOf(join(out, 'overlayfs.squashfs')),
      isoBytes: await sizeOf(join(out, 'demo.iso')),
    };
    // What the edit costs besides its nodes: the process, compile and cache checks (a no-op build
    // pays them too), and hashing and copying the new ISO out of the store.
    const noop: Timed[] = [];
    for (let r = 0; r < repeats; r++) noop.push(await timedBuild(project, flag));
    const editPath = ['recipe:demo:welcome', 'layer:demo', 'squashfs:demo:upper', 'iso:demo'];
    const editNodeMs = Object.fromEntries(edited[0].built.map((id) => [id, round(median(edited.map((t) => t.nodeMs[id] ?? 0)))]));
    const own = edited.map((t) => (t.nodeMs['recipe:demo:welcome'] ?? 0) + (t.nodeMs['iso:demo'] ?? 0));
    const parse = [1, 2, 3, 4, 5].map(() => parseAndCheck100(recipeText));
    const result = {
      command: 'npm run bench -- recipes',
      repeats,
      system: sizes,
      coldBuildMs: round(median(cold.map((t) => t.ms))),
      coldHelloNodeMs: round(median(cold.map((t) => t.nodeMs['recipe:demo:hello'] ?? 0))),
      oneRecipeEditMs: round(median(edited.map((t) => t.ms))),
      oneRecipeEditRebuilt: edited.at(-1)!.built,
      oneRecipeEditNodeMs: editNodeMs,
      oneRecipeEditBesidesItsNodesMs: round(median(edited.map((t) => t.ms - editPath.reduce((sum, id) => sum + (t.nodeMs[id] ?? 0), 0)))),
      noopBuildMs: round(median(noop.map((t) => t.ms))),
      recipeNodePlusIsoMs: round(median(own)),
      ratioToCold: round(median(edited.map((t) => t.ms)) / median(cold.map((t) => t.ms)), 3),
      ratioToRecipePlusIso: round(median(edited.map((t) => t.ms)) / median(own), 2),
      sameOutputEditMs: round(median(same.map((t) => t.ms))),
      sameOutputEditRebuilt: same.at(-1)!.built,
      parseAndCheck100RecipesMs: round(median(parse)),
      targets: { ratioToCold: '<= 0.10', ratioToRecipePlusIso: '<= 1.5', parseAndCheck100RecipesMs: '< 100' },
    };
    const path = await writeResult('recipes', result);
    console.log(JSON.stringify(result, null, 2));
    console.log(`written to ${path}`);
    return result;
  } finally {
    await rm(project, { recursive: true, force: true });
    await rm(scratch, { recursive: true, force: true });
  }
}
