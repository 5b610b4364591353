// Progress without a terminal (CI logs): one line per finished node, nothing redrawn.
import type { BuildEvent } from '../../graph/events.js';
import { duration, remoteLine, warningLine } from './format.js';

export function plainReporter(write: (line: string) => void): (e: BuildEvent) => void {
  let total = 0;
  let done = 0;
  // A remote hit that had to be built after all reports twice: count it once.
  const seen = new Set<string>();
  return (e) => {
    // Each plan is a round of its own (a command may resolve and lock, then build): count afresh.
    if (e.event === 'plan') {
      total = e.nodes;
      done = 0;
      seen.clear();
      if (e.label) write(`${e.label}: ${e.nodes} node${e.nodes === 1 ? '' : 's'}`);
    }
    if (e.event === 'warning') write(warningLine(e));
    if (e.event === 'remote' && (e.hits || e.misses || e.uploaded || e.rejected || e.unavailable)) write(remoteLine(e));
    if (e.event !== 'node') return;
    if (!seen.has(e.id)) done++;
    seen.add(e.id);
    const width = String(total).length;
    const count = `[${String(done).padStart(width)}/${total}]`;
    const time = e.status === 'cached' ? '' : ` ${duration(e.ms)}`;
    const why = e.status === 'skipped' && e.error ? ` (${e.error})` : '';
    write(`${count} ${e.status.padEnd(7)} ${e.id}${time}${why}${e.remote ? ' (from the remote cache)' : ''}`);
  };
}
