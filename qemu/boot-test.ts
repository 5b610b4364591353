// Runs one scenario plan end to end: start QEMU, play the script, always stop QEMU, and leave
// serial.log + result.json in the output directory (on failure too, before throwing).
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Accelerator } from './accel.js';
import { BootTestError } from './boot-error.js';
import { SerialConsole, type LongestSilence, type Marker } from './expect.js';
import type { CommandResult } from './live-shell.js';
import { ProcessMeter, WallClockMeter } from './process-meter.js';
import { startQemu, type QemuInstance } from './runner.js';
import type { ScenarioPlan } from './scenarios.js';
import { runScript } from './script.js';
import { bootTimeScale } from './time-scale.js';
import { shellQuote } from '../util/shell-quote.js';

export interface BootTestOptions {
  /** Receives serial.log and result.json. */
  outDir: string;
  /** Scratch space for this run (the OVMF variable store copy). */
  runDir: string;
  qemuBinary?: string;
  /** See QemuLaunchOptions.setpriv. */
  setpriv?: string | false;
  accel?: Accelerator;
  signal?: AbortSignal;
  env?: Record<string, string>;
  /** Each serial line as it arrives (a node streams them into its log). */
  onLine?: (line: string) => void;
  /** Appended to the log path in failure messages. */
  logNote?: string;
  /** Called once QEMU runs (to log its command line, or watch its pid). */
  onStart?: (qemu: QemuInstance, reproduceWith: string) => void;
  /** After a passing run, copy the run's OVMF variable store here (the enrollment boot). */
  saveVarsTo?: string;
  /** Multiplies every budget of the plan; default: bootTimeScale() (PIPELINE_BOOT_TIME_SCALE). */
  timeScale?: number;
}

export interface BootTestResult {
  scenario: string;
  passed: boolean;
  /** Why it failed (absent when it passed). */
  failure?: string;
  accel: Accelerator;
  /** Shell-quoted; for OVMF prefixed with the variable-store copy it needs. */
  qemuCommand: string;
  /** Seconds (and QEMU CPU seconds) since QEMU start at which each marker appeared, in order. */
  markers: Marker[];
  commands: CommandResult[];
  /** Wall seconds of the run. */
  seconds: number;
  /** QEMU's CPU time over the run (all threads). */
  cpuSeconds: number;
  /** How long QEMU waited for a CPU (its most delayed thread): the machine's load, not the guest's. */
  starvedSeconds: number;
  /** The longest the guest printed nothing of its own, to size silence budgets from. */
  longestSilence?: LongestSilence;
}

export const SERIAL_LOG = 'serial.log';
export const RESULT_JSON = 'result.json';

export async function runBootTest(plan: ScenarioPlan, options: BootTestOptions): Promise<BootTestResult> {
  // Before QEMU starts: a bad PIPELINE_BOOT_TIME_SCALE must not leave a QEMU behind.
  const timeScale = options.timeScale ?? bootTimeScale();
  await mkdir(options.outDir, { recursive: true });
  const logPath = join(options.outDir, SERIAL_LOG);
  const qemu = await startQemu(plan.qemu, {
    runDir: options.runDir,
    binary: options.qemuBinary,
    setpriv: options.setpriv,
    accel: options.accel,
    signal: options.signal,
    env: options.env,
  });
  const qemuCommand = reproductionCommand(plan, qemu.commandLine, qemu.varsPath);
  options.onStart?.(qemu, qemuCommand);
  const meter = qemu.pid ? new ProcessMeter(qemu.pid, 'QEMU', qemu.startedAt) : new WallClockMeter('QEMU', qemu.startedAt);
  const console = new SerialConsole({
    input: qemu.serialOut,
    output: qemu.serialIn,
    context: { scenario: plan.name, commandLine: qemuCommand, logPath, logNote: options.logNote },
    fatalPatterns: plan.fatalPatterns,
    startedAt: qemu.startedAt,
    describeEnd: () => qemu.describeExit(),
    onLine: options.onLine,
    meter,
    timeScale,
  });
  let failure: unknown;
  let commands: CommandResult[] = [];
  try {
    commands = (await runScript(console, plan.steps)).commands;
  } catch (error) {
    failure = error;
  }
  const seconds = console.elapsed();
  const usage = meter.sample();
  await qemu.stop();
  await console.close();
  if (failure && options.signal?.aborted) {
    failure = console.failure(`aborted (${String(options.signal.reason ?? 'cancelled')})`);
  }
  if (!failure && options.saveVarsTo) {
    if (!qemu.varsPath) failure = console.failure('saveVarsTo was given but this run has no OVMF variable store');
    else {
      await mkdir(dirname(options.saveVarsTo), { recursive: true });
      await copyFile(qemu.varsPath, options.saveVarsTo);
    }
  }
  const result: BootTestResult = {
    scenario: plan.name,
    passed: !failure,
    failure: failure ? (failure instanceof BootTestError ? failure.reason : String(failure)) : undefined,
    accel: qemu.accel,
    qemuCommand,
    markers: console.markers,
    commands,
    seconds,
    cpuSeconds: round(usage.cpuSeconds),
    starvedSeconds: round(usage.starvedSeconds),
    longestSilence: console.longestSilence,
  };
  await writeFile(join(options.outDir, RESULT_JSON), JSON.stringify(result, null, 2) + '\n');
  if (failure) throw failure;
  return result;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** The command a user pastes to rerun: OVMF needs its private variable-store copy first. */
function reproductionCommand(plan: ScenarioPlan, commandLine: string, varsPath: string | undefined): string {
  const firmware = plan.qemu.firmware;
  if (firmware.type !== 'ovmf' || !varsPath) return commandLine;
  return `${shellQuote(['mkdir', '-p', dirname(varsPath)])} && ${shellQuote(['cp', firmware.varsTemplate, varsPath])} && ${commandLine}`;
}
