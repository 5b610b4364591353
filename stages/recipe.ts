// A recipe built from source: `recipe:<variant>:<name>`. Its acquire, build and install run in
// a process of their own (recipe/runner.ts) inside the build sandbox (recipe/sandbox.ts) over the
// variant's build root (a rootfs of its build packages) and the outputs of the recipes it depends
// on. Output: root/ (what install put in $OUT, times at SOURCE_DATE_EPOCH), manifest.json (owned by
// root, as the layer and image builders read it), recipe.json (what the SBOM says of it).
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { cp, lutimes, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { NodeSpec } from '../graph/node.js';
import type { FetchedRelease, FetchedSource } from '../recipe/host-functions.js';
import type { Recipe } from '../recipe/load.js';
import type { RecipeJob, RecipeJobResult } from '../recipe/runner.js';
import { pipelineFile } from './shared/pipeline-files.js';
import type { StageKind } from './kind.js';
import { manifestOfTree } from './rootfs/manifest-of-tree.js';
import { writeManifest } from './shared/manifest.js';
import { epochEnv, parseSourceDateEpoch } from './shared/source-date-epoch.js';
import { SH } from './shared/tools.js';
import { SOURCE_FILE } from './source.js';

export const RECIPE_STAGE: StageKind = {
  kind: 'recipe',
  version: 1,
  summary: 'recipes built from source in a sandbox (no network, the variant\'s own toolchain)',
  tools: [{ name: 'unshare', debianPackage: 'util-linux', versionArgs: ['--version'] }, SH, { name: 'mount', debianPackage: 'mount', versionArgs: ['--version'] }, { name: 'chroot', debianPackage: 'coreutils', versionArgs: ['--version'] }],
};

export const RECIPE_INFO = 'recipe.json';
/** Operations a recipe's script may spend (its commands' work is not counted). */
export const RECIPE_MAX_OPERATIONS = 20_000_000;

export function recipeNodeId(variant: string, name: string): string {
  return `recipe:${variant}:${name}`;
}

export interface RecipeSourceInput {
  url: string;
  sha256: string;
  name: string;
  /** The source node holding it. */
  node: string;
}

export interface RecipeReleaseInput extends RecipeSourceInput {
  repo: string;
  version: string;
  pattern: string;
}

export interface RecipeNodeOptions {
  variant: string;
  recipe: Recipe;
  /** The build root: a rootfs-shaped node (root/) of the variant's build packages. */
  buildRoot: string;
  sources: RecipeSourceInput[];
  releases: RecipeReleaseInput[];
  /** Recipes this one builds against, by name -> node id (their root/ joins the build root). */
  deps: Record<string, string>;
  arch: string;
  sourceDateEpoch: number;
}

/** What recipe.json holds: the SBOM's view of the recipe. */
export interface RecipeInfo {
  name: string;
  version: string;
  license?: string;
  description?: string;
  file: string;
  sources: { url: string; sha256: string }[];
}

async function stampTimes(dir: string, epoch: number): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await stampTimes(path, epoch);
    await lutimes(path, epoch, epoch);
  }
}

export function recipeNode(options: RecipeNodeOptions): NodeSpec {
  const { recipe } = options;
  const id = recipeNodeId(options.variant, recipe.name);
  const deps: Record<string, string> = { 'build-root': options.buildRoot };
  options.sources.forEach((s, i) => (deps[`source-${i}`] = s.node));
  options.releases.forEach((r, i) => (deps[`release-${i}`] = r.node));
  for (const [name, node] of Object.entries(options.deps)) deps[`recipe-${name}`] = node;
  return {
    id,
    kind: RECIPE_STAGE.kind,
    version: RECIPE_STAGE.version,
    deps,
    files: [...recipe.files.map((f) => f.path), ...(recipe.dataDir ? [recipe.dataDir] : [])],
    params: {
      name: recipe.name,
      version: recipe.version,
      arch: options.arch,
      sources: options.sources.map((s) => ({ sha256: s.sha256, name: s.name, url: s.url })),
      releases: options.releases.map((r) => ({ repo: r.repo, version: r.version, pattern: r.pattern, sha256: r.sha256, name: r.name, url: r.url })),
      deps: Object.keys(options.deps).sort(),
    },
    tools: RECIPE_STAGE.tools.map((t) => t.name),
    env: epochEnv(options),
    description: `${recipe.name} ${recipe.version} built from ${recipe.path}`,
    async run(ctx) {
      const epoch = parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH, ctx.id);
      const work = join(ctx.tmp, 'work');
      await mkdir(join(work, 'recipe'), { recursive: true });
      if (recipe.dataDir) await cp(ctx.file(recipe.dataDir), join(work, 'recipe'), { recursive: true });
      // The sandbox's lower layers, top first: the recipes it depends on, then the build root.
      const lower = [...Object.keys(options.deps).sort().map((name) => join(ctx.dep(`recipe-${name}`), 'root')), join(ctx.dep('build-root'), 'root')].join(':');
      const fetched = (s: RecipeSourceInput, dep: string): FetchedSource => ({ url: s.url, sha256: s.sha256, name: s.name, path: join(ctx.dep(dep), SOURCE_FILE) });
      const job: RecipeJob = {
        name: recipe.name,
        files: recipe.files.map((f) => ({ path: f.path, text: f.text })),
        lower,
        work,
        sources: options.sources.map((s, i) => fetched(s, `source-${i}`)),
        releases: options.releases.map((r, i): FetchedRelease => ({ ...fetched(r, `release-${i}`), repo: r.repo, version: r.version, pattern: r.pattern })),
        tools: { unshare: ctx.tool('unshare'), sh: ctx.tool('sh'), mount: ctx.tool('mount'), chroot: ctx.tool('chroot') },
        epoch,
        nproc: availableParallelism(),
        arch: options.arch,
        maxOperations: RECIPE_MAX_OPERATIONS,
      };
      const jobFile = join(ctx.tmp, 'job.json');
      await writeFile(jobFile, JSON.stringify(job));
      const exitCode = await runRunner(jobFile, ctx.log.bind(ctx), ctx.signal);
      let result: RecipeJobResult;
      try {
        result = JSON.parse(await readFile(`${jobFile}.result.json`, 'utf8'));
      } catch {
        throw new Error(`${recipe.path}: the recipe runner stopped (exit code ${exitCode}) before it reported a result`);
      }
      if (!result.ok) throw new Error(`${recipe.path}: ${result.error}`);
      const outDir = join(work, 'out');
      if ((await readdir(outDir)).length === 0) throw new Error(`${recipe.path}: install(ctx) put nothing into $OUT (${'/out'}): nothing would reach the system`);
      const root = join(ctx.out, 'root');
      await rename(outDir, root);
      await stampTimes(root, epoch);
      await lutimes(root, epoch, epoch);
      const manifest = await manifestOfTree(root, `recipe:${recipe.name}`);
      await writeManifest(join(ctx.out, 'manifest.json'), manifest);
      const info: RecipeInfo = {
        name: recipe.name,
        version: recipe.version,
        license: recipe.license,
        description: recipe.description,
        file: recipe.path,
        sources: [...options.sources, ...options.releases].map((s) => ({ url: s.url, sha256: s.sha256 })),
      };
      await writeFile(join(ctx.out, RECIPE_INFO), `${JSON.stringify(info, null, 2)}\n`);
      ctx.log(`${recipe.name}: ${manifest.entries.length} paths installed; ${result.phases.map((p) => `${p.phase} ${p.skipped ? 'skipped' : `${p.seconds.toFixed(1)} s`}`).join(', ')}`);
    },
  };
}

/** tsc's output, not the bundle: the runner is a process of its own. */
const RUNNER_SCRIPT = () => pipelineFile('dist/recipe/runner.js');

function runRunner(jobFile: string, log: (line: string) => void, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUNNER_SCRIPT(), jobFile], { stdio: ['ignore', 'pipe', 'pipe'], signal, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', log);
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}
