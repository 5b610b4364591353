// Variant -> graph, as a pure function of what compile/load.ts read: the variant, the build
// settings and the lock in; the nodes a target builds and the artifacts the user gets in
// out/<name>/ out, or every located problem found. A variant with packages becomes a whole
// system (sources, image, boot artifacts, ISO, and the boot tests when asked for); custom steps
// may sit beside it or stand alone.
import { ConfigError } from '../graph/errors.js';
import type { NodeSpec } from '../graph/node.js';
import { stepId, stepNode } from '../stages/step.js';
import { closest } from '../util/did-you-mean.js';
import { alpineSource } from './alpine.js';
import type { PackageSource } from './package-source.js';
import { rpmSource } from './rpm.js';
import type { CompileInputs } from './load.js';
import { Problems } from './problems.js';
import { checkSystemVariant, systemGraph, type SystemGraph, type SystemGraphOptions } from './system.js';
import { testGraph } from './tests.js';
import type { LoadedVariant, Scenario } from './variant.js';

export interface Artifact {
  /** Node whose output holds it. */
  node: string;
  /** Path inside the node's output ('' for the whole output). */
  from: string;
  /** Path under out/<variant>/. */
  to: string;
}

export interface CompileOptions {
  /** Add the boot-test nodes: true for the variant's scenarios, or a list. */
  tests?: boolean | Scenario[];
  /** Recipe trees for the upper root layer (see SystemGraphOptions.layers). */
  layers?: SystemGraphOptions['layers'];
}

export interface CompiledTarget {
  inputs: CompileInputs;
  loaded: LoadedVariant;
  nodes: NodeSpec[];
  artifacts: Artifact[];
  /** What `pipeline build` builds: everything but the boot tests (and, once locked, the resolution). */
  buildTargets: string[];
  /** The boot-test nodes (when compiled with tests). */
  testTargets: string[];
  /** The variant's package source (Alpine or RPM), when it builds a system. */
  packages?: PackageSource;
  system?: SystemGraph;
}

/** Compiles, or throws one ConfigError listing every problem found (exit code 2). */
export async function compileTarget(inputs: CompileInputs, options: CompileOptions = {}): Promise<CompiledTarget> {
  const problems = new Problems();
  const compiled = await compile(inputs, options, problems);
  if (problems.count > 0) throw new ConfigError(problems.messages.join('\n'));
  return compiled;
}

async function compile(inputs: CompileInputs, options: CompileOptions, problems: Problems): Promise<CompiledTarget> {
  const { loaded } = inputs;
  const { variant } = loaded;
  checkMirrorFlags(inputs, problems);
  const nodes: NodeSpec[] = [];
  const artifacts: Artifact[] = [];
  let packages: PackageSource | undefined;
  let system: SystemGraph | undefined;
  let tests: NodeSpec[] = [];

  if (variant.packages && checkSystemVariant(loaded, problems)) {
    packages = variant.rpm ? rpmSource(inputs, problems) : alpineSource(inputs, problems);
    system = systemGraph(inputs, packages, problems, { layers: options.layers });
    nodes.push(...packages.nodes, ...system.nodes);
    artifacts.push(...system.artifacts);
    if (options.tests) tests = testGraph(inputs, system, problems, options.tests === true ? undefined : options.tests);
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

  // With a lock, the indexes and the resolver are not part of a build: a locked build downloads
  // no index. (They stay in the graph, for `graph`, `explain` and `lock`.)
  const resolution = new Set(packages?.lock ? packages.resolutionIds : []);
  return {
    inputs,
    loaded,
    nodes: [...nodes, ...tests],
    artifacts,
    buildTargets: nodes.map((n) => n.id).filter((id) => !resolution.has(id)),
    testTargets: tests.map((n) => n.id),
    packages,
    system,
  };
}

/** A --mirror for a mirror the variant does not use is a typo, not something to ignore. */
function checkMirrorFlags(inputs: CompileInputs, problems: Problems): void {
  const { variant } = inputs.loaded;
  const repositories = [...(variant.alpine?.repositories ?? []), ...(variant.rpm?.repositories ?? [])];
  const used = [...new Set([...repositories.map((r) => r.mirror), ...Object.keys(variant.mirrors ?? {})])].sort();
  for (const [name, origin] of Object.entries(inputs.config.mirrorOrigins)) {
    if (origin !== '--mirror' || used.includes(name)) continue;
    const near = closest(name, used);
    problems.add(
      `--mirror ${name}=${inputs.config.mirrors[name]}: ${variant.name} uses no mirror named '${name}' (it uses ${used.length ? used.join(', ') : 'none'})` +
        (near ? `; did you mean '${near}'?` : ''),
    );
  }
}
