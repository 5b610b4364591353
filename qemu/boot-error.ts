// The one error a failed boot test raises: everything a user needs to see what went wrong
// without rerunning it.

/** What the failing run was: filled in by whoever starts the console. */
export interface FailureContext {
  /** Scenario name (`uefi`, `secure-boot`, ...) or a test's own label. */
  scenario: string;
  /** The shell-quoted QEMU command line, to reproduce the run by hand. */
  commandLine?: string;
  /** Where the full serial log is kept. */
  logPath?: string;
  /** Said after the log path (e.g. where else the log is, when the path may not survive). */
  logNote?: string;
}

export interface BootFailureDetails extends FailureContext {
  /** What failed, in one sentence. */
  reason: string;
  /** The last lines of serial output (ANSI and CR stripped). */
  lastLines: string[];
}

export const FAILURE_TAIL_LINES = 40;

export class BootTestError extends Error {
  override name = 'BootTestError';
  readonly scenario: string;
  readonly reason: string;
  readonly lastLines: string[];
  readonly logPath?: string;
  readonly commandLine?: string;

  constructor(details: BootFailureDetails) {
    super(formatFailure(details));
    this.scenario = details.scenario;
    this.reason = details.reason;
    this.lastLines = details.lastLines;
    this.logPath = details.logPath;
    this.commandLine = details.commandLine;
  }
}

function formatFailure(details: BootFailureDetails): string {
  const lines = [`boot test '${details.scenario}' failed: ${details.reason}`];
  if (details.logPath) lines.push(`full serial log: ${details.logPath}${details.logNote ? ` (${details.logNote})` : ''}`);
  if (details.commandLine) lines.push(`reproduce with: ${details.commandLine}`);
  lines.push(`last ${details.lastLines.length} lines of serial output:`);
  for (const line of details.lastLines) lines.push(`  | ${line}`);
  return lines.join('\n');
}
