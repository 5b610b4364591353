// Hand-written lexer. Template strings are lexed recursively: each `${...}` becomes its own
// token list, which the parser parses as an expression.
import { RhaiError } from './errors.js';
import { I64_MAX } from './values.js';

export type TokKind = 'int' | 'float' | 'str' | 'char' | 'tmpl' | 'id' | 'op' | 'eof';

export interface Token {
  t: TokKind;
  /** Operator text, identifier, or decoded string/char. */
  v: string;
  line: number;
  col: number;
  int?: bigint;
  float?: number;
  parts?: (string | Token[])[];
  /** `///` lines just before this token. */
  doc?: string[];
}

// Longest first, so `**=` wins over `**` over `*`.
const OPS = [
  '**=', '<<=', '>>=', '..=',
  '==', '!=', '<=', '>=', '&&', '||', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '**', '<<', '>>', '..', '?.', '??', '?[', '::', '=>', '->', '#{',
  '+', '-', '*', '/', '%', '=', '<', '>', '!', '&', '|', '^', '.', ',', ';', ':', '(', ')', '[', ']', '{', '}', '?', '#', '@', '$',
];

// Operators by first character, longest first.
const OPS_BY_FIRST = new Map<string, string[]>();
for (const op of OPS) OPS_BY_FIRST.set(op[0]!, [...(OPS_BY_FIRST.get(op[0]!) ?? []), op]);

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isIdStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isIdPart = (c: number): boolean => isIdStart(c) || isDigit(c);

export class Lexer {
  private i = 0;
  private line = 1;
  private lineStart = 0;
  private doc: string[] = [];
  readonly moduleDoc: string[] = [];

  constructor(
    private readonly src: string,
    private readonly file: string,
  ) {}

  fail(message: string, line = this.line, col = this.i - this.lineStart + 1): never {
    throw new RhaiError('syntax', `syntax error: ${message}`, this.file, line, col);
  }

  /** All tokens up to the end, or (in a template) up to the `}` closing `${`. */
  tokens(inTemplate = false): Token[] {
    const out: Token[] = [];
    let depth = 0;
    for (;;) {
      this.skipSpace();
      const line = this.line;
      const col = this.i - this.lineStart + 1;
      if (this.i >= this.src.length) {
        if (inTemplate) this.fail('unterminated ${ in a template string');
        out.push({ t: 'eof', v: '', line, col });
        return out;
      }
      const tok = this.token(line, col);
      if (inTemplate && tok.t === 'op') {
        if (tok.v === '{' || tok.v === '#{') depth++;
        else if (tok.v === '}' && depth-- === 0) {
          out.push({ t: 'eof', v: '}', line, col });
          return out;
        }
      }
      if (this.doc.length > 0) {
        tok.doc = this.doc;
        this.doc = [];
      }
      out.push(tok);
    }
  }

  private newline(at: number): void {
    this.line++;
    this.lineStart = at + 1;
  }

  private skipSpace(): void {
    const s = this.src;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 10) {
        this.newline(this.i);
        this.i++;
      } else if (c === 32 || c === 9 || c === 13) {
        this.i++;
      } else if (c === 47 && s.charCodeAt(this.i + 1) === 47) {
        let end = s.indexOf('\n', this.i);
        if (end < 0) end = s.length;
        const text = s.slice(this.i, end);
        if (text.startsWith('//!')) this.moduleDoc.push(text.slice(3).trim());
        else if (text.startsWith('///') && !text.startsWith('////')) this.doc.push(text.slice(3).trim());
        this.i = end;
      } else if (c === 47 && s.charCodeAt(this.i + 1) === 42) {
        this.blockComment();
      } else return;
    }
  }

  private blockComment(): void {
    const s = this.src;
    const line = this.line;
    const col = this.i - this.lineStart + 1;
    let depth = 0;
    while (this.i < s.length) {
      if (s.startsWith('/*', this.i)) {
        depth++;
        this.i += 2;
      } else if (s.startsWith('*/', this.i)) {
        this.i += 2;
        if (--depth === 0) return;
      } else {
        if (s.charCodeAt(this.i) === 10) this.newline(this.i);
        this.i++;
      }
    }
    this.fail('unterminated block comment', line, col);
  }

  private token(line: number, col: number): Token {
    const s = this.src;
    const c = s.charCodeAt(this.i);
    if (isDigit(c)) return this.number(line, col);
    if (isIdStart(c)) {
      const start = this.i;
      while (this.i < s.length && isIdPart(s.charCodeAt(this.i))) this.i++;
      return { t: 'id', v: s.slice(start, this.i), line, col };
    }
    if (c === 34) return { t: 'str', v: this.quoted('"', line, col), line, col };
    if (c === 39) {
      const v = this.quoted("'", line, col);
      if ([...v].length !== 1) this.fail('a character literal holds exactly one character', line, col);
      return { t: 'char', v, line, col };
    }
    if (c === 96) return this.template(line, col);
    for (const op of OPS_BY_FIRST.get(s[this.i]!) ?? []) {
      if (s.startsWith(op, this.i)) {
        this.i += op.length;
        return { t: 'op', v: op, line, col };
      }
    }
    return this.fail(`unexpected character '${s[this.i]}'`);
  }

  private number(line: number, col: number): Token {
    const s = this.src;
    const start = this.i;
    const radix = s[this.i] === '0' ? ({ x: 16, o: 8, b: 2 } as Record<string, number>)[s[this.i + 1] ?? ''] : undefined;
    if (radix) {
      this.i += 2;
      const digits = /^[0-9a-fA-F_]*/.exec(s.slice(this.i, this.i + 100))![0];
      this.i += digits.length;
      const clean = digits.replace(/_/g, '');
      const prefix = radix === 16 ? '0x' : radix === 8 ? '0o' : '0b';
      let value: bigint;
      try {
        if (clean === '') throw new Error();
        value = BigInt(prefix + clean);
      } catch {
        return this.fail(`invalid number '${s.slice(start, this.i)}'`, line, col);
      }
      return this.intToken(value, s.slice(start, this.i), line, col);
    }
    while (this.i < s.length && (isDigit(s.charCodeAt(this.i)) || s[this.i] === '_')) this.i++;
    let isFloat = false;
    if (s[this.i] === '.' && isDigit(s.charCodeAt(this.i + 1))) {
      isFloat = true;
      this.i++;
      while (this.i < s.length && (isDigit(s.charCodeAt(this.i)) || s[this.i] === '_')) this.i++;
    }
    if ((s[this.i] === 'e' || s[this.i] === 'E') && /^[eE][+-]?[0-9]/.test(s.slice(this.i, this.i + 3))) {
      isFloat = true;
      this.i += s[this.i + 1] === '+' || s[this.i + 1] === '-' ? 2 : 1;
      while (this.i < s.length && isDigit(s.charCodeAt(this.i))) this.i++;
    }
    const text = s.slice(start, this.i);
    if (isIdStart(s.charCodeAt(this.i))) this.fail(`invalid number '${text}${s[this.i]}'`, line, col);
    if (isFloat) return { t: 'float', v: text, float: Number(text.replace(/_/g, '')), line, col };
    return this.intToken(BigInt(text.replace(/_/g, '')), text, line, col);
  }

  private intToken(value: bigint, text: string, line: number, col: number): Token {
    // One more than i64::MAX is allowed so that `-9223372036854775808` can be negated.
    if (value > I64_MAX + 1n) this.fail(`integer literal ${text} is too large for a 64-bit integer`, line, col);
    return { t: 'int', v: text, int: value, line, col };
  }

  private quoted(quote: string, line: number, col: number): string {
    const s = this.src;
    this.i++;
    let out = '';
    for (;;) {
      if (this.i >= s.length || s[this.i] === '\n') {
        return this.fail(quote === '"' ? 'unterminated string' : 'unterminated character literal', line, col);
      }
      const ch = s[this.i]!;
      if (ch === quote) {
        this.i++;
        return out;
      }
      if (ch === '\\') out += this.escape();
      else {
        out += ch;
        this.i++;
      }
    }
  }

  private escape(): string {
    const s = this.src;
    const line = this.line;
    const col = this.i - this.lineStart + 1;
    const e = s[this.i + 1];
    this.i += 2;
    switch (e) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case '0':
        return '\0';
      case '\\':
      case '"':
      case "'":
      case '`':
      case '$':
        return e;
      case '\n': {
        // Line continuation: the newline and the next line's indentation vanish.
        this.newline(this.i - 1);
        while (s[this.i] === ' ' || s[this.i] === '\t') this.i++;
        return '';
      }
      case 'x':
      case 'u':
      case 'U': {
        let hex: string;
        if (e === 'u' && s[this.i] === '{') {
          const end = s.indexOf('}', this.i);
          hex = end < 0 ? '' : s.slice(this.i + 1, end);
          this.i = end + 1;
        } else {
          hex = s.slice(this.i, this.i + (e === 'x' ? 2 : e === 'u' ? 4 : 8));
          this.i += hex.length;
        }
        const code = /^[0-9a-fA-F]{1,8}$/.test(hex) ? parseInt(hex, 16) : NaN;
        if (!(code <= 0x10ffff)) return this.fail(`invalid escape '\\${e}${hex}'`, line, col);
        return String.fromCodePoint(code);
      }
    }
    return this.fail(`unknown escape '\\${e ?? ''}'`, line, col);
  }

  private template(line: number, col: number): Token {
    const s = this.src;
    this.i++;
    const parts: (string | Token[])[] = [];
    let text = '';
    for (;;) {
      if (this.i >= s.length) return this.fail('unterminated template string', line, col);
      const ch = s[this.i]!;
      if (ch === '`') {
        this.i++;
        if (text) parts.push(text);
        return { t: 'tmpl', v: '', parts, line, col };
      }
      if (ch === '$' && s[this.i + 1] === '{') {
        if (text) parts.push(text);
        text = '';
        this.i += 2;
        parts.push(this.tokens(true));
      } else {
        if (ch === '\n') this.newline(this.i);
        text += ch;
        this.i++;
      }
    }
  }
}
