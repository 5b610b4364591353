// Which variants a command works on, and compiling them: one <target>, several, or --all (every
// variant file in variants/). Several targets are compiled one by one and merged into one graph
// (compile/merge.ts), so a node they share is one node. Commands that only look (graph, explain)
// compile with the boot tests and open the session the same way.
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { compileTarget, type CompileOptions, type CompiledTarget } from '../compile/index.js';
import { loadCompileInputs, type CompileInputs, type LockMode } from '../compile/load.js';
import { mergeVariantNodes } from '../compile/merge.js';
import { findProjectRoot } from '../compile/variant.js';
import { ConfigError } from '../graph/errors.js';
import type { Session } from '../graph/session.js';
import { validateGraph, type Graph } from '../graph/validate.js';
import { closest } from '../util/did-you-mean.js';
import type { ParsedArgs } from './command.js';
import { UsageError } from './command.js';
import { openSession } from './run.js';

/**
 * The targets a command was given: its <target> arguments, or with --all every variant in the
 * project's variants/ directory (its <name>.yaml files; not the locks, not the schema).
 */
export function targetsFrom(args: ParsedArgs, cwd = process.cwd()): string[] {
  const all = args.values.all === true;
  if (all && args.positionals.length > 0) {
    throw new UsageError(`give variant names or --all, not both (got --all and ${args.positionals.map((p) => `'${p}'`).join(', ')})`);
  }
  if (!all && args.positionals.length === 0) throw new UsageError('missing <target>: name one or more variants (or paths to variant files), or give --all for every variant in variants/');
  return all ? projectVariants(cwd) : args.positionals;
}

/** Every variant name in the project's variants/ directory, sorted. */
export function projectVariants(cwd = process.cwd()): string[] {
  const root = findProjectRoot(cwd);
  const dir = join(root, 'variants');
  const names = existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isFile() && e.name.endsWith('.yaml') && !e.name.endsWith('.lock.yaml') && !e.name.startsWith('.'))
        .map((e) => e.name.slice(0, -'.yaml'.length))
        .sort()
    : [];
  if (names.length === 0) throw new ConfigError(`--all: ${relative(cwd, dir) || '.'}/ holds no variant (<name>.yaml)`);
  return names;
}

/**
 * Reads each target's compile inputs (a variant named twice, by name and by path, counts once).
 * The targets must be one project's (one root, one cache, one out/). With several, a --mirror
 * flag must be used by one of them, and each variant sees only the flags for its own mirrors.
 */
export async function loadTargets(targets: string[], args: ParsedArgs, lock: LockMode = 'use'): Promise<CompileInputs[]> {
  const mirrorFlags = (args.values.mirror as string[] | undefined) ?? [];
  const configFile = args.values.config as string | undefined;
  const loaded: CompileInputs[] = [];
  for (const target of targets) {
    const inputs = await loadCompileInputs(target, { mirrorFlags, configFile, lock });
    const same = loaded.find((l) => l.loaded.file === inputs.loaded.file);
    if (same) continue;
    const { root, variant, file } = inputs.loaded;
    const first = loaded[0]?.loaded;
    if (first && first.root !== root) {
      throw new ConfigError(`${target} is in the project ${root}, ${first.variant.name} in ${first.root}: build the variants of one project at a time`);
    }
    const namesake = loaded.find((l) => l.loaded.variant.name === variant.name);
    if (namesake) {
      throw new ConfigError(`${relative(root, namesake.loaded.file)} and ${relative(root, file)} both name the variant '${variant.name}' (both would publish to out/${variant.name}/)`);
    }
    loaded.push(inputs);
  }
  return loaded.length > 1 ? withOwnMirrorFlags(loaded) : loaded;
}

/** The mirrors a variant uses: what compile/index.ts checks --mirror against. */
function usedMirrors(inputs: CompileInputs): Set<string> {
  const { variant } = inputs.loaded;
  const repositories = [...(variant.alpine?.repositories ?? []), ...(variant.rpm?.repositories ?? [])];
  return new Set([...repositories.map((r) => r.mirror), ...Object.keys(variant.mirrors ?? {})]);
}

/**
 * `--mirror demo=URL --mirror demo-rpm=URL` for `demo demo-rpm`: each flag is for the variants
 * that use the mirror, and a typo (a mirror none of them uses) is still an error.
 */
function withOwnMirrorFlags(all: CompileInputs[]): CompileInputs[] {
  const used = all.map(usedMirrors);
  const flagged = Object.entries(all[0].config.mirrorOrigins).filter(([, origin]) => origin === '--mirror').map(([name]) => name);
  const everyUsed = [...new Set(used.flatMap((u) => [...u]))].sort();
  const unused = flagged.filter((name) => !everyUsed.includes(name));
  if (unused.length) {
    const names = all.map((i) => i.loaded.variant.name).join(', ');
    throw new ConfigError(
      unused
        .map((name) => {
          const near = closest(name, everyUsed);
          return `--mirror ${name}=${all[0].config.mirrors[name]}: none of ${names} uses a mirror named '${name}' (they use ${everyUsed.join(', ') || 'none'})${near ? `; did you mean '${near}'?` : ''}`;
        })
        .join('\n'),
    );
  }
  return all.map((inputs, i) => {
    const mirrors = { ...inputs.config.mirrors };
    const mirrorOrigins = { ...inputs.config.mirrorOrigins };
    for (const name of flagged) {
      if (used[i].has(name) || mirrorOrigins[name] !== '--mirror') continue;
      delete mirrors[name];
      delete mirrorOrigins[name];
    }
    return { ...inputs, config: { ...inputs.config, mirrors, mirrorOrigins } };
  });
}

/** Compiles a target and checks its graph; with several targets, a problem names its variant. */
export async function compileChecked(inputs: CompileInputs, options: CompileOptions, several: boolean): Promise<{ compiled: CompiledTarget; graph: Graph }> {
  try {
    const compiled = await compileTarget(inputs, options);
    return { compiled, graph: validateGraph(compiled.nodes) };
  } catch (err) {
    if (several && err instanceof ConfigError) throw new ConfigError(`${inputs.loaded.variant.name}: ${err.message.split('\n').join(`\n${inputs.loaded.variant.name}: `)}`);
    throw err;
  }
}

/** One graph of several compiled variants, each shared node once. */
export function mergedGraph(compiled: CompiledTarget[]): Graph {
  if (compiled.length === 1) return validateGraph(compiled[0].nodes);
  return validateGraph(mergeVariantNodes(compiled.map((c) => ({ variant: c.loaded.variant.name, nodes: c.nodes }))));
}

/** `graph`: every target compiled with its boot tests, in one graph, and the project's session. */
export async function openTargets(args: ParsedArgs): Promise<{ compiled: CompiledTarget[]; graph: Graph; session: Session }> {
  const inputs = await loadTargets(targetsFrom(args), args);
  const compiled: CompiledTarget[] = [];
  // Boot tests included: nodes whose firmware or keys are missing show it as their problem.
  for (const i of inputs) compiled.push((await compileChecked(i, { tests: true }, inputs.length > 1)).compiled);
  const graph = mergedGraph(compiled);
  const session = await openSession(compiled[0].loaded.root, args, inputs[0].config);
  return { compiled, graph, session };
}

/** `explain`: the one target it names. */
export async function openTarget(args: ParsedArgs): Promise<{ compiled: CompiledTarget; graph: Graph; session: Session }> {
  const target = args.positionals[0];
  if (!target) throw new UsageError('missing <target>: a variant name or a path to a variant file');
  const [inputs] = await loadTargets([target], args);
  const { compiled, graph } = await compileChecked(inputs, { tests: true }, false);
  const session = await openSession(compiled.loaded.root, args, inputs.config);
  return { compiled, graph, session };
}
