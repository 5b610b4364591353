// Rich (boolean) dependencies, rpm >= 4.13: `(foo >= 1.2 or bar)`, `(kernel-core if kernel)`,
// `(glibc-langpack-en unless glibc-all-langpacks else glibc-minimal-langpack)`...
// primary.xml keeps the whole expression in an entry's `name`; this module parses it into a tree
// and evaluates it. The grammar follows rpm's rpmrichParse (lib/rpmds.c):
//   rich    := '(' operand (op operand)* ')'
//   operand := rich | name [cmp evr]
// - `and`, `or` and `with` may repeat (`(a and b and c)`), but operators may not be mixed without
//   parentheses; `if` and `unless` take one operand and an optional `else` operand.
// - A name may hold balanced parentheses (`libc.so.6(GLIBC_2.34)(64bit)`).
// Semantics, as libsolv (and so dnf) evaluates them: `A if B` = B ? A : true; `A if B else C` =
// B ? A : C; `A unless B` = A and not B; `A unless B else C` = B ? C : A; `A with B`: one package
// meets both; `A without B`: a package meets A and not B. (rpm's documentation reads a plain
// `A unless B` as "A unless B is installed"; libsolv, which dnf runs, requires A and forbids B.)
import type { DepFlag, RpmDep } from './model.js';
import { formatDep } from './version.js';

export type RichOp = 'and' | 'or' | 'if' | 'unless' | 'with' | 'without';

export type RichDep =
  | { kind: 'atom'; dep: RpmDep }
  | { kind: 'and' | 'or' | 'with'; operands: RichDep[] }
  | { kind: 'without'; operands: [RichDep, RichDep] }
  | { kind: 'if' | 'unless'; then: RichDep; condition: RichDep; otherwise?: RichDep };

export class RichDepError extends Error {
  override name = 'RichDepError';
  constructor(
    readonly text: string,
    readonly position: number,
    reason: string,
  ) {
    super(`rich dependency "${text}": ${reason} at column ${position + 1}`);
  }
}

/** Is this dependency name a rich expression (rpm: it starts with `(`)? */
export function isRichDep(name: string): boolean {
  return name.startsWith('(');
}

const OPS = new Set<string>(['and', 'or', 'if', 'unless', 'with', 'without', 'else']);
const CMP: Record<string, DepFlag> = { '=': 'EQ', '==': 'EQ', '<': 'LT', '<=': 'LE', '>': 'GT', '>=': 'GE', '=<': 'LE', '=>': 'GE' };

class Parser {
  pos = 0;
  constructor(readonly text: string) {}

  fail(reason: string, at = this.pos): never {
    throw new RichDepError(this.text, at, reason);
  }

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  /** A word: up to whitespace or an unbalanced `)`; balanced parentheses belong to it. */
  word(): string {
    const start = this.pos;
    let depth = 0;
    while (this.pos < this.text.length) {
      const c = this.text[this.pos]!;
      if (/\s/.test(c)) break;
      if (c === '(') depth++;
      else if (c === ')') {
        if (depth === 0) break;
        depth--;
      }
      this.pos++;
    }
    if (depth !== 0) this.fail(`unbalanced "(" in "${this.text.slice(start, this.pos)}"`, start);
    return this.text.slice(start, this.pos);
  }

  rich(): RichDep {
    const open = this.pos;
    if (this.text[this.pos] !== '(') this.fail('expected "("');
    this.pos++;
    const first = this.operand();
    this.skipSpace();
    if (this.text[this.pos] === ')') {
      this.pos++;
      return first;
    }
    const opAt = this.pos;
    const op = this.word();
    if (!OPS.has(op) || op === 'else') this.fail(op ? `"${op}" is not an operator (and, or, if, unless, with, without)` : 'expected an operator or ")"', opAt);
    const operands = [first, this.operand()];
    let otherwise: RichDep | undefined;
    for (;;) {
      this.skipSpace();
      if (this.pos >= this.text.length) this.fail(`missing ")" for the "(" at column ${open + 1}`);
      if (this.text[this.pos] === ')') {
        this.pos++;
        break;
      }
      const nextAt = this.pos;
      const next = this.word();
      if (next === 'else' && (op === 'if' || op === 'unless') && otherwise === undefined) {
        otherwise = this.operand();
        continue;
      }
      if (next === op && (op === 'and' || op === 'or' || op === 'with')) {
        operands.push(this.operand());
        continue;
      }
      if (OPS.has(next)) this.fail(`"${next}" cannot follow "${op}" here: add parentheses`, nextAt);
      this.fail(`expected an operator or ")", found "${next}"`, nextAt);
    }
    if (op === 'with' || op === 'without') {
      // rpm: both sides name packages (a set); a boolean expression there has no meaning.
      const bad = operands.find((o) => o.kind !== 'atom' && o.kind !== 'with' && o.kind !== 'without');
      if (bad) this.fail(`the operands of "${op}" must be package names, not ${formatRichDep(bad)}`, open);
    }
    switch (op) {
      case 'and':
      case 'or':
      case 'with':
        return { kind: op, operands };
      case 'without':
        return { kind: 'without', operands: [operands[0]!, operands[1]!] };
      default:
        return { kind: op as 'if' | 'unless', then: operands[0]!, condition: operands[1]!, ...(otherwise ? { otherwise } : {}) };
    }
  }

  operand(): RichDep {
    this.skipSpace();
    if (this.pos >= this.text.length) this.fail('expected a dependency, found the end');
    if (this.text[this.pos] === '(') return this.rich();
    const at = this.pos;
    const name = this.word();
    if (!name) this.fail('expected a dependency name');
    if (OPS.has(name)) this.fail(`expected a dependency name, found the operator "${name}"`, at);
    const save = this.pos;
    this.skipSpace();
    const cmpAt = this.pos;
    const m = /^(<=|>=|=<|=>|==|<|>|=)/.exec(this.text.slice(this.pos));
    if (!m) {
      this.pos = save;
      return { kind: 'atom', dep: { name } };
    }
    this.pos += m[1]!.length;
    this.skipSpace();
    const evrAt = this.pos;
    const evrText = this.word();
    if (!evrText) this.fail(`"${name} ${m[1]}" has no version`, cmpAt);
    const evr = parseDepEvr(evrText, (reason) => this.fail(reason, evrAt));
    return { kind: 'atom', dep: { name, flags: CMP[m[1]!]!, evr } };
  }
}

/** `[epoch:]version[-release]` as a dependency writes it. */
export function parseDepEvr(text: string, fail: (reason: string) => never): { epoch: number; version: string; release?: string } {
  let rest = text;
  let epoch = 0;
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const e = rest.slice(0, colon);
    if (!/^\d+$/.test(e)) fail(`epoch "${e}" of "${text}" is not a number`);
    epoch = Number(e);
    rest = rest.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  const version = dash >= 0 ? rest.slice(0, dash) : rest;
  const release = dash >= 0 ? rest.slice(dash + 1) : undefined;
  if (!version) fail(`"${text}" has an empty version`);
  return release ? { epoch, version, release } : { epoch, version };
}

/** Parses a rich dependency (`(a or b)`); throws RichDepError naming the column. */
export function parseRichDep(text: string): RichDep {
  const p = new Parser(text);
  p.skipSpace();
  const tree = p.rich();
  p.skipSpace();
  if (p.pos < text.length) p.fail(`unexpected "${text.slice(p.pos)}" after the closing ")"`);
  return tree;
}

const cache = new Map<string, RichDep>();

/** parseRichDep, memoized: repositories repeat the same expressions across packages. */
export function parseRichDepCached(text: string): RichDep {
  let tree = cache.get(text);
  if (!tree) {
    tree = parseRichDep(text);
    if (cache.size > 50_000) cache.clear();
    cache.set(text, tree);
  }
  return tree;
}

export function formatRichDep(dep: RichDep): string {
  switch (dep.kind) {
    case 'atom':
      return formatDep(dep.dep);
    case 'and':
    case 'or':
    case 'with':
      return `(${dep.operands.map(formatRichDep).join(` ${dep.kind} `)})`;
    case 'without':
      return `(${formatRichDep(dep.operands[0])} without ${formatRichDep(dep.operands[1])})`;
    default: {
      const tail = dep.otherwise ? ` else ${formatRichDep(dep.otherwise)}` : '';
      return `(${formatRichDep(dep.then)} ${dep.kind} ${formatRichDep(dep.condition)}${tail})`;
    }
  }
}

/** Every atom of the expression, in written order. */
export function richAtoms(dep: RichDep): RpmDep[] {
  const out: RpmDep[] = [];
  const walk = (d: RichDep): void => {
    switch (d.kind) {
      case 'atom':
        out.push(d.dep);
        return;
      case 'and':
      case 'or':
      case 'with':
      case 'without':
        d.operands.forEach(walk);
        return;
      default:
        walk(d.then);
        walk(d.condition);
        if (d.otherwise) walk(d.otherwise);
    }
  };
  walk(dep);
  return out;
}

/**
 * Evaluates the expression against a set of packages: `providers(atom)` lists the packages of the
 * set that meet an atom. `with`/`without` need one package meeting both sides, so they work on
 * the package lists rather than on booleans.
 */
export function evaluateRichDep<T>(dep: RichDep, providers: (atom: RpmDep) => readonly T[]): boolean {
  const packagesOf = (d: RichDep): readonly T[] | null => {
    switch (d.kind) {
      case 'atom':
        return providers(d.dep);
      case 'with': {
        let acc = packagesOf(d.operands[0]!);
        for (const o of d.operands.slice(1)) {
          const other = packagesOf(o);
          if (acc === null || other === null) return null;
          const keep = new Set(other);
          acc = acc.filter((p) => keep.has(p));
        }
        return acc;
      }
      case 'without': {
        const a = packagesOf(d.operands[0]);
        const b = packagesOf(d.operands[1]);
        if (a === null || b === null) return null;
        const drop = new Set(b);
        return a.filter((p) => !drop.has(p));
      }
      default:
        return null;
    }
  };
  const holds = (d: RichDep): boolean => {
    switch (d.kind) {
      case 'and':
        return d.operands.every(holds);
      case 'or':
        return d.operands.some(holds);
      case 'if':
        return holds(d.condition) ? holds(d.then) : d.otherwise ? holds(d.otherwise) : true;
      case 'unless':
        if (d.otherwise) return holds(d.condition) ? holds(d.otherwise) : holds(d.then);
        return holds(d.then) && !holds(d.condition);
      default: {
        const set = packagesOf(d);
        if (set === null) throw new Error(`rich dependency ${formatRichDep(d)}: "with"/"without" operands must be package names`);
        return set.length > 0;
      }
    }
  };
  return holds(dep);
}
