// The key material: every input of a node, in one documented record. The key is xxh64 over
// its canonical serialization; `pipeline explain` diffs two of these field by field.
import { canonicalJson } from './canonical.js';
import { keyHash } from './hash.js';
import type { Json } from './node.js';

export interface KeyMaterial {
  /** The step kind: two kinds never share results even with equal inputs. */
  kind: string;
  /** Bumped by hand when the kind's implementation changes what it writes. */
  version: number;
  /**
   * Dependency local name -> that dependency's *output digest* (not its key): a dependency that
   * reruns and writes the same bytes leaves this unchanged, which is what gives early cutoff.
   */
  deps: Record<string, string>;
  /**
   * Project-relative path -> `<sha256>` or `<sha256>+x` for executables. Paths are relative so
   * a checkout moved elsewhere keeps its keys; the executable bit is the only mode git keeps.
   */
  files: Record<string, string>;
  /** Parameters, verbatim: they are what the node was asked to do. */
  params: Json;
  /**
   * Tool name -> `<path>@<sha256>`: the binary actually run, not just its name on PATH, so a
   * package upgrade of mksquashfs invalidates exactly the nodes that run it.
   */
  tools: Record<string, string>;
  /** Environment variable -> value given to the node's processes (null when unset). */
  env: Record<string, string | null>;
  /**
   * Host file name -> `<sha256>` of its content (firmware, say). The path stays out: the same
   * firmware at another path on another machine is the same input. Absent when the node
   * declares no host file, which left the keys of all other nodes as they were.
   */
  hostFiles?: Record<string, string>;
}

export function computeKey(material: KeyMaterial): string {
  return keyHash(canonicalJson(material as unknown as Json));
}
