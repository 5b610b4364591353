// Errors the engine reports. A ConfigError is the user's to fix (exit code 2); a NodeFailure is
// a build that failed (exit code 1). Anything else is a bug.

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A declared input that is not there (a file, a tool, a host file, a secret file). */
export class MissingInputError extends ConfigError {
  override name = 'MissingInputError';
}

/** Everything a node lacks, each with the node's hint for it: one line each in `graph`, grouped across nodes by a build. */
export class NodeInputsError extends ConfigError {
  override name = 'NodeInputsError';
  constructor(
    readonly nodeId: string,
    readonly problems: { what: string; hint?: string }[],
  ) {
    super(problems.map((p) => `node ${nodeId}: ${p.what}${p.hint ? `; ${p.hint}` : ''}`).join('\n'));
  }
}

export interface NodeFailureDetails {
  nodeId: string;
  kind: string;
  /** The command that failed, shell-quoted, when a process failed. */
  command?: string;
  exitCode?: number;
  logPath?: string;
  /** Last lines of the node's log. */
  logTail?: string[];
}

export class NodeFailure extends Error {
  override name = 'NodeFailure';
  constructor(
    message: string,
    readonly details: NodeFailureDetails,
  ) {
    super(message);
  }
}

/** A process started by a node exited badly. Carries what the failure report shows. */
export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly signal: string | undefined,
    reason?: string,
  ) {
    super(
      reason
        ? `${command} could not run: ${reason}`
        : signal
          ? `${command} was killed by ${signal}`
          : `${command} exited with code ${exitCode}`,
    );
  }
}

export class BuildInterrupted extends Error {
  override name = 'BuildInterrupted';
}
