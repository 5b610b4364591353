// What a wait on the serial console may cost before it fails, counted so that a slow or loaded
// machine gives the same verdict as a fast idle one:
// - cpuSeconds: QEMU CPU time for the whole wait (the guest's work, whatever the load);
// - silentCpuSeconds: QEMU CPU time while the console prints nothing (a guest busy but stuck);
// - wallSeconds: a ceiling in wall time, not counting time QEMU waited for a CPU (a guest idle
//   in HLT waiting for something that never comes uses no CPU: only wall time can end that wait).
// A guest's own timed waits (a bootloader menu, the shell probe typed every second) use almost no
// CPU, so they are neither a stall nor progress; only the wall ceiling sees them, and it is sized
// to hold them.
import type { MeterSample, ProgressMeter } from './process-meter.js';

export interface Budget {
  /** QEMU CPU seconds the whole wait may use. */
  cpuSeconds?: number;
  /** QEMU CPU seconds the console may stay silent (nothing but echoes of typed text). */
  silentCpuSeconds?: number;
  /** Wall seconds, less the time QEMU waited for a CPU. */
  wallSeconds?: number;
}

export type BudgetLimit = 'cpu' | 'silence' | 'wall';

/** Where a wait stands: what it has used since it began, and the console's current silence. */
export interface WaitUsage {
  /** Since the wait began. */
  wallSeconds: number;
  cpuSeconds: number;
  starvedSeconds: number;
  /** Since the last output that was not an echo of typed text. */
  silentWallSeconds: number;
  silentCpuSeconds: number;
  /** Seconds since QEMU started. */
  sinceStart: number;
}

export function waitUsage(began: MeterSample, lastProgress: MeterSample, now: MeterSample): WaitUsage {
  return {
    wallSeconds: now.wallSeconds - began.wallSeconds,
    cpuSeconds: now.cpuSeconds - began.cpuSeconds,
    starvedSeconds: now.starvedSeconds - began.starvedSeconds,
    silentWallSeconds: now.wallSeconds - lastProgress.wallSeconds,
    silentCpuSeconds: now.cpuSeconds - lastProgress.cpuSeconds,
    sinceStart: now.wallSeconds,
  };
}

export class BudgetError extends Error {
  override name = 'BudgetError';
}

/** Every limit times `scale` (PIPELINE_BOOT_TIME_SCALE); refuses a budget that never ends. */
export function scaledBudget(budget: Budget, scale: number, what: string): Required<Budget> {
  const limits = [budget.cpuSeconds, budget.silentCpuSeconds, budget.wallSeconds];
  if (limits.every((limit) => limit === undefined)) {
    throw new BudgetError(`the wait for ${what} has no limit: give it cpuSeconds, silentCpuSeconds or wallSeconds`);
  }
  for (const limit of limits) {
    if (limit !== undefined && !(limit > 0)) throw new BudgetError(`the wait for ${what} has a limit of ${limit}: limits are positive seconds`);
  }
  const scale_ = (limit: number | undefined) => (limit === undefined ? Infinity : limit * scale);
  return { cpuSeconds: scale_(budget.cpuSeconds), silentCpuSeconds: scale_(budget.silentCpuSeconds), wallSeconds: scale_(budget.wallSeconds) };
}

/** The first limit the wait has passed, if any. */
export function exceededLimit(budget: Required<Budget>, usage: WaitUsage): BudgetLimit | undefined {
  if (usage.silentCpuSeconds > budget.silentCpuSeconds) return 'silence';
  if (usage.cpuSeconds > budget.cpuSeconds) return 'cpu';
  if (usage.wallSeconds - usage.starvedSeconds > budget.wallSeconds) return 'wall';
  return undefined;
}

/**
 * The failure reason: which stage, which limit, how long the console had been silent, the CPU
 * QEMU used meanwhile and the wall time, e.g. "initramfs (...) stalled: the serial console has been
 * silent for 41.3 s while QEMU used 20.1 CPU-s (limit 20 CPU-s) ...".
 */
export function describeExceeded(what: string, limit: BudgetLimit, budget: Required<Budget>, usage: WaitUsage, meter: ProgressMeter): string {
  const who = meter.subject;
  let silent = `the serial console has been silent for ${seconds(usage.silentWallSeconds)}`;
  if (meter.measuresCpu) silent += ` while ${who} used ${cpu(usage.silentCpuSeconds)}`;
  const waited = usage.starvedSeconds >= 0.05 ? ` (${seconds(usage.starvedSeconds)} of it waiting for a CPU)` : '';
  const spent = meter.measuresCpu
    ? `the wait took ${seconds(usage.wallSeconds)}${waited} and ${cpu(usage.cpuSeconds)}`
    : `the wait took ${seconds(usage.wallSeconds)}`;
  const context = `${spent}, ${seconds(usage.sinceStart)} after ${who} started`;
  switch (limit) {
    case 'silence':
      return `${what} stalled: ${silent} (limit ${cpu(budget.silentCpuSeconds)}), busy but printing nothing; ${context}`;
    case 'cpu':
      return `${what} did not come within ${cpu(budget.cpuSeconds)} of ${who}'s CPU time; ${silent}; ${context}`;
    case 'wall': {
      // Little CPU through a long silence: the guest sleeps, waiting for something.
      const idle = meter.measuresCpu && usage.silentWallSeconds >= 1 && usage.silentCpuSeconds < 0.25 * usage.silentWallSeconds;
      const ceiling = `${seconds(budget.wallSeconds)} of wall time${meter.measuresCpu ? ' (not counting waits for a CPU)' : ''}`;
      return `${what} did not come within ${ceiling}; ${silent}${idle ? ', idle: waiting for something that did not come' : ''}; ${context}`;
    }
  }
}

export function seconds(value: number): string {
  return `${round(value)} s`;
}

export function cpu(value: number): string {
  return `${round(value)} CPU-s`;
}

function round(value: number): string {
  return String(Math.round(value * 10) / 10);
}
