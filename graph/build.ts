// The executor: walks the graph dependency-first, computes each node's key from its inputs and
// its dependencies' output digests, takes hits from the store, and runs misses in parallel within
// the job slots. Before anything runs, every node's files and tools are checked, so a missing
// input is a configuration error that costs no work.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { BuildInterrupted, CommandError, ConfigError, NodeFailure, NodeInputsError } from './errors.js';
import type { EventSink, NodeStatus } from './events.js';
import type { ToolIdentity } from './file-digests.js';
import type { NodeSpec } from './node.js';
import { NodeLog } from './node-log.js';
import { OutputDigests } from './output-digests.js';
import { fileNameFor } from './records.js';
import { createRunContext } from './run-context.js';
import { WeightedSemaphore } from './semaphore.js';
import type { Session } from './session.js';
import { closure, validateGraph, type Graph } from './validate.js';
import type { KeyMaterial } from './key.js';
import { RemoteOutputUnavailable, type NodeIdentity } from './store.js';

function identityOf(node: NodeSpec): NodeIdentity {
  return { id: node.id, kind: node.kind, version: node.version, localOnly: node.localOnly === true || node.alwaysRun === true };
}

export interface BuildOptions {
  /** Job slots (default: the number of cores). */
  jobs?: number;
  /** After a failure, let independent branches finish. */
  keepGoing?: boolean;
  /** Rerun nodes even when the store has them: true for all, or a predicate. */
  force?: boolean | ((node: NodeSpec) => boolean);
  /** Build only these nodes and what they need (default: all). */
  targets?: string[];
  signal?: AbortSignal;
  onEvent?: EventSink;
  /**
   * Nodes whose outputs must be on local disk when the build ends (the artifacts, test results);
   * default every node the build visits. With a remote cache, other hits stay on the server
   * unless a node that runs here needs them.
   */
  keepLocal?: string[];
  /** Names this build in its plan event, when a command runs several. */
  label?: string;
  /**
   * Check the declared inputs of every node in the graph, not only of those this build runs: a
   * command that builds in rounds (resolve and lock, then build) fails before the first.
   */
  checkAll?: boolean;
}

export interface NodeOutcome {
  id: string;
  kind: string;
  status: NodeStatus;
  key?: string;
  output?: string;
  /** Local path of the output tree. */
  path?: string;
  ms: number;
  error?: Error;
}

export interface BuildResult {
  ok: boolean;
  interrupted: boolean;
  outcomes: Map<string, NodeOutcome>;
  ms: number;
}

const LOG_TAIL_LINES = 30;

export async function build(session: Session, specs: NodeSpec[] | Graph, options: BuildOptions = {}): Promise<BuildResult> {
  const graph = Array.isArray(specs) ? validateGraph(specs) : specs;
  const wanted = options.targets ? closure(graph, options.targets) : undefined;
  const order = wanted ? graph.order.filter((n) => wanted.has(n.id)) : graph.order;
  const jobs = options.jobs ?? availableParallelism();
  const emit: EventSink = options.onEvent ?? (() => {});
  const signal = options.signal ?? new AbortController().signal;
  const started = performance.now();
  const since = () => Math.round(performance.now() - started);

  session.refresh();
  session.store.attach?.(emit, { secretFiles: [...new Set(order.flatMap((n) => (n.secretFiles ?? []).map((name) => n.secrets?.[name]).filter((p): p is string => !!p)))] });
  const tools = await preflight(session, options.checkAll ? graph.order : order);
  emit({ event: 'plan', nodes: order.length, jobs, ...(options.label ? { label: options.label } : {}) });

  const slots = new WeightedSemaphore(jobs);
  const outcomes = new Map<string, NodeOutcome>();
  const pending = new Map<string, Promise<NodeOutcome>>();
  let stopping = false;

  /** What a node was keyed on in this build: a node taken lazily from a remote may have to run after all. */
  const keyed = new Map<string, { key: string; material: KeyMaterial; depIds: Record<string, string> }>();
  /** Outputs being brought to local disk (a remote hit's archive), by node id. */
  const localizing = new Map<string, Promise<string>>();

  const finisher = (node: NodeSpec, at: number) => (outcome: Omit<NodeOutcome, 'id' | 'kind'>, extra: { builtMs?: number; log?: string; remote?: boolean } = {}) => {
    const full: NodeOutcome = { id: node.id, kind: node.kind, ...outcome };
    outcomes.set(node.id, full);
    emit({
      event: 'node',
      id: node.id,
      kind: node.kind,
      status: full.status,
      ms: full.ms,
      at,
      key: full.key,
      output: full.output,
      error: full.error?.message,
      ...extra,
    });
    return full;
  };

  const visit = async (node: NodeSpec): Promise<NodeOutcome> => {
    const depEntries = Object.entries(node.deps ?? {});
    const deps = await Promise.all(depEntries.map(([, id]) => pending.get(id)!));
    const at = since();
    const finish = finisher(node, at);

    const blocked = deps.find((d) => d.status === 'failed' || d.status === 'skipped');
    if (blocked) return finish({ status: 'skipped', ms: 0, error: new Error(`dependency ${blocked.id} ${blocked.status === 'failed' ? 'failed' : 'was skipped'}`) });
    if (signal.aborted) return finish({ status: 'skipped', ms: 0, error: new BuildInterrupted('build interrupted') });
    if (stopping) return finish({ status: 'skipped', ms: 0, error: new Error('build stopped after a failure (use --keep-going to build independent nodes)') });

    const depOutputs: Record<string, string> = {};
    const depIds: Record<string, string> = {};
    depEntries.forEach(([name, id], i) => {
      depOutputs[name] = deps[i].output!;
      depIds[name] = id;
    });
    const { key, material } = await session.key(node, depOutputs);
    keyed.set(node.id, { key, material, depIds });
    const forced = node.alwaysRun === true || (typeof options.force === 'function' ? options.force(node) : options.force === true);

    if (!forced) {
      let hit;
      try {
        // Lazy: a remote hit may leave its output on the server until something needs it.
        hit = await session.store.lookup(key, { node: identityOf(node), material, lazy: true });
      } catch (err) {
        // Only a remote cache the user made required throws here: the node fails, like a run would.
        if (!options.keepGoing) stopping = true;
        return finish({ status: 'failed', key, ms: since() - at, error: err instanceof Error ? err : new Error(String(err)) });
      }
      if (hit) {
        await session.records.note(node.id, { key, material, depIds, at: new Date().toISOString(), how: 'cached' });
        return finish(
          { status: 'cached', key, output: hit.output, path: hit.pending ? undefined : session.store.outputPath(hit.output), ms: since() - at },
          { builtMs: hit.ms, ...(hit.origin === 'remote' ? { remote: true } : {}) },
        );
      }
    }
    return runHere(node, finish);
  };

  /**
   * The local path of a node's output: at once for a node built or found locally; for a remote hit
   * left on the server, its archive is fetched and verified, and if that fails the node is built
   * here, and must come out as the entry said (its dependents were keyed on that digest).
   */
  const localPath = (id: string): Promise<string> => {
    const known = outcomes.get(id)!;
    if (known.path) return Promise.resolve(known.path);
    let promise = localizing.get(id);
    if (!promise) {
      promise = (async () => {
        const node = graph.nodes.get(id)!;
        try {
          return await session.store.materialize!(known.key!, identityOf(node));
        } catch (err) {
          if (!(err instanceof RemoteOutputUnavailable)) throw err;
          // The store said why (a warning); build it here.
          const rebuilt = await runHere(node, finisher(node, since()));
          if (rebuilt.status !== 'built') throw rebuilt.error ?? new Error(`${id} could not be built`);
          if (rebuilt.output !== known.output) {
            throw new Error(
              `${id} was built here because its remote copy could not be used, and its output (${rebuilt.output}) differs from the remote entry's ` +
                `(${known.output}), on which its dependents were keyed: the node is not reproducible; build again (the remote entry has been replaced if this machine uploads)`,
            );
          }
          return rebuilt.path!;
        }
      })();
      localizing.set(id, promise);
    }
    return promise.then((path) => {
      known.path = path;
      return path;
    });
  };

  const runHere = async (node: NodeSpec, finish: ReturnType<typeof finisher>): Promise<NodeOutcome> => {
    const { key, material, depIds } = keyed.get(node.id)!;
    const depPaths: Record<string, string> = {};
    try {
      for (const [name, id] of Object.entries(depIds)) depPaths[name] = await localPath(id);
    } catch (err) {
      if (!options.keepGoing) stopping = true;
      const error = err instanceof Error ? err : new Error(String(err));
      return finish({ status: 'failed', key, ms: 0, error: new Error(`a dependency's output could not be brought here: ${error.message}`) });
    }
    const release = await slots.acquire(node.weight ?? 1);
    const runStart = since();
    if (signal.aborted || stopping) {
      release();
      return finish({ status: 'skipped', ms: 0, error: signal.aborted ? new BuildInterrupted('build interrupted') : new Error('build stopped after a failure') });
    }
    emit({ event: 'start', id: node.id, kind: node.kind, key, at: runStart });
    const log = new NodeLog(join(session.logDir, fileNameFor(node.id) + '.log'), node.secrets ?? {});
    const work = await session.store.createWorkDir();
    const digests = new OutputDigests(work.out);
    try {
      await log.open(`# ${node.id} (${node.kind} v${node.version}) key ${key} at ${new Date().toISOString()}`);
      const ctx = createRunContext({
        node,
        root: session.root,
        fileRoots: session.fileRoots,
        out: work.out,
        tmp: work.tmp,
        depPaths,
        tools: new Map((node.tools ?? []).map((t) => [t, tools.get(t)!])),
        hostFiles: new Map(await Promise.all((node.hostFiles ?? []).map(async (h) => [h, await session.hostFiles.resolve(h)] as const))),
        env: material.env,
        log,
        signal,
        digests,
      });
      await raceAbort(node.run(ctx), signal);
      const ms = since() - runStart;
      log.line(`# done in ${ms} ms`);
      await log.close();
      const identity = identityOf(node);
      const result = await session.store.publish(key, work, { id: node.id, kind: node.kind, ms, log: log.path, digests, version: node.version, material, localOnly: identity.localOnly });
      await session.records.note(node.id, { key, material, depIds, at: result.builtAt, how: 'built' });
      return finish({ status: 'built', key, output: result.output, path: session.store.outputPath(result.output), ms }, { log: log.path });
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      log.line(`# failed: ${error.message}`);
      await log.close();
      await session.store.discard(work);
      if (!options.keepGoing) stopping = true;
      const failure = new NodeFailure(log.redact(error.message), {
        nodeId: node.id,
        kind: node.kind,
        command: error instanceof CommandError ? error.command : undefined,
        exitCode: error instanceof CommandError ? error.exitCode : undefined,
        logPath: log.path,
        logTail: await log.tail(LOG_TAIL_LINES),
      });
      return finish({ status: 'failed', key, ms: since() - runStart, error: failure }, { log: log.path });
    } finally {
      release();
    }
  };

  for (const node of order) pending.set(node.id, visit(node));
  await Promise.all(pending.values());
  // The outputs the caller reads (artifacts, test results) come to local disk; others a remote
  // hit may leave on the server.
  const keep = options.keepLocal ? options.keepLocal.filter((id) => outcomes.has(id)) : order.map((n) => n.id);
  await Promise.all(
    keep.map(async (id) => {
      const outcome = outcomes.get(id)!;
      if (outcome.path || outcome.status !== 'cached') return;
      try {
        await localPath(id);
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        finisher(graph.nodes.get(id)!, since())({ ...outcome, status: 'failed', error });
      }
    }),
  );
  await session.digester.save();
  // Uploads to a remote cache finish before the build reports (a CI job ends right after).
  let flushFailed = false;
  try {
    await session.store.flush?.();
  } catch (err) {
    // A remote cache made required that failed: the build fails, with the reason said.
    flushFailed = true;
    emit({ event: 'warning', message: err instanceof Error ? err.message : String(err) });
  }

  const all = [...outcomes.values()];
  return {
    ok: !flushFailed && all.every((o) => o.status === 'built' || o.status === 'cached'),
    interrupted: signal.aborted,
    outcomes,
    ms: since(),
  };
}

/**
 * Resolves every declared tool and file before anything runs: a missing tool or input is the
 * user's to fix (exit code 2) and must not surface halfway through a long build.
 */
async function preflight(session: Session, order: NodeSpec[]): Promise<Map<string, ToolIdentity>> {
  const tools = new Map<string, ToolIdentity>();
  const missing = new Map<string, string[]>();
  const problems: string[] = [];
  await Promise.all(
    order.map(async (node) => {
      try {
        // Dependencies' outputs are not known yet; everything else a key needs is looked at.
        await session.material(node, {});
        for (const name of node.tools ?? []) tools.set(name, await session.tools.resolve(name));
      } catch (err) {
        if (err instanceof NodeInputsError) {
          for (const p of err.problems) {
            const key = `${p.what}\0${p.hint ?? ''}`;
            missing.set(key, [...(missing.get(key) ?? []), node.id]);
          }
        } else if (err instanceof ConfigError) problems.push(err.message);
        else throw err;
      }
    }),
  );
  // The same missing input of many nodes (one certificate, four sign nodes) is said once.
  for (const [key, ids] of missing) {
    const [what, hint] = key.split('\0');
    const sorted = ids.sort();
    const who = sorted.length <= 3 ? sorted.join(', ') : `${sorted.slice(0, 2).join(', ')} and ${sorted.length - 2} more`;
    problems.push(`${what} (needed by ${who})${hint ? `; ${hint}` : ''}`);
  }
  if (problems.length > 0) throw new ConfigError([...new Set(problems)].sort().join('\n'));
  return tools;
}

function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new BuildInterrupted('build interrupted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new BuildInterrupted('build interrupted'));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
