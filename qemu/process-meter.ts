// How far a process has run, as opposed to how long we have waited for it. Under TCG the guest
// advances only while QEMU has a CPU, so QEMU's own CPU time measures the guest's progress the
// same on a loaded machine as on an idle one; wall time does not (a loaded runner took 2-4x as
// long). Run-queue waits (schedstat) say how much of the wall time QEMU wanted a CPU and had none.
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface MeterSample {
  /** Seconds since the meter started. */
  wallSeconds: number;
  /** CPU seconds the process used since it started: all threads, user + system. */
  cpuSeconds: number;
  /**
   * Seconds the process was runnable but waited for a CPU (its most delayed thread), since it
   * started; 0 where the kernel does not say.
   */
  starvedSeconds: number;
}

export interface ProgressMeter {
  /** Who is measured, for messages ("QEMU", "the process"). */
  readonly subject: string;
  /** False when cpuSeconds is wall time standing in for CPU time (nothing to measure). */
  readonly measuresCpu: boolean;
  sample(): MeterSample;
}

/** USER_HZ: /proc reports CPU time in these ticks, fixed at 100 on Linux (getconf CLK_TCK). */
const TICKS_PER_SECOND = 100;

/**
 * Reads /proc/<pid>/stat (utime + stime of the whole thread group) and
 * /proc/<pid>/task/<tid>/schedstat (run_delay per thread). Synchronous on purpose: these are
 * kernel-generated files, read in microseconds. After the process is gone the last values stay.
 */
export class ProcessMeter implements ProgressMeter {
  readonly measuresCpu = true;
  private last: MeterSample = { wallSeconds: 0, cpuSeconds: 0, starvedSeconds: 0 };

  constructor(
    private readonly pid: number,
    readonly subject: string,
    /** performance.now() when the process started. */
    private readonly startedAt = performance.now(),
  ) {}

  sample(): MeterSample {
    const wallSeconds = (performance.now() - this.startedAt) / 1000;
    const cpuSeconds = readCpuSeconds(this.pid) ?? this.last.cpuSeconds;
    // A thread that ended takes its waits with it: never let the figure go back.
    const starvedSeconds = Math.max(this.last.starvedSeconds, readStarvedSeconds(this.pid) ?? 0);
    this.last = { wallSeconds, cpuSeconds, starvedSeconds };
    return this.last;
  }
}

/** For a stream with no process to measure: every wall second counts as a busy second. */
export class WallClockMeter implements ProgressMeter {
  readonly measuresCpu = false;
  constructor(
    readonly subject = 'the process',
    private readonly startedAt = performance.now(),
  ) {}

  sample(): MeterSample {
    const wallSeconds = (performance.now() - this.startedAt) / 1000;
    return { wallSeconds, cpuSeconds: wallSeconds, starvedSeconds: 0 };
  }
}

/** utime + stime of the whole process, or undefined once it is gone. */
export function readCpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 (comm) is in parentheses and may hold spaces: count fields after the last ')'.
  // There, index 0 is field 3 (state); utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** The longest run-queue wait of any of the process's threads, or undefined if unknown. */
export function readStarvedSeconds(pid: number): number | undefined {
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  let longest: number | undefined;
  for (const tid of threads) {
    try {
      // "<ns on a CPU> <ns waiting on a run queue> <timeslices>"
      const waited = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
      if (Number.isFinite(waited)) longest = Math.max(longest ?? 0, waited);
    } catch {
      // The thread ended between the listing and the read, or schedstat is not built in.
    }
  }
  return longest;
}
