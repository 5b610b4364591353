// Several targets in one graph (`pipeline build demo acorn`): the variants' nodes merged, a node
// that two variants both have (a package's fetch and unpack nodes, keyed on the package, not the
// variant) kept once. The same id must mean the same work: two different nodes under one id
// would let one variant silently build with the other's inputs, so that is an error.
import { canonicalJson } from '../graph/canonical.js';
import { ConfigError } from '../graph/errors.js';
import type { Json, NodeSpec } from '../graph/node.js';

const MAX_CONFLICTS_SHOWN = 5;

export interface VariantNodes {
  /** The variant's name, for messages. */
  variant: string;
  nodes: NodeSpec[];
}

/**
 * What makes two nodes the same work: everything that enters the key, and what else changes how
 * it runs (secrets, slots, always running). Left out: `run` (a fresh closure per compile), and
 * what cannot change the output: the description, the hints (they name the variant file that
 * asked for an input), where downloads come from (`unkeyed`, checked by checksum) and why the
 * node cannot run yet (`unbuildable`, said in the variant's words).
 */
export function nodeIdentity(node: NodeSpec): Record<string, Json> {
  return {
    kind: node.kind,
    version: node.version,
    deps: node.deps ?? {},
    files: [...(node.files ?? [])].sort(),
    params: node.params ?? null,
    tools: [...(node.tools ?? [])].sort(),
    hostFiles: [...(node.hostFiles ?? [])].sort(),
    env: node.env ?? {},
    secrets: node.secrets ?? {},
    secretFiles: [...(node.secretFiles ?? [])].sort(),
    alwaysRun: node.alwaysRun === true,
    weight: node.weight ?? 1,
  };
}

/**
 * The nodes of every variant (each already a valid graph), each id once, in first-seen order.
 * Throws a ConfigError naming the id, the two variants and what differs when they define one id
 * differently.
 */
export function mergeVariantNodes(variants: VariantNodes[]): NodeSpec[] {
  const merged = new Map<string, { node: NodeSpec; identity: string; variant: string }>();
  const conflicts: string[] = [];
  for (const { variant, nodes } of variants) {
    for (const node of nodes) {
      const identity = canonicalJson(nodeIdentity(node));
      const seen = merged.get(node.id);
      if (!seen) {
        merged.set(node.id, { node, identity, variant });
      } else if (seen.identity !== identity) {
        conflicts.push(`  ${node.id}: ${seen.variant} and ${variant} differ in ${differingFields(seen.node, node).join(', ')}`);
      } else if (seen.node.unbuildable && !node.unbuildable) {
        // The same work, which this variant says where to download from: take its copy.
        merged.set(node.id, { node, identity, variant });
      }
    }
  }
  if (conflicts.length) {
    // A shared setting that differs (the trusted keys, say) touches every package node: say a few.
    const shown = conflicts.slice(0, MAX_CONFLICTS_SHOWN);
    if (conflicts.length > shown.length) shown.push(`  and ${conflicts.length - shown.length} more`);
    const head = 'variants define the same node id differently (one id must mean one piece of work: build them separately, or make the definitions agree):';
    throw new ConfigError([head, ...shown].join('\n'));
  }
  return [...merged.values()].map((m) => m.node);
}

/** The identity fields in which two nodes differ (names only: secrets' values are never shown). */
function differingFields(a: NodeSpec, b: NodeSpec): string[] {
  const x = nodeIdentity(a);
  const y = nodeIdentity(b);
  return Object.keys(x).filter((k) => canonicalJson(x[k]) !== canonicalJson(y[k]));
}
