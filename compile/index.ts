// Variant -> graph: the nodes a target builds and the artifacts the user gets in out/<name>/.
// A variant with packages becomes a whole system (sources, image, boot artifacts, ISO, and the
// boot tests when asked for); custom steps may sit beside it or stand alone.
import type { NodeSpec } from '../graph/node.js';
import { stepId, stepNode } from '../stages/step.js';
import { alpineSource, type AlpineSource, type LockMode } from './alpine.js';
import { loadBuildConfig, type BuildConfig } from './config.js';
import { checkSystemVariant, systemGraph, type SystemGraph } from './system.js';
import { testGraph } from './tests.js';
import { loadVariant, type LoadedVariant, type Scenario } from './variant.js';

export interface Artifact {
  /** Node whose output holds it. */
  node: string;
  /** Path inside the node's output ('' for the whole output). */
  from: string;
  /** Path under out/<variant>/. */
  to: string;
}

export interface CompileOptions {
  cwd?: string;
  /** --config FILE */
  configFile?: string;
  /** --mirror NAME=URL flags. */
  mirrorFlags?: string[];
  /** 'ignore' compiles as if there were no lock (to make a new one). Default 'use'. */
  lock?: LockMode;
  /** Add the boot-test nodes: true for the variant's scenarios, or a list. */
  tests?: boolean | Scenario[];
  env?: NodeJS.ProcessEnv;
  /** Building: everything a build needs (signing keys) must exist now. */
  strict?: boolean;
}

export interface CompiledTarget {
  loaded: LoadedVariant;
  config: BuildConfig;
  nodes: NodeSpec[];
  artifacts: Artifact[];
  /** What `pipeline build` builds: everything but the boot tests. */
  buildTargets: string[];
  /** The boot-test nodes (when compiled with tests). */
  testTargets: string[];
  alpine?: AlpineSource;
  system?: SystemGraph;
}

export async function compileTarget(target: string, options: CompileOptions = {}): Promise<CompiledTarget> {
  const env = options.env ?? process.env;
  const loaded = await loadVariant(target, options.cwd ?? process.cwd());
  const config = await loadBuildConfig({ root: loaded.root, file: options.configFile, mirrorFlags: options.mirrorFlags, env });
  const { variant } = loaded;
  const nodes: NodeSpec[] = [];
  const artifacts: Artifact[] = [];
  let alpine: AlpineSource | undefined;
  let system: SystemGraph | undefined;
  let tests: NodeSpec[] = [];

  if (variant.packages) {
    checkSystemVariant(loaded);
    alpine = await alpineSource(loaded, config, options.lock ?? 'use');
    system = systemGraph(loaded, alpine, { env, strict: options.strict === true });
    nodes.push(...alpine.nodes, ...system.nodes);
    artifacts.push(...system.artifacts);
    if (options.tests) tests = await testGraph(loaded, system, options.tests === true ? undefined : options.tests);
  }

  const steps = variant.steps ?? {};
  for (const [name, step] of Object.entries(steps)) {
    const deps: Record<string, string> = {};
    // `after` names another step of this variant, or any node id.
    for (const after of step.after ?? []) deps[after] = after in steps ? stepId(variant.name, after) : after;
    const node = stepNode({ variant: variant.name, name, run: step.run, inputs: step.inputs, deps, env: step.env, weight: step.weight });
    nodes.push(node);
    if (step.publish) artifacts.push({ node: node.id, from: '', to: name });
  }

  // Every node that reproducibly stamps time gets the variant's epoch (the caller's otherwise).
  if (variant.epoch !== undefined) {
    for (const node of [...nodes, ...tests]) {
      if (node.env?.SOURCE_DATE_EPOCH !== undefined) node.env = { ...node.env, SOURCE_DATE_EPOCH: String(variant.epoch) };
    }
  }

  // With a lock, the indexes and the resolver are not part of a build: a locked build downloads
  // no index. (They stay in the graph, for `graph`, `explain` and `lock`.)
  const resolution = alpine?.lock ? new Set(alpine.nodes.filter((n) => n.kind === 'apk-index' || n.kind === 'apk-resolve').map((n) => n.id)) : new Set<string>();
  return {
    loaded,
    config,
    nodes: [...nodes, ...tests],
    artifacts,
    buildTargets: nodes.map((n) => n.id).filter((id) => !resolution.has(id)),
    testTargets: tests.map((n) => n.id),
    alpine,
    system,
  };
}
