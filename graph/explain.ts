// `pipeline explain`: why a node will run, or why it ran last time. It diffs the node's key
// material field by field against its build record, and follows a changed dependency down to
// the change that started it (the first divergent node), so the answer ends at a file, a
// parameter, a tool or a kind version rather than at "a dependency changed".
import { canonicalJson } from './canonical.js';
import type { KeyMaterial } from './key.js';
import type { Json } from './node.js';
import type { PlannedNode } from './plan.js';
import type { BuildRecord } from './records.js';

export type Change =
  | { type: 'kind'; from: string; to: string }
  | { type: 'version'; kind: string; from: number; to: number }
  | { type: 'file'; path: string; change: 'added' | 'removed' | 'changed' | 'mode' }
  | { type: 'param'; path: string; from?: Json; to?: Json; added?: Json[]; removed?: Json[] }
  | { type: 'tool'; name: string; change: 'added' | 'removed' | 'binary' | 'moved'; from?: string; to?: string }
  | { type: 'host-file'; name: string; change: 'added' | 'removed' | 'changed' }
  | { type: 'env'; name: string; from: string | null | undefined; to: string | null | undefined }
  | { type: 'dep'; name: string; id: string; change: 'added' | 'removed' | 'output' | 'pending'; because?: Explanation };

export interface Explanation {
  id: string;
  /** `will-run`: not in the cache. `cached`: in the cache; changes say why it last ran. */
  verdict: 'will-run' | 'cached';
  key?: string;
  /** The record compared against (latest build for will-run; previous for cached). */
  since?: { key: string; at: string };
  firstBuild?: boolean;
  changes: Change[];
}

export function explainNode(id: string, plan: Map<string, PlannedNode>, seen = new Set<string>()): Explanation {
  const planned = plan.get(id);
  if (!planned) throw new Error(`no node '${id}' in the plan`);
  seen.add(id);
  const { history } = planned;
  if (planned.status === 'cached') {
    const latest = history?.latest;
    const base: Explanation = { id, verdict: 'cached', key: planned.key, changes: [] };
    if (!latest || latest.key !== planned.key || !history?.previous) {
      return { ...base, firstBuild: !history?.previous, changes: [] };
    }
    return {
      ...base,
      since: { key: history.previous.key, at: history.previous.at },
      changes: diffRecords(history.previous, latest, plan, seen),
    };
  }
  if (!history) return { id, verdict: 'will-run', key: planned.key, firstBuild: true, changes: [] };
  const current = { material: planned.material, depIds: planned.node.deps ?? {} };
  const changes = diffRecords(history.latest, current, plan, seen).filter(
    (c) => !(c.type === 'dep' && planned.pendingDeps.includes(c.name)),
  );
  // Dependencies that rebuild first have no output digest yet: say so, and say why they rebuild.
  for (const name of planned.pendingDeps) {
    const depId = planned.node.deps![name];
    changes.push({ type: 'dep', name, id: depId, change: 'pending', because: follow(depId, plan, seen) });
  }
  return { id, verdict: 'will-run', key: planned.key, since: { key: history.latest.key, at: history.latest.at }, changes };
}

function follow(depId: string, plan: Map<string, PlannedNode>, seen: Set<string>): Explanation | undefined {
  if (seen.has(depId)) return undefined;
  return explainNode(depId, plan, seen);
}

function diffRecords(
  before: Pick<BuildRecord, 'material' | 'depIds'>,
  after: Pick<BuildRecord, 'material' | 'depIds'>,
  plan: Map<string, PlannedNode>,
  seen: Set<string>,
): Change[] {
  const changes = diffMaterial(before.material, after.material);
  const names = new Set([...Object.keys(before.material.deps), ...Object.keys(after.material.deps)]);
  for (const name of [...names].sort()) {
    const from = before.material.deps[name];
    const to = after.material.deps[name];
    const id = after.depIds[name] ?? before.depIds[name];
    if (from === to) continue;
    if (from === undefined) changes.push({ type: 'dep', name, id, change: 'added' });
    else if (to === undefined) changes.push({ type: 'dep', name, id, change: 'removed' });
    else changes.push({ type: 'dep', name, id, change: 'output', because: plan.has(id) ? follow(id, plan, seen) : undefined });
  }
  return changes;
}

/** Field-by-field difference of two key materials, dependencies aside (they need ids). */
export function diffMaterial(a: KeyMaterial, b: KeyMaterial): Change[] {
  const changes: Change[] = [];
  if (a.kind !== b.kind) changes.push({ type: 'kind', from: a.kind, to: b.kind });
  if (a.version !== b.version) changes.push({ type: 'version', kind: b.kind, from: a.version, to: b.version });
  for (const path of unionKeys(a.files, b.files)) {
    const x = a.files[path];
    const y = b.files[path];
    if (x === y) continue;
    if (x === undefined) changes.push({ type: 'file', path, change: 'added' });
    else if (y === undefined) changes.push({ type: 'file', path, change: 'removed' });
    else if (x.replace(/\+x$/, '') === y.replace(/\+x$/, '')) changes.push({ type: 'file', path, change: 'mode' });
    else changes.push({ type: 'file', path, change: 'changed' });
  }
  diffJson(a.params, b.params, '', changes);
  for (const name of unionKeys(a.tools, b.tools)) {
    const x = a.tools[name];
    const y = b.tools[name];
    if (x === y) continue;
    if (x === undefined) changes.push({ type: 'tool', name, change: 'added', to: y });
    else if (y === undefined) changes.push({ type: 'tool', name, change: 'removed', from: x });
    else {
      const [xPath, xDigest] = splitTool(x);
      const [yPath, yDigest] = splitTool(y);
      changes.push({ type: 'tool', name, change: xDigest !== yDigest ? 'binary' : 'moved', from: xPath, to: yPath });
    }
  }
  const hostA = a.hostFiles ?? {};
  const hostB = b.hostFiles ?? {};
  for (const name of unionKeys(hostA, hostB)) {
    const x = hostA[name];
    const y = hostB[name];
    if (x === y) continue;
    changes.push({ type: 'host-file', name, change: x === undefined ? 'added' : y === undefined ? 'removed' : 'changed' });
  }
  for (const name of unionKeys(a.env, b.env)) {
    if (a.env[name] !== b.env[name]) changes.push({ type: 'env', name, from: a.env[name], to: b.env[name] });
  }
  return changes;
}

function splitTool(value: string): [string, string] {
  const at = value.lastIndexOf('@');
  return [value.slice(0, at), value.slice(at + 1)];
}

function unionKeys(a: object, b: object): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
}

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isScalarList(v: Json | undefined): v is (string | number | boolean | null)[] {
  return Array.isArray(v) && v.every((x) => typeof x !== 'object' || x === null);
}

function diffJson(a: Json | undefined, b: Json | undefined, path: string, out: Change[]): void {
  if (canonicalJson(a ?? null) === canonicalJson(b ?? null)) return;
  if (isObject(a) && isObject(b)) {
    for (const key of unionKeys(a, b)) diffJson(a[key], b[key], path ? `${path}.${key}` : key, out);
    return;
  }
  // A list of names (packages, modules) reads best as what was added and what was removed.
  if (isScalarList(a) && isScalarList(b)) {
    const added = b.filter((x) => !a.includes(x));
    const removed = a.filter((x) => !b.includes(x));
    if (added.length || removed.length) out.push({ type: 'param', path: path || '(params)', added, removed });
    else out.push({ type: 'param', path: path || '(params)', from: a, to: b });
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((x, i) => diffJson(x, b[i], `${path}[${i}]`, out));
    return;
  }
  out.push({ type: 'param', path: path || '(params)', from: a, to: b });
}

// ---- text ----

const show = (v: Json | undefined) => (v === undefined ? '(unset)' : JSON.stringify(v));

export function describeChange(c: Change): string {
  switch (c.type) {
    case 'kind':
      return `kind ${c.from} -> ${c.to}`;
    case 'version':
      return `kind ${c.kind} version ${c.from} -> ${c.to} (its implementation changed)`;
    case 'file':
      return c.change === 'mode' ? `file ${c.path} executable bit changed` : `file ${c.path} ${c.change}`;
    case 'param':
      if (c.added || c.removed) {
        const parts = [];
        if (c.added?.length) parts.push(`added ${c.added.map((x) => show(x)).join(', ')}`);
        if (c.removed?.length) parts.push(`removed ${c.removed.map((x) => show(x)).join(', ')}`);
        return `param ${c.path}: ${parts.join('; ') || 'reordered'}`;
      }
      return `param ${c.path}: ${show(c.from)} -> ${show(c.to)}`;
    case 'tool':
      if (c.change === 'binary') return `tool ${c.name} binary changed (${c.to})`;
      if (c.change === 'moved') return `tool ${c.name} moved: ${c.from} -> ${c.to}`;
      return `tool ${c.name} ${c.change}`;
    case 'host-file':
      return `host file ${c.name} ${c.change === 'changed' ? 'content changed' : c.change}`;
    case 'env':
      return `env ${c.name}: ${c.from ?? '(unset)'} -> ${c.to ?? '(unset)'}`;
    case 'dep':
      if (c.change === 'pending') return `dependency ${c.id} will be rebuilt first`;
      if (c.change === 'output') return `dependency ${c.id} output changed`;
      return `dependency ${c.name} (${c.id}) ${c.change}`;
  }
}

export function renderExplanation(e: Explanation): string {
  const lines: string[] = [];
  if (e.verdict === 'cached') {
    lines.push(`${e.id} is cached (key ${e.key}): the next build takes it from the cache.`);
    if (e.firstBuild) lines.push('It has run once, on its first build; nothing has changed since.');
    else if (e.changes.length === 0) lines.push('Its last run had no recorded difference from the run before it.');
    else lines.push(`It last ran because, compared with its build of ${e.since!.at}:`);
  } else if (e.firstBuild) {
    lines.push(`${e.id} will run: it has never been built with this cache (no record of an earlier build).`);
  } else {
    lines.push(`${e.id} will run: ${e.key ? `key ${e.key} is not in the cache` : 'its key will be known once its dependencies are rebuilt'}.`);
    if (e.changes.length === 0) {
      lines.push(`Its key material equals that of its build of ${e.since!.at}, whose output is no longer stored (collected by gc, or dropped by cache verify).`);
    } else lines.push(`Compared with its build of ${e.since!.at}:`);
  }
  renderChanges(e.changes, 1, lines);
  return lines.join('\n');
}

function renderChanges(changes: Change[], depth: number, lines: string[]): void {
  const pad = '  '.repeat(depth);
  for (const c of changes) {
    const because = c.type === 'dep' ? c.because : undefined;
    const tail = because && because.changes.length > 0 ? ', because:' : because?.firstBuild ? ' (it has never been built)' : '';
    lines.push(`${pad}- ${describeChange(c)}${tail}`);
    if (because) renderChanges(because.changes, depth + 1, lines);
  }
}
