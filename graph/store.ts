// The store: where results of past runs live. The engine talks to this interface only, so a
// remote cache joins as one more implementation (or a layer over the local one).
import type { EventSink } from './events.js';
import type { KeyMaterial } from './key.js';
import type { OutputDigests } from './output-digests.js';

export interface ActionResult {
  /** The node key this result answers. */
  key: string;
  /** Id and kind of the node that produced it (informational: other nodes may share the key). */
  id: string;
  kind: string;
  /** Digest of the output tree; also the name it is stored under. */
  output: string;
  /** Bytes of file content in the output, and how many files. */
  size: number;
  files: number;
  /** How long the run took. */
  ms: number;
  /** When it was built (ISO 8601). Never part of a key. */
  builtAt: string;
  /** Set on a result this lookup fetched from a remote cache (never stored). */
  origin?: 'remote';
  /** A remote hit whose output is still on the server: `materialize` brings it here. */
  pending?: boolean;
}

/** A remote output that cannot be brought here after all (refused, or the server failed): build the node. */
export class RemoteOutputUnavailable extends Error {}

/** The node a lookup or publish is for: what a remote cache binds its entries to. */
export interface NodeIdentity {
  id: string;
  kind: string;
  version: number;
  /** The output never leaves this machine, nor comes from a remote cache. */
  localOnly?: boolean;
}

export interface LookupOptions {
  /** Look without marking the entry used and without asking a remote (`graph`, `explain`). */
  peek?: boolean;
  /** What a remote cache needs to find and verify an entry; a local-only lookup without. */
  node?: NodeIdentity;
  material?: KeyMaterial;
  /** A remote hit may stay on the server (`pending`) until `materialize` is called. */
  lazy?: boolean;
}

export interface WorkDir {
  /** Empty directory the node writes its output into. */
  out: string;
  /** Scratch space, thrown away after the run. */
  tmp: string;
}

export interface Store {
  /**
   * The result for a key, with its output present locally; undefined on a miss. A lookup marks
   * the entry as used (for gc) unless `peek` is set, as it is for `graph` and `explain`.
   */
  lookup(key: string, options?: LookupOptions): Promise<ActionResult | undefined>;
  /**
   * Brings a pending remote hit's output to local disk, verified, and returns its path; throws
   * RemoteOutputUnavailable (having warned why) when it cannot.
   */
  materialize?(key: string, node: NodeIdentity): Promise<string>;
  /** Where an output tree is on local disk (read-only for everyone). */
  outputPath(outputDigest: string): string;
  /** A fresh work area for one run of a node. */
  createWorkDir(): Promise<WorkDir>;
  /** Removes a work area without publishing it (failed or interrupted run). */
  discard(work: WorkDir): Promise<void>;
  /**
   * Moves a finished output into the store and records `key -> output`, atomically: a crash at
   * any point leaves either no entry or a complete one. `log` is the run's log file, kept with it.
   */
  publish(key: string, work: WorkDir, meta: PublishMeta): Promise<ActionResult>;
  /** Where the stored log of a key's run is, if kept. */
  logPath(key: string): string;
  /**
   * A build starts: where a store layered over another (a remote cache) reports warnings, and the
   * secret files the build's nodes read (whose bytes must never leave the machine).
   */
  attach?(sink: EventSink, build: { secretFiles: string[] }): void;
  /** Waits for background work (uploads) to end; called when a build ends. */
  flush?(): Promise<void>;
  /** Releases connections; the session is done. */
  close?(): void;
}

export interface PublishMeta {
  id: string;
  kind: string;
  ms: number;
  /** The run's log file, kept with the entry. */
  log?: string;
  /** Digests the node computed of its own output files (not read again when unchanged). */
  digests?: OutputDigests;
  /** For a remote cache: the node's kind version, and its key material (what the entry is filed under). */
  version?: number;
  material?: KeyMaterial;
  localOnly?: boolean;
}
