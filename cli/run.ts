// Running a target, shared by `build`, `test` and `lock`: compile, resolve and lock the package
// set first when there is no lock, build, publish the artifacts, report.
import { copyFile, mkdir, readFile, rename } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { build, type BuildOptions, type BuildResult, type NodeOutcome } from '../graph/build.js';
import { ConfigError } from '../graph/errors.js';
import type { BuildEvent, EventSink } from '../graph/events.js';
import { Session } from '../graph/session.js';
import { PIPELINE_FILE_ROOTS } from '../stages/pipeline-files.js';
import { TraceRecorder } from '../graph/trace.js';
import { validateGraph } from '../graph/validate.js';
import { compileTarget, type CompileOptions, type CompiledTarget } from '../compile/index.js';
import { parseLock, type ApkLock } from '../stages/sources/apk/lock.js';
import { toolHints } from '../stages/host-tools.js';
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
  compile: Omit<CompileOptions, 'lock'>;
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
  lock?: { file: string; previous?: ApkLock; next: ApkLock };
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
  const target = args.positionals[0];
  const compileOptions: CompileOptions = { strict: !request.lockOnly, ...request.compile, mirrorFlags: (args.values.mirror as string[] | undefined) ?? [], configFile: args.values.config as string | undefined };
  let compiled = await compileTarget(target, { ...compileOptions, lock: request.relock ? 'ignore' : 'use' });
  const { root, variant } = compiled.loaded;
  // A broken graph is reported before the cache directory is even created.
  validateGraph(compiled.nodes);
  const session = await Session.open({ root, cacheDir: cacheDirFrom(args), toolHints: toolHints(), fileRoots: PIPELINE_FILE_ROOTS });
  const reporting = new Reporting(args);
  const interrupt = interruptController(() => reporting.say('\ninterrupted: stopping running nodes (Ctrl-C again to exit at once)'));
  const outcomes = new Map<string, NodeOutcome>();
  const started = performance.now();
  let result: BuildResult | undefined;
  let lockInfo: RunOutcome['lock'];
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
    // Phase 1, without a lock: download the indexes, resolve, write the lock, compile again.
    if (compiled.alpine && !compiled.alpine.lock) {
      const alpine = compiled.alpine;
      if (alpine.unlocatedMirrors.length > 0) {
        const m = alpine.unlocatedMirrors[0];
        throw new ConfigError(
          `${variant.name} has no lock yet, so its package indexes must be downloaded, but mirror '${m}' has no location: ` +
            `pass --mirror ${m}=<url> or set mirrors.${m} in pipeline.config.yaml (a URL, a file URL or a project-relative path)`,
        );
      }
      result = await build(session, validateGraph(compiled.nodes), options([alpine.resolveId], 'resolve packages'));
      for (const [id, o] of result.outcomes) outcomes.set(id, o);
      if (result.ok) {
        const produced = join(result.outcomes.get(alpine.resolveId)!.path!, 'lock.yaml');
        const previous = await readLockIfAny(alpine.lockFile);
        await writeAtomically(produced, alpine.lockFile);
        const next = parseLock(await readFile(alpine.lockFile, 'utf8'), alpine.lockFile);
        lockInfo = { file: alpine.lockFile, previous, next };
        if (!reporting.json) reporting.say(`wrote ${relative(process.cwd(), alpine.lockFile)}: ${next.packages.length} packages${describeLockChange(previous, next)}`);
        if (!request.lockOnly) {
          compiled = await compileTarget(target, { ...compileOptions, lock: 'use' });
          validateGraph(compiled.nodes);
        }
      }
    }
    if ((!result || result.ok) && !request.lockOnly) {
      result = await build(session, validateGraph(compiled.nodes), options(request.targets(compiled), result ? 'build' : undefined));
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
  return { exitCode, compiled, result, outcomes, artifacts, lock: lockInfo };
}

async function readLockIfAny(file: string): Promise<ApkLock | undefined> {
  try {
    return parseLock(await readFile(file, 'utf8'), file);
  } catch {
    return undefined;
  }
}

async function writeAtomically(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  const tmp = `${to}.tmp-${process.pid}`;
  await copyFile(from, tmp);
  await rename(tmp, to);
}

/** ` (2 added, 1 upgraded: busybox 1.36.1-r1 -> 1.36.1-r2)` for a re-lock; empty for a first lock. */
export function describeLockChange(previous: ApkLock | undefined, next: ApkLock): string {
  if (!previous) return '';
  const before = new Map(previous.packages.map((p) => [p.name, p.version]));
  const after = new Map(next.packages.map((p) => [p.name, p.version]));
  const added = [...after.keys()].filter((n) => !before.has(n));
  const removed = [...before.keys()].filter((n) => !after.has(n));
  const changed = [...after.entries()].filter(([n, v]) => before.has(n) && before.get(n) !== v).map(([n, v]) => `${n} ${before.get(n)} -> ${v}`);
  const parts = [];
  if (added.length) parts.push(`added ${added.join(', ')}`);
  if (removed.length) parts.push(`removed ${removed.join(', ')}`);
  if (changed.length) parts.push(`changed ${changed.join(', ')}`);
  return parts.length ? ` (${parts.join('; ')})` : ' (unchanged)';
}
