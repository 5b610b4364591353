// The lock phase: a variant with no lock (or one to renew) first downloads and verifies its
// package indexes and resolves its package list; the resolve node's lock.yaml is then written
// atomically to variants/<name>.lock.yaml, and the target is compiled again against it.
import { copyFile, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { build, type BuildOptions, type BuildResult } from '../graph/build.js';
import type { Session } from '../graph/session.js';
import type { Graph } from '../graph/validate.js';
import type { LockFacts, PackageSource } from '../compile/package-source.js';
import type { ApkLock } from '../stages/sources/apk/lock.js';
import type { RpmLock } from '../stages/sources/rpm/lock.js';

export interface LockChange {
  file: string;
  previous?: LockFacts;
  next: ApkLock | RpmLock;
}

export interface LockPhaseResult {
  result: BuildResult;
  /** Set when the lock was written. */
  lock?: LockChange;
}

/**
 * Resolves and writes the lock. `options` are the build's (jobs, events, signal...); with
 * `checkAll` every node's inputs are checked first (keys, firmware), so a build that would fail
 * on them fails before it locks. A mirror with no location makes the index nodes unbuildable.
 */
export async function lockPhase(session: Session, graph: Graph, source: PackageSource, options: BuildOptions): Promise<LockPhaseResult> {
  const result = await build(session, graph, { ...options, targets: [source.resolveId], label: options.label ?? 'resolve packages' });
  if (!result.ok) return { result };
  const produced = join(result.outcomes.get(source.resolveId)!.path!, 'lock.yaml');
  const previous = await readLockIfAny(source);
  await copyAtomically(produced, source.lockFile);
  const next = source.parseLock(await readFile(source.lockFile, 'utf8'), source.lockFile);
  return { result, lock: { file: source.lockFile, previous, next } };
}

async function readLockIfAny(source: PackageSource): Promise<LockFacts | undefined> {
  try {
    return source.parseLock(await readFile(source.lockFile, 'utf8'), source.lockFile);
  } catch {
    return undefined;
  }
}

async function copyAtomically(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  const tmp = `${to}.tmp-${process.pid}`;
  try {
    await copyFile(from, tmp);
    await rename(tmp, to);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** ` (added x; removed y; changed busybox 1.36.1-r1 -> 1.36.1-r2)` for a re-lock; empty for a first lock. */
export function describeLockChange(previous: LockFacts | undefined, next: LockFacts): string {
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
