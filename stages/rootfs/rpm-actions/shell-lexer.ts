// Splitting a scriptlet's shell text into commands, enough to judge each one: words with their
// quotes removed (and the command substitutions inside them), redirections, and the operators
// between commands. Here-documents are data: their bodies are skipped. Not a shell: what it
// cannot read it reports, and the caller treats that as not covered.

export interface Word {
  /** Text as written. */
  raw: string;
  /** Text with quotes and escapes removed (substitutions kept as written). */
  value: string;
  /** Inner texts of $(...) and `...`. */
  substitutions: string[];
}

export interface Redirection {
  op: string;
  target: string;
}

export type Token =
  | { type: 'word'; word: Word; line: number }
  | { type: 'redir'; redir: Redirection; line: number }
  | { type: 'op'; op: ';' | '&&' | '||' | '|' | '&' | ';;' | '(' | ')' | '\n'; line: number };

export class ShellSyntaxError extends Error {
  override name = 'ShellSyntaxError';
}

const OP_CHARS = new Set([';', '&', '|', '(', ')', '<', '>', '\n']);

export function lexShell(text: string): Token[] {
  const tokens: Token[] = [];
  const pendingHeredocs: Array<{ delimiter: string; stripTabs: boolean }> = [];
  let i = 0;
  let line = 1;
  const peek = (offset = 0) => text[i + offset];

  /** Reads through a balanced $( ... ) starting after the `(`, returns the inner text. */
  const readParenBody = (): string => {
    let depth = 1;
    const start = i;
    while (i < text.length) {
      const c = text[i];
      if (c === '\\') i += 2;
      else if (c === "'") {
        const end = text.indexOf("'", i + 1);
        if (end < 0) throw new ShellSyntaxError(`line ${line}: unterminated ' quote`);
        i = end + 1;
      } else if (c === '(') {
        depth++;
        i++;
      } else if (c === ')') {
        depth--;
        if (depth === 0) {
          const body = text.slice(start, i);
          i++;
          return body;
        }
        i++;
      } else {
        if (c === '\n') line++;
        i++;
      }
    }
    throw new ShellSyntaxError(`line ${line}: unterminated $(`);
  };

  const readWord = (): Word => {
    let raw = '';
    let value = '';
    const substitutions: string[] = [];
    const start = i;
    while (i < text.length) {
      const c = text[i];
      if (c === ' ' || c === '\t' || OP_CHARS.has(c)) break;
      if (c === '\\') {
        if (text[i + 1] === '\n') {
          i += 2;
          line++;
          continue;
        }
        value += text[i + 1] ?? '';
        i += 2;
      } else if (c === "'") {
        const end = text.indexOf("'", i + 1);
        if (end < 0) throw new ShellSyntaxError(`line ${line}: unterminated ' quote`);
        value += text.slice(i + 1, end);
        line += (text.slice(i, end).match(/\n/g) ?? []).length;
        i = end + 1;
      } else if (c === '"') {
        i++;
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < text.length) {
            value += text[i + 1];
            i += 2;
          } else if (text[i] === '$' && text[i + 1] === '(') {
            i += 2;
            const inner = readParenBody();
            substitutions.push(inner);
            value += `$(${inner})`;
          } else if (text[i] === '`') {
            const end = text.indexOf('`', i + 1);
            if (end < 0) throw new ShellSyntaxError(`line ${line}: unterminated backquote`);
            substitutions.push(text.slice(i + 1, end));
            value += text.slice(i, end + 1);
            i = end + 1;
          } else {
            if (text[i] === '\n') line++;
            value += text[i++];
          }
        }
        if (i >= text.length) throw new ShellSyntaxError(`line ${line}: unterminated " quote`);
        i++;
      } else if (c === '$' && text[i + 1] === '(') {
        i += 2;
        const inner = readParenBody();
        substitutions.push(inner);
        value += `$(${inner})`;
      } else if (c === '$' && text[i + 1] === '{') {
        const end = text.indexOf('}', i);
        if (end < 0) throw new ShellSyntaxError(`line ${line}: unterminated \${`);
        value += text.slice(i, end + 1);
        i = end + 1;
      } else if (c === '`') {
        const end = text.indexOf('`', i + 1);
        if (end < 0) throw new ShellSyntaxError(`line ${line}: unterminated backquote`);
        substitutions.push(text.slice(i + 1, end));
        value += text.slice(i, end + 1);
        i = end + 1;
      } else {
        value += c;
        i++;
      }
    }
    raw = text.slice(start, i);
    return { raw, value, substitutions };
  };

  const skipHeredocBodies = (): void => {
    for (const { delimiter, stripTabs } of pendingHeredocs.splice(0)) {
      for (;;) {
        if (i >= text.length) throw new ShellSyntaxError(`here-document ended by ${delimiter} is not terminated`);
        const end = text.indexOf('\n', i);
        const bodyLine = text.slice(i, end < 0 ? text.length : end);
        i = end < 0 ? text.length : end + 1;
        line++;
        if ((stripTabs ? bodyLine.replace(/^\t+/, '') : bodyLine) === delimiter) break;
      }
    }
  };

  while (i < text.length) {
    const c = peek();
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === '\\' && peek(1) === '\n') {
      i += 2;
      line++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '\n') {
      tokens.push({ type: 'op', op: '\n', line });
      i++;
      line++;
      skipHeredocBodies();
    } else if (c === ';') {
      if (peek(1) === ';') {
        tokens.push({ type: 'op', op: ';;', line });
        i += 2;
      } else {
        tokens.push({ type: 'op', op: ';', line });
        i++;
      }
    } else if (c === '&' && peek(1) === '&') {
      tokens.push({ type: 'op', op: '&&', line });
      i += 2;
    } else if (c === '|' && peek(1) === '|') {
      tokens.push({ type: 'op', op: '||', line });
      i += 2;
    } else if (c === '&' && peek(1) === '>') {
      const op = peek(2) === '>' ? '&>>' : '&>';
      i += op.length;
      tokens.push({ type: 'redir', redir: { op, target: readTarget() }, line });
    } else if (c === '|' || c === '&' || c === '(' || c === ')') {
      tokens.push({ type: 'op', op: c, line });
      i++;
    } else if (c === '<' || c === '>' || (/[0-9]/.test(c) && /^[0-9]+[<>]/.test(text.slice(i, i + 4)))) {
      const match = /^([0-9]*)(<<-|<<<|<<|>>|>&|<&|>\||<>|<|>)/.exec(text.slice(i))!;
      i += match[0].length;
      const op = match[0];
      const target = readTarget();
      if (match[2] === '<<' || match[2] === '<<-') {
        pendingHeredocs.push({ delimiter: target.replace(/^['"]|['"]$/g, ''), stripTabs: match[2] === '<<-' });
      }
      tokens.push({ type: 'redir', redir: { op, target }, line });
    } else {
      tokens.push({ type: 'word', word: readWord(), line });
    }
  }
  if (pendingHeredocs.length > 0) throw new ShellSyntaxError(`here-document ended by ${pendingHeredocs[0].delimiter} is not terminated`);
  return tokens;

  function readTarget(): string {
    while (peek() === ' ' || peek() === '\t') i++;
    if (i >= text.length || OP_CHARS.has(peek())) throw new ShellSyntaxError(`line ${line}: redirection without a target`);
    return readWord().value;
  }
}
