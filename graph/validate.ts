// Checks a graph before anything runs: unique ids, dependencies that exist, no cycles.
// Returns the nodes in a dependency-first order.
import { closest } from '../util/did-you-mean.js';
import { ConfigError } from './errors.js';
import type { NodeSpec } from './node.js';

export interface Graph {
  nodes: Map<string, NodeSpec>;
  /** Dependency-first order. */
  order: NodeSpec[];
  /** Node id -> ids of the nodes that depend on it. */
  dependents: Map<string, string[]>;
}

export function validateGraph(specs: NodeSpec[]): Graph {
  const nodes = new Map<string, NodeSpec>();
  for (const spec of specs) {
    if (!spec.id || typeof spec.id !== 'string') throw new ConfigError(`a node of kind '${spec.kind}' has no id`);
    if (nodes.has(spec.id)) throw new ConfigError(`two nodes have the id '${spec.id}'`);
    if (!Number.isInteger(spec.version) || spec.version < 0) {
      throw new ConfigError(`node ${spec.id}: kind version must be a whole number, got ${spec.version}`);
    }
    if (spec.weight !== undefined && !(spec.weight >= 1)) {
      throw new ConfigError(`node ${spec.id}: weight must be at least 1, got ${spec.weight}`);
    }
    nodes.set(spec.id, spec);
  }
  const dependents = new Map<string, string[]>();
  for (const spec of specs) {
    for (const [name, depId] of Object.entries(spec.deps ?? {})) {
      if (!nodes.has(depId)) {
        const near = closest(depId, [...nodes.keys()]);
        throw new ConfigError(
          `node ${spec.id} depends on '${depId}' (as '${name}'), which is not in the graph${near ? `; did you mean '${near}'?` : ''}`,
        );
      }
      let list = dependents.get(depId);
      if (!list) dependents.set(depId, (list = []));
      list.push(spec.id);
    }
  }
  return { nodes, order: topologicalOrder(specs, nodes), dependents };
}

function topologicalOrder(specs: NodeSpec[], nodes: Map<string, NodeSpec>): NodeSpec[] {
  const state = new Map<string, 'visiting' | 'done'>();
  const order: NodeSpec[] = [];
  const stack: string[] = [];
  // Iterative DFS, so a long chain cannot overflow the call stack.
  for (const root of specs) {
    if (state.get(root.id) === 'done') continue;
    const work: { id: string; deps: string[]; next: number }[] = [];
    const enter = (id: string) => {
      state.set(id, 'visiting');
      stack.push(id);
      work.push({ id, deps: Object.values(nodes.get(id)!.deps ?? {}), next: 0 });
    };
    enter(root.id);
    while (work.length > 0) {
      const top = work[work.length - 1];
      if (top.next < top.deps.length) {
        const dep = top.deps[top.next++];
        const s = state.get(dep);
        if (s === 'visiting') {
          const cycle = [...stack.slice(stack.indexOf(dep)), dep];
          throw new ConfigError(`dependency cycle: ${cycle.join(' -> ')}`);
        }
        if (s !== 'done') enter(dep);
      } else {
        work.pop();
        stack.pop();
        state.set(top.id, 'done');
        order.push(nodes.get(top.id)!);
      }
    }
  }
  return order;
}

/** The ids `roots` need, themselves included. */
export function closure(graph: Graph, roots: string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...roots];
  while (todo.length > 0) {
    const id = todo.pop()!;
    if (seen.has(id)) continue;
    const spec = graph.nodes.get(id);
    if (!spec) throw new ConfigError(`no node '${id}' in the graph`);
    seen.add(id);
    todo.push(...Object.values(spec.deps ?? {}));
  }
  return seen;
}
