// Minimality, early cutoff and kind versions, on graphs of real shell processes.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { build } from '../../graph/build.js';
import type { NodeSpec } from '../../graph/node.js';
import { Session } from '../../graph/session.js';
import { shNode, tempProject } from './helpers.js';

/** 24 nodes in four layers: 4 leaves read one file each; every later node combines two earlier ones. */
function layeredGraph(): NodeSpec[] {
  const nodes: NodeSpec[] = [];
  for (let i = 0; i < 4; i++) nodes.push(shNode(`leaf${i}`, `cat inputs/f${i}.txt > "$OUT/v"`, { files: [`inputs/f${i}.txt`] }));
  const layers = [
    ['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'],
    ['b0', 'b1', 'b2', 'b3', 'b4', 'b5'],
    ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'],
  ];
  let previous = nodes.map((n) => n.id);
  for (const layer of layers) {
    layer.forEach((id, i) => {
      const x = previous[i % previous.length];
      const y = previous[(i * 3 + 1) % previous.length];
      nodes.push(shNode(id, `cat "$D_x/v" "$D_y/v" > "$OUT/v"; echo ${id} >> "$OUT/v"`, { deps: { x, y } }));
    });
    previous = layer;
  }
  return nodes;
}

function dependentsOf(nodes: NodeSpec[], start: string): Set<string> {
  const reached = new Set([start]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const n of nodes) {
      if (!reached.has(n.id) && Object.values(n.deps ?? {}).some((d) => reached.has(d))) {
        reached.add(n.id);
        grew = true;
      }
    }
  }
  return reached;
}

async function project() {
  const files: Record<string, string> = {};
  for (let i = 0; i < 4; i++) files[`inputs/f${i}.txt`] = `input ${i}\n`;
  return tempProject(files);
}

function statusMap(result: Awaited<ReturnType<typeof build>>): Record<string, string> {
  return Object.fromEntries([...result.outcomes.values()].map((o) => [o.id, o.status]));
}

describe('rebuild minimality', () => {
  it('reruns exactly the nodes that depend on a changed file, and no others', async () => {
    const root = await project();
    const nodes = layeredGraph();
    expect(nodes.length).toBeGreaterThanOrEqual(20);
    const session = await Session.open({ root });
    const first = await build(session, nodes);
    expect(first.ok).toBe(true);
    expect(Object.values(statusMap(first)).every((s) => s === 'built')).toBe(true);

    await writeFile(join(root, 'inputs/f2.txt'), 'input 2, edited\n');
    const second = await build(session, nodes);
    const expected = dependentsOf(nodes, 'leaf2');
    expect(expected.size).toBeGreaterThan(1);
    expect(expected.size).toBeLessThan(nodes.length);
    for (const [id, status] of Object.entries(statusMap(second))) {
      expect([id, status]).toEqual([id, expected.has(id) ? 'built' : 'cached']);
    }

    const third = await build(session, nodes);
    expect(Object.values(statusMap(third)).every((s) => s === 'cached')).toBe(true);
  });

  it('stops at a node whose output bytes did not change (early cutoff)', async () => {
    const root = await tempProject({ 'data.txt': 'alpha\nbeta\n' });
    // `count` depends on the file but writes only its line count; editing a line keeps the count.
    const nodes = [
      shNode('count', 'wc -l < data.txt > "$OUT/n"', { files: ['data.txt'], tools: ['sh', 'wc'] }),
      shNode('double', 'echo $(( $(cat "$D_c/n") * 2 )) > "$OUT/n"', { deps: { c: 'count' } }),
      shNode('report', 'echo "lines: $(cat "$D_d/n")" > "$OUT/r"', { deps: { d: 'double' } }),
    ];
    const session = await Session.open({ root });
    expect((await build(session, nodes)).ok).toBe(true);
    await writeFile(join(root, 'data.txt'), 'alpha\ngamma\n');
    const after = await build(session, nodes);
    expect(statusMap(after)).toEqual({ count: 'built', double: 'cached', report: 'cached' });
    expect(await readFile(join(after.outcomes.get('report')!.path!, 'r'), 'utf8')).toBe('lines: 4\n');
  });

  it('a kind-version bump invalidates only the nodes of that kind', async () => {
    const root = await project();
    const withKinds = (bump: number) =>
      layeredGraph().map((n) => ({ ...n, kind: n.id.startsWith('b') ? 'merge' : 'sh', version: n.id.startsWith('b') ? 1 + bump : 1 }));
    const session = await Session.open({ root });
    expect((await build(session, withKinds(0))).ok).toBe(true);
    const after = await build(session, withKinds(1));
    for (const [id, status] of Object.entries(statusMap(after))) {
      // The b-layer reruns; its outputs are byte-identical, so the c-layer stays cached.
      expect([id, status]).toEqual([id, id.startsWith('b') ? 'built' : 'cached']);
    }
  });
});
