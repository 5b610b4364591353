// A JSON schema (the subset the recipe skeleton uses) as a GBNF grammar, patterns included, so a
// model run under it can only write a value the schema accepts. node-llama-cpp's own converter
// leaves `pattern` out; a recipe name like `Foo Bar!` would then pass the grammar and fail us.
// The JSON is compact (no whitespace) and strings never hold `"`, `\` or control characters:
// every string is a plain run of characters, which also keeps model text from escaping anything.

export interface GrammarSchema {
  type?: string;
  enum?: readonly unknown[];
  const?: unknown;
  properties?: Record<string, GrammarSchema>;
  required?: readonly string[];
  items?: GrammarSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
}

/**
 * Free text: printable ASCII without `"` and `\`. A small model's byte-fallback tokens can
 * otherwise spell broken UTF-8 (U+FFFD in the answer, and a length over maxLength).
 */
const PRINTABLE = '[\\x20-\\x21\\x23-\\x5b\\x5d-\\x7e]';
const PRINTABLE_RANGES: [number, number][] = [
  [0x20, 0x21],
  [0x23, 0x5b],
  [0x5d, 0x7e],
];

/** Longest run an unbounded quantifier (`*`, `+`, `{n,}`) may take when the schema gives no maxLength. */
const UNBOUNDED_CAP = 64;

export class GrammarError extends Error {}

export function schemaToGbnf(schema: GrammarSchema): string {
  const rules: string[] = [];
  let count = 0;
  const rule = (body: string): string => {
    const name = `r${count++}`;
    rules.push(`${name} ::= ${body}`);
    return name;
  };
  const root = value(schema, '$', rule);
  return [`root ::= ${root}`, ...rules].join('\n') + '\n';
}

function value(schema: GrammarSchema, path: string, rule: (body: string) => string): string {
  if (schema.const !== undefined) return literal(JSON.stringify(schema.const));
  if (schema.enum) return `(${schema.enum.map((v) => literal(JSON.stringify(v))).join(' | ')})`;
  switch (schema.type) {
    case 'string': {
      const cap = schema.maxLength ?? UNBOUNDED_CAP;
      let body = `${PRINTABLE}{${schema.minLength ?? 0},${cap}}`;
      if (schema.pattern) {
        const converted = regexPattern(schema.pattern, cap, path);
        // The grammar cannot count characters across a pattern: the pattern itself must be bounded.
        if (schema.maxLength !== undefined && converted.maxLength > schema.maxLength) {
          throw new GrammarError(`${path}: pattern /${schema.pattern}/ allows ${converted.maxLength} characters, more than maxLength ${schema.maxLength}: bound its repeats`);
        }
        body = converted.gbnf;
      }
      return rule(`"\\"" ${body} "\\""`);
    }
    case 'integer':
      return rule(`"-"? [0-9]{1,15}`);
    case 'boolean':
      return `("true" | "false")`;
    case 'array': {
      if (!schema.items) throw new GrammarError(`${path}: an array needs items`);
      const item = value(schema.items, `${path}[]`, rule);
      const min = schema.minItems ?? 0;
      const max = schema.maxItems ?? UNBOUNDED_CAP;
      if (max < min || max < 1) return literal('[]');
      const rest = `("," ${item}){${Math.max(0, min - 1)},${max - 1}}`;
      return rule(min === 0 ? `"[" (${item} ${rest})? "]"` : `"[" ${item} ${rest} "]"`);
    }
    case 'object': {
      // Every property, in the schema's order: a model fills the whole skeleton (optional ones too).
      const names = Object.keys(schema.properties ?? {});
      const parts = names.map((k, i) => `${literal(`${i ? ',' : ''}${JSON.stringify(k)}:`)} ${value(schema.properties![k], `${path}.${k}`, rule)}`);
      return rule(`"{" ${parts.join(' ')} "}"`);
    }
    default:
      throw new GrammarError(`${path}: type ${JSON.stringify(schema.type)} is not supported in a grammar`);
  }
}

/** A GBNF string literal. */
function literal(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * A regular expression of the simple kind schemas use (anchors, literals, escapes \d \w \s \.,
 * classes, groups with |, quantifiers * + ? {n} {n,} {n,m}) as GBNF, inside a JSON string:
 * `"` and `\` are never produced, and unbounded repeats are capped at `cap`.
 */
export function regexToGbnf(pattern: string, cap: number, path = '$'): string {
  return regexPattern(pattern, cap, path).gbnf;
}

interface Part {
  gbnf: string;
  /** The most characters it can match. */
  maxLength: number;
}

function regexPattern(pattern: string, cap: number, path: string): Part {
  let source = pattern;
  if (source.startsWith('^')) source = source.slice(1);
  if (source.endsWith('$') && !source.endsWith('\\$')) source = source.slice(0, -1);
  let at = 0;
  const fail = (why: string): never => {
    throw new GrammarError(`${path}: pattern /${pattern}/ at ${at}: ${why}`);
  };

  const one = (gbnf: string): Part => ({ gbnf, maxLength: 1 });

  const alternation = (): Part => {
    const branches = [sequence()];
    while (source[at] === '|') {
      at++;
      branches.push(sequence());
    }
    if (branches.length === 1) return branches[0];
    return { gbnf: `(${branches.map((b) => b.gbnf).join(' | ')})`, maxLength: Math.max(...branches.map((b) => b.maxLength)) };
  };

  const sequence = (): Part => {
    const items: Part[] = [];
    while (at < source.length && source[at] !== '|' && source[at] !== ')') items.push(quantified(atom()));
    if (!items.length) return { gbnf: '""', maxLength: 0 };
    return { gbnf: items.map((i) => i.gbnf).join(' '), maxLength: items.reduce((n, i) => n + i.maxLength, 0) };
  };

  const atom = (): Part => {
    const c = source[at];
    if (c === '(') {
      at++;
      if (source.startsWith('?:', at)) at += 2;
      const inner = alternation();
      if (source[at] !== ')') fail('an unclosed group');
      at++;
      return { gbnf: `(${inner.gbnf})`, maxLength: inner.maxLength };
    }
    if (c === '[') return one(charClass());
    if (c === '.') {
      at++;
      return one(PRINTABLE);
    }
    if (c === '\\') {
      at++;
      const e = source[at++];
      if (e === 'd') return one('[0-9]');
      if (e === 'w') return one('[A-Za-z0-9_]');
      if (e === 's') return one('" "');
      if (e === undefined) fail('a trailing backslash');
      return one(char(e));
    }
    if ('*+?{'.includes(c)) fail(`nothing to repeat before '${c}'`);
    at++;
    return one(char(c));
  };

  const char = (c: string): string => {
    if (c === '"' || c === '\\' || c < ' ') fail(`${JSON.stringify(c)} cannot appear in a JSON string without escaping`);
    return literal(c);
  };

  const charClass = (): string => {
    at++; // [
    const negated = source[at] === '^';
    if (negated) at++;
    const ranges: [number, number][] = [];
    const single = (): [number, number][] => {
      let c = source[at++];
      if (c === '\\') {
        c = source[at++];
        if (c === 'd') return [[0x30, 0x39]];
        if (c === 'w') return [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
        if (c === 's') return [[0x20, 0x20]];
      }
      if (c === undefined) fail('an unclosed class');
      return [[c.codePointAt(0)!, c.codePointAt(0)!]];
    };
    while (source[at] !== ']') {
      if (at >= source.length) fail('an unclosed class');
      const first = single();
      if (first.length === 1 && source[at] === '-' && source[at + 1] !== ']' && at + 1 < source.length) {
        at++;
        const last = single();
        if (last.length !== 1 || last[0][0] < first[0][0]) fail('a bad range');
        ranges.push([first[0][0], last[0][1]]);
      } else ranges.push(...first);
    }
    at++; // ]
    // Only printable ASCII without `"` and `\`: anything else would end, escape or break the JSON string.
    const allowed = PRINTABLE_RANGES.flatMap(([lo, hi]) => {
      const parts: [number, number][] = [];
      for (let c = lo; c <= hi; c++) {
        const inClass = ranges.some(([a, b]) => c >= a && c <= b);
        if (inClass === negated) continue;
        const last = parts[parts.length - 1];
        if (last && last[1] === c - 1) last[1] = c;
        else parts.push([c, c]);
      }
      return parts;
    });
    if (allowed.length === 0) fail('a class that allows no character a JSON string can hold unescaped');
    return `[${allowed.map(([a, b]) => (a === b ? hex(a) : `${hex(a)}-${hex(b)}`)).join('')}]`;
  };

  const quantified = (item: Part): Part => {
    const repeat = (min: number, max: number): Part => ({ gbnf: `${item.gbnf}{${min},${max}}`, maxLength: item.maxLength * max });
    const c = source[at];
    if (c === '*') return (at++, repeat(0, cap));
    if (c === '+') return (at++, repeat(1, cap));
    if (c === '?') return (at++, { gbnf: `${item.gbnf}?`, maxLength: item.maxLength });
    if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(at));
      if (!m) return item;
      at += m[0].length;
      const min = Number(m[1]);
      return repeat(min, m[2] === undefined ? min : m[3] === '' ? Math.max(min, cap) : Number(m[3]));
    }
    return item;
  };

  const body = alternation();
  if (at < source.length) fail(`unexpected '${source[at]}'`);
  return body;
}

/** A character in a GBNF class, as an escape: no class syntax can be mistaken for it. */
function hex(code: number): string {
  return `\\x${code.toString(16).padStart(2, '0')}`;
}
