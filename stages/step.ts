// A custom step: a command with declared inputs, cached like every other node. Its output
// directory is $OUT; each dependency's output is $DEP_<NAME> (name upper-cased, non-alphanumerics
// as _). It runs in the project root so that its declared inputs resolve as written.
import type { NodeSpec } from '../graph/node.js';
import type { StageKind } from './kind.js';

export interface StepInput {
  variant: string;
  name: string;
  run: string[];
  inputs?: string[];
  /** Dependency local name -> node id. */
  deps?: Record<string, string>;
  env?: Record<string, string>;
  weight?: number;
}

export function stepId(variant: string, name: string): string {
  return `step:${variant}:${name}`;
}

export function envNameFor(dep: string): string {
  return 'DEP_' + dep.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/** A custom step: a command of the variant's, with declared inputs. */
export const STEP_STAGE: StageKind = { kind: 'step', version: 1, summary: 'custom steps', tools: [], userTools: true };

export function stepNode(step: StepInput): NodeSpec {
  const [tool, ...args] = step.run;
  return {
    id: stepId(step.variant, step.name),
    kind: STEP_STAGE.kind,
    version: STEP_STAGE.version,
    deps: step.deps ?? {},
    files: step.inputs ?? [],
    params: { run: step.run, env: step.env ?? {} },
    tools: [tool],
    env: step.env ?? {},
    weight: step.weight,
    description: step.run.join(' '),
    async run(ctx) {
      const depEnv: Record<string, string> = {};
      for (const name of Object.keys(step.deps ?? {})) depEnv[envNameFor(name)] = ctx.dep(name);
      await ctx.exec(tool, args, { cwd: ctx.root, env: { OUT: ctx.out, ...depEnv } });
    },
  };
}
