// The plan: what a build would do, without doing it. For each node: cached (its key is in the
// store), stale (it was built before but its inputs changed, or a dependency will rebuild first),
// or never built. `pipeline graph` shows it; `pipeline explain` starts from it.
import { ConfigError } from './errors.js';
import { computeKey, type KeyMaterial } from './key.js';
import type { NodeSpec } from './node.js';
import type { NodeHistory } from './records.js';
import type { Session } from './session.js';
import type { Graph } from './validate.js';

export type PlanStatus = 'cached' | 'stale' | 'never-built';

export interface PlannedNode {
  node: NodeSpec;
  status: PlanStatus;
  /** Known when every dependency's output is known (all of them cached). */
  key?: string;
  /** The current key material; `deps` holds only the dependencies whose output is known. */
  material: KeyMaterial;
  /** Output digest, for a cached node. */
  output?: string;
  history?: NodeHistory;
  /** Dependencies (by local name) that will rebuild before this node can be keyed. */
  pendingDeps: string[];
  /** Why the node cannot be built as things stand (a declared input or tool is missing). */
  problem?: string;
}

export async function planGraph(session: Session, graph: Graph, only?: Set<string>): Promise<Map<string, PlannedNode>> {
  const planned = new Map<string, PlannedNode>();
  session.refresh();
  for (const node of graph.order) {
    if (only && !only.has(node.id)) continue;
    const history = await session.records.read(node.id);
    const depOutputs: Record<string, string> = {};
    const pendingDeps: string[] = [];
    for (const [name, id] of Object.entries(node.deps ?? {})) {
      const dep = planned.get(id)!;
      if (dep.output) depOutputs[name] = dep.output;
      else pendingDeps.push(name);
    }
    let material: KeyMaterial;
    try {
      material = await session.material(node, depOutputs);
    } catch (err) {
      // Show the graph anyway: the node is marked with what is missing, its dependents wait on it.
      if (!(err instanceof ConfigError)) throw err;
      const empty: KeyMaterial = { kind: node.kind, version: node.version, deps: depOutputs, files: {}, params: node.params ?? null, tools: {}, env: {} };
      planned.set(node.id, { node, status: history ? 'stale' : 'never-built', material: empty, history, pendingDeps, problem: err.message });
      continue;
    }
    if (pendingDeps.length > 0) {
      planned.set(node.id, { node, status: history ? 'stale' : 'never-built', material, history, pendingDeps });
      continue;
    }
    const key = computeKey(material);
    const hit = await session.store.lookup(key, { peek: true });
    const status: PlanStatus = hit ? 'cached' : history ? 'stale' : 'never-built';
    planned.set(node.id, { node, status, key, material, output: hit?.output, history, pendingDeps });
  }
  return planned;
}
