// `pipeline cache stats | gc | verify`. Their arguments, options and help are in ../definitions.ts.
import { join } from 'node:path';
import { cacheStats, collectGarbage, parseSize, verifyStore } from '../../graph/cache-maintenance.js';
import { initHashing } from '../../graph/hash.js';
import { LocalStore } from '../../graph/local-store.js';
import { findProjectRoot } from '../../compile/variant.js';
import { EXIT, UsageError, type Command, type ParsedArgs } from '../command.js';
import { cacheDirFrom } from '../common-options.js';
import { bytes } from '../reporters/format.js';

async function openStore(args: ParsedArgs): Promise<LocalStore> {
  const dir = cacheDirFrom(args) ?? join(findProjectRoot(process.cwd()), 'out', 'cache');
  const store = new LocalStore(dir);
  await initHashing();
  await store.open();
  return store;
}

const print = (args: ParsedArgs, value: unknown, text: string) =>
  process.stdout.write((args.values.json ? JSON.stringify(value) : text) + '\n');

export const cacheStatsCommand: Command = {
  async run(args) {
    const store = await openStore(args);
    const s = await cacheStats(store);
    const kinds = Object.entries(s.byKind).sort((a, b) => b[1].bytes - a[1].bytes);
    const text = [
      `cache ${s.dir}`,
      `  ${s.entries} entries, ${s.outputs} stored outputs, ${bytes(s.bytes)}`,
      ...(s.oldestUse ? [`  used between ${s.oldestUse} and ${s.newestUse}`] : []),
      ...kinds.map(([kind, k]) => `  ${kind.padEnd(14)} ${String(k.entries).padStart(6)} entries  ${bytes(k.bytes).padStart(10)}`),
    ].join('\n');
    print(args, s, text);
    return EXIT.ok;
  },
};

export const cacheGcCommand: Command = {
  async run(args) {
    const given = args.values['max-size'] as string | undefined;
    if (!given) throw new UsageError('cache gc needs --max-size SIZE (e.g. --max-size 10G)');
    let max: number;
    try {
      max = parseSize(given);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const store = await openStore(args);
    const r = await collectGarbage(store, max);
    print(args, r, `removed ${r.removedOutputs} outputs and ${r.removedEntries} entries, freed ${bytes(r.freedBytes)}; ${bytes(r.keptBytes)} kept`);
    return EXIT.ok;
  },
};

export const cacheVerifyCommand: Command = {
  async run(args) {
    const store = await openStore(args);
    const r = await verifyStore(store);
    const text = r.corrupt.length
      ? `checked ${r.checked} outputs: ${r.corrupt.length} corrupt, dropped:\n${r.corrupt.map((d) => `  ${d}`).join('\n')}`
      : `checked ${r.checked} outputs: all intact`;
    print(args, r, text + (r.danglingEntries ? `\n${r.danglingEntries} entries pointed at missing outputs and were dropped` : ''));
    return r.corrupt.length ? EXIT.failed : EXIT.ok;
  },
};
