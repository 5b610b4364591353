// Variant -> graph: the nodes a target builds and the artifacts the user gets in out/<name>/.
import type { NodeSpec } from '../graph/node.js';
import { stepId, stepNode } from '../stages/step.js';
import { loadVariant, type LoadedVariant } from './variant.js';

export interface Artifact {
  /** Node whose output holds it. */
  node: string;
  /** Path inside the node's output ('' for the whole output). */
  from: string;
  /** Path under out/<variant>/. */
  to: string;
}

export interface CompiledTarget {
  loaded: LoadedVariant;
  nodes: NodeSpec[];
  artifacts: Artifact[];
}

export async function compileTarget(target: string, cwd = process.cwd()): Promise<CompiledTarget> {
  const loaded = await loadVariant(target, cwd);
  const { variant } = loaded;
  const nodes: NodeSpec[] = [];
  const artifacts: Artifact[] = [];
  const steps = variant.steps ?? {};
  for (const [name, step] of Object.entries(steps)) {
    const deps: Record<string, string> = {};
    // `after` names another step of this variant, or any node id.
    for (const after of step.after ?? []) deps[after] = after in steps ? stepId(variant.name, after) : after;
    const node = stepNode({ variant: variant.name, name, run: step.run, inputs: step.inputs, deps, env: step.env, weight: step.weight });
    nodes.push(node);
    if (step.publish) artifacts.push({ node: node.id, from: '', to: name });
  }
  return { loaded, nodes, artifacts };
}
