// The local store under out/cache (or --cache-dir / PIPELINE_CACHE):
//   ac/<key>.json    action cache: key -> output digest and run metadata
//   cas/<digest>/    output trees, named by their digest (nodes with equal outputs share one)
//   logs/<key>.log   the log of the run that produced the entry
//   tmp/<pid>-<n>/   work areas of running builds; a dead process's leftovers are removed at start
// Publishing renames a finished tree into cas/ and then renames the ac entry into place, so a
// kill at any moment leaves either no entry or a complete one. Several processes may share it:
// both may build the same node; the second rename finds the tree already there and drops its own.
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, utimesSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ActionResult, LookupOptions, PublishMeta, Store, WorkDir } from './store.js';
import { digestTree, type TreeSummary } from './tree-digest.js';
import { pipeToFile } from '../util/file-stream.js';
import { processAlive } from '../util/process.js';

export class LocalStore implements Store {
  readonly acDir: string;
  readonly casDir: string;
  readonly logsDir: string;
  readonly tmpDir: string;
  private counter = 0;

  constructor(readonly root: string) {
    this.acDir = join(root, 'ac');
    this.casDir = join(root, 'cas');
    this.logsDir = join(root, 'logs');
    this.tmpDir = join(root, 'tmp');
  }

  /** Creates the layout and removes work areas left by processes that no longer run. */
  async open(): Promise<void> {
    await Promise.all([this.acDir, this.casDir, this.logsDir, this.tmpDir].map((d) => mkdir(d, { recursive: true })));
    await this.removeStaleWork();
  }

  async removeStaleWork(): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.tmpDir)) {
      const pid = Number(name.split('-')[0]);
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) continue;
      await rm(join(this.tmpDir, name), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  // Lookups use synchronous calls on purpose: they touch two tiny files, and a no-op build of
  // thousands of nodes is several times faster without a thread-pool round trip per call.
  async lookup(key: string, options: LookupOptions = {}): Promise<ActionResult | undefined> {
    const result = this.readAction(key);
    if (!result) return undefined;
    if (!existsSync(this.outputPath(result.output))) return undefined; // collected or dropped as corrupt: a miss
    if (options.peek) return result;
    // Touch the entry: gc removes the least recently used first.
    try {
      const now = new Date();
      utimesSync(join(this.acDir, `${key}.json`), now, now);
    } catch {}
    return result;
  }

  readAction(key: string): ActionResult | undefined {
    try {
      return JSON.parse(readFileSync(join(this.acDir, `${key}.json`), 'utf8')) as ActionResult;
    } catch {
      return undefined;
    }
  }

  outputPath(outputDigest: string): string {
    return join(this.casDir, outputDigest);
  }

  logPath(key: string): string {
    return join(this.logsDir, `${key}.log`);
  }

  async createWorkDir(): Promise<WorkDir> {
    const base = join(this.tmpDir, `${process.pid}-${randomBytes(6).toString('hex')}-${this.counter++}`);
    const work = { out: join(base, 'out'), tmp: join(base, 'tmp') };
    await mkdir(work.out, { recursive: true });
    await mkdir(work.tmp, { recursive: true });
    return work;
  }

  async discard(work: WorkDir): Promise<void> {
    await rm(join(work.out, '..'), { recursive: true, force: true });
  }

  async publish(key: string, work: WorkDir, meta: PublishMeta): Promise<ActionResult> {
    return this.publishTree(key, work, await digestTree(work.out, meta.digests), meta);
  }

  /**
   * Publishes a work area whose tree digest is already known (an output fetched from a remote
   * cache, digested to verify it); `builtAt` keeps when the output was first built.
   */
  async publishTree(key: string, work: WorkDir, tree: TreeSummary, meta: PublishMeta & { builtAt?: string }): Promise<ActionResult> {
    const target = this.outputPath(tree.digest);
    try {
      await rename(work.out, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Another run (this process or another) already stored identical bytes.
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    }
    const result: ActionResult = {
      key,
      id: meta.id,
      kind: meta.kind,
      output: tree.digest,
      size: tree.size,
      files: tree.files,
      ms: meta.ms,
      builtAt: meta.builtAt ?? new Date().toISOString(),
    };
    if (meta.log) await copyLog(meta.log, this.logPath(key)).catch(() => {});
    await this.writeAction(result);
    await this.discard(work);
    return result;
  }

  async writeAction(result: ActionResult): Promise<void> {
    const tmp = join(this.tmpDir, `${process.pid}-ac-${randomBytes(6).toString('hex')}.json`);
    await writeFile(tmp, JSON.stringify(result, null, 1));
    await rename(tmp, join(this.acDir, `${result.key}.json`));
  }
}

/**
 * Copies a node's log into the store, read to its end as it is then. Not copyFile: libuv's copy
 * sends the size it saw at the start and spins forever when the file shrinks meanwhile, which is
 * what happens when a second build of the same node (another process) rewrites out/logs/<id>.log.
 */
export async function copyLog(from: string, to: string): Promise<void> {
  const tmp = `${to}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  await pipeToFile(tmp, createReadStream(from));
  await rename(tmp, to).catch(async (err: unknown) => {
    await rm(tmp, { force: true });
    throw err;
  });
}
