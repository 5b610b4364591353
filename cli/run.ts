// Running a target, shared by `build`, `test` and `lock`: compile, resolve and lock the package
// set first when there is no lock, build, publish the artifacts, report.
import { join, relative } from 'node:path';
import { build, type BuildOptions, type BuildResult, type NodeOutcome } from '../graph/build.js';
import type { BuildEvent, EventSink } from '../graph/events.js';
import { Session } from '../graph/session.js';
import { PIPELINE_FILE_ROOTS } from '../stages/shared/pipeline-files.js';
import { TraceRecorder } from '../graph/trace.js';
import { validateGraph } from '../graph/validate.js';
import { compileTarget, type CompileOptions, type CompiledTarget } from '../compile/index.js';
import { loadCompileInputs, withLock } from '../compile/load.js';
import { describeLockChange, lockPhase, type LockChange } from '../phases/lock.js';
import { hostFileTable, toolHints } from '../stages/index.js';
import { publishArtifacts } from './artifacts.js';
import type { ParsedArgs } from './command.js';
import { EXIT } from './command.js';
import { cacheDirFrom, jobsFrom } from './common-options.js';
import { failureReport } from './reporters/failure.js';
import { duration } from './reporters/format.js';
import { plainReporter } from './reporters/plain.js';
import { TtyReporter } from './reporters/tty.js';
import { interruptController } from './signals.js';

export interface RunRequest {
  args: ParsedArgs;
  compile: CompileOptions;
  /** Which compiled nodes to build. */
  targets: (compiled: CompiledTarget) => string[];
  force?: BuildOptions['force'];
  /** Resolve anew and rewrite the lock even if one exists (`pipeline lock`, --update-lock). */
  relock?: boolean;
  /** Stop after locking (`pipeline lock`). */
  lockOnly?: boolean;
  /** Copy artifacts to out/<variant>/ (default true). */
  publish?: boolean;
}

export interface RunOutcome {
  exitCode: number;
  compiled: CompiledTarget;
  result?: BuildResult;
  outcomes: Map<string, NodeOutcome>;
  artifacts: Record<string, string>;
  lock?: LockChange;
}

/** Output channels: --json lines, or terminal progress, or one line per node; plus --trace. */
class Reporting {
  readonly json: boolean;
  private readonly sinks: EventSink[] = [];
  private tty?: TtyReporter;
  readonly trace?: TraceRecorder;

  constructor(args: ParsedArgs) {
    this.json = args.values.json === true;
    if (this.json) this.sinks.push((e) => process.stdout.write(JSON.stringify(e) + '\n'));
    else if (process.stderr.isTTY) this.sinks.push((this.tty = new TtyReporter(process.stderr)).onEvent);
    else this.sinks.push(plainReporter((line) => process.stderr.write(line + '\n')));
    if (args.values.trace) {
      this.trace = new TraceRecorder();
      this.sinks.push(this.trace.onEvent);
    }
  }

  readonly emit = (e: BuildEvent): void => this.sinks.forEach((s) => s(e));

  /** A human line on stderr (kept off stdout, which --json owns). */
  say(line: string): void {
    this.tty?.stop();
    process.stderr.write(line + '\n');
  }

  stop(): void {
    this.tty?.stop();
  }
}

export async function runTarget(request: RunRequest): Promise<RunOutcome> {
  const { args } = request;
  const inputs = await loadCompileInputs(args.positionals[0], {
    mirrorFlags: (args.values.mirror as string[] | undefined) ?? [],
    configFile: args.values.config as string | undefined,
    lock: request.relock ? 'ignore' : 'use',
  });
  let compiled = await compileTarget(inputs, request.compile);
  const { root, variant } = compiled.loaded;
  // A broken graph is reported before the cache directory is even created.
  let graph = validateGraph(compiled.nodes);
  const session = await openSession(root, args);
  const reporting = new Reporting(args);
  const interrupt = interruptController(() => reporting.say('\ninterrupted: stopping running nodes (Ctrl-C again to exit at once)'));
  const outcomes = new Map<string, NodeOutcome>();
  const started = performance.now();
  let result: BuildResult | undefined;
  let lock: LockChange | undefined;
  const options = (targets: string[], label?: string): BuildOptions => ({
    label,
    jobs: jobsFrom(args),
    keepGoing: args.values['keep-going'] === true,
    force: args.values['no-cache'] === true && request.force === undefined ? true : request.force,
    signal: interrupt.signal,
    onEvent: reporting.emit,
    targets,
  });

  try {
    if (compiled.packages && !compiled.packages.lock) {
      // A build that locks first checks every node's inputs (keys, firmware) before it locks.
      const locked = await lockPhase(session, graph, compiled.packages, { ...options([], 'resolve packages'), checkAll: !request.lockOnly });
      result = locked.result;
      for (const [id, o] of result.outcomes) outcomes.set(id, o);
      if (locked.lock) {
        lock = locked.lock;
        if (!reporting.json) reporting.say(`wrote ${relative(process.cwd(), lock.file)}: ${lock.next.packages.length} packages${describeLockChange(lock.previous, lock.next)}`);
        if (!request.lockOnly) {
          compiled = await compileTarget(withLock(inputs, lock.next), request.compile);
          graph = validateGraph(compiled.nodes);
        }
      }
    }
    if ((!result || result.ok) && !request.lockOnly) {
      result = await build(session, graph, options(request.targets(compiled), result ? 'build' : undefined));
      for (const [id, o] of result.outcomes) outcomes.set(id, o);
    }
  } finally {
    interrupt.dispose();
    reporting.stop();
    await session.close();
  }
  if (reporting.trace) await reporting.trace.write(args.values.trace as string);

  const ok = result?.ok ?? true;
  const artifacts = ok && request.publish !== false && !request.lockOnly ? await publishArtifacts(join(root, 'out', variant.name), compiled.artifacts, outcomes) : {};
  const counts = { built: 0, cached: 0, failed: 0, skipped: 0 };
  for (const o of outcomes.values()) counts[o.status]++;
  const ms = Math.round(performance.now() - started);
  reporting.emit({ event: 'summary', ...counts, ms, artifacts });

  if (result && !result.ok) process.stderr.write(failureReport({ ...result, outcomes }, root) + '\n');
  if (!reporting.json) {
    const verdict = ok ? (request.lockOnly ? 'locked' : 'built') : result?.interrupted ? 'interrupted' : 'FAILED';
    process.stderr.write(`${variant.name} ${verdict} in ${duration(ms)}: ${counts.built} built, ${counts.cached} cached, ${counts.failed} failed, ${counts.skipped} skipped\n`);
    for (const [name, path] of Object.entries(artifacts)) process.stdout.write(`${name}: ${relative(process.cwd(), path) || path}\n`);
  }
  const exitCode = ok ? EXIT.ok : result?.interrupted ? EXIT.interrupted : EXIT.failed;
  return { exitCode, compiled, result, outcomes, artifacts, lock };
}

/** The session every command opens on a project: its cache, tool hints, file roots and host files. */
export function openSession(root: string, args: ParsedArgs): Promise<Session> {
  return Session.open({ root, cacheDir: cacheDirFrom(args), toolHints: toolHints(), fileRoots: PIPELINE_FILE_ROOTS, hostFiles: hostFileTable() });
}
