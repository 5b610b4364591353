// Which serial output is progress: what the guest printed itself. The echo of what we typed is
// not (a hung guest's tty driver still echoes each ready probe, every second), nor is whitespace.
// Also keeps the longest silence of the run, so budgets can be sized from real boots.
import type { MeterSample } from './process-meter.js';

export interface Silence {
  wallSeconds: number;
  cpuSeconds: number;
  /** Seconds since QEMU started at which the silence ended. */
  endedAt: number;
  /** Where in the console text the output that ended it begins. */
  endedAtIndex: number;
}

/** How much recently typed text an echo is compared with. */
const TYPED_WINDOW = 4096;

export class ConsoleProgress {
  private typed = '';
  private lastProgress: MeterSample;
  private longest?: Silence;

  constructor(start: MeterSample) {
    this.lastProgress = start;
  }

  /** When the guest last printed something of its own (QEMU's start until then). */
  get last(): MeterSample {
    return this.lastProgress;
  }

  get longestSilence(): Silence | undefined {
    return this.longest;
  }

  /** Text typed to the guest, as it would come back normalized (no CR). */
  noteTyped(text: string): void {
    this.typed = (this.typed + text.replace(/\r/g, '')).slice(-TYPED_WINDOW);
  }

  /** Fresh normalized output, found at `index` of the console text; records and returns whether it is progress. */
  noteOutput(fresh: string, index: number, now: MeterSample): boolean {
    const text = fresh.trim();
    if (!text || this.typed.includes(text)) return false;
    const silence: Silence = {
      wallSeconds: round(now.wallSeconds - this.lastProgress.wallSeconds),
      cpuSeconds: round(now.cpuSeconds - this.lastProgress.cpuSeconds),
      endedAt: round(now.wallSeconds),
      endedAtIndex: index + fresh.indexOf(text),
    };
    if (!this.longest || silence.cpuSeconds > this.longest.cpuSeconds) this.longest = silence;
    this.lastProgress = now;
    return true;
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
