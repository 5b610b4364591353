// Recipes benchmark (issue 10): the demo with its recipes (hello compiled from source, welcome
// installing files), built cold; then one recipe's build edited (welcome's installed script
// changes: its node, the upper layer, its image and the ISO rebuild); then one recipe edited
// without changing its output (a comment: the recipe node reruns, early cutoff stops the rest).
// Goal: the one-recipe rebuild <= 10 % of the cold build and within 1.5 x (that recipe's own node
// time + the ISO node's time). Also: parse and check of 100 recipes, in milliseconds.
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { checkRhai, parseRhai } from '../rhai/index.js';
import { RECIPE_CONSTANTS, RECIPE_FUNCTIONS } from '../recipe/api.js';
import { ensureDemoMirror } from '../fixtures/build-mirror.js';
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

export async function benchRecipes(repeats = 3): Promise<object> {
  const mirror = await ensureDemoMirror();
  const project = await demoProject('pipeline-bench-recipes-');
  const flag = ['--mirror', `demo=${mirror.root}`];
  try {
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
    const own = edited.map((t) => (t.nodeMs['recipe:demo:welcome'] ?? 0) + (t.nodeMs['iso:demo'] ?? 0));
    const parse = [1, 2, 3, 4, 5].map(() => parseAndCheck100(recipeText));
    const result = {
      command: 'npm run bench -- recipes',
      repeats,
      coldBuildMs: round(median(cold.map((t) => t.ms))),
      coldHelloNodeMs: round(median(cold.map((t) => t.nodeMs['recipe:demo:hello'] ?? 0))),
      oneRecipeEditMs: round(median(edited.map((t) => t.ms))),
      oneRecipeEditRebuilt: edited.at(-1)!.built,
      recipeNodePlusIsoMs: round(median(own)),
      ratioToCold: round(median(edited.map((t) => t.ms)) / median(cold.map((t) => t.ms))),
      ratioToRecipePlusIso: round(median(edited.map((t) => t.ms)) / median(own)),
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
  }
}
