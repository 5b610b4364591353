// Generic traversal of the syntax tree, for closure captures and the static checker.
import type { Node } from './ast.js';

/** The direct sub-nodes of `n`, in source order. */
export function children(n: Node): Node[] {
  switch (n.k) {
    case 'block':
      return n.stmts;
    case 'tmpl':
      return n.parts.filter((p): p is Node => typeof p !== 'string');
    case 'array':
      return n.items;
    case 'map':
      return n.entries.map(([, e]) => e);
    case 'unary':
      return [n.x];
    case 'bin':
    case 'range':
      return [n.a, n.b];
    case 'assign':
      return [n.target, n.value];
    case 'index':
      return [n.target, n.index];
    case 'prop':
      return [n.target];
    case 'call':
      return n.args;
    case 'method':
      return [n.target, ...n.args];
    case 'closure':
      return [n.body];
    case 'if':
      return n.else ? [n.cond, n.then, n.else] : [n.cond, n.then];
    case 'switch':
      return [n.subject, ...n.arms.flatMap((a) => [...(a.patterns ?? []), ...(a.guard ? [a.guard] : []), a.body])];
    case 'while':
      return [n.cond, n.body];
    case 'loop':
      return [n.body];
    case 'do':
      return [n.body, n.cond];
    case 'for':
      return [n.iter, n.body];
    case 'break':
    case 'return':
    case 'throw':
    case 'let':
      return n.value ? [n.value] : [];
    case 'try':
      return [n.body, n.handler];
    default:
      return [];
  }
}

/** Every variable name read anywhere inside `n` (a superset of what a closure must capture). */
export function variablesUsed(n: Node, out = new Set<string>()): Set<string> {
  if (n.k === 'var') out.add(n.name);
  for (const c of children(n)) variablesUsed(c, out);
  return out;
}
