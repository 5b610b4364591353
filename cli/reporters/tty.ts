// Progress on a terminal: finished builds scroll by; below them a live block shows every node
// that is running, with its elapsed time, and the done/total count. Cached nodes are counted,
// not listed (a no-op build of thousands of nodes should not scroll the screen away).
import type { BuildEvent } from '../../graph/events.js';
import { duration, remoteLine, warningLine } from './format.js';

const SPIN = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const MARK: Record<string, string> = { built: '\x1b[32m✓\x1b[0m', failed: '\x1b[31m✗\x1b[0m', skipped: '\x1b[33m-\x1b[0m' };

export class TtyReporter {
  private running = new Map<string, number>();
  private total = 0;
  private done = 0;
  private cached = 0;
  private remote = 0;
  /** A remote hit that had to be built after all reports twice: counted once. */
  private readonly seen = new Set<string>();
  private drawn = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly start = performance.now();

  constructor(private readonly stream: NodeJS.WriteStream) {}

  readonly onEvent = (e: BuildEvent): void => {
    if (e.event === 'plan') {
      // A new round (resolve and lock, then build): its count starts afresh.
      this.total = e.nodes;
      this.done = 0;
      this.cached = 0;
      this.remote = 0;
      this.seen.clear();
      this.running.clear();
      if (e.label) this.redraw([`${e.label}: ${e.nodes} node${e.nodes === 1 ? '' : 's'}`]);
      this.timer ??= setInterval(() => this.redraw([]), 120);
      this.timer.unref();
    } else if (e.event === 'start') {
      this.running.set(e.id, performance.now());
      this.redraw([]);
    } else if (e.event === 'node') {
      this.running.delete(e.id);
      if (!this.seen.has(e.id)) this.done++;
      this.seen.add(e.id);
      if (e.status === 'cached') {
        this.cached++;
        if (e.remote) this.remote++;
        this.redraw([]);
      } else {
        const extra = e.status === 'skipped' && e.error ? `  (${e.error})` : '';
        this.redraw([`${MARK[e.status] ?? ' '} ${e.status.padEnd(7)} ${e.id}  ${e.status === 'skipped' ? '' : duration(e.ms)}${extra}`]);
      }
    } else if (e.event === 'warning') {
      this.redraw([`\x1b[33m${warningLine(e)}\x1b[0m`]);
    } else if (e.event === 'remote' && (e.hits || e.misses || e.uploaded || e.rejected || e.unavailable)) {
      this.redraw([remoteLine(e)]);
    }
  };

  private redraw(permanent: string[]): void {
    const out: string[] = [];
    if (this.drawn > 0) out.push(`\x1b[${this.drawn}A\x1b[J`);
    for (const line of permanent) out.push(line + '\n');
    const cols = this.stream.columns || 100;
    const now = performance.now();
    const live = [
      `\x1b[1m[${this.done}/${this.total}]\x1b[0m ${this.cached} cached${this.remote ? ` (${this.remote} remote)` : ''} · ${this.running.size} running · ${duration(now - this.start)}`,
      ...[...this.running.entries()]
        .slice(0, 12)
        .map(([id, t]) => `  ${SPIN[this.frame % SPIN.length]} ${id}  ${duration(now - t)}`.slice(0, cols - 1)),
    ];
    if (this.running.size > 12) live.push(`  … and ${this.running.size - 12} more`);
    out.push(live.join('\n') + '\n');
    this.drawn = live.length;
    this.frame++;
    this.stream.write(out.join(''));
  }

  /** Removes the live block (call when the build is over). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.drawn > 0) this.stream.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }
}
