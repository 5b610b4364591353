// Errors of the Rhai interpreter: every one carries a file:line:col and the script call stack,
// so a recipe author sees where things went wrong, not where the interpreter noticed.
import type { RhaiValue } from './values.js';

export type RhaiErrorKind =
  | 'syntax'
  | 'runtime'
  | 'type'
  | 'unknown-function'
  | 'unknown-variable'
  | 'budget'
  | 'stack'
  | 'thrown';

/** One script call in progress: the function and where it was called from. */
export interface RhaiFrame {
  fn: string;
  file: string;
  line: number;
  col: number;
}

export class RhaiError extends Error {
  override name = 'RhaiError';
  /**
   * Script call stack, innermost first. (Named `callStack`, not `stack`: `Error.stack` is the
   * JS stack string and tools that print errors rely on it.)
   */
  readonly callStack: RhaiFrame[];
  constructor(
    readonly kind: RhaiErrorKind,
    /** The message without the location prefix; what `catch (e)` sees. */
    readonly reason: string,
    readonly file: string,
    readonly line: number,
    readonly col: number,
    callStack: RhaiFrame[] = [],
    readonly thrown?: RhaiValue,
  ) {
    super(`${file}:${line}:${col}: ${reason}`);
    this.callStack = callStack;
  }

  /** Budget and stack errors stop the script: `try`/`catch` must not swallow them. */
  get catchable(): boolean {
    return this.kind !== 'budget' && this.kind !== 'stack' && this.kind !== 'syntax';
  }

  /** The message followed by Rhai-style call stack lines. */
  format(): string {
    const lines = [this.message];
    for (const f of this.callStack) lines.push(`  in call to function '${f.fn}' (${f.file}:${f.line}:${f.col})`);
    return lines.join('\n');
  }
}

/**
 * A failure raised where no source position is known (operators, standard functions); the
 * evaluator turns it into a RhaiError at the innermost expression being evaluated.
 */
export class Fault extends Error {
  constructor(
    readonly kind: RhaiErrorKind,
    message: string,
  ) {
    super(message);
  }
}
