// Everything a build does is announced as a typed event. The --json stream, the terminal
// progress, the plain CI log and the trace file are all consumers of this one stream.

export type NodeStatus = 'built' | 'cached' | 'failed' | 'skipped';

export interface PlanEvent {
  event: 'plan';
  /** Nodes this build will visit. */
  nodes: number;
  jobs: number;
  /** What this round of work is, when a command runs several (`resolve packages`, then the build). */
  label?: string;
}

export interface NodeStartEvent {
  event: 'start';
  id: string;
  kind: string;
  key: string;
  /** Milliseconds since the build started. */
  at: number;
}

export interface NodeEvent {
  event: 'node';
  id: string;
  kind: string;
  status: NodeStatus;
  /** Wall time the node took in this build (a cached node: the time to find it). */
  ms: number;
  /** Milliseconds since the build started, when the node began. */
  at: number;
  key?: string;
  /** Output digest. */
  output?: string;
  /** For a cached node: how long it took when it was built. */
  builtMs?: number;
  /** A cached node whose output came from the remote cache (verified) in this build. */
  remote?: boolean;
  /** Why a node failed or was skipped. */
  error?: string;
  log?: string;
}

export interface LogEvent {
  event: 'log';
  id: string;
  line: string;
}

export interface SummaryEvent {
  event: 'summary';
  built: number;
  cached: number;
  failed: number;
  skipped: number;
  ms: number;
  artifacts: Record<string, string>;
  /** Whose summary this is, when a command builds variants (one per variant, then the total). */
  variant?: string;
  /** On the total of a build of several variants: which. */
  variants?: string[];
}

/** Something the user should know that does not fail the build (a remote cache fault). */
export interface WarningEvent {
  event: 'warning';
  /** The node it concerns, if one. */
  id?: string;
  message: string;
}

/** What the remote cache did in this build, when one is configured. */
export interface RemoteEvent {
  event: 'remote';
  url: string;
  /** Nodes taken from the remote (every one verified), and lookups it did not have. */
  hits: number;
  misses: number;
  /** Entries refused (unsigned, unknown signer, bad blob): each was built here instead. */
  rejected: number;
  /** Hits whose outputs were downloaded: the others were not needed here (only their digests were). */
  downloaded: number;
  uploaded: number;
  bytesDown: number;
  bytesUp: number;
  /** Milliseconds spent in remote requests, summed over requests. */
  requestMs: number;
  /** Why the remote was given up on, if it was. */
  unavailable?: string;
}

export type BuildEvent = PlanEvent | NodeStartEvent | NodeEvent | LogEvent | SummaryEvent | WarningEvent | RemoteEvent;

export type EventSink = (event: BuildEvent) => void;
