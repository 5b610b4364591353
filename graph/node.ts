// What a node is: the contract between the engine and the stages that give it work.
// The engine treats `run` as opaque; everything that may change a node's output must be
// declared here, because only declared inputs enter the node's key.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface NodeSpec {
  /** Stable, readable id, unique in the graph: `apk:busybox@1.36.1-r2`, `rootfs:demo`. */
  id: string;
  /** Step kind (`squashfs`, `uki`, ...): groups nodes for kind versions, logs and events. */
  kind: string;
  /** Kind version: bump it when the implementation's output changes. */
  version: number;
  /** Dependencies by local name -> node id. `ctx.dep(name)` gives the dependency's output directory. */
  deps?: Record<string, string>;
  /**
   * Files read by the node, relative to the project root, or `<root>:<path>` relative to a named
   * root (`pipeline:stages/iso/isolinux.cfg`: a file shipped with the tool). A directory stands
   * for every file below it. Each file's content, executable bit and declared path enter the key.
   */
  files?: string[];
  /** Parameters (JSON). Enter the key verbatim. */
  params?: Json;
  /** Host tools by command name (`mksquashfs`). Identity = resolved path + digest of the binary. */
  tools?: string[];
  /**
   * Files the host provides (firmware, say), by the names the session's host-file table knows.
   * Each file's content digest enters the key, never its path; `ctx.hostFile(name)` gives the path.
   */
  hostFiles?: string[];
  /**
   * Environment given to the node's processes. A string is a fixed value (`SOURCE_DATE_EPOCH`);
   * `true` passes the caller's value through. Either way the value enters the key.
   */
  env?: Record<string, string | true>;
  /**
   * Values the node needs but that must never enter the key, the store, logs, traces or events
   * (a private key's path). Keep them out of outputs too.
   */
  secrets?: Record<string, string>;
  /**
   * Names of `secrets` that are paths of files the node reads (a private key): they must exist
   * before anything runs, and are never hashed.
   */
  secretFiles?: string[];
  /**
   * What to tell the user when a declared input is missing, by the name it is declared under
   * (a file path, a tool, a host file or a secret): where it was asked for and how to make it.
   */
  hints?: Record<string, string>;
  /**
   * Values that cannot change the output, so they stay out of the key: where to download a file
   * whose checksum is in `params`, say. A mirror change then costs no rebuild.
   */
  unkeyed?: Json;
  /**
   * The output can change while no declared input does (a remote index that moves on): the node
   * runs on every build. Early cutoff keeps its dependents cached when the bytes come back equal.
   */
  alwaysRun?: boolean;
  /**
   * The output stays on this machine: never uploaded to a remote cache, never taken from one
   * (an output that holds something machine-specific or private).
   */
  localOnly?: boolean;
  /**
   * Why the node cannot run as configured (a download location nobody gave, say). `graph` shows
   * it; a build that would run the node stops before anything runs, with this as the reason.
   */
  unbuildable?: string;
  /** Job slots the node occupies while it runs (mksquashfs uses every core). Default 1. */
  weight?: number;
  /** Free text shown by `pipeline graph` and in progress lines. */
  description?: string;
  /** Writes the node's output into `ctx.out` and nothing else. */
  run(ctx: RunContext): Promise<void>;
}

export interface ExecOptions {
  cwd?: string;
  /** Extra environment on top of the node's hermetic environment. */
  env?: Record<string, string>;
  /** Data for stdin: bytes, a string, a readable stream, or `{ file }` to read a file. */
  input?: string | Uint8Array | NodeJS.ReadableStream | { file: string };
  /** Write stdout to this file instead of the log (binary output such as an image). */
  stdoutFile?: string;
  /** Keep stdout in memory and return it (default: stdout goes to the log). */
  captureStdout?: boolean;
  /** Exit codes that count as success (default [0]). */
  okExitCodes?: number[];
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
}

export interface RunContext {
  readonly id: string;
  /** Fresh, empty output directory. The only place the node writes to (besides `tmp`). */
  readonly out: string;
  /** Scratch directory, removed after the run. */
  readonly tmp: string;
  /** Absolute project root; declared files are read through `file()`. */
  readonly root: string;
  readonly params: Json;
  /** The node's `unkeyed` values (download locations and the like). */
  readonly unkeyed: Json;
  readonly secrets: Readonly<Record<string, string>>;
  /** Aborted on Ctrl-C / SIGTERM; long loops should check it. */
  readonly signal: AbortSignal;
  /** The hermetic environment the node's processes get (PATH, LC_ALL, TZ, HOME, declared env). */
  readonly env: Readonly<Record<string, string>>;
  /** Output directory of the dependency with this local name (read-only: never write there). */
  dep(name: string): string;
  /** Absolute path of a declared file (as declared: `variants/x` or `pipeline:stages/y`). */
  file(relativePath: string): string;
  /** Absolute path of a declared host file (`hostFiles`). */
  hostFile(name: string): string;
  /** Absolute path of a declared host tool. */
  tool(name: string): string;
  /** Runs a declared tool; its command line and output go to the node's log; non-zero exit throws. */
  exec(tool: string, args: string[], options?: ExecOptions): Promise<ExecResult>;
  /** A line in the node's log. */
  log(line: string): void;
  /**
   * SHA-256 of a file (streamed). A file of the node's own output hashed this way is not read
   * again when the output is stored, unless it changed since.
   */
  sha256File(path: string): Promise<string>;
}
