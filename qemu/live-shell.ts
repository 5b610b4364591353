// Talking to a shell on the serial console without help from the image: typed text is echoed
// back, so every marker is written so that only the shell's *expansion* matches it
// (`$((6*7))` -> 42, `$?` -> the exit code); the echoed command line can never match.
import type { SerialConsole } from './expect.js';
import type { Budget } from './wait-budget.js';

const READY_PROBE = 'echo __READY_$((6*7))__';
const READY_REPLY = /__READY_42__/;
export const READY_PROBE_DESCRIPTION = 'a shell answering `echo __READY_$((6*7))__`';

export interface ShellReadyOptions {
  /** The probe's echo is not progress: a guest that only echoes it stays "silent". */
  budget: Budget;
  /** How often the probe is typed again while nothing answers. */
  probeIntervalMs?: number;
  marker?: string;
  /** Names the wait in messages. */
  what?: string;
}

/**
 * Types the probe until a shell answers. Call it only once the kernel runs: typed keys reach
 * bootloaders too (systemd-boot's `e` edits the entry; isolinux takes them as a boot label).
 * Returns the seconds since QEMU start at which the shell answered.
 */
export async function waitForShell(console: SerialConsole, options: ShellReadyOptions): Promise<number> {
  const interval = options.probeIntervalMs ?? 1000;
  const probe = () => {
    try {
      console.sendLine(READY_PROBE);
    } catch {
      // The input closed: the pending expect reports the end of the stream.
    }
  };
  probe();
  const timer = setInterval(probe, interval);
  try {
    const match = await console.expect(READY_REPLY, {
      budget: options.budget,
      marker: options.marker,
      what: options.what ?? READY_PROBE_DESCRIPTION,
    });
    return match.seconds;
  } finally {
    clearInterval(timer);
  }
}

export interface CommandResult {
  command: string;
  exitCode: number;
  /** What the command printed (between the markers), without the trailing newline. */
  output: string;
  /** Seconds from typing the command to its end marker. */
  seconds: number;
}

export class ShellCommandError extends Error {
  override name = 'ShellCommandError';
}

let nextCommandId = 1;

/**
 * Runs one command in the shell found by waitForShell and reads back its output and exit code:
 * types `echo ___CMD_START_$((id))___; <command>; echo ___CMD_END_<id>_$?___`.
 */
export async function runShellCommand(
  console: SerialConsole,
  command: string,
  options: { budget: Budget },
): Promise<CommandResult> {
  if (/[\r\n]/.test(command)) {
    throw new ShellCommandError(`shell command must be one line: ${JSON.stringify(command)}`);
  }
  const id = nextCommandId++;
  const typedAt = console.elapsed();
  console.sendLine(`echo ___CMD_START_$((${id}))___; ${command}; echo ___CMD_END_${id}_$?___`);
  const what = `the end of \`${command}\``;
  await console.expect(new RegExp(`___CMD_START_${id}___\\n`), { budget: options.budget, what });
  const end = await console.expect(new RegExp(`([^]*?)___CMD_END_${id}_(\\d+)___`), { budget: options.budget, what });
  const [output = '', code = ''] = end.groups;
  return {
    command,
    exitCode: Number(code),
    output: output.replace(/\n$/, ''),
    seconds: Math.round((end.seconds - typedAt) * 100) / 100,
  };
}
