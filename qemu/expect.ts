// An expect engine over a serial console stream: wait for patterns within budgets of progress
// (QEMU CPU time, silence, a wall ceiling: see wait-budget.ts), fail fast on fatal patterns, time
// markers since QEMU start, send lines. Works on any readable/writable pair (QEMU's stdio, a
// socket, a plain process), so it is testable without QEMU.
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { BootTestError, FAILURE_TAIL_LINES, type FailureContext } from './boot-error.js';
import { ConsoleProgress } from './console-progress.js';
import { WallClockMeter, type MeterSample, type ProgressMeter } from './process-meter.js';
import { SerialTextNormalizer } from './serial-text.js';
import { describeExceeded, exceededLimit, scaledBudget, waitUsage, type Budget } from './wait-budget.js';

export type Pattern = string | RegExp;

export interface FatalPattern {
  pattern: Pattern;
  /** What it means, for the failure message. */
  reason: string;
}

/** Seen on a serial console, each of these means the boot has failed: stop waiting. */
export const DEFAULT_FATAL_PATTERNS: readonly FatalPattern[] = [
  { pattern: 'Kernel panic', reason: 'the kernel panicked' },
  { pattern: 'initramfs: fatal:', reason: 'the initramfs gave up' },
  { pattern: 'Give root password for maintenance', reason: 'the system dropped to an emergency shell' },
  { pattern: 'emergency mode', reason: 'the system dropped to emergency mode' },
  { pattern: 'Access Denied', reason: 'the firmware refused to load an image (signature check failed?)' },
  // The ready probe was taken as a user name: the console has a login prompt, not a root shell.
  { pattern: 'Login incorrect', reason: 'the console asks for a login: no root autologin on the serial console?' },
];

export interface SerialConsoleOptions {
  input: Readable;
  /** Where typed text goes (the guest's serial input). */
  output?: Writable;
  context: FailureContext;
  /** The full serial log (normalized text) is written here; defaults to context.logPath. */
  logPath?: string;
  fatalPatterns?: readonly FatalPattern[];
  /** performance.now() when the process started; markers count from here. */
  startedAt?: number;
  /** Why the stream ended (e.g. "QEMU exited with code 1"), for messages. */
  describeEnd?: () => string | Promise<string>;
  /** Each complete line of serial output, as it arrives (a node streams these to its log). */
  onLine?: (line: string) => void;
  /** After a fatal pattern, keep collecting output this long so the error shows what followed. */
  fatalSettleMs?: number;
  /** Measures the process behind the stream (QemuInstance's pid); default: wall time only. */
  meter?: ProgressMeter;
  /** Every budget is multiplied by this (PIPELINE_BOOT_TIME_SCALE); default 1. */
  timeScale?: number;
  /** How often budgets are checked. */
  pollMs?: number;
}

export interface Marker {
  name: string;
  /** Seconds since the process started. */
  seconds: number;
  /** CPU seconds the process had used by then (wall seconds when the meter measures no CPU). */
  cpuSeconds: number;
}

export interface LongestSilence {
  wallSeconds: number;
  cpuSeconds: number;
  /** Seconds since the process started at which it ended. */
  endedAt: number;
  /** The line whose output ended it. */
  endedBy: string;
}

export interface ExpectMatch {
  text: string;
  /** Capture groups of a RegExp pattern. */
  groups: (string | undefined)[];
  seconds: number;
  cpuSeconds: number;
}

export interface ExpectOptions {
  budget: Budget;
  /** Record a marker under this name when the pattern is seen. */
  marker?: string;
  /** Names the awaited thing in messages (default: the pattern). */
  what?: string;
}

interface PendingWait {
  what: string;
  /** Called with the new text; returns true when the wait is over. */
  onText(): boolean;
  onEnd(endDescription: string): void;
  fail(error: BootTestError): void;
}

/** Budgets are checked this often: a CPU tick is 10 ms, a probe is typed every second. */
const DEFAULT_POLL_MS = 250;

export class SerialConsole {
  private readonly normalizer = new SerialTextNormalizer();
  private readonly fatalPatterns: readonly FatalPattern[];
  private readonly startedAt: number;
  private readonly meter: ProgressMeter;
  private readonly progress: ConsoleProgress;
  private readonly log?: WriteStream;
  private readonly logPath?: string;
  private text = '';
  /** Matches are looked for after this index: each matched text is consumed. */
  private cursor = 0;
  private fatalScanFrom = 0;
  private partialLine = '';
  private fatal?: { reason: string; index: number; settled: Promise<void> };
  private endDescription?: string;
  private ended = false;
  private waiter?: PendingWait;
  readonly markers: Marker[] = [];

  constructor(private readonly options: SerialConsoleOptions) {
    this.fatalPatterns = options.fatalPatterns ?? DEFAULT_FATAL_PATTERNS;
    this.startedAt = options.startedAt ?? performance.now();
    this.meter = options.meter ?? new WallClockMeter('the process', this.startedAt);
    this.progress = new ConsoleProgress(this.meter.sample());
    this.logPath = options.logPath ?? options.context.logPath;
    if (this.logPath) this.log = createWriteStream(this.logPath);
    options.input.on('data', (chunk: Buffer | string) => this.onData(this.normalizer.push(chunk)));
    options.input.once('end', () => void this.onEnd());
    options.input.once('close', () => void this.onEnd());
    options.input.on('error', () => void this.onEnd());
    // Writing to a process that died raises EPIPE on the stream: the end handler reports it.
    options.output?.on('error', () => undefined);
  }

  /** Seconds since the process started. */
  elapsed(): number {
    return Math.round((performance.now() - this.startedAt) / 10) / 100;
  }

  /** What the meter says now (CPU seconds of QEMU since its start, ...). */
  usage(): MeterSample {
    return this.meter.sample();
  }

  /** The longest the console stayed silent between two outputs of the guest's own, so far. */
  get longestSilence(): LongestSilence | undefined {
    const silence = this.progress.longestSilence;
    if (!silence) return undefined;
    return {
      wallSeconds: silence.wallSeconds,
      cpuSeconds: silence.cpuSeconds,
      endedAt: silence.endedAt,
      endedBy: lineAround(this.text, silence.endedAtIndex).slice(0, 120),
    };
  }

  /** All serial output so far, normalized. */
  get output(): string {
    return this.text;
  }

  lastLines(count = FAILURE_TAIL_LINES): string[] {
    const lines = this.text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-count);
  }

  /** Builds the failure error for this run (also for failures found by callers). */
  failure(reason: string): BootTestError {
    return new BootTestError({ ...this.options.context, logPath: this.logPath, reason, lastLines: this.lastLines() });
  }

  send(text: string): void {
    const output = this.options.output;
    if (!output || output.destroyed || output.writableEnded) {
      throw this.failure(`cannot type ${JSON.stringify(text)}: the serial input is closed`);
    }
    this.progress.noteTyped(text);
    output.write(text);
  }

  sendLine(line: string): void {
    this.send(line + '\n');
  }

  /** Waits until the pattern appears after the previous match; fails past its budget, on fatal output or end. */
  expect(pattern: Pattern, options: ExpectOptions): Promise<ExpectMatch> {
    const regex = toRegExp(pattern);
    const what = options.what ?? options.marker ?? describePattern(pattern);
    return this.wait<ExpectMatch>(what, options.budget, (finish) => ({
      onText: () => {
        regex.lastIndex = this.cursor;
        const found = regex.exec(this.text);
        if (!found) return false;
        this.cursor = found.index + found[0].length;
        const marker = this.mark(options.marker);
        finish({ text: found[0], groups: found.slice(1), ...marker });
        return true;
      },
      onEnd: (end) => this.failure(`${what} never appeared: ${end}`),
    }));
  }

  /** Waits until the stream ends (QEMU exits, e.g. after a reset under -no-reboot). */
  expectEnd(options: ExpectOptions): Promise<number> {
    const what = options.what ?? options.marker ?? 'the end of the serial stream';
    return this.wait<number>(what, options.budget, (finish) => ({
      onText: () => false,
      onEnd: () => {
        finish(this.mark(options.marker).seconds);
        return undefined;
      },
    }));
  }

  /**
   * Passes when the pattern does NOT appear before the window's first limit (or the stream's
   * end): e.g. { cpuSeconds: 10, wallSeconds: 15 } lets a busy guest run 10 CPU-s and an idle
   * one sit 15 s.
   */
  expectAbsent(pattern: Pattern, options: { window: Budget; what?: string }): Promise<void> {
    const regex = toRegExp(pattern);
    const what = options.what ?? describePattern(pattern);
    return this.wait<void>(what, options.window, (finish, fail) => ({
      onText: () => {
        regex.lastIndex = this.cursor;
        const found = regex.exec(this.text);
        if (!found) return false;
        fail(this.failure(`${what} appeared (${JSON.stringify(lineAround(this.text, found.index))}) but must not`));
        return true;
      },
      onEnd: () => {
        finish();
        return undefined;
      },
    }), () => undefined);
  }

  /** Stops writing the log (call once the process is gone); resolves when the log is on disk. */
  async close(): Promise<void> {
    const rest = this.normalizer.end();
    if (rest) this.append(rest);
    if (this.partialLine) this.options.onLine?.(this.partialLine);
    this.partialLine = '';
    if (this.log && !this.log.closed) {
      this.log.end();
      await once(this.log, 'close');
    }
  }

  private mark(name: string | undefined): { seconds: number; cpuSeconds: number } {
    const seconds = this.elapsed();
    const cpuSeconds = Math.round(this.meter.sample().cpuSeconds * 100) / 100;
    if (name) this.markers.push({ name, seconds, cpuSeconds });
    return { seconds, cpuSeconds };
  }

  /**
   * Runs one wait. `build` gets `finish` (success) and `fail`; its onEnd returns an error to fail
   * with, or undefined when it finished itself. `onExceeded` turns passing the budget into a
   * success (an absence window).
   */
  private wait<T>(
    what: string,
    budget: Budget,
    build: (finish: (value: T) => void, fail: (error: BootTestError) => void) => {
      onText(): boolean;
      onEnd(end: string): BootTestError | undefined;
    },
    onExceeded?: () => T,
  ): Promise<T> {
    if (this.waiter) {
      return Promise.reject(new Error(`serial console: already waiting for ${this.waiter.what}; waits are sequential`));
    }
    let limits: Required<Budget>;
    try {
      limits = scaledBudget(budget, this.options.timeScale ?? 1, what);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const settle = (action: () => void) => {
        if (done) return;
        done = true;
        clearInterval(timer);
        this.waiter = undefined;
        action();
      };
      const finish = (value: T) => settle(() => resolve(value));
      const fail = (error: BootTestError) => settle(() => reject(error));
      const handlers = build(finish, fail);
      const began = this.meter.sample();
      // Polled, not a timer: the limits are in CPU and silence, which no timer can count.
      const timer = setInterval(() => {
        const usage = waitUsage(began, this.progress.last, this.meter.sample());
        const exceeded = exceededLimit(limits, usage);
        if (!exceeded) return;
        if (onExceeded) finish(onExceeded());
        else fail(this.failure(describeExceeded(what, exceeded, limits, usage, this.meter)));
      }, this.options.pollMs ?? DEFAULT_POLL_MS);
      this.waiter = {
        what,
        onText: () => handlers.onText(),
        onEnd: (end) => {
          const error = handlers.onEnd(end);
          if (error) fail(error);
        },
        fail,
      };
      // Text that arrived before this wait started counts; so do an earlier fatal and end.
      if (this.fatal) void this.fatal.settled.then(() => fail(this.fatalError()));
      else if (!handlers.onText() && this.ended) void this.describedEnd().then((end) => this.waiter?.onEnd(end));
    });
  }

  private onData(fresh: string): void {
    if (!fresh) return;
    this.progress.noteOutput(fresh, this.text.length, this.meter.sample());
    this.append(fresh);
    if (this.fatal) return;
    const fatal = this.scanFatal();
    // A wait satisfied by text before the fatal line still succeeds.
    if (this.waiter) {
      if (fatal) this.waiterMatchesBefore(fatal.index);
      else this.waiter.onText();
    }
    if (fatal) this.recordFatal(fatal.reason, fatal.index);
  }

  private waiterMatchesBefore(index: number): void {
    const full = this.text;
    this.text = full.slice(0, index);
    try {
      this.waiter!.onText();
    } finally {
      this.text = full;
    }
  }

  private append(fresh: string): void {
    this.text += fresh;
    this.log?.write(fresh);
    if (this.options.onLine) {
      const lines = (this.partialLine + fresh).split('\n');
      this.partialLine = lines.pop()!;
      for (const line of lines) this.options.onLine(line);
    }
  }

  private scanFatal(): { reason: string; index: number } | undefined {
    let first: { reason: string; index: number } | undefined;
    for (const { pattern, reason } of this.fatalPatterns) {
      const regex = toRegExp(pattern);
      regex.lastIndex = this.fatalScanFrom;
      const found = regex.exec(this.text);
      if (found && (!first || found.index < first.index)) first = { reason, index: found.index };
    }
    // Patterns do not span lines: rescan only from the start of the last (incomplete) line.
    this.fatalScanFrom = this.text.lastIndexOf('\n') + 1;
    return first;
  }

  private recordFatal(reason: string, index: number): void {
    const settleMs = this.options.fatalSettleMs ?? 1000;
    const settled = new Promise<void>((resolve) => setTimeout(resolve, settleMs));
    this.fatal = { reason, index, settled };
    void settled.then(() => this.waiter?.fail(this.fatalError()));
  }

  private fatalError(): BootTestError {
    // Read the line now, after the settle time: the chunk that matched may have cut it short.
    const fatal = this.fatal!;
    return this.failure(`${fatal.reason}: ${JSON.stringify(lineAround(this.text, fatal.index))}`);
  }

  private async onEnd(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const rest = this.normalizer.end();
    if (rest) this.onData(rest);
    if (this.fatal) return;
    const end = await this.describedEnd();
    this.waiter?.onEnd(end);
  }

  private async describedEnd(): Promise<string> {
    this.endDescription ??= this.options.describeEnd ? await this.options.describeEnd() : 'the serial stream ended';
    return this.endDescription;
  }
}

function toRegExp(pattern: Pattern): RegExp {
  if (typeof pattern === 'string') return new RegExp(escapeRegExp(pattern), 'g');
  const flags = pattern.flags.replace(/[gy]/g, '') + 'g';
  return new RegExp(pattern.source, flags);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function describePattern(pattern: Pattern): string {
  return typeof pattern === 'string' ? JSON.stringify(pattern) : pattern.toString();
}

function lineAround(text: string, index: number): string {
  const start = text.lastIndexOf('\n', index - 1) + 1;
  const end = text.indexOf('\n', index);
  return text.slice(start, end < 0 ? undefined : end);
}
