// Running targets, shared by `build`, `test` and `lock`: compile each variant, resolve and lock
// the package set first for a variant without a lock, build all of them in one graph (a node
// they share runs once, in one pool of job slots), publish each variant's artifacts, report.
import { join, relative } from 'node:path';
import { build, type BuildOptions, type BuildResult, type NodeOutcome } from '../graph/build.js';
import type { BuildEvent, EventSink } from '../graph/events.js';
import { Session } from '../graph/session.js';
import { PIPELINE_FILE_ROOTS } from '../stages/shared/pipeline-files.js';
import { TraceRecorder } from '../graph/trace.js';
import { closure, type Graph } from '../graph/validate.js';
import type { CompileOptions, CompiledTarget } from '../compile/index.js';
import type { BuildConfig } from '../compile/config.js';
import { withLock, type CompileInputs } from '../compile/load.js';
import { describeLockChange, lockPhase, type LockChange } from '../phases/lock.js';
import { hostFileTable, toolHints } from '../stages/index.js';
import { publishArtifacts } from './artifacts.js';
import { remoteStoreFor } from './remote-cache.js';
import type { ParsedArgs } from './command.js';
import { EXIT } from './command.js';
import { cacheDirFrom, jobsFrom } from './common-options.js';
import { failureReport } from './reporters/failure.js';
import { plainReporter } from './reporters/plain.js';
import { countOutcomes, totalLine, variantLine, type Counts, type VariantSummaryEvent, type Verdict } from './reporters/summary.js';
import { TtyReporter } from './reporters/tty.js';
import { interruptController } from './signals.js';
import { compileChecked, loadTargets, mergedGraph, targetsFrom } from './target.js';

export interface RunRequest {
  args: ParsedArgs;
  /** The variants (names or paths). Default: the command's <target> arguments, or --all. */
  variants?: string[];
  compile: CompileOptions;
  /** Which of a variant's compiled nodes to build. */
  targets: (compiled: CompiledTarget) => string[];
  force?: BuildOptions['force'];
  /** Resolve anew and rewrite the lock even if one exists (`pipeline lock`, --update-lock). */
  relock?: boolean;
  /** Stop after locking (`pipeline lock`). */
  lockOnly?: boolean;
  /** Copy artifacts to out/<variant>/ (default true). */
  publish?: boolean;
}

/** One variant's part of a run. */
export interface VariantRun {
  compiled: CompiledTarget;
  /** The nodes this variant needed: its lock round's and its closure in the build. */
  outcomes: Map<string, NodeOutcome>;
  artifacts: Record<string, string>;
  lock?: LockChange;
  verdict: Verdict;
  counts: Counts;
  /** From the start of the command until the variant's last node was done. */
  ms: number;
}

export interface RunOutcome {
  exitCode: number;
  /** Every variant, in the order given. */
  variants: VariantRun[];
  /** The build of all variants (or the last lock round, when no build ran). */
  result?: BuildResult;
  /** Every node's outcome, each once. */
  outcomes: Map<string, NodeOutcome>;
  /** The first variant's compiled target, artifacts and lock (what single-target commands use). */
  compiled: CompiledTarget;
  artifacts: Record<string, string>;
  lock?: LockChange;
}

/** Output channels: --json lines, or terminal progress, or one line per node; plus --trace. */
class Reporting {
  readonly json: boolean;
  private readonly sinks: EventSink[] = [];
  private tty?: TtyReporter;
  readonly trace?: TraceRecorder;
  readonly started = performance.now();
  /** When each node was done (ms since the start): a variant is done with its last node. */
  readonly doneAt = new Map<string, number>();

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

  readonly emit = (e: BuildEvent): void => {
    if (e.event === 'node') this.doneAt.set(e.id, this.elapsed());
    this.sinks.forEach((s) => s(e));
  };

  elapsed(): number {
    return Math.round(performance.now() - this.started);
  }

  /** A human line on stderr (kept off stdout, which --json owns). */
  say(line: string): void {
    this.tty?.stop();
    process.stderr.write(line + '\n');
  }

  stop(): void {
    this.tty?.stop();
  }
}

/** A variant while it runs: what it was compiled from, and its lock round. */
interface Pending {
  inputs: CompileInputs;
  compiled: CompiledTarget;
  graph: Graph;
  outcomes: Map<string, NodeOutcome>;
  lockResult?: BuildResult;
  lock?: LockChange;
  /** Its nodes went into the build. */
  built: boolean;
}

/** One target: the command's first argument (`pipeline lock <target>`). */
export function runTarget(request: RunRequest): Promise<RunOutcome> {
  return runTargets({ ...request, variants: request.variants ?? [request.args.positionals[0]] });
}

export async function runTargets(request: RunRequest): Promise<RunOutcome> {
  const { args } = request;
  const inputs = await loadTargets(request.variants ?? targetsFrom(args), args, request.relock ? 'ignore' : 'use');
  const several = inputs.length > 1;
  // Broken graphs are reported before the cache directory is even created...
  const pending: Pending[] = [];
  for (const i of inputs) pending.push({ inputs: i, ...(await compileChecked(i, request.compile, several)), outcomes: new Map(), built: false });
  const needsLock = (p: Pending) => p.compiled.packages !== undefined && !p.compiled.packages.lock;
  // ...and so are two variants that define one node differently, when both are locked already.
  const lockedAlready = pending.filter((p) => !needsLock(p));
  if (lockedAlready.length > 1) mergedGraph(lockedAlready.map((p) => p.compiled));

  const { root } = pending[0].compiled.loaded;
  const session = await openSession(root, args, pending[0].inputs.config);
  const reporting = new Reporting(args);
  const interrupt = interruptController(() => reporting.say('\ninterrupted: stopping running nodes (Ctrl-C again to exit at once)'));
  const keepGoing = args.values['keep-going'] === true;
  const outcomes = new Map<string, NodeOutcome>();
  let result: BuildResult | undefined;
  const options = (targets: string[], label?: string): BuildOptions => ({
    label,
    jobs: jobsFrom(args),
    keepGoing,
    force: args.values['no-cache'] === true && request.force === undefined ? true : request.force,
    signal: interrupt.signal,
    onEvent: reporting.emit,
    targets,
  });

  try {
    // Locks first, one variant after the other: each round downloads and resolves that variant's indexes.
    for (const p of pending) {
      if (!needsLock(p)) continue;
      if (interrupt.signal.aborted || (!keepGoing && pending.some((q) => q.lockResult && !q.lockResult.ok))) break;
      const name = p.compiled.loaded.variant.name;
      // A build that locks first checks every node's inputs (keys, firmware) before it locks.
      const label = several ? `resolve packages of ${name}` : 'resolve packages';
      const locked = await lockPhase(session, p.graph, p.compiled.packages!, { ...options([], label), checkAll: !request.lockOnly });
      p.lockResult = result = locked.result;
      for (const [id, o] of locked.result.outcomes) {
        outcomes.set(id, o);
        p.outcomes.set(id, o);
      }
      if (!locked.lock) continue;
      p.lock = locked.lock;
      if (!reporting.json) reporting.say(`wrote ${relative(process.cwd(), p.lock.file)}: ${p.lock.next.packages.length} packages${describeLockChange(p.lock.previous, p.lock.next)}`);
      if (!request.lockOnly) Object.assign(p, await compileChecked(withLock(p.inputs, p.lock.next), request.compile, several));
    }
    // Then one build of every variant ready for it (all of them, unless a lock failed).
    const ready = pending.filter((p) => !p.lockResult || p.lockResult.ok);
    const go = !request.lockOnly && ready.length > 0 && !interrupt.signal.aborted && (ready.length === pending.length || keepGoing);
    if (go) {
      const graph = mergedGraph(ready.map((p) => p.compiled));
      const targets = [...new Set(ready.flatMap((p) => request.targets(p.compiled)))];
      const label = several ? `build ${ready.map((p) => p.compiled.loaded.variant.name).join(', ')}` : result ? 'build' : undefined;
      // What this command reads afterwards (artifacts, boot results) must be on local disk; other
      // remote hits may stay on the server.
      const keepLocal = [...new Set(ready.flatMap((p) => [...p.compiled.artifacts.map((a) => a.node), ...p.compiled.testTargets]))];
      result = await build(session, graph, { ...options(targets, label), keepLocal });
      for (const [id, o] of result.outcomes) outcomes.set(id, o);
      for (const p of ready) {
        p.built = true;
        for (const id of closure(graph, request.targets(p.compiled))) {
          const o = result.outcomes.get(id);
          if (o) p.outcomes.set(id, o);
        }
      }
    }
  } finally {
    interrupt.dispose();
    reporting.stop();
    await session.close();
  }
  if (reporting.trace) await reporting.trace.write(args.values.trace as string);

  const variants: VariantRun[] = [];
  for (const p of pending) {
    const { variant } = p.compiled.loaded;
    const verdict = verdictOf(p, request, interrupt.signal.aborted);
    const publish = verdict === 'built' && request.publish !== false;
    const artifacts = publish ? await publishArtifacts(join(root, 'out', variant.name), p.compiled.artifacts, p.outcomes) : {};
    const ms = several ? Math.max(0, ...[...p.outcomes.keys()].map((id) => reporting.doneAt.get(id) ?? 0)) : reporting.elapsed();
    variants.push({ compiled: p.compiled, outcomes: p.outcomes, artifacts, lock: p.lock, verdict, counts: countOutcomes(p.outcomes.values()), ms });
  }
  const ms = reporting.elapsed();
  const total = countOutcomes(outcomes.values());
  for (const v of variants) {
    const event: VariantSummaryEvent = { event: 'summary', variant: v.compiled.loaded.variant.name, ...v.counts, ms: several ? v.ms : ms, artifacts: v.artifacts };
    reporting.emit(event);
  }
  const ok = variants.filter((v) => v.verdict === 'built' || v.verdict === 'locked').length;
  if (several) {
    const artifacts = Object.fromEntries(variants.flatMap((v) => Object.entries(v.artifacts).map(([name, path]) => [`${v.compiled.loaded.variant.name}/${name}`, path])));
    const event: VariantSummaryEvent = { event: 'summary', variants: variants.map((v) => v.compiled.loaded.variant.name), ...total, ms, artifacts };
    reporting.emit(event);
  }

  const failed = [...outcomes.values()].some((o) => o.status === 'failed' || o.status === 'skipped');
  if (result && failed) process.stderr.write(failureReport({ ...result, outcomes }, root) + '\n');
  if (!reporting.json) {
    for (const v of variants) process.stderr.write(variantLine(v.compiled.loaded.variant.name, v.verdict, several ? v.ms : ms, v.counts) + '\n');
    if (several) process.stderr.write(totalLine(variants.length, ok, ms, total) + '\n');
    for (const v of variants) {
      for (const [name, path] of Object.entries(v.artifacts)) process.stdout.write(`${name}: ${relative(process.cwd(), path) || path}\n`);
    }
  }
  const exitCode = ok === variants.length ? EXIT.ok : interrupt.signal.aborted || result?.interrupted ? EXIT.interrupted : EXIT.failed;
  const first = variants[0];
  return { exitCode, variants, result, outcomes, compiled: first.compiled, artifacts: first.artifacts, lock: first.lock };
}

/** A variant is built when every node it needs is built or cached. */
function verdictOf(p: Pending, request: RunRequest, interrupted: boolean): Verdict {
  const lockFailed = p.lockResult !== undefined && !p.lockResult.ok;
  const fine = (o: NodeOutcome) => o.status === 'built' || o.status === 'cached';
  if (request.lockOnly && !lockFailed) return 'locked';
  if (!lockFailed && !p.built) return interrupted ? 'interrupted' : 'not built';
  if (!lockFailed && [...p.outcomes.values()].every(fine)) return 'built';
  return interrupted || p.lockResult?.interrupted ? 'interrupted' : 'FAILED';
}

/** The session every command opens on a project: its cache, tool hints, file roots and host files. */
export async function openSession(root: string, args: ParsedArgs, config?: BuildConfig): Promise<Session> {
  const store = await remoteStoreFor(root, args, config);
  return Session.open({ root, cacheDir: cacheDirFrom(args), toolHints: toolHints(), fileRoots: PIPELINE_FILE_ROOTS, hostFiles: hostFileTable(), store });
}
