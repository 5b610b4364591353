// --trace FILE: Chrome trace-event JSON (opens in Perfetto or chrome://tracing). One complete
// slice per node, on lanes so that slices on one lane never overlap, with the cache status.
import { writeFile } from 'node:fs/promises';
import type { BuildEvent, NodeEvent } from './events.js';

export class TraceRecorder {
  private nodes: NodeEvent[] = [];

  readonly onEvent = (e: BuildEvent): void => {
    if (e.event === 'node') this.nodes.push(e);
  };

  async write(path: string): Promise<void> {
    const laneEnds: number[] = [];
    const slices = [...this.nodes]
      .sort((a, b) => a.at - b.at)
      .map((e) => {
        const ts = e.at * 1000;
        const dur = Math.max(e.ms * 1000, 1);
        let lane = laneEnds.findIndex((end) => end <= ts);
        if (lane < 0) lane = laneEnds.push(0) - 1;
        laneEnds[lane] = ts + dur;
        return {
          name: e.id,
          cat: e.kind,
          ph: 'X',
          ts,
          dur,
          pid: 1,
          tid: lane + 1,
          args: {
            status: e.status,
            key: e.key,
            output: e.output,
            ...(e.builtMs !== undefined ? { builtMs: e.builtMs } : {}),
            ...(e.error ? { error: e.error } : {}),
          },
        };
      });
    const meta = [
      { name: 'process_name', ph: 'M', pid: 1, tid: 0, args: { name: 'pipeline' } },
      ...laneEnds.map((_, i) => ({ name: 'thread_name', ph: 'M', pid: 1, tid: i + 1, args: { name: `lane ${i + 1}` } })),
    ];
    await writeFile(path, JSON.stringify({ traceEvents: [...meta, ...slices], displayTimeUnit: 'ms' }));
  }
}
