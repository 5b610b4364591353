// A boot test's expect script: steps as data (they enter the test node's key), and the
// interpreter that plays them against a serial console. Each wait has a budget of progress (see
// wait-budget.ts), and a failing wait names its stage and the last stage passed.
import type { Json } from '../graph/node.js';
import { describePattern, type Pattern, type SerialConsole } from './expect.js';
import { READY_PROBE_DESCRIPTION, runShellCommand, waitForShell, type CommandResult } from './live-shell.js';
import type { Budget } from './wait-budget.js';

export type ScriptStep =
  /** Wait for output; its time since QEMU start is recorded under `marker`; `what` names it in messages. */
  | { kind: 'expect'; marker: string; pattern: Pattern; what?: string; budget: Budget }
  /** Find a shell by typing the ready probe (start it only once the kernel runs). */
  | { kind: 'shell'; marker: string; budget: Budget }
  /** Run a command in that shell; check its exit code and, optionally, its output. */
  | { kind: 'run'; command: string; budget: Budget; exitCode?: number; output?: Pattern }
  /** QEMU ends on its own (a guest reset under -no-reboot). */
  | { kind: 'exit'; marker: string; what?: string; budget: Budget }
  /** Type a line without waiting for anything (a command that never returns: a reboot, a power cut). */
  | { kind: 'send'; line: string }
  /** Nothing matching `pattern` may appear before the window's first limit (negative tests). */
  | { kind: 'absent'; pattern: Pattern; window: Budget; what: string };

export interface ScriptOutcome {
  commands: CommandResult[];
}

/** The last stage passed, for "initramfs (..., after the ISOLINUX banner at 4.2 s)". */
interface PassedStage {
  what: string;
  seconds: number;
}

export async function runScript(console: SerialConsole, steps: readonly ScriptStep[]): Promise<ScriptOutcome> {
  const commands: CommandResult[] = [];
  let passed: PassedStage | undefined;
  const stage = (marker: string, what: string) =>
    `${marker} (${what}, ${passed ? `after ${passed.what} at ${passed.seconds} s` : 'the first stage after QEMU started'})`;
  for (const step of steps) {
    switch (step.kind) {
      case 'expect': {
        const what = step.what ?? describePattern(step.pattern);
        const match = await console.expect(step.pattern, { budget: step.budget, marker: step.marker, what: stage(step.marker, what) });
        passed = { what, seconds: match.seconds };
        break;
      }
      case 'shell': {
        const seconds = await waitForShell(console, { budget: step.budget, marker: step.marker, what: stage(step.marker, READY_PROBE_DESCRIPTION) });
        passed = { what: 'the shell', seconds };
        break;
      }
      case 'run':
        commands.push(await runChecked(console, step));
        break;
      case 'exit': {
        const what = step.what ?? 'QEMU to exit';
        const seconds = await console.expectEnd({ budget: step.budget, marker: step.marker, what: stage(step.marker, what) });
        passed = { what, seconds };
        break;
      }
      case 'send':
        console.sendLine(step.line);
        break;
      case 'absent':
        await console.expectAbsent(step.pattern, { window: step.window, what: step.what });
        break;
    }
  }
  return { commands };
}

async function runChecked(
  console: SerialConsole,
  step: Extract<ScriptStep, { kind: 'run' }>,
): Promise<CommandResult> {
  const result = await runShellCommand(console, step.command, { budget: step.budget });
  const expectedCode = step.exitCode ?? 0;
  if (result.exitCode !== expectedCode) {
    throw console.failure(
      `\`${step.command}\` exited with ${result.exitCode}, expected ${expectedCode}; it printed: ${JSON.stringify(result.output)}`,
    );
  }
  if (step.output !== undefined && !matches(step.output, result.output)) {
    throw console.failure(
      `\`${step.command}\` printed ${JSON.stringify(result.output)}, expected it to match ${String(step.output)}`,
    );
  }
  return result;
}

function matches(pattern: Pattern, text: string): boolean {
  return typeof pattern === 'string' ? text.includes(pattern) : new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')).test(text);
}

/** JSON form of a script (RegExps as /source/flags) for keys and result files. */
export function scriptKeyMaterial(steps: readonly ScriptStep[]): Record<string, Json>[] {
  return steps.map((step) => {
    const material: Record<string, Json> = {};
    for (const [name, value] of Object.entries(step)) {
      if (value !== undefined) material[name] = value instanceof RegExp ? value.toString() : (value as Json);
    }
    return material;
  });
}

