// Progress counters: every plan starts its own count, so a run in two phases (resolve and lock,
// then build) never shows more nodes done than planned.
import { describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../graph/events.js';
import { plainReporter } from '../../cli/reporters/plain.js';
import { TtyReporter } from '../../cli/reporters/tty.js';

function phases(): BuildEvent[] {
  const node = (id: string, status: 'built' | 'cached' | 'skipped' = 'built'): BuildEvent => ({ event: 'node', id, kind: 'k', status, ms: 5, at: 0 });
  return [
    { event: 'plan', nodes: 2, jobs: 2, label: 'resolve packages' },
    node('apk-index:x'),
    node('apk-resolve:x'),
    { event: 'plan', nodes: 3, jobs: 2 },
    node('apk:a@1', 'cached'),
    node('rootfs:x'),
    node('iso:x', 'skipped'),
  ];
}

describe('progress counters', () => {
  it('plain: each plan counts from 1 to its own total', () => {
    const lines: string[] = [];
    const report = plainReporter((l) => lines.push(l));
    for (const e of phases()) report(e);
    const counts = lines.filter((l) => l.startsWith('[')).map((l) => /^\[ *(\d+)\/(\d+)\]/.exec(l)!.slice(1).map(Number));
    expect(counts).toEqual([[1, 2], [2, 2], [1, 3], [2, 3], [3, 3]]);
    expect(lines).toContain('resolve packages: 2 nodes');
  });

  it('tty: the live count restarts with each plan and never passes the total', () => {
    let text = '';
    const stream = { columns: 100, write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream;
    const tty = new TtyReporter(stream);
    for (const e of phases()) tty.onEvent(e);
    tty.stop();
    const counts = [...text.matchAll(/\[(\d+)\/(\d+)\]/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(counts.length).toBeGreaterThan(0);
    for (const [done, total] of counts) expect(done).toBeLessThanOrEqual(total);
    expect(counts.at(-1)).toEqual([3, 3]);
  });
});
