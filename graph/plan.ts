// The plan: what a build would do, without doing it. For each node: cached (its key is in the
// store), stale (it was built before but its inputs changed, or a dependency will rebuild first),
// or never built. `pipeline graph` shows it; `pipeline explain` starts from it.
import type { KeyMaterial } from './key.js';
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
    if (pendingDeps.length > 0) {
      const material = await session.material(node, depOutputs);
      planned.set(node.id, { node, status: history ? 'stale' : 'never-built', material, history, pendingDeps });
      continue;
    }
    const { key, material } = await session.key(node, depOutputs);
    const hit = await session.store.lookup(key, { peek: true });
    const status: PlanStatus = hit ? 'cached' : history ? 'stale' : 'never-built';
    planned.set(node.id, { node, status, key, material, output: hit?.output, history, pendingDeps });
  }
  return planned;
}
