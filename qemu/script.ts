// A boot test's expect script: steps as data (they enter the test node's key), and the
// interpreter that plays them against a serial console.
import type { Pattern, SerialConsole } from './expect.js';
import { runShellCommand, waitForShell, type CommandResult } from './live-shell.js';

export type ScriptStep =
  /** Wait for output; its time since QEMU start is recorded under `marker`. */
  | { kind: 'expect'; marker: string; pattern: Pattern; timeoutMs: number }
  /** Find a shell by typing the ready probe (start it only once the kernel runs). */
  | { kind: 'shell'; marker: string; timeoutMs: number }
  /** Run a command in that shell; check its exit code and, optionally, its output. */
  | { kind: 'run'; command: string; timeoutMs: number; exitCode?: number; output?: Pattern }
  /** QEMU ends on its own (a guest reset under -no-reboot). */
  | { kind: 'exit'; marker: string; timeoutMs: number }
  /** Nothing matching `pattern` may appear for `windowMs` (negative tests). */
  | { kind: 'absent'; pattern: Pattern; windowMs: number; what: string };

export interface ScriptOutcome {
  commands: CommandResult[];
}

export async function runScript(console: SerialConsole, steps: readonly ScriptStep[]): Promise<ScriptOutcome> {
  const commands: CommandResult[] = [];
  for (const step of steps) {
    switch (step.kind) {
      case 'expect':
        await console.expect(step.pattern, { timeoutMs: step.timeoutMs, marker: step.marker });
        break;
      case 'shell':
        await waitForShell(console, { timeoutMs: step.timeoutMs, marker: step.marker });
        break;
      case 'run':
        commands.push(await runChecked(console, step));
        break;
      case 'exit':
        await console.expectEnd({ timeoutMs: step.timeoutMs, marker: step.marker, what: `QEMU to exit (${step.marker})` });
        break;
      case 'absent':
        await console.expectAbsent(step.pattern, { windowMs: step.windowMs, what: step.what });
        break;
    }
  }
  return { commands };
}

async function runChecked(
  console: SerialConsole,
  step: Extract<ScriptStep, { kind: 'run' }>,
): Promise<CommandResult> {
  const result = await runShellCommand(console, step.command, { timeoutMs: step.timeoutMs });
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
export function scriptKeyMaterial(steps: readonly ScriptStep[]): Record<string, string | number>[] {
  return steps.map((step) => {
    const material: Record<string, string | number> = {};
    for (const [name, value] of Object.entries(step)) {
      if (value !== undefined) material[name] = value instanceof RegExp ? value.toString() : value;
    }
    return material;
  });
}

