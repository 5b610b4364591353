// `pipeline cache stats | gc | verify`: looking after the local store.
import { readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalStore } from './local-store.js';
import type { ActionResult } from './store.js';
import { digestTree } from './tree-digest.js';

interface Entry {
  key: string;
  result: ActionResult;
  /** Last use (mtime of the action entry: lookups touch it). */
  usedAt: number;
}

async function readEntries(store: LocalStore): Promise<Entry[]> {
  const entries: Entry[] = [];
  for (const name of await readdir(store.acDir)) {
    if (!name.endsWith('.json')) continue;
    const path = join(store.acDir, name);
    try {
      const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
      entries.push({ key: name.slice(0, -5), result: JSON.parse(text) as ActionResult, usedAt: st.mtimeMs });
    } catch {
      await rm(path, { force: true }); // unreadable entry: it can only cause a miss
    }
  }
  return entries;
}

async function listOutputs(store: LocalStore): Promise<string[]> {
  return (await readdir(store.casDir)).filter((n) => /^[0-9a-f]{64}$/.test(n));
}

export interface CacheStats {
  dir: string;
  entries: number;
  outputs: number;
  /** Bytes of file content in stored outputs. */
  bytes: number;
  byKind: Record<string, { entries: number; bytes: number }>;
  oldestUse?: string;
  newestUse?: string;
}

export async function cacheStats(store: LocalStore): Promise<CacheStats> {
  const entries = await readEntries(store);
  const outputs = new Set(await listOutputs(store));
  const counted = new Set<string>();
  const byKind: CacheStats['byKind'] = {};
  let bytes = 0;
  for (const e of entries) {
    const k = (byKind[e.result.kind] ??= { entries: 0, bytes: 0 });
    k.entries++;
    if (outputs.has(e.result.output) && !counted.has(e.result.output)) {
      counted.add(e.result.output);
      k.bytes += e.result.size;
      bytes += e.result.size;
    }
  }
  const uses = entries.map((e) => e.usedAt).sort((a, b) => a - b);
  return {
    dir: store.root,
    entries: entries.length,
    outputs: outputs.size,
    bytes,
    byKind,
    oldestUse: uses.length ? new Date(uses[0]).toISOString() : undefined,
    newestUse: uses.length ? new Date(uses[uses.length - 1]).toISOString() : undefined,
  };
}

export interface GcResult {
  removedEntries: number;
  removedOutputs: number;
  freedBytes: number;
  keptBytes: number;
}

/**
 * Removes least recently used outputs until the stored bytes fit `maxBytes`. An output goes with
 * every action entry that points at it; entries are removed before their output, so no entry
 * ever points at a missing tree for longer than a lookup can notice (it then counts as a miss).
 */
export async function collectGarbage(store: LocalStore, maxBytes: number): Promise<GcResult> {
  const entries = await readEntries(store);
  const outputs = new Set(await listOutputs(store));
  const byOutput = new Map<string, { entries: Entry[]; size: number; usedAt: number }>();
  let removedEntries = 0;
  for (const e of entries) {
    if (!outputs.has(e.result.output)) {
      await rm(join(store.acDir, `${e.key}.json`), { force: true });
      removedEntries++;
      continue;
    }
    const group = byOutput.get(e.result.output) ?? { entries: [], size: e.result.size, usedAt: 0 };
    group.entries.push(e);
    group.usedAt = Math.max(group.usedAt, e.usedAt);
    byOutput.set(e.result.output, group);
  }
  // Trees no entry points at (left by an interrupted gc or verify) are garbage whatever the size.
  let removedOutputs = 0;
  let freedBytes = 0;
  for (const digest of outputs) {
    if (!byOutput.has(digest)) {
      await removeTree(store, digest);
      removedOutputs++;
    }
  }
  let total = [...byOutput.values()].reduce((sum, g) => sum + g.size, 0);
  const oldestFirst = [...byOutput.entries()].sort((a, b) => a[1].usedAt - b[1].usedAt);
  for (const [digest, group] of oldestFirst) {
    if (total <= maxBytes) break;
    for (const e of group.entries) {
      await rm(join(store.acDir, `${e.key}.json`), { force: true });
      await rm(store.logPath(e.key), { force: true });
      removedEntries++;
    }
    await removeTree(store, digest);
    removedOutputs++;
    freedBytes += group.size;
    total -= group.size;
  }
  return { removedEntries, removedOutputs, freedBytes, keptBytes: total };
}

export interface VerifyResult {
  checked: number;
  corrupt: string[];
  danglingEntries: number;
}

/** Re-hashes every stored output; a tree whose digest is not its name is dropped with its entries. */
export async function verifyStore(store: LocalStore, onProgress?: (done: number, total: number) => void): Promise<VerifyResult> {
  const outputs = await listOutputs(store);
  const corrupt: string[] = [];
  let done = 0;
  for (const digest of outputs) {
    const actual = await digestTree(store.outputPath(digest)).then((t) => t.digest).catch(() => 'unreadable');
    if (actual !== digest) corrupt.push(digest);
    onProgress?.(++done, outputs.length);
  }
  const bad = new Set(corrupt);
  let danglingEntries = 0;
  const present = new Set(outputs);
  for (const e of await readEntries(store)) {
    if (bad.has(e.result.output) || !present.has(e.result.output)) {
      await rm(join(store.acDir, `${e.key}.json`), { force: true });
      if (!bad.has(e.result.output)) danglingEntries++;
    }
  }
  for (const digest of corrupt) await removeTree(store, digest);
  return { checked: outputs.length, corrupt, danglingEntries };
}

/** Moves a tree out of cas/ first (atomic), then deletes it at leisure. */
async function removeTree(store: LocalStore, digest: string): Promise<void> {
  const trash = join(store.tmpDir, `${process.pid}-trash-${digest}`);
  try {
    await rename(store.outputPath(digest), trash);
  } catch {
    return;
  }
  await rm(trash, { recursive: true, force: true });
}

/** Parses sizes such as 10G, 512M, 1.5GiB, 2000000. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(text.trim());
  if (!m) throw new Error(`'${text}' is not a size (examples: 10G, 512M, 1.5GiB, 2000000)`);
  const power = { '': 0, k: 1, m: 2, g: 3, t: 4 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * 1024 ** power);
}
