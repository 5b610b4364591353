// The layer node: the upper layer of the root (the variant's overlay and recipe trees) over the
// base rootfs, joined with it by overlayfs at boot (lowerdir=upper:base). Its output is root/ +
// manifest.json like the rootfs node's, so the squashfs and erofs nodes image it unchanged, and a
// change to the overlay or to one recipe rebuilds this layer and its image, not the base.
// The work is in stages/layer/build.ts (the rules are at its top); this file is the factory.
import type { NodeSpec } from '../graph/node.js';
import { buildLayer } from './layer/build.js';
import type { OverlayMode } from './rootfs/overlay.js';
import { epochEnv, parseSourceDateEpoch, type StampsTime } from './shared/source-date-epoch.js';
import type { StageKind } from './kind.js';

export { buildLayer, LayerError, type BuildLayerOptions, type LayerResult, type LayerTreeInput } from './layer/build.js';

export const LAYER_KIND_VERSION = 1;

/** A tree to put in the layer: a node whose output has root/ and manifest.json. */
export interface LayerTree {
  /** Its name in messages and in the layer manifest's `package` field: `recipe:hello`. */
  name: string;
  /** The node id whose output holds root/ + manifest.json (stages/shared/manifest.ts). */
  node: string;
  /** Base packages whose files the tree may take over. */
  replaces?: string[];
}

export interface LayerNodeOptions extends StampsTime {
  variant: string;
  /** The base rootfs node (its manifest is read; its files never are). */
  base: string;
  /** Project-relative overlay directory (`variants/overlays/<name>`). */
  overlayDir?: string;
  /** Modes and owners of overlay paths (relative, as in the overlay directory). */
  overlayModes?: Record<string, OverlayMode>;
  trees?: readonly LayerTree[];
}

export function layerId(variant: string): string {
  return `layer:${variant}`;
}

/** The upper layer: the overlay and recipe trees, checked against the base manifest. */
export const LAYER_STAGE: StageKind = {
  kind: 'layer',
  version: LAYER_KIND_VERSION,
  summary: 'upper root layer (overlay and recipe trees)',
  tools: [],
};

/** `layer:<variant>`. Trees are sorted by name, so the order the caller lists them in does not matter. */
export function layerNode(options: LayerNodeOptions): NodeSpec {
  const trees = [...(options.trees ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const names = trees.map((t) => t.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined) throw new Error(`${layerId(options.variant)}: two trees are named ${duplicate}`);
  const dep = (name: string) => `tree:${name}`;
  const parts = [...(options.overlayDir ? ['overlay'] : []), ...(trees.length ? [`${trees.length} trees`] : [])];
  return {
    id: layerId(options.variant),
    kind: LAYER_STAGE.kind,
    version: LAYER_KIND_VERSION,
    deps: { base: options.base, ...Object.fromEntries(trees.map((t) => [dep(t.name), t.node])) },
    files: options.overlayDir ? [options.overlayDir] : [],
    params: {
      overlay: options.overlayDir ?? null,
      overlayModes: JSON.parse(JSON.stringify(options.overlayModes ?? {})),
      trees: trees.map((t) => ({ name: t.name, replaces: [...(t.replaces ?? [])].sort() })),
    },
    env: epochEnv(options),
    description: `upper root layer of ${options.variant}: ${parts.join(' and ') || 'empty'}`,
    async run(ctx) {
      await buildLayer({
        variant: options.variant,
        baseDir: ctx.dep('base'),
        overlayDir: options.overlayDir ? ctx.file(options.overlayDir) : undefined,
        overlayModes: options.overlayModes,
        trees: trees.map((t) => ({ name: t.name, dir: ctx.dep(dep(t.name)), replaces: t.replaces })),
        outDir: ctx.out,
        sourceDateEpoch: parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH, ctx.id),
        log: (line) => ctx.log(line),
      });
    },
  };
}
