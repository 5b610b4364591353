// A recipe's source download: one node per sha256, shared by every recipe and variant that pins
// the same bytes. The URLs are hints (unkeyed): a new mirror costs no rebuild. The file is checked
// against its sha256 before the node succeeds, so nothing unverified reaches the cache.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeSpec } from '../graph/node.js';
import type { StageKind } from './kind.js';
import { download } from './sources/download.js';

export const SOURCE_FILE = 'source';

export const SOURCE_STAGE: StageKind = { kind: 'source', version: 1, summary: 'recipe source downloads, pinned by sha256', tools: [] };

export function sourceNodeId(sha256: string): string {
  return `source:sha256-${sha256.slice(0, 16)}`;
}

export interface SourceNodeOptions {
  sha256: string;
  /** Where to get it (resolved URLs, or project-relative paths), tried in order. */
  urls: string[];
  /** Who pins it (`recipes/hello.rhai`): named in errors. */
  pinnedBy: string[];
  /** A download location nobody gave (a mirror:// with no mirror). */
  unbuildable?: string;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

export function sourceNode(options: SourceNodeOptions): NodeSpec {
  const label = `source ${options.urls[0]?.split('/').pop() ?? options.sha256} (pinned by ${options.pinnedBy.join(', ')})`;
  return {
    id: sourceNodeId(options.sha256),
    kind: SOURCE_STAGE.kind,
    version: SOURCE_STAGE.version,
    params: { sha256: options.sha256 },
    unkeyed: { urls: options.urls, pinnedBy: options.pinnedBy },
    description: label,
    ...(options.unbuildable ? { unbuildable: options.unbuildable } : {}),
    async run(ctx) {
      const target = join(ctx.out, SOURCE_FILE);
      const failures: string[] = [];
      for (const url of options.urls) {
        try {
          await download(url, target, { subject: label, baseDir: ctx.root, signal: ctx.signal, log: (line) => ctx.log(line) });
        } catch (err) {
          failures.push((err as Error).message);
          continue;
        }
        const digest = await sha256Of(target);
        if (digest === options.sha256) {
          ctx.log(`${url}: sha256 ${digest} as pinned`);
          return;
        }
        await rm(target, { force: true });
        // An integrity failure is final for this URL: another attempt gets the same bytes.
        failures.push(`${label}: ${url} has sha256 ${digest}, the recipe pins ${options.sha256}`);
      }
      throw new Error(failures.join('\n'));
    },
  };
}
