// The closing lines of a build: one per variant (`demo built in 17.1 s: 40 built, 3 cached, ...`)
// and, for several variants, the total; and the `summary` events --json ends with.
import type { NodeOutcome } from '../../graph/build.js';
import type { SummaryEvent } from '../../graph/events.js';
import { duration } from './format.js';

export interface Counts {
  built: number;
  cached: number;
  failed: number;
  skipped: number;
}

/** How a variant's run ended. `not built`: the build did not get to it (another variant's lock failed). */
export type Verdict = 'built' | 'locked' | 'FAILED' | 'interrupted' | 'not built';

/**
 * A `summary` event: one per variant (`variant` set), and after several variants one for the
 * whole build (`variants` set; its artifacts keyed `<variant>/<name>`, as under out/).
 */
export type VariantSummaryEvent = SummaryEvent & { variant?: string; variants?: string[] };

export function countOutcomes(outcomes: Iterable<NodeOutcome>): Counts {
  const counts: Counts = { built: 0, cached: 0, failed: 0, skipped: 0 };
  for (const o of outcomes) counts[o.status]++;
  return counts;
}

function countsText(c: Counts): string {
  return `${c.built} built, ${c.cached} cached, ${c.failed} failed, ${c.skipped} skipped`;
}

/** `demo built in 17.1 s: 40 built, 3 cached, 0 failed, 0 skipped` */
export function variantLine(name: string, verdict: Verdict, ms: number, counts: Counts): string {
  return `${name} ${verdict} in ${duration(ms)}: ${countsText(counts)}`;
}

/** `all 3 variants built in 41.0 s: ...` or `2 of 3 variants built in 41.0 s: ...` (every node once). */
export function totalLine(variants: number, ok: number, ms: number, counts: Counts): string {
  return `${ok === variants ? `all ${variants}` : `${ok} of ${variants}`} variants built in ${duration(ms)}: ${countsText(counts)}`;
}
