// `pipeline graph`: the plan drawn as text, Graphviz DOT, JSON or Mermaid, each node marked
// cached, stale or never built.
import type { PlannedNode, PlanStatus } from './plan.js';

export type GraphFormat = 'text' | 'dot' | 'json' | 'mermaid';
export const GRAPH_FORMATS: GraphFormat[] = ['text', 'dot', 'json', 'mermaid'];

const MARK: Record<PlanStatus, string> = { cached: '✓ cached', stale: '~ stale', 'never-built': '+ never built' };
const COLOR: Record<PlanStatus, string> = { cached: '#b7e1a1', stale: '#f7d488', 'never-built': '#d9d9d9' };

export function renderPlan(plan: Map<string, PlannedNode>, format: GraphFormat): string {
  const nodes = [...plan.values()];
  switch (format) {
    case 'json':
      return JSON.stringify(
        {
          nodes: nodes.map((p) => ({
            id: p.node.id,
            kind: p.node.kind,
            version: p.node.version,
            status: p.status,
            key: p.key ?? null,
            output: p.output ?? null,
            deps: p.node.deps ?? {},
            weight: p.node.weight ?? 1,
            description: p.node.description ?? null,
            problem: p.problem ?? null,
          })),
        },
        null,
        2,
      );
    case 'dot':
      return [
        'digraph pipeline {',
        '  rankdir=LR;',
        '  node [shape=box, style="rounded,filled", fontname="monospace"];',
        ...nodes.map((p) => `  ${q(p.node.id)} [label=${q(`${p.node.id}\n${p.status}`)}, fillcolor=${q(COLOR[p.status])}];`),
        ...nodes.flatMap((p) => [...new Set(Object.values(p.node.deps ?? {}))].map((d) => `  ${q(d)} -> ${q(p.node.id)};`)),
        '}',
      ].join('\n');
    case 'mermaid': {
      const ids = new Map(nodes.map((p, i) => [p.node.id, `n${i}`]));
      return [
        'flowchart LR',
        ...nodes.map((p) => `  ${ids.get(p.node.id)}["${p.node.id.replace(/"/g, '#quot;')}<br/>${p.status}"]:::${p.status.replace('-', '')}`),
        ...nodes.flatMap((p) => [...new Set(Object.values(p.node.deps ?? {}))].map((d) => `  ${ids.get(d)} --> ${ids.get(p.node.id)}`)),
        ...(['cached', 'stale', 'never-built'] as PlanStatus[]).map((s) => `  classDef ${s.replace('-', '')} fill:${COLOR[s]}`),
      ].join('\n');
    }
    case 'text': {
      const width = Math.max(...nodes.map((p) => p.node.id.length), 4);
      const counts = { cached: 0, stale: 0, 'never-built': 0 };
      const lines = nodes.map((p) => {
        counts[p.status]++;
        const deps = [...new Set(Object.values(p.node.deps ?? {}))];
        const always = p.node.alwaysRun ? '  (runs on every build)' : '';
        const problem = p.problem ? `  (cannot build yet: ${p.problem.split('\n').join('; ')})` : '';
        return `${MARK[p.status].padEnd(14)} ${p.node.id.padEnd(width)}${deps.length ? `  <- ${deps.join(', ')}` : ''}${always}${problem}`;
      });
      lines.push('', `${nodes.length} nodes: ${counts.cached} cached, ${counts.stale} stale, ${counts['never-built']} never built`);
      return lines.join('\n');
    }
  }
}

function q(s: string): string {
  return JSON.stringify(s);
}
