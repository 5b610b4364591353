// Tree-walking evaluator. Scopes are Rhai-style stacks of variables (a block remembers the
// length and truncates on exit); functions get a fresh stack, so they see only their
// parameters, global constants and host constants.
import type { Block, FnDef, Node, NodeOf, RhaiProgram } from './ast.js';
import { BUILTINS, NO_MATCH, arrayGet, arraySet, charAt, setCharAt, type BuiltinContext } from './builtins/index.js';
import { Fault, RhaiError, type RhaiErrorKind, type RhaiFrame } from './errors.js';
import { binaryOp, contains, unaryOp } from './ops.js';
import { RhaiChar, RhaiFnPtr, RhaiRange, clone, debug, display, equals, fromJs, typeName, type RhaiMap, type RhaiValue } from './values.js';
import { variablesUsed } from './walk.js';
import { didYouMean } from './suggest.js';

export interface RhaiSite {
  file: string;
  line: number;
  col: number;
}

/** A host function: synchronous; a thrown Error becomes a Rhai runtime error at the call. */
export type HostFunction = (args: RhaiValue[], site: RhaiSite) => RhaiValue;

export interface RhaiEngineOptions {
  functions?: Record<string, HostFunction>;
  /** Visible everywhere, also inside functions (e.g. BUILD_DIR). */
  constants?: Record<string, RhaiValue>;
  /** Operations allowed per run()/call() from the host (default 50 million). */
  maxOperations?: number;
  /** Nested script function calls allowed (default 64). */
  maxCallLevels?: number;
  /** Where `print`/`debug` go unless a host function of that name is given (default console.log). */
  print?: (text: string) => void;
}

/** Names the evaluator handles itself (they need the scope or the engine). */
export const SPECIAL_FUNCTIONS = ['Fn', 'call', 'curry', 'is_def_var', 'is_def_fn', 'print', 'debug'];

class Scope {
  names: string[] = [];
  values: RhaiValue[] = [];
  consts: boolean[] = [];
  push(name: string, value: RhaiValue, isConst: boolean): void {
    this.names.push(name);
    this.values.push(value);
    this.consts.push(isConst);
  }
  find(name: string): number {
    for (let i = this.names.length - 1; i >= 0; i--) if (this.names[i] === name) return i;
    return -1;
  }
  get size(): number {
    return this.names.length;
  }
  truncate(n: number): void {
    this.names.length = n;
    this.values.length = n;
    this.consts.length = n;
  }
}

interface Frame {
  scope: Scope;
  file: string;
  /** Bound when a script function is called as a method (`x.f()`): `this` reads and writes x. */
  thisBox?: { v: RhaiValue };
}

interface At {
  line: number;
  col: number;
}

// Control flow travels as exceptions; the parser makes sure break/continue stay inside loops.
class BreakSignal {
  constructor(readonly value: RhaiValue) {}
}
class ContinueSignal {}
const CONTINUE = new ContinueSignal();
class ReturnSignal {
  constructor(readonly value: RhaiValue) {}
}

export class RhaiEngine {
  readonly maxOperations: number;
  readonly maxCallLevels: number;
  private readonly host = new Map<string, HostFunction>();
  private readonly constants = new Map<string, RhaiValue>();
  private readonly globalConsts = new Map<string, RhaiValue>();
  private readonly fns = new Map<string, FnDef>();
  private readonly fnNames = new Set<string>();
  private readonly global = new Scope();
  private readonly calls: RhaiFrame[] = [];
  private readonly print: (text: string) => void;
  private cur: Frame = { scope: this.global, file: '<host>' };
  private ops = 0;
  private depth = 0;
  /** The node being evaluated, for errors raised outside any node (JS stack exhaustion). */
  private at: At = { line: 0, col: 0 };

  constructor(options: RhaiEngineOptions = {}) {
    for (const [k, f] of Object.entries(options.functions ?? {})) this.host.set(k, f);
    for (const [k, v] of Object.entries(options.constants ?? {})) this.constants.set(k, v);
    this.maxOperations = options.maxOperations ?? 50_000_000;
    this.maxCallLevels = options.maxCallLevels ?? 64;
    this.print = options.print ?? ((text) => console.log(text));
  }

  /**
   * Register the program's functions (replacing same name and arity) and run its top level in
   * the engine's persistent global scope. Returns the value of a final expression.
   */
  run(program: RhaiProgram): RhaiValue {
    for (const f of program.functions) {
      this.fns.set(`${f.name}/${f.params.length}`, f);
      this.fnNames.add(f.name);
    }
    return this.enter(() => {
      const saved = this.cur;
      this.cur = { scope: this.global, file: program.file };
      try {
        let v: RhaiValue;
        for (const s of program.statements) v = this.eval(s);
        return program.valueLast ? v : undefined;
      } catch (e) {
        if (e instanceof ReturnSignal) return e.value;
        throw e;
      } finally {
        this.cur = saved;
      }
    });
  }

  /** A top-level variable or constant of the programs run so far (undefined when there is none). */
  getGlobal(name: string): RhaiValue {
    const i = this.global.find(name);
    return i >= 0 ? this.global.values[i] : (this.globalConsts.get(name) ?? this.constants.get(name));
  }

  hasGlobal(name: string): boolean {
    return this.global.find(name) >= 0 || this.globalConsts.has(name) || this.constants.has(name);
  }

  hasFunction(name: string, arity: number): boolean {
    return this.fns.has(`${name}/${arity}`);
  }

  /** Call a script function from the host; the arguments are copied (Rhai passes by value). */
  call(name: string, args: RhaiValue[] = []): RhaiValue {
    const fn = this.fns.get(`${name}/${args.length}`);
    if (!fn) {
      const reason = this.notFoundReason(name, args);
      throw new RhaiError('unknown-function', reason, this.cur.file, this.at.line, this.at.col, [...this.calls].reverse());
    }
    return this.enter(() => {
      const saved = this.cur;
      this.cur = { scope: new Scope(), file: fn.file };
      try {
        return this.invokeScript(fn, args, fn);
      } finally {
        this.cur = saved;
      }
    });
  }

  private enter<T>(f: () => T): T {
    if (this.depth === 0) this.ops = 0;
    this.depth++;
    try {
      return f();
    } catch (e) {
      if (e instanceof RangeError) throw this.error(this.at, 'stack', 'call stack exhausted (expression nested too deeply)');
      throw e;
    } finally {
      this.depth--;
    }
  }

  private error(n: At, kind: RhaiErrorKind, reason: string, thrown?: RhaiValue): RhaiError {
    return new RhaiError(kind, reason, this.cur.file, n.line, n.col, [...this.calls].reverse(), thrown);
  }

  private eval(n: Node): RhaiValue {
    this.at = n;
    if (++this.ops > this.maxOperations) throw this.error(n, 'budget', `operation budget of ${this.maxOperations} exhausted`);
    try {
      return this.evalNode(n);
    } catch (e) {
      if (e instanceof Fault) throw this.error(n, e.kind, e.message);
      throw e;
    }
  }

  private evalNode(n: Node): RhaiValue {
    switch (n.k) {
      case 'lit':
        return n.value;
      case 'var':
        return this.lookup(n.name, n);
      case 'this':
        if (!this.cur.thisBox) throw this.error(n, 'runtime', "'this' is only bound in a function called as a method");
        return this.cur.thisBox.v;
      case 'tmpl':
        return n.parts.map((p) => (typeof p === 'string' ? p : display(this.eval(p)))).join('');
      case 'array':
        return n.items.map((i) => clone(this.eval(i)));
      case 'map': {
        const m: RhaiMap = new Map();
        for (const [k, e] of n.entries) m.set(k, clone(this.eval(e)));
        return m;
      }
      case 'unary':
        return unaryOp(n.op, this.eval(n.x));
      case 'bin':
        return this.binary(n);
      case 'range': {
        const a = this.eval(n.a);
        const b = this.eval(n.b);
        if (typeof a !== 'bigint' || typeof b !== 'bigint') throw new Fault('type', `a range needs two ints, not ${typeName(a)} and ${typeName(b)}`);
        return new RhaiRange(a, b, n.inclusive);
      }
      case 'assign':
        this.assign(n);
        return undefined;
      case 'index': {
        const c = this.eval(n.target);
        if (n.safe && c === undefined) return undefined;
        return getIndex(c, this.eval(n.index));
      }
      case 'prop': {
        const c = this.eval(n.target);
        if (n.safe && c === undefined) return undefined;
        return this.getProp(c, n.name);
      }
      case 'call':
        return this.callNamed(n);
      case 'method':
        return this.method(n);
      case 'closure':
        return this.closure(n);
      case 'if': {
        if (this.cond(n.cond, 'if')) return this.eval(n.then);
        return n.else ? this.eval(n.else) : undefined;
      }
      case 'switch':
        return this.switch(n);
      case 'block':
        return this.block(n);
      case 'while':
        while (this.cond(n.cond, 'while')) {
          const r = this.loopBody(n.body);
          if (r) break;
        }
        return undefined;
      case 'loop':
        for (;;) {
          const r = this.loopBody(n.body);
          if (r) return r.value;
        }
      case 'do':
        for (;;) {
          if (this.loopBody(n.body)) break;
          if (this.cond(n.cond, n.until ? 'do-until' : 'do-while') === n.until) break;
        }
        return undefined;
      case 'for':
        this.forLoop(n);
        return undefined;
      case 'break':
        throw new BreakSignal(n.value ? this.eval(n.value) : undefined);
      case 'continue':
        throw CONTINUE;
      case 'return':
        throw new ReturnSignal(n.value ? this.eval(n.value) : undefined);
      case 'throw': {
        const v = n.value ? this.eval(n.value) : undefined;
        throw this.error(n, 'thrown', `thrown: ${display(v)}`, v);
      }
      case 'try':
        return this.tryCatch(n);
      case 'let': {
        const v = n.value ? clone(this.eval(n.value)) : undefined;
        this.cur.scope.push(n.name, v, n.isConst);
        if (n.isConst && this.cur.scope === this.global) this.globalConsts.set(n.name, v);
        return undefined;
      }
    }
  }

  private lookup(name: string, n: At): RhaiValue {
    const s = this.cur.scope;
    const i = s.find(name);
    if (i >= 0) return s.values[i];
    if (this.globalConsts.has(name)) return this.globalConsts.get(name);
    if (this.constants.has(name)) return this.constants.get(name);
    throw this.error(n, 'unknown-variable', `variable not found: ${name}${didYouMean(name, [...s.names, ...this.globalConsts.keys(), ...this.constants.keys()])}`);
  }

  private cond(n: Node, what: string): boolean {
    const v = this.eval(n);
    if (typeof v !== 'boolean') throw this.error(n, 'type', `the ${what} condition must be a bool, not ${typeName(v)}`);
    return v;
  }

  private binary(n: NodeOf<'bin'>): RhaiValue {
    switch (n.op) {
      case '&&':
      case '||': {
        const a = this.eval(n.a);
        if (typeof a !== 'boolean') throw new Fault('type', `cannot apply '${n.op}' to ${typeName(a)}`);
        if (a === (n.op === '||')) return a;
        const b = this.eval(n.b);
        if (typeof b !== 'boolean') throw new Fault('type', `cannot apply '${n.op}' to bool and ${typeName(b)}`);
        return b;
      }
      case '??': {
        const a = this.eval(n.a);
        return a === undefined ? this.eval(n.b) : a;
      }
    }
    return binaryOp(n.op, this.eval(n.a), this.eval(n.b));
  }

  private block(b: Block): RhaiValue {
    const scope = this.cur.scope;
    const mark = scope.size;
    try {
      let v: RhaiValue;
      for (const s of b.stmts) v = this.eval(s);
      return b.valueLast ? v : undefined;
    } finally {
      scope.truncate(mark);
    }
  }

  /** Runs a loop body; returns the break when the loop must stop. */
  private loopBody(b: Block): BreakSignal | undefined {
    try {
      this.eval(b);
    } catch (e) {
      if (e instanceof BreakSignal) return e;
      if (e !== CONTINUE) throw e;
    }
    return undefined;
  }

  private forLoop(n: NodeOf<'for'>): void {
    const it = this.eval(n.iter);
    let items: Iterable<RhaiValue>;
    if (Array.isArray(it)) items = it.slice();
    else if (it instanceof RhaiRange) items = rangeItems(it);
    else if (typeof it === 'string') items = Array.from(it, (c) => new RhaiChar(c));
    else throw this.error(n.iter, 'type', `cannot iterate over ${typeName(it)}${it instanceof Map ? ' (use .keys() or .values())' : ''}`);
    const scope = this.cur.scope;
    const mark = scope.size;
    let i = 0n;
    try {
      for (const item of items) {
        scope.push(n.name, clone(item), false);
        if (n.index !== undefined) scope.push(n.index, i, false);
        i++;
        const r = this.loopBody(n.body);
        scope.truncate(mark);
        if (r) break;
      }
    } finally {
      scope.truncate(mark);
    }
  }

  private switch(n: NodeOf<'switch'>): RhaiValue {
    const v = this.eval(n.subject);
    for (const arm of n.arms) {
      const hit =
        arm.patterns === null ||
        arm.patterns.some((p) => {
          const pv = this.eval(p);
          return pv instanceof RhaiRange && typeof v === 'bigint' ? contains(pv, v) : equals(v, pv);
        });
      if (hit && (!arm.guard || this.cond(arm.guard, 'switch guard'))) return this.eval(arm.body);
    }
    return undefined;
  }

  private tryCatch(n: NodeOf<'try'>): RhaiValue {
    const scope = this.cur.scope;
    const mark = scope.size;
    const calls = this.calls.length;
    try {
      return this.eval(n.body);
    } catch (e) {
      if (!(e instanceof RhaiError) || !e.catchable) throw e;
      scope.truncate(mark);
      this.calls.length = calls;
      if (n.catchVar === undefined) return this.eval(n.handler);
      scope.push(n.catchVar, e.kind === 'thrown' ? e.thrown : e.reason, false);
      try {
        return this.eval(n.handler);
      } finally {
        scope.truncate(mark);
      }
    }
  }

  private getProp(c: RhaiValue, name: string): RhaiValue {
    if (c instanceof Map) return c.get(name);
    // Getters such as `arr.len` / `s.is_empty`.
    const r = this.builtin(name, [c], this.at);
    if (r !== NO_MATCH) return r;
    throw new Fault('type', `cannot read property '${name}' of ${typeName(c)}`);
  }

  private assign(n: NodeOf<'assign'>): void {
    const v = this.eval(n.value);
    if (n.op === '=') {
      this.update(n.target, () => clone(v), true);
      return;
    }
    const op = n.op.slice(0, -1);
    this.update(
      n.target,
      (old) => {
        // `arr += x` and `map += other` change the container in place, as in Rhai.
        if (op === '+' && Array.isArray(old)) {
          if (Array.isArray(v)) old.push(...v.map(clone));
          else old.push(clone(v));
          return old;
        }
        if (op === '+' && old instanceof Map && v instanceof Map) {
          for (const [k, x] of v) old.set(k, clone(x));
          return old;
        }
        return binaryOp(op, old, v);
      },
      true,
    );
  }

  /**
   * Replace the value at an assignable path (`x`, `this`, `a[i]`, `m.k`, nested) by f(old).
   * `create`: a missing map key is added even when f returns the old (absent) value.
   */
  private update(n: Node, f: (old: RhaiValue) => RhaiValue, create: boolean): void {
    switch (n.k) {
      case 'var': {
        const s = this.cur.scope;
        const i = s.find(n.name);
        if (i < 0) {
          if (this.globalConsts.has(n.name) || this.constants.has(n.name)) throw this.error(n, 'runtime', `cannot assign to constant '${n.name}'`);
          this.lookup(n.name, n);
        }
        if (s.consts[i]) throw this.error(n, 'runtime', `cannot assign to constant '${n.name}'`);
        s.values[i] = f(s.values[i]);
        return;
      }
      case 'this': {
        const box = this.cur.thisBox;
        if (!box) throw this.error(n, 'runtime', "'this' is only bound in a function called as a method");
        box.v = f(box.v);
        return;
      }
      case 'index': {
        const idx = this.eval(n.index);
        this.update(
          n.target,
          (c) => {
            try {
              return setIndex(c, idx, f, create);
            } catch (e) {
              if (e instanceof Fault) throw this.error(n, e.kind, e.message);
              throw e;
            }
          },
          create,
        );
        return;
      }
      case 'prop':
        this.update(
          n.target,
          (c) => {
            if (!(c instanceof Map)) throw this.error(n, 'type', `cannot set property '${n.name}' of ${typeName(c)}`);
            const old = c.get(n.name);
            const nv = f(old);
            if (nv !== old || (create && !c.has(n.name))) c.set(n.name, nv);
            return c;
          },
          create,
        );
        return;
    }
    throw this.error(n, 'runtime', 'cannot assign to this expression');
  }

  private callNamed(n: NodeOf<'call'>): RhaiValue {
    switch (n.name) {
      case 'is_def_var':
        if (n.args.length === 1) {
          const name = this.eval(n.args[0]!);
          if (typeof name !== 'string') return false;
          return this.cur.scope.find(name) >= 0 || this.globalConsts.has(name) || this.constants.has(name);
        }
        break;
      case 'eval':
        throw this.error(n, 'runtime', 'eval is not supported');
    }
    const args = n.args.map((a) => this.eval(a));
    return this.callFunction(n.name, args, n);
  }

  /** `name(args)`: script function by arity, then host function, then the standard ones. */
  private callFunction(name: string, args: RhaiValue[], n: At): RhaiValue {
    const fn = this.fns.get(`${name}/${args.length}`);
    if (fn) return this.invokeScript(fn, args, n);
    const host = this.host.get(name);
    if (host) return this.invokeHost(host, args, n);
    const special = this.special(name, args, n);
    if (special !== NO_MATCH) return special;
    const r = this.builtin(name, args, n);
    if (r !== NO_MATCH) return r;
    throw this.error(n, 'unknown-function', this.notFoundReason(name, args));
  }

  private special(name: string, args: RhaiValue[], n: At): RhaiValue | typeof NO_MATCH {
    const [a, b] = args;
    switch (name) {
      case 'Fn':
        if (args.length === 1 && typeof a === 'string') {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(a)) throw new Fault('runtime', `not a valid function name: ${JSON.stringify(a)}`);
          return new RhaiFnPtr(a);
        }
        break;
      case 'call':
        if (a instanceof RhaiFnPtr) return this.callPtr(a, args.slice(1), n);
        break;
      case 'curry':
        if (a instanceof RhaiFnPtr) return new RhaiFnPtr(a.name, [...a.curried, ...args.slice(1).map(clone)], a.closure);
        break;
      case 'is_def_fn':
        if (args.length === 2 && typeof a === 'string' && typeof b === 'bigint') return this.fns.has(`${a}/${b}`) || this.host.has(a) || BUILTINS.has(a);
        break;
      case 'print':
      case 'debug':
        if (args.length === 1) {
          this.print(name === 'print' ? display(a) : debug(a));
          return undefined;
        }
    }
    return NO_MATCH;
  }

  private builtin(name: string, args: RhaiValue[], n: At): RhaiValue | typeof NO_MATCH {
    const list = BUILTINS.get(name);
    if (!list) return NO_MATCH;
    const ctx: BuiltinContext = {
      callFn: (fp, a) => this.callPtr(fp, a, n),
      arity: (fp) => this.arity(fp),
    };
    for (const f of list) {
      const r = f(args, ctx);
      if (r !== NO_MATCH) return r;
    }
    return NO_MATCH;
  }

  private arity(fp: RhaiFnPtr): number | undefined {
    if (fp.closure) return fp.closure.params.length - fp.curried.length;
    for (let a = 0; a <= 4; a++) if (this.fns.has(`${fp.name}/${a + fp.curried.length}`)) return a;
    return undefined;
  }

  private notFoundReason(name: string, args: RhaiValue[]): string {
    let reason = `function not found: ${name} (${args.map(typeName).join(', ')})`;
    const arities = [...this.fns.values()].filter((f) => f.name === name).map((f) => f.params.length);
    if (arities.length > 0) return `${reason}; '${name}' takes ${arities.sort().join(' or ')} argument(s)`;
    if (this.host.has(name) || BUILTINS.has(name) || SPECIAL_FUNCTIONS.includes(name)) return `${reason}; no version of '${name}' takes these argument types`;
    return reason + didYouMean(name, [...this.fnNames, ...this.host.keys(), ...BUILTINS.keys(), ...SPECIAL_FUNCTIONS]);
  }

  private method(n: NodeOf<'method'>): RhaiValue {
    const args = n.args.map((a) => this.eval(a));
    const path = isPath(n.target);
    if (path && !this.constPath(n.target)) {
      let result: RhaiValue;
      this.update(
        n.target,
        (old) => {
          const box = { v: old };
          result = this.callMethod(n, box, args);
          return box.v;
        },
        false,
      );
      return result;
    }
    // A temporary, or a constant that the method must not change: work on a copy.
    const v = this.eval(n.target);
    return this.callMethod(n, { v: path ? clone(v) : v }, args);
  }

  /** Whether the path starts at a constant (methods then work on a copy, as in Rhai). */
  private constPath(n: Node): boolean {
    while (n.k === 'index' || n.k === 'prop') n = n.target;
    if (n.k !== 'var') return false;
    const i = this.cur.scope.find(n.name);
    return i < 0 || this.cur.scope.consts[i] === true;
  }

  /**
   * `x.f(args)`: f(x, args) (a script function gets a copy of x; standard functions may change x
   * in place), else a script f(args) with `this` bound to x, else a function pointer stored in
   * map property f.
   */
  private callMethod(n: NodeOf<'method'>, box: { v: RhaiValue }, args: RhaiValue[]): RhaiValue {
    const self = box.v;
    if (n.safe && self === undefined) return undefined;
    if (self instanceof RhaiFnPtr) {
      if (n.name === 'call') return this.callPtr(self, args, n);
      if (n.name === 'curry') return new RhaiFnPtr(self.name, [...self.curried, ...args.map(clone)], self.closure);
    }
    const full = [self, ...args];
    const fn = this.fns.get(`${n.name}/${full.length}`);
    if (fn) return this.invokeScript(fn, full, n);
    const withThis = this.fns.get(`${n.name}/${args.length}`);
    if (withThis) return this.invokeScript(withThis, args, n, box);
    if (self instanceof Map) {
      const p = self.get(n.name);
      if (p instanceof RhaiFnPtr) return this.callPtr(p, args, n, box);
    }
    const host = this.host.get(n.name);
    if (host) return this.invokeHost(host, full, n);
    const r = this.builtin(n.name, full, n);
    if (r !== NO_MATCH) {
      box.v = full[0];
      return r;
    }
    throw this.error(n, 'unknown-function', this.notFoundReason(n.name, full));
  }

  private callPtr(fp: RhaiFnPtr, args: RhaiValue[], n: At, thisBox?: { v: RhaiValue }): RhaiValue {
    const all = fp.curried.length > 0 ? [...fp.curried, ...args] : args;
    if (!fp.closure) return this.callFunction(fp.name, all, n);
    const c = fp.closure;
    if (all.length !== c.params.length) {
      throw this.error(n, 'unknown-function', `closure takes ${c.params.length} argument(s), called with ${all.length}`);
    }
    const scope = new Scope();
    for (const [name, v] of c.captured) scope.push(name, clone(v), false);
    c.params.forEach((p, i) => scope.push(p, clone(all[i]), false));
    return this.invokeBody(fp.name, c.body, { scope, file: c.file, thisBox }, n);
  }

  private closure(n: NodeOf<'closure'>): RhaiValue {
    n.free ??= [...variablesUsed(n.body)].filter((v) => !n.params.includes(v));
    const captured: [string, RhaiValue][] = [];
    const s = this.cur.scope;
    for (const name of n.free) {
      const i = s.find(name);
      if (i >= 0) captured.push([name, clone(s.values[i])]);
    }
    return new RhaiFnPtr(`anon@${n.line}:${n.col}`, [], { params: n.params, body: n.body, captured, file: this.cur.file });
  }

  private invokeScript(fn: FnDef, args: RhaiValue[], n: At, thisBox?: { v: RhaiValue }): RhaiValue {
    const scope = new Scope();
    fn.params.forEach((p, i) => scope.push(p, clone(args[i]), false));
    return this.invokeBody(fn.name, fn.body, { scope, file: fn.file, thisBox }, n);
  }

  private invokeBody(name: string, body: Node, frame: Frame, n: At): RhaiValue {
    if (this.calls.length >= this.maxCallLevels) {
      throw this.error(n, 'stack', `call stack too deep: more than ${this.maxCallLevels} nested function calls`);
    }
    this.calls.push({ fn: name, file: this.cur.file, line: n.line, col: n.col });
    const saved = this.cur;
    this.cur = frame;
    try {
      return this.eval(body);
    } catch (e) {
      if (e instanceof ReturnSignal) return e.value;
      if (e instanceof RangeError) throw this.error(this.at, 'stack', 'call stack exhausted (expression nested too deeply)');
      throw e;
    } finally {
      this.cur = saved;
      this.calls.pop();
    }
  }

  private invokeHost(f: HostFunction, args: RhaiValue[], n: At): RhaiValue {
    let r: unknown;
    try {
      r = f(args.map(clone), { file: this.cur.file, line: n.line, col: n.col });
    } catch (e) {
      if (e instanceof RhaiError) throw e;
      throw this.error(n, 'runtime', e instanceof Error ? e.message : String(e));
    }
    // Be lenient with hosts returning null or plain objects.
    return r === null || (typeof r === 'object' && !(r instanceof Map) && !Array.isArray(r) && r.constructor === Object) ? fromJs(r) : (r as RhaiValue);
  }
}

function isPath(n: Node): boolean {
  if (n.k === 'var' || n.k === 'this') return true;
  return (n.k === 'index' || n.k === 'prop') && !n.safe && isPath(n.target);
}

function* rangeItems(r: RhaiRange): Generator<bigint> {
  for (let i = r.from; i < r.end; i++) yield i;
}

function getIndex(c: RhaiValue, idx: RhaiValue): RhaiValue {
  if (Array.isArray(c) && typeof idx === 'bigint') return arrayGet(c, idx);
  if (c instanceof Map && (typeof idx === 'string' || idx instanceof RhaiChar)) return c.get(String(idx));
  if (typeof c === 'string' && typeof idx === 'bigint') return charAt(c, idx);
  throw new Fault('type', `cannot index ${typeName(c)} with ${typeName(idx)}`);
}

function setIndex(c: RhaiValue, idx: RhaiValue, f: (old: RhaiValue) => RhaiValue, create: boolean): RhaiValue {
  if (Array.isArray(c) && typeof idx === 'bigint') {
    const old = arrayGet(c, idx);
    const nv = f(old);
    if (nv !== old) arraySet(c, idx, nv);
    return c;
  }
  if (c instanceof Map && (typeof idx === 'string' || idx instanceof RhaiChar)) {
    const k = String(idx);
    const old = c.get(k);
    const nv = f(old);
    if (nv !== old || (create && !c.has(k))) c.set(k, nv);
    return c;
  }
  if (typeof c === 'string' && typeof idx === 'bigint') {
    const old = charAt(c, idx);
    const nv = f(old);
    return nv === old ? c : setCharAt(c, idx, nv);
  }
  throw new Fault('type', `cannot index ${typeName(c)} with ${typeName(idx)}`);
}
