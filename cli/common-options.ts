// Options several commands share, and what they turn into.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { OptionDef, ParsedArgs } from './command.js';
import { UsageError } from './command.js';

export const cacheDirOption: OptionDef = {
  name: 'cache-dir',
  type: 'string',
  value: 'DIR',
  description: 'where the cache lives (default: $PIPELINE_CACHE, else out/cache under the project root)',
};

export const jsonOption: OptionDef = {
  name: 'json',
  type: 'boolean',
  description: 'print one JSON object per line on stdout instead of human progress',
};

export const jobsOption: OptionDef = {
  name: 'jobs',
  type: 'string',
  value: 'N',
  description: `run at most N job slots at once (default: the number of cores, here ${availableParallelism()})`,
};

export function cacheDirFrom(args: ParsedArgs): string | undefined {
  const given = (args.values['cache-dir'] as string | undefined) ?? process.env.PIPELINE_CACHE;
  return given ? resolve(given) : undefined;
}

export function jobsFrom(args: ParsedArgs): number {
  const text = args.values.jobs as string | undefined;
  if (text === undefined) return availableParallelism();
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--jobs takes a whole number of at least 1, got '${text}'`);
  return n;
}
