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
}

export type BuildEvent = PlanEvent | NodeStartEvent | NodeEvent | LogEvent | SummaryEvent;

export type EventSink = (event: BuildEvent) => void;
