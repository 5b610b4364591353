// The recipe part of a variant's graph: one source node per pinned sha256 (shared between
// recipes and variants), one build root per set of build packages (a rootfs of the variant's own
// packages: its libc, its compiler), and one recipe node per recipe. The recipes' outputs are
// trees for the layer above the packages. Pure: the recipes were read by compile/load.ts.
import type { NodeSpec } from '../graph/node.js';
import { releaseKey } from '../recipe/host-functions.js';
import type { Recipe } from '../recipe/load.js';
import { RELEASES_LOCK, type LockedRelease } from '../recipe/releases.js';
import { recipeNode, recipeNodeId, type RecipeReleaseInput, type RecipeSourceInput } from '../stages/recipe.js';
import { rootfsNode } from '../stages/rootfs.js';
import { sourceNode, sourceNodeId } from '../stages/source.js';
import { MIRROR_SCHEME, locate } from './config.js';
import { mirrorTable } from './alpine.js';
import type { CompileInputs } from './load.js';
import type { PackageSource } from './package-source.js';
import type { Problems } from './problems.js';

/** What every build root has besides the recipe's build_deps: a shell and its applets. */
export const DEFAULT_BUILD_DEPS = ['busybox'];

export interface RecipeTree {
  /** `recipe:<name>`: how collisions name it. */
  name: string;
  node: string;
  replaces: string[];
}

export interface RecipeGraph {
  nodes: NodeSpec[];
  trees: RecipeTree[];
  /** What the SBOM lists of each recipe. */
  recipes: { recipe: Recipe; node: string; sources: { url: string; sha256: string }[] }[];
}

/** Recipes of the variant with the recipes they depend on, dependencies first. */
export function recipeOrder(inputs: CompileInputs, problems: Problems): Recipe[] {
  const { variant, source } = inputs.loaded;
  const order: Recipe[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, chain: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      problems.add(`recipes depend on each other in a circle: ${[...chain, name].join(' -> ')}`);
      return;
    }
    const recipe = inputs.recipes.get(name);
    if (!recipe) {
      problems.add(`${chain.length ? `recipes/${chain.at(-1)}.rhai: deps` : source.where(['recipes'])}: no recipe named '${name}' (recipes/${name}.rhai)`);
      return;
    }
    state.set(name, 'visiting');
    for (const dep of recipe.deps) visit(dep, [...chain, name]);
    state.set(name, 'done');
    order.push(recipe);
  };
  for (const name of variant.recipes ?? []) visit(name, []);
  return order;
}

/** The packages every recipe's build root needs, to be resolved with the variant's own. */
export function recipeBuildPackages(inputs: CompileInputs): string[] {
  const names = new Set<string>();
  for (const name of inputs.loaded.variant.recipes ?? []) {
    const recipe = inputs.recipes.get(name);
    for (const dep of [...DEFAULT_BUILD_DEPS, ...(recipe?.buildDeps ?? [])]) names.add(dep);
  }
  for (const recipe of inputs.recipes.values()) for (const dep of recipe.buildDeps) names.add(dep);
  return [...names].sort();
}

/** Locked package names reachable from `roots` by the lock's dependencies. */
export function lockClosure(packageSource: PackageSource, roots: string[]): string[] {
  const byName = new Map((packageSource.lock?.packages ?? []).map((p) => [p.name, p]));
  const seen = new Set<string>();
  const pending = [...roots];
  while (pending.length) {
    const name = pending.pop()!;
    if (seen.has(name) || !byName.has(name)) continue;
    seen.add(name);
    pending.push(...byName.get(name)!.depends);
  }
  return [...seen];
}

export function recipeGraph(inputs: CompileInputs, packageSource: PackageSource, problems: Problems): RecipeGraph {
  const { variant } = inputs.loaded;
  const name = variant.name;
  const mirrors = mirrorTable(variant, inputs.config);
  const nodes = new Map<string, NodeSpec>();
  const graph: RecipeGraph = { nodes: [], trees: [], recipes: [] };
  const order = recipeOrder(inputs, problems);
  const sourceUsers = new Map<string, { urls: Set<string>; by: Set<string> }>();
  const locked = new Map(inputs.releases.map((r) => [releaseKey(r.repo, r.version, r.pattern), r]));

  const pin = (sha256: string, url: string, by: string): string => {
    const users = sourceUsers.get(sha256) ?? { urls: new Set(), by: new Set() };
    users.urls.add(url);
    users.by.add(by);
    sourceUsers.set(sha256, users);
    return sourceNodeId(sha256);
  };

  for (const recipe of order) {
    const sources: RecipeSourceInput[] = recipe.sources.map((s) => ({ url: s.url, sha256: s.sha256, name: s.file, node: pin(s.sha256, s.url, recipe.path) }));
    const releases: RecipeReleaseInput[] = [];
    for (const call of recipe.releaseCalls) {
      const entry: LockedRelease | undefined = locked.get(releaseKey(call.repo, call.version, call.pattern));
      if (!entry) {
        problems.add(`${recipe.path}: github_download_release(${call.repo}, ${call.version}, ${call.pattern}) is not pinned in ${RELEASES_LOCK}: run \`pipeline lock ${name}\``);
        continue;
      }
      releases.push({ ...call, url: entry.url, sha256: entry.sha256, name: entry.name, node: pin(entry.sha256, entry.url, recipe.path) });
    }
    const buildDeps = [...new Set([...DEFAULT_BUILD_DEPS, ...recipe.buildDeps])];
    const missing = buildDeps.filter((p) => packageSource.lock && !packageSource.packageNode(p));
    for (const p of missing) problems.add(`${recipe.path}: build_deps names '${p}', which is not in the variant's lock: run \`pipeline lock ${name}\``);
    const closure = packageSource.lock ? packageSource.installOrder().filter((p) => lockClosure(packageSource, buildDeps).includes(p)) : [];
    const rootId = `build-root:${name}:${[...buildDeps].sort().join('+')}`;
    if (!nodes.has(rootId)) {
      nodes.set(
        rootId,
        rootfsNode({
          variant: name,
          id: rootId,
          packages: packageSource.lock ? closure.map((p) => ({ name: p, node: packageSource.packageNode(p)! })) : [{ name: 'packages', node: packageSource.resolveId }],
          sourceDateEpoch: variant.epoch!,
          config: { osRelease: { ID: 'build-root', NAME: 'build root' }, hostname: 'build', init: 'busybox', rootPassword: 'keep', fstab: false },
        }),
      );
    }
    const node = recipeNode({
      variant: name,
      recipe,
      buildRoot: rootId,
      sources,
      releases,
      deps: Object.fromEntries(recipe.deps.map((d) => [d, recipeNodeId(name, d)])),
      arch: variant.alpine?.arch ?? 'x86_64',
      sourceDateEpoch: variant.epoch!,
    });
    nodes.set(node.id, node);
    // A dependency's output is in the system too: it is what the recipe runs against.
    graph.trees.push({ name: `recipe:${recipe.name}`, node: node.id, replaces: recipe.replaces });
    graph.recipes.push({ recipe, node: node.id, sources: [...sources, ...releases].map((s) => ({ url: s.url, sha256: s.sha256 })) });
  }

  for (const [sha256, users] of sourceUsers) {
    const urls = [...users.urls].map((u) => locate(u, mirrors));
    const symbolic = urls.find((u) => u.startsWith(MIRROR_SCHEME));
    nodes.set(
      sourceNodeId(sha256),
      sourceNode({
        sha256,
        urls,
        pinnedBy: [...users.by].sort(),
        unbuildable: symbolic ? `${symbolic}: mirror '${symbolic.slice(MIRROR_SCHEME.length).split('/')[0]}' has no location: pass --mirror or set mirrors in the variant or pipeline.config.yaml` : undefined,
      }),
    );
  }
  graph.nodes = [...nodes.values()];
  return graph;
}
