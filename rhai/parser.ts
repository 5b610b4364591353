// Pratt parser for Rhai. Statements need `;` between them unless they end in a block; the last
// expression of a block without `;` is the block's value.
import type { Block, FnDef, Node, RhaiProgram, SwitchArm } from './ast.js';
import { RhaiError } from './errors.js';
import { Lexer, type Token } from './lexer.js';
import { I64_MAX, RhaiChar } from './values.js';

// Binding powers, lowest first (Rhai's order: `??`, `||`, `&&`, `|`, `^`, `&`, equality,
// comparison and `in`, ranges, additive, multiplicative, `**`, shifts).
const INFIX: Record<string, number> = {
  '??': 5,
  '||': 10,
  '&&': 20,
  '|': 30,
  '^': 40,
  '&': 50,
  '==': 60,
  '!=': 60,
  '<': 70,
  '>': 70,
  '<=': 70,
  '>=': 70,
  in: 70,
  '..': 80,
  '..=': 80,
  '+': 90,
  '-': 90,
  '*': 100,
  '/': 100,
  '%': 100,
  '**': 110,
  '<<': 120,
  '>>': 120,
};

const ASSIGN = new Set(['=', '+=', '-=', '*=', '/=', '%=', '**=', '<<=', '>>=', '&=', '|=', '^=']);
const KEYWORDS = new Set([
  'let', 'const', 'fn', 'private', 'if', 'else', 'switch', 'for', 'in', 'while', 'loop', 'do', 'until', 'break',
  'continue', 'return', 'throw', 'try', 'catch', 'true', 'false', 'this', 'import', 'export', 'as', 'global',
]);
// Statements ending in a block need no `;` after them.
const BLOCKY = new Set(['if', 'switch', 'while', 'loop', 'for', 'do', 'try', 'block']);

function describe(t: Token): string {
  switch (t.t) {
    case 'eof':
      return t.v === '}' ? "'}'" : 'end of file';
    case 'str':
      return `string ${JSON.stringify(t.v)}`;
    case 'tmpl':
      return 'template string';
    case 'char':
      return `character '${t.v}'`;
    default:
      return `'${t.v}'`;
  }
}

export class Parser {
  private p = 0;
  /** Loops around the current position, within the current function or closure. */
  private loops = 0;
  readonly functions: FnDef[] = [];

  constructor(
    private readonly toks: Token[],
    private readonly file: string,
  ) {}

  private get tok(): Token {
    return this.toks[this.p]!;
  }

  private next(): Token {
    const t = this.toks[this.p]!;
    if (t.t !== 'eof') this.p++;
    return t;
  }

  private is(v: string): boolean {
    const t = this.toks[this.p]!;
    return (t.t === 'op' || t.t === 'id') && t.v === v;
  }

  private eat(v: string): boolean {
    if (!this.is(v)) return false;
    this.p++;
    return true;
  }

  fail(message: string, t: Token = this.tok): never {
    throw new RhaiError('syntax', `syntax error: ${message}`, this.file, t.line, t.col);
  }

  private expect(v: string): Token {
    if (!this.is(v)) this.fail(`expected '${v}' but found ${describe(this.tok)}`);
    return this.next();
  }

  private ident(what: string): Token {
    const t = this.tok;
    if (t.t !== 'id' || KEYWORDS.has(t.v)) this.fail(`expected ${what} but found ${describe(t)}`);
    return this.next();
  }

  program(): { statements: Node[]; valueLast: boolean } {
    const { stmts, valueLast } = this.statements(true);
    return { statements: stmts, valueLast };
  }

  /** Statements up to `}` (not consumed) or the end of file. */
  private statements(top: boolean): { stmts: Node[]; valueLast: boolean } {
    const stmts: Node[] = [];
    for (;;) {
      if (this.eat(';')) continue;
      const t = this.tok;
      if (t.t === 'eof' || (!top && this.is('}'))) return { stmts, valueLast: false };
      if (this.is('fn') || (this.is('private') && this.toks[this.p + 1]?.v === 'fn')) {
        if (!top) this.fail('functions can only be defined at global level');
        this.fnDef();
        continue;
      }
      const s = this.statement();
      stmts.push(s);
      if (this.eat(';')) continue;
      const end = this.tok.t === 'eof' || this.is('}');
      if (end) return { stmts, valueLast: s.k !== 'let' };
      if (!BLOCKY.has(s.k)) this.fail(`expected ';' but found ${describe(this.tok)}`);
    }
  }

  private fnDef(): void {
    const first = this.tok;
    const isPrivate = this.eat('private');
    const fnTok = this.expect('fn');
    const name = this.ident('a function name');
    this.expect('(');
    const params: string[] = [];
    while (!this.is(')')) {
      const p = this.ident('a parameter name');
      if (params.includes(p.v)) this.fail(`duplicate parameter '${p.v}'`, p);
      params.push(p.v);
      if (!this.eat(',')) break;
    }
    this.expect(')');
    const body = this.outsideLoops(() => this.block());
    if (this.functions.some((f) => f.name === name.v && f.params.length === params.length)) {
      this.fail(`function '${name.v}' with ${params.length} parameter(s) is already defined`, name);
    }
    this.functions.push({
      name: name.v,
      params,
      private: isPrivate,
      body,
      file: this.file,
      line: first.line,
      col: first.col,
      doc: first.doc ?? fnTok.doc ?? [],
    });
  }

  private loopBody(): Block {
    this.loops++;
    try {
      return this.block();
    } finally {
      this.loops--;
    }
  }

  /** Function and closure bodies: `break` there cannot leave a loop around them. */
  private outsideLoops<T>(parse: () => T): T {
    const saved = this.loops;
    this.loops = 0;
    try {
      return parse();
    } finally {
      this.loops = saved;
    }
  }

  private block(): Block {
    const open = this.expect('{');
    const { stmts, valueLast } = this.statements(false);
    this.expect('}');
    return { k: 'block', stmts, valueLast, line: open.line, col: open.col };
  }

  private statement(): Node {
    const t = this.tok;
    const at = { line: t.line, col: t.col };
    if (t.t === 'id') {
      switch (t.v) {
        case 'let':
        case 'const': {
          this.next();
          const name = this.ident('a variable name');
          const value = this.eat('=') ? this.expr() : undefined;
          if (t.v === 'const' && !value) this.fail(`constant '${name.v}' needs a value`, name);
          return { k: 'let', name: name.v, value, isConst: t.v === 'const', ...at };
        }
        case 'return':
        case 'throw':
        case 'break': {
          const kind = t.v;
          if (kind === 'break' && this.loops === 0) this.fail("'break' outside a loop");
          this.next();
          const value = this.is(';') || this.is('}') || this.tok.t === 'eof' ? undefined : this.expr();
          return { k: kind, value, ...at };
        }
        case 'continue':
          if (this.loops === 0) this.fail("'continue' outside a loop");
          this.next();
          return { k: 'continue', ...at };
        case 'import':
        case 'export':
          this.fail(`'${t.v}' is not supported: recipes cannot load modules (use a '//! extends:' header)`);
      }
    }
    const e = this.expr();
    const op = this.tok;
    if (op.t === 'op' && ASSIGN.has(op.v)) {
      if (!isAssignable(e)) this.fail(`cannot assign to this expression`, op);
      this.next();
      return { k: 'assign', op: op.v, target: e, value: this.expr(), line: op.line, col: op.col };
    }
    return e;
  }

  expr(minBp = 0): Node {
    let left = this.unary();
    for (;;) {
      const t = this.tok;
      if (t.t !== 'op' && !(t.t === 'id' && t.v === 'in')) return left;
      const bp = INFIX[t.v];
      if (bp === undefined || bp <= minBp) return left;
      this.next();
      const at = { line: t.line, col: t.col };
      if (t.v === '..' || t.v === '..=') {
        left = { k: 'range', a: left, b: this.expr(bp), inclusive: t.v === '..=', ...at };
      } else {
        // `**` is right-associative.
        const right = this.expr(t.v === '**' ? bp - 1 : bp);
        left = { k: 'bin', op: t.v, a: left, b: right, ...at };
      }
    }
  }

  private unary(): Node {
    const t = this.tok;
    if (t.t === 'op' && (t.v === '-' || t.v === '+' || t.v === '!')) {
      this.next();
      // A negative literal is folded here, so that i64::MIN can be written.
      // (Not when a method follows: `-1.abs()` is `-(1.abs())`.)
      const lit = this.tok;
      const after = this.toks[this.p + 1]!;
      const postfix = after.t === 'op' && ['.', '?.', '[', '?['].includes(after.v);
      if (t.v === '-' && (lit.t === 'int' || lit.t === 'float') && !postfix) {
        this.next();
        return { k: 'lit', value: lit.t === 'int' ? -lit.int! : -lit.float!, line: t.line, col: t.col };
      }
      const x = this.unary();
      return { k: 'unary', op: t.v, x, line: t.line, col: t.col };
    }
    return this.postfix(this.primary());
  }

  private postfix(e: Node): Node {
    for (;;) {
      const t = this.tok;
      if (t.t !== 'op') return e;
      if (t.v === '.' || t.v === '?.') {
        this.next();
        const name = this.tok;
        if (name.t !== 'id') this.fail(`expected a property or method name but found ${describe(name)}`);
        this.next();
        const at = { line: name.line, col: name.col };
        const safe = t.v === '?.';
        e = this.is('(') ? { k: 'method', target: e, name: name.v, args: this.args(), safe, ...at } : { k: 'prop', target: e, name: name.v, safe, ...at };
      } else if (t.v === '[' || t.v === '?[') {
        this.next();
        const index = this.expr();
        this.expect(']');
        e = { k: 'index', target: e, index, safe: t.v === '?[', line: t.line, col: t.col };
      } else return e;
    }
  }

  private args(): Node[] {
    this.expect('(');
    const args: Node[] = [];
    while (!this.is(')')) {
      args.push(this.expr());
      if (!this.eat(',')) break;
    }
    this.expect(')');
    return args;
  }

  private primary(): Node {
    const t = this.tok;
    const at = { line: t.line, col: t.col };
    switch (t.t) {
      case 'int':
        this.next();
        if (t.int! > I64_MAX) this.fail(`integer literal ${t.v} is too large for a 64-bit integer`, t);
        return { k: 'lit', value: t.int!, ...at };
      case 'float':
        this.next();
        return { k: 'lit', value: t.float!, ...at };
      case 'str':
        this.next();
        return { k: 'lit', value: t.v, ...at };
      case 'char':
        this.next();
        return { k: 'lit', value: new RhaiChar(t.v), ...at };
      case 'tmpl':
        this.next();
        return { k: 'tmpl', parts: t.parts!.map((p) => (typeof p === 'string' ? p : this.sub(p))), ...at };
      case 'eof':
        return this.fail(`expected an expression but found ${describe(t)}`);
      case 'op':
        return this.primaryOp(t);
    }
    switch (t.v) {
      case 'true':
      case 'false':
        this.next();
        return { k: 'lit', value: t.v === 'true', ...at };
      case 'this':
        this.next();
        return { k: 'this', ...at };
      case 'if':
        return this.ifExpr();
      case 'while': {
        this.next();
        const cond = this.expr();
        return { k: 'while', cond, body: this.loopBody(), ...at };
      }
      case 'loop':
        this.next();
        return { k: 'loop', body: this.loopBody(), ...at };
      case 'do': {
        this.next();
        const body = this.loopBody();
        const until = this.is('until');
        if (!until && !this.is('while')) this.fail(`expected 'while' or 'until' but found ${describe(this.tok)}`);
        this.next();
        return { k: 'do', body, cond: this.expr(), until, ...at };
      }
      case 'for':
        return this.forExpr();
      case 'switch':
        return this.switchExpr();
      case 'try': {
        this.next();
        const body = this.block();
        this.expect('catch');
        let catchVar: string | undefined;
        if (this.eat('(')) {
          catchVar = this.ident('a variable name').v;
          this.expect(')');
        }
        return { k: 'try', body, catchVar, handler: this.block(), ...at };
      }
    }
    if (KEYWORDS.has(t.v)) this.fail(`unexpected '${t.v}'`);
    this.next();
    if (this.is('::')) this.fail(`modules are not supported ('${t.v}::...')`);
    if (this.is('(')) return { k: 'call', name: t.v, args: this.args(), ...at };
    return { k: 'var', name: t.v, ...at };
  }

  private primaryOp(t: Token): Node {
    const at = { line: t.line, col: t.col };
    switch (t.v) {
      case '(': {
        this.next();
        if (this.eat(')')) return { k: 'lit', value: undefined, ...at };
        const e = this.expr();
        this.expect(')');
        return e;
      }
      case '[': {
        this.next();
        const items: Node[] = [];
        while (!this.is(']')) {
          items.push(this.expr());
          if (!this.eat(',')) break;
        }
        this.expect(']');
        return { k: 'array', items, ...at };
      }
      case '#{': {
        this.next();
        const entries: [string, Node][] = [];
        while (!this.is('}')) {
          const key = this.tok;
          if (key.t !== 'id' && key.t !== 'str') this.fail(`expected a property name but found ${describe(key)}`);
          this.next();
          if (entries.some(([k]) => k === key.v)) this.fail(`duplicate property '${key.v}'`, key);
          this.expect(':');
          entries.push([key.v, this.expr()]);
          if (!this.eat(',')) break;
        }
        this.expect('}');
        return { k: 'map', entries, ...at };
      }
      case '{':
        return this.block();
      case '|':
      case '||': {
        this.next();
        const params: string[] = [];
        if (t.v === '|') {
          while (!this.is('|')) {
            params.push(this.ident('a parameter name').v);
            if (!this.eat(',')) break;
          }
          this.expect('|');
        }
        return { k: 'closure', params, body: this.outsideLoops(() => this.expr()), ...at };
      }
    }
    return this.fail(`expected an expression but found ${describe(t)}`);
  }

  private sub(tokens: Token[]): Node {
    const p = new Parser(tokens, this.file);
    const e = p.expr();
    if (p.tok.t !== 'eof') p.fail(`expected '}' but found ${describe(p.tok)}`);
    return e;
  }

  private ifExpr(): Node {
    const t = this.next();
    const cond = this.expr();
    const then = this.block();
    let otherwise: Node | undefined;
    if (this.eat('else')) otherwise = this.is('if') ? this.ifExpr() : this.block();
    return { k: 'if', cond, then, else: otherwise, line: t.line, col: t.col };
  }

  private forExpr(): Node {
    const t = this.next();
    let name: string;
    let index: string | undefined;
    if (this.eat('(')) {
      name = this.ident('a variable name').v;
      this.expect(',');
      index = this.ident('a variable name').v;
      this.expect(')');
    } else name = this.ident('a variable name').v;
    this.expect('in');
    const iter = this.expr();
    return { k: 'for', name, index, iter, body: this.loopBody(), line: t.line, col: t.col };
  }

  private switchExpr(): Node {
    const t = this.next();
    const subject = this.expr();
    this.expect('{');
    const arms: SwitchArm[] = [];
    while (!this.is('}')) {
      let patterns: Node[] | null = [];
      if (this.is('_')) {
        this.next();
        patterns = null;
      } else {
        do patterns.push(this.expr(30)); // above `|`, which separates patterns
        while (this.eat('|'));
      }
      const guard = this.eat('if') ? this.expr() : undefined;
      this.expect('=>');
      const body = this.statement();
      arms.push({ patterns, guard, body });
      if (!this.eat(',') && body.k !== 'block') break;
    }
    this.expect('}');
    return { k: 'switch', subject, arms, line: t.line, col: t.col };
  }
}

function isAssignable(e: Node): boolean {
  if (e.k === 'var' || e.k === 'this') return true;
  if ((e.k === 'index' || e.k === 'prop') && !e.safe) return isAssignable(e.target);
  return false;
}

export function parseRhai(source: string, file: string): RhaiProgram {
  const lexer = new Lexer(source, file);
  const tokens = lexer.tokens();
  const parser = new Parser(tokens, file);
  let parsed: { statements: Node[]; valueLast: boolean };
  try {
    parsed = parser.program();
  } catch (e) {
    // Pathological nesting exhausts the JS stack: report it as a syntax error, not a crash.
    if (e instanceof RangeError) parser.fail('expressions nested too deeply');
    throw e;
  }
  const { statements, valueLast } = parsed;
  return { file, statements, valueLast, functions: parser.functions, moduleDoc: lexer.moduleDoc };
}
