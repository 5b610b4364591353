// Build records: per node id, the key material of its latest and previous builds. They are what
// `pipeline explain` diffs against and what `pipeline graph` calls stale or never built. They
// live beside the store (records/<id>.json) and are written atomically.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyMaterial } from './key.js';

export interface BuildRecord {
  key: string;
  material: KeyMaterial;
  /** Dependency local name -> node id at the time (names in material.deps refer to these). */
  depIds: Record<string, string>;
  /** When this key was first recorded for the node. */
  at: string;
  /** How the node got this key: built here, or found in the cache. */
  how: 'built' | 'cached';
}

export interface NodeHistory {
  id: string;
  latest: BuildRecord;
  previous?: BuildRecord;
}

export class RecordBook {
  constructor(private readonly dir: string) {}

  private path(id: string): string {
    return join(this.dir, fileNameFor(id) + '.json');
  }

  async read(id: string): Promise<NodeHistory | undefined> {
    try {
      // Synchronous: a small file read once per node on every build (see LocalStore.lookup).
      return JSON.parse(readFileSync(this.path(id), 'utf8')) as NodeHistory;
    } catch {
      return undefined;
    }
  }

  /** Records that the node now has `record.key`; keeps the one before as `previous`. */
  async note(id: string, record: BuildRecord, known?: NodeHistory): Promise<void> {
    const history = known ?? (await this.read(id));
    if (history?.latest.key === record.key) return;
    const next: NodeHistory = { id, latest: record, previous: history?.latest };
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.path(id)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(next));
    await rename(tmp, this.path(id));
  }
}

/** A file name for a node id: readable, and safe on any file system. */
export function fileNameFor(id: string): string {
  const readable = id.replace(/[^A-Za-z0-9._@+=-]/g, '_').slice(0, 120);
  // Two ids that map to the same readable form (a:b vs a_b) stay apart by a short hash.
  return /^[A-Za-z0-9._@+=-]+$/.test(id) && readable === id ? id : `${readable}-${simpleHash(id)}`;
}

function simpleHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
