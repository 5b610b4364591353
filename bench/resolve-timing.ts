// Timing of "read the indexes, parse them, resolve a package list", for benchmarks and the
// resolver's own performance test. The caller's `load` does the I/O (and, once it is wired in,
// the index signature check), so its time is measured as part of the whole.
import { type ApkIndex, type ApkRepositoryRef, parseApkIndex } from '../stages/sources/apk/apkindex.js';
import type { Dependency } from '../stages/sources/apk/depend.js';
import { resolvePackages } from '../stages/sources/apk/resolve.js';
import { median } from '../util/stats.js';

export interface IndexSource {
  repository: ApkRepositoryRef;
  /** APKINDEX text (after decompression and verification). */
  text: string;
}

export interface ResolveTimingInput {
  /** Produces the index texts, in repository priority order. Timed. */
  load: () => IndexSource[] | Promise<IndexSource[]>;
  requests: readonly (string | Dependency)[];
  arch?: string;
  /** Number of measured runs (one extra warm-up run is not counted). Default 7. */
  runs?: number;
}

export interface ResolveTiming {
  runs: number;
  /** Medians in milliseconds. */
  loadMs: number;
  parseMs: number;
  resolveMs: number;
  totalMs: number;
  /** The first (cold) run, in milliseconds: what a fresh `pipeline lock` process pays. */
  coldTotalMs: number;
  packages: number;
}


/** Runs load + parse + resolve `runs` times and reports medians and the cold first run. */
export async function timeParseAndResolve(input: ResolveTimingInput): Promise<ResolveTiming> {
  const runs = input.runs ?? 7;
  const load: number[] = [];
  const parse: number[] = [];
  const resolve: number[] = [];
  let packages = 0;
  let cold = 0;
  for (let run = 0; run <= runs; run++) {
    const t0 = performance.now();
    const sources = await input.load();
    const t1 = performance.now();
    const indexes: ApkIndex[] = sources.map((s) => parseApkIndex(s.text, s.repository));
    const t2 = performance.now();
    const resolution = resolvePackages({ requests: input.requests, indexes, ...(input.arch ? { arch: input.arch } : {}) });
    const t3 = performance.now();
    packages = resolution.packages.length;
    if (run === 0) {
      cold = t3 - t0;
      continue;
    }
    load.push(t1 - t0);
    parse.push(t2 - t1);
    resolve.push(t3 - t2);
  }
  const totals = load.map((l, i) => l + parse[i]! + resolve[i]!);
  return {
    runs,
    loadMs: median(load),
    parseMs: median(parse),
    resolveMs: median(resolve),
    totalMs: median(totals),
    coldTotalMs: cold,
    packages,
  };
}
