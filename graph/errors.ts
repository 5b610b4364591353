// Errors the engine reports. A ConfigError is the user's to fix (exit code 2); a NodeFailure is
// a build that failed (exit code 1). Anything else is a bug.

export class ConfigError extends Error {
  override name = 'ConfigError';
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
