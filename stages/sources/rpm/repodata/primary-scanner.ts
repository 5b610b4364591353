// A streaming XML scanner for repodata, written for speed on the documents createrepo_c writes
// (primary.xml: ~100k elements, almost all attribute-only) and for correctness on any
// well-formed XML: entities (the five named ones and character references), CDATA, comments,
// processing instructions, a DOCTYPE without internal subset, ' or " quoting, any whitespace,
// \r\n line ends, and chunk boundaries anywhere. What is not well-formed fails with
// `<file>:<line>:<column>: <reason>: not well-formed XML`, like the saxes-based readers.
//
// Why not saxes: it looks at every character in JavaScript and builds an object per tag, per
// attribute map and per text node, whitespace included. A benchmark process parses one document
// cold, before the JIT has warmed up, so here the per-character work is native (regexes, indexOf,
// startsWith), attributes go into two reused arrays, text is sliced only while the handler asks
// for it (`wantText`), close tags are matched without making strings, and the handler may take
// its most frequent element whole (XmlFastChild). primary.xml parses about twice as fast.
// Strings handed out may be views into the current chunk (V8 slices): a handler keeping one must
// copy it (strings.ts detach/MetaPool).
import { RepodataFormatError } from './errors.js';
import { detach } from './strings.js';

/** The attributes of the start tag being reported; valid only during the openElement call. */
export class XmlAttributes {
  count = 0;
  readonly names: string[] = [];
  readonly values: string[] = [];

  get(name: string): string | undefined {
    for (let i = 0; i < this.count; i++) if (this.names[i] === name) return this.values[i];
    return undefined;
  }
}

/**
 * A fast path the handler may offer for the one kind of child it expects by the thousand (<rpm:entry>
 * in a dependency list): a sticky regex matched at each `<` while set and no text is wanted. What
 * it matches goes to `found` instead of openElement/closeElement, so the pattern must match only
 * a complete empty-element tag (`<name .../>`) of well-formed XML, with distinct attribute names
 * and SIMPLE_VALUE values (`found` decodes them with decodeNamedEntities), optionally followed by
 * XML whitespace (` \t\n\r`). Anything else it leaves to the general path.
 */
export interface XmlFastChild {
  pattern: RegExp;
  found(match: RegExpExecArray): void;
}

export interface XmlScanHandler {
  /** A start tag (or an empty-element tag, then closeElement follows at once). Names are local: `rpm:entry` -> `entry`. */
  openElement(name: string, attributes: XmlAttributes): void;
  closeElement(name: string): void;
  /** Character data (CDATA included, entities decoded, line ends as \n), in pieces; only while `wantText`. */
  text(piece: string): void;
}

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const BANG = 0x21;
const DQUOTE = 0x22;
const AMP = 0x26;
const SQUOTE = 0x27;
const SLASH = 0x2f;
const SEMICOLON = 0x3b;
const LT = 0x3c;
const EQUALS = 0x3d;
const GT = 0x3e;
const QUESTION = 0x3f;
const RBRACKET = 0x5d;

/** Longest entity reference accepted (`&#x10FFFF;` is 10). */
const MAX_ENTITY = 12;
/** Longest single piece of markup (a start tag with its attributes, a comment, a CDATA section). */
const MAX_MARKUP = 4 << 20;
/** Distinct element names remembered with their local name; a hostile document cannot grow it. */
const MAX_NAME_CACHE = 512;

function isSpace(c: number): boolean {
  return c === SPACE || c === LF || c === TAB || c === CR;
}

/** XML NameChar, loosely: ASCII letters, digits, `.-_:`, and anything non-ASCII but U+FFFE/U+FFFF. */
function isNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x3a) || c === 0x2d || c === 0x2e || c === 0x5f || (c >= 0x80 && c < 0xfffe);
}

/** Not a NameStartChar: a digit, `.` or `-`. */
function badNameStart(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e;
}

/** A code unit XML 1.0 forbids (control characters but tab and line ends, U+FFFE, U+FFFF). */
function isForbidden(c: number): boolean {
  return (c < SPACE && c !== TAB && c !== LF && c !== CR) || c === 0xfffe || c === 0xffff;
}

function isXmlChar(cp: number): boolean {
  return cp === TAB || cp === LF || cp === CR || (cp >= SPACE && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** Characters that make text need a closer look: tab, \r, the forbidden ones. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\ufffe\uffff]/g;

/**
 * A character of an attribute value that needs no checking: anything but `"`, `<`, control and
 * non-characters, and `&` only as one of the five named references (decodeNamedEntities).
 */
export const SIMPLE_VALUE = '(?:[^"<&\\u0000-\\u001f\\ufffe\\uffff]|&(?:amp|lt|gt|quot|apos);)';

const NAMED_ENTITY = /&(amp|lt|gt|quot|apos);/g;
const NAMED_ENTITY_TEXT: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** A SIMPLE_VALUE string with its named references decoded. */
export function decodeNamedEntities(raw: string): string {
  return raw.indexOf('&') < 0 ? raw : raw.replace(NAMED_ENTITY, (_, name: string) => NAMED_ENTITY_TEXT[name]!);
}

/**
 * A start tag in its everyday form: an ASCII name and double-quoted SIMPLE_VALUE attributes,
 * `=` right after the name. Checked natively and without captures (a regex is fast from
 * its first run and test() allocates nothing; a JavaScript loop over every character is slow
 * until the JIT has warmed up, and a cold process parses one document), then cut with indexOf.
 * Anything else (' quotes, character references, line breaks in values, spaces around `=`, a
 * tag cut by the chunk's end) takes the general path, which decides the same way.
 */
const SIMPLE_START_TAG = new RegExp(`<[A-Za-z_:][A-Za-z0-9_:.-]*(?:[ \\t\\n\\r]+[A-Za-z_:][A-Za-z0-9_:.-]*="${SIMPLE_VALUE}*")*[ \\t\\n\\r]*/?>`, 'y');

/** Attributes beyond this many are checked for duplicates through a set, not pairwise. */
const PAIRWISE_DUPLICATE_CHECK = 16;

/** How `s` at `i` compares to `markup`: 1 starts with it, 0 could still (too short to tell), -1 does not. */
function prefixState(s: string, i: number, markup: string): 1 | 0 | -1 {
  const available = Math.min(s.length - i, markup.length);
  for (let k = 0; k < available; k++) if (s.charCodeAt(i + k) !== markup.charCodeAt(k)) return -1;
  return available === markup.length ? 1 : 0;
}

export class XmlScanner {
  /** Set by the handler: whether text between tags is wanted now (otherwise only checked). */
  wantText = false;
  /** Set by the handler: see XmlFastChild. */
  fastChild: XmlFastChild | undefined;
  private pending = '';
  /** Open elements: qualified names (to match close tags) and local names (for the handler). */
  private readonly open: string[] = [];
  private readonly openLocal: string[] = [];
  private readonly localNames = new Map<string, string>();
  /** The last element opened at each depth (qualified and local): siblings mostly repeat it. */
  private readonly lastAtDepth: string[] = [];
  private readonly lastLocalAtDepth: string[] = [];
  private readonly attributes = new XmlAttributes();
  private manyAttributes = new Set<string>();
  private rootSeen = false;
  private rootClosed = false;
  private doctypeSeen = false;
  private started = false;
  /** Characters consumed before `pending` (0 only at the document start). */
  private consumed = 0;
  /** Line (1-based) and column (0-based) of pending[0]. */
  private line = 1;
  private column = 0;
  private failure: unknown;
  private ended = false;
  /**
   * Where the next `&`, control character (\t, \r and the forbidden ones) and `]]>` are in the
   * string being scanned, at or after the last position asked: one native search per
   * occurrence, instead of looking at every character of every text in JavaScript.
   */
  private ampAt = -1;
  private controlAt = -1;
  private cdataEndAt = -1;

  constructor(
    private readonly file: string,
    private readonly handler: XmlScanHandler,
  ) {}

  write(chunk: string): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.ended) throw new RepodataFormatError(`${this.file}: written to after the end of the document`);
    if (!this.started && chunk.length > 0) {
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    let s = chunk;
    if (this.pending.length > 0) {
      s = this.pending + chunk;
      // The concatenation is a rope; reading it character by character is twice as slow as
      // reading a flat string. ToNumber flattens it once (and stops at the first '<').
      Number(s);
    }
    this.run(s, false);
  }

  /** Ends the document: fails if it is incomplete or has no root element. */
  close(): void {
    if (this.failure !== undefined) throw this.failure;
    this.ended = true;
    const s = this.pending;
    this.run(s, true);
    const rest = this.pending;
    if (rest.length > 0) this.fail(rest, 0, 'unexpected end of the document inside markup');
    if (this.open.length > 0) this.fail(rest, 0, `unclosed tag: ${this.open[this.open.length - 1]}`);
    if (!this.rootSeen) this.fail(rest, 0, 'the document has no root element');
  }

  private run(s: string, atEnd: boolean): void {
    let done = 0;
    try {
      done = this.scan(s, atEnd);
    } catch (err) {
      this.failure = err;
      throw err;
    }
    this.advance(s, done);
    this.pending = done === 0 ? s : s.slice(done);
    // What waits is one unfinished piece of markup, scanned again with each chunk: bounded, so
    // that a tag or comment that never ends costs neither unbounded memory nor quadratic time.
    if (this.pending.length > MAX_MARKUP) {
      const err = new RepodataFormatError(`${this.file}:${this.line}:${this.column + 1}: a tag, comment, CDATA section or processing instruction longer than ${MAX_MARKUP >> 20} MiB: not well-formed XML or not repodata`);
      this.failure = err;
      throw err;
    }
  }

  /** Moves the position past s[0, done). */
  private advance(s: string, done: number): void {
    this.consumed += done;
    let last = -1;
    for (let nl = s.indexOf('\n'); nl >= 0 && nl < done; nl = s.indexOf('\n', nl + 1)) {
      this.line++;
      last = nl;
    }
    this.column = last >= 0 ? done - last - 1 : this.column + done;
  }

  private fail(s: string, at: number, reason: string): never {
    let line = this.line;
    let column = this.column;
    for (let k = 0; k < at && k < s.length; k++) {
      if (s.charCodeAt(k) === LF) {
        line++;
        column = 0;
      } else column++;
    }
    throw new RepodataFormatError(`${this.file}:${line}:${column + 1}: ${reason}: not well-formed XML`);
  }

  /** Scans s as far as complete tokens go; returns how much was consumed. */
  private scan(s: string, atEnd: boolean): number {
    const n = s.length;
    this.ampAt = this.controlAt = this.cdataEndAt = -1;
    let i = 0;
    while (i < n) {
      let next: number;
      if (s.charCodeAt(i) !== LT) next = this.textRun(s, i, atEnd);
      else if (i + 1 >= n) break;
      else {
        const c = s.charCodeAt(i + 1);
        const fast = this.fastChild;
        let match: RegExpExecArray | null = null;
        if (fast !== undefined && !this.wantText) {
          fast.pattern.lastIndex = i;
          match = fast.pattern.exec(s);
        }
        if (match !== null) {
          next = fast!.pattern.lastIndex;
          fast!.found(match);
        } else if (c === SLASH) next = this.closeTag(s, i);
        else if (c === BANG) next = this.bang(s, i);
        else if (c === QUESTION) next = this.instruction(s, i);
        else next = this.openTag(s, i);
      }
      if (next <= i) break;
      i = next;
    }
    return i;
  }

  /** Position of the next `&` at or after `from` (s.length when none). */
  private nextAmp(s: string, from: number): number {
    if (this.ampAt < from) {
      const at = s.indexOf('&', from);
      this.ampAt = at < 0 ? s.length : at;
    }
    return this.ampAt;
  }

  private nextControl(s: string, from: number): number {
    if (this.controlAt < from) {
      CONTROL.lastIndex = from;
      this.controlAt = CONTROL.test(s) ? CONTROL.lastIndex - 1 : s.length;
    }
    return this.controlAt;
  }

  private nextCdataEnd(s: string, from: number): number {
    if (this.cdataEndAt < from) {
      const at = s.indexOf(']]>', from);
      this.cdataEndAt = at < 0 ? s.length : at;
    }
    return this.cdataEndAt;
  }

  /** Character data from `start` to the next `<`; a tail that the next chunk may complete is left. */
  private textRun(s: string, start: number, atEnd: boolean): number {
    const n = s.length;
    const lt = s.indexOf('<', start);
    let end = lt < 0 ? n : lt;
    const special = this.nextAmp(s, start) < end || this.nextControl(s, start) < end || this.nextCdataEnd(s, start) < end;
    if (special) {
      for (let k = start; k < end; k++) {
        const c = s.charCodeAt(k);
        if (c === RBRACKET) {
          if (s.charCodeAt(k + 1) === RBRACKET && s.charCodeAt(k + 2) === GT) this.fail(s, k, "']]>' in character data");
        } else if (isForbidden(c)) this.fail(s, k, `character U+${c.toString(16).padStart(4, '0')} is not allowed`);
      }
    }
    if (lt < 0 && !atEnd) {
      // `&am`, `]]` or `\r` at the chunk's end may be completed by the next one.
      const amp = s.lastIndexOf('&', n - 1);
      if (amp >= start && s.indexOf(';', amp) < 0) {
        if (n - amp > MAX_ENTITY) this.fail(s, amp, "'&' starts no entity reference");
        end = amp;
      }
      if (end > start && s.charCodeAt(end - 1) === CR) end--;
      else if (end > start && s.charCodeAt(end - 1) === RBRACKET) end -= end - 1 > start && s.charCodeAt(end - 2) === RBRACKET ? 2 : 1;
    }
    if (end === start) return start;
    if (this.open.length === 0) {
      for (let j = start; j < end; j++) if (!isSpace(s.charCodeAt(j))) this.fail(s, j, 'text outside the root element');
    } else if (this.wantText) {
      this.handler.text(special ? this.decodeText(s, start, end) : s.slice(start, end));
    } else if (special) {
      this.decodeText(s, start, end);
    }
    return end;
  }

  /** Text with entities decoded and \r\n or \r as \n. */
  private decodeText(s: string, start: number, end: number): string {
    let out = '';
    let from = start;
    for (let k = start; k < end; k++) {
      const c = s.charCodeAt(k);
      if (c === AMP) {
        const semi = this.entityEnd(s, k, end);
        out += s.slice(from, k) + this.entity(s, k, semi);
        k = semi;
        from = semi + 1;
      } else if (c === CR) {
        out += `${s.slice(from, k)}\n`;
        if (s.charCodeAt(k + 1) === LF) k++;
        from = k + 1;
      }
    }
    return out + s.slice(from, end);
  }

  /** The `;` closing the reference at `amp`, before `end`. */
  private entityEnd(s: string, amp: number, end: number): number {
    for (let k = amp + 1; k < end && k <= amp + MAX_ENTITY; k++) if (s.charCodeAt(k) === SEMICOLON) return k;
    return this.fail(s, amp, "'&' starts no entity reference (a bare '&' must be written &amp;)");
  }

  private entity(s: string, amp: number, semi: number): string {
    const name = s.slice(amp + 1, semi);
    switch (name) {
      case 'amp':
        return '&';
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
    }
    const cp = /^#x[0-9a-fA-F]+$/.test(name) ? parseInt(name.slice(2), 16) : /^#[0-9]+$/.test(name) ? parseInt(name.slice(1), 10) : -1;
    if (cp < 0) this.fail(s, amp, `undefined entity &${name};`);
    if (!isXmlChar(cp)) this.fail(s, amp, `character reference &${name}; is not an XML character`);
    return String.fromCodePoint(cp);
  }

  /** End of the name starting at `k` (k itself when there is none). */
  private nameEnd(s: string, k: number): number {
    const n = s.length;
    while (k < n && isNameChar(s.charCodeAt(k))) k++;
    return k;
  }

  private localName(qualified: string): string {
    let local = this.localNames.get(qualified);
    if (local === undefined) {
      const colon = qualified.indexOf(':');
      local = detach(colon < 0 ? qualified : qualified.slice(colon + 1));
      if (this.localNames.size < MAX_NAME_CACHE) this.localNames.set(detach(qualified), local);
    }
    return local;
  }

  /** `<name attr="value"...>` or `.../>` at i; -1 when the chunk ends first. */
  private openTag(s: string, i: number): number {
    SIMPLE_START_TAG.lastIndex = i;
    if (!SIMPLE_START_TAG.test(s)) return this.generalOpenTag(s, i);
    const end = SIMPLE_START_TAG.lastIndex;
    // Siblings mostly repeat the previous element's name and its attribute names, in order:
    // those are matched in place rather than sliced again.
    const depth = this.open.length;
    const previous = this.lastAtDepth[depth];
    let k: number;
    let name: string | undefined;
    if (previous !== undefined && s.startsWith(previous, i + 1) && !isNameChar(s.charCodeAt(i + 1 + previous.length))) {
      k = i + 1 + previous.length;
    } else {
      k = this.nameEnd(s, i + 1);
      name = s.slice(i + 1, k);
    }
    const attrs = this.attributes;
    const names = attrs.names;
    attrs.count = 0;
    for (;;) {
      let c = s.charCodeAt(k);
      while (isSpace(c)) c = s.charCodeAt(++k);
      if (c === GT || c === SLASH) break;
      let attribute = names[attrs.count];
      let equals: number;
      if (attribute !== undefined && s.startsWith(attribute, k) && s.charCodeAt(k + attribute.length) === EQUALS) {
        equals = k + attribute.length;
      } else {
        equals = s.indexOf('=', k);
        attribute = detach(s.slice(k, equals));
      }
      const close = s.indexOf('"', equals + 2);
      this.addAttribute(s, k, attribute, decodeNamedEntities(s.slice(equals + 2, close)));
      k = close + 1;
    }
    this.start(s, i, name ?? previous!, s.charCodeAt(end - 2) === SLASH);
    return end;
  }

  private addAttribute(s: string, at: number, name: string, value: string): void {
    const attrs = this.attributes;
    const count = attrs.count;
    if (count < PAIRWISE_DUPLICATE_CHECK) {
      for (let a = 0; a < count; a++) if (attrs.names[a] === name) this.fail(s, at, `duplicate attribute ${name}`);
    } else {
      if (count === PAIRWISE_DUPLICATE_CHECK) this.manyAttributes = new Set(attrs.names.slice(0, count));
      if (this.manyAttributes.has(name)) this.fail(s, at, `duplicate attribute ${name}`);
      this.manyAttributes.add(name);
    }
    attrs.names[count] = name;
    attrs.values[count] = value;
    attrs.count = count + 1;
  }

  /** Reports a start tag whose attributes are in `this.attributes`. */
  private start(s: string, i: number, name: string, empty: boolean): void {
    if (this.rootClosed) this.fail(s, i, 'a second root element');
    this.rootSeen = true;
    const depth = this.open.length;
    let qualified = this.lastAtDepth[depth];
    let local: string;
    if (qualified === name) {
      local = this.lastLocalAtDepth[depth]!;
    } else {
      qualified = detach(name);
      local = this.localName(qualified);
      this.lastAtDepth[depth] = qualified;
      this.lastLocalAtDepth[depth] = local;
    }
    this.open.push(qualified);
    this.openLocal.push(local);
    this.handler.openElement(local, this.attributes);
    if (empty) this.closed(local);
  }

  /** Any start tag: the attributes parsed one by one. */
  private generalOpenTag(s: string, i: number): number {
    const n = s.length;
    const nameEnd = this.nameEnd(s, i + 1);
    if (nameEnd >= n) return -1;
    if (nameEnd === i + 1 || badNameStart(s.charCodeAt(i + 1))) this.fail(s, i + 1, "'<' is not followed by an element name");
    const attrs = this.attributes;
    attrs.count = 0;
    let k = nameEnd;
    let empty: boolean;
    for (;;) {
      const gap = k;
      while (k < n && isSpace(s.charCodeAt(k))) k++;
      if (k >= n) return -1;
      const c = s.charCodeAt(k);
      if (c === GT) {
        empty = false;
        k++;
        break;
      }
      if (c === SLASH) {
        if (k + 1 >= n) return -1;
        if (s.charCodeAt(k + 1) !== GT) this.fail(s, k, "'/' in a start tag is not followed by '>'");
        empty = true;
        k += 2;
        break;
      }
      const nameStart = k;
      if (gap === nameStart) this.fail(s, nameStart, 'no whitespace before an attribute');
      k = this.nameEnd(s, k);
      if (k >= n) return -1;
      if (k === nameStart || badNameStart(c)) this.fail(s, nameStart, `character '${s[nameStart]}' is not allowed in a tag`);
      const name = s.slice(nameStart, k);
      while (k < n && isSpace(s.charCodeAt(k))) k++;
      if (k >= n) return -1;
      if (s.charCodeAt(k) !== EQUALS) this.fail(s, k, `attribute ${name} has no value`);
      k++;
      while (k < n && isSpace(s.charCodeAt(k))) k++;
      if (k >= n) return -1;
      const quote = s.charCodeAt(k);
      if (quote !== DQUOTE && quote !== SQUOTE) this.fail(s, k, `attribute ${name}'s value is not quoted`);
      const start = k + 1;
      const close = s.indexOf(quote === DQUOTE ? '"' : "'", start);
      if (close < 0) return -1;
      this.addAttribute(s, nameStart, name, this.attributeValue(s, start, close));
      k = close + 1;
    }
    this.start(s, i, s.slice(i + 1, nameEnd), empty);
    return k;
  }

  private closed(local: string): void {
    this.open.pop();
    this.openLocal.pop();
    if (this.open.length === 0) this.rootClosed = true;
    this.handler.closeElement(local);
  }

  /** An attribute value: no `<` or forbidden character; entities decoded, each \t \n \r (or \r\n) a space. */
  private attributeValue(s: string, start: number, end: number): string {
    let out = '';
    let from = start;
    for (let k = start; k < end; k++) {
      const c = s.charCodeAt(k);
      if (c === AMP) {
        const semi = this.entityEnd(s, k, end);
        out += s.slice(from, k) + this.entity(s, k, semi);
        k = semi;
        from = semi + 1;
      } else if (c === TAB || c === LF || c === CR) {
        out += `${s.slice(from, k)} `;
        if (c === CR && k + 1 < end && s.charCodeAt(k + 1) === LF) k++;
        from = k + 1;
      } else if (c === LT) {
        this.fail(s, k, "'<' in an attribute value");
      } else if (isForbidden(c)) {
        this.fail(s, k, `character U+${c.toString(16).padStart(4, '0')} is not allowed`);
      }
    }
    return out + s.slice(from, end);
  }

  /** `</name>` at i. */
  private closeTag(s: string, i: number): number {
    const top = this.open[this.open.length - 1];
    if (top !== undefined && s.startsWith(top, i + 2)) {
      const after = i + 2 + top.length;
      if (s.charCodeAt(after) === GT) {
        this.closed(this.openLocal[this.openLocal.length - 1]!);
        return after + 1;
      }
    }
    const n = s.length;
    const nameEnd = this.nameEnd(s, i + 2);
    let k = nameEnd;
    while (k < n && isSpace(s.charCodeAt(k))) k++;
    if (k >= n) return -1;
    if (s.charCodeAt(k) !== GT) this.fail(s, k, `character '${s[k]}' is not allowed in a closing tag`);
    if (top === undefined) this.fail(s, i, `closing tag </${s.slice(i + 2, nameEnd)}> with no element open`);
    if (nameEnd - (i + 2) !== top.length || !s.startsWith(top, i + 2)) this.fail(s, i, `closing tag </${s.slice(i + 2, nameEnd)}> while <${top}> is open`);
    this.closed(this.openLocal[this.openLocal.length - 1]!);
    return k + 1;
  }

  /** `<!--`, `<![CDATA[` or `<!DOCTYPE` at i. */
  private bang(s: string, i: number): number {
    const comment = prefixState(s, i, '<!--');
    if (comment === 0) return -1;
    if (comment === 1) {
      const end = s.indexOf('-->', i + 4);
      if (end < 0) return -1;
      if (s.indexOf('--', i + 4) !== end) this.fail(s, i, "'--' inside a comment");
      this.checkChars(s, i + 4, end);
      return end + 3;
    }
    const cdata = prefixState(s, i, '<![CDATA[');
    if (cdata === 0) return -1;
    if (cdata === 1) {
      if (this.open.length === 0) this.fail(s, i, 'CDATA outside the root element');
      const end = s.indexOf(']]>', i + 9);
      if (end < 0) return -1;
      this.checkChars(s, i + 9, end);
      if (this.wantText) this.handler.text(s.slice(i + 9, end).replace(/\r\n?/g, '\n'));
      return end + 3;
    }
    const doctype = prefixState(s, i, '<!DOCTYPE');
    if (doctype === 0) return -1;
    if (doctype === 1) {
      if (this.rootSeen || this.doctypeSeen) this.fail(s, i, 'a DOCTYPE not before the root element');
      let quote = 0;
      for (let k = i + 9; k < s.length; k++) {
        const c = s.charCodeAt(k);
        if (quote !== 0) {
          if (c === quote) quote = 0;
        } else if (c === DQUOTE || c === SQUOTE) quote = c;
        else if (c === 0x5b) this.fail(s, k, 'a DOCTYPE with an internal subset (entity declarations are not supported)');
        else if (c === GT) {
          this.doctypeSeen = true;
          return k + 1;
        }
      }
      return -1;
    }
    return this.fail(s, i, "'<!' starts neither a comment, CDATA nor a DOCTYPE");
  }

  /** `<?target ...?>` at i; the XML declaration only at the very start. */
  private instruction(s: string, i: number): number {
    const end = s.indexOf('?>', i + 2);
    if (end < 0) return -1;
    const targetEnd = this.nameEnd(s, i + 2);
    if (targetEnd === i + 2) this.fail(s, i, 'a processing instruction without a target');
    if (targetEnd < end && !isSpace(s.charCodeAt(targetEnd))) this.fail(s, targetEnd, 'a processing instruction target followed by no space');
    if (targetEnd - (i + 2) === 3 && s.slice(i + 2, targetEnd).toLowerCase() === 'xml' && this.consumed + i !== 0) {
      this.fail(s, i, 'an XML declaration not at the start of the document');
    }
    this.checkChars(s, i + 2, end);
    return end + 2;
  }

  private checkChars(s: string, start: number, end: number): void {
    for (let k = start; k < end; k++) {
      const c = s.charCodeAt(k);
      if (isForbidden(c)) this.fail(s, k, `character U+${c.toString(16).padStart(4, '0')} is not allowed`);
    }
  }
}
