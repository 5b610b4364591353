// authselect's profile template language, as authselect 1.2-1.5 (lib/util/template.c and
// evaluator.c) applies it when it writes a profile's files. Supported, per line:
//   {include if EXPR}   keep the line (without the operator) if EXPR holds, else drop the line
//   {exclude if EXPR}   drop the line if EXPR holds, else keep it without the operator
//   {continue if EXPR}  drop this line if EXPR holds, else cut the file at the operator
//   {stop if EXPR}      drop this line unless EXPR holds, else cut the file at the operator
//   {if EXPR:TEXT}      TEXT if EXPR holds, else nothing
//   {if EXPR:TEXT|ELSE} TEXT if EXPR holds, else ELSE
// EXPR: "feature" names joined by `and`, `or`, with `not` and parentheses, read left to right
// without precedence, as authselect's evaluator does. Lines are right-trimmed afterwards.
// Anything else in braces stays as it is (authselect leaves it too).

const OPERATOR =
  /\{(?:(continue if|stop if|include if|exclude if) ([^{}|:]+)|(if) ([^{}|:]+):([^{}|]*)(?:\|([^{}|]*))?)\}/;

export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** Evaluates a feature expression against the enabled features. */
export function evaluateFeatures(expression: string, features: ReadonlySet<string>): boolean {
  const tokens = expression.match(/"[^"]*"|\(|\)|[A-Za-z]+|\S/g) ?? [];
  let index = 0;
  const fail = (why: string): never => {
    throw new TemplateError(`feature expression ${JSON.stringify(expression.trim())}: ${why}`);
  };
  const group = (depth: number): boolean => {
    let result: boolean | undefined;
    let operator: 'and' | 'or' | undefined;
    let negate = false;
    let expectOperand = true;
    while (index < tokens.length) {
      const token = tokens[index++];
      const lower = token.toLowerCase();
      if (token === ')') {
        if (depth === 0) fail('unbalanced )');
        if (expectOperand) fail('ends after an operator');
        return result!;
      }
      if (expectOperand) {
        if (lower === 'not') {
          negate = !negate;
          continue;
        }
        let value: boolean;
        if (token === '(') value = group(depth + 1);
        else if (token.startsWith('"') && token.length >= 2) value = features.has(token.slice(1, -1));
        else return fail(`unexpected ${token}`);
        if (negate) value = !value;
        negate = false;
        result = operator === 'and' ? result! && value : operator === 'or' ? result! || value : value;
        expectOperand = false;
      } else if (lower === 'and' || lower === 'or') {
        operator = lower;
        expectOperand = true;
      } else {
        fail(`expected and/or, got ${token}`);
      }
    }
    if (depth > 0) fail('unbalanced (');
    if (expectOperand) fail('is empty or ends after an operator');
    return result!;
  };
  return group(0);
}

/** The file authselect writes from a template with these features enabled (without its preamble). */
export function renderTemplate(template: string, features: ReadonlySet<string>): string {
  const out: string[] = [];
  const lines = template.split('\n');
  lines: for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    let from = 0;
    for (;;) {
      const match = OPERATOR.exec(line.slice(from));
      if (!match) break;
      const start = from + match.index;
      const end = start + match[0].length;
      const lineOp = match[1];
      const enabled = evaluateFeatures(lineOp ? match[2] : match[4], features);
      if (lineOp === 'include if' || lineOp === 'exclude if') {
        if (enabled !== (lineOp === 'include if')) continue lines;
        line = line.slice(0, start) + line.slice(end);
        from = start;
      } else if (lineOp === 'continue if' || lineOp === 'stop if') {
        if (enabled === (lineOp === 'continue if')) continue lines;
        // authselect cuts the file at the operator: what precedes it on its line stays.
        out.push(line.slice(0, start).replace(/\s+$/, ''));
        break lines;
      } else {
        const value = enabled ? match[5] : (match[6] ?? '');
        line = line.slice(0, start) + value + line.slice(end);
        from = start + value.length;
      }
    }
    out.push(line.replace(/\s+$/, ''));
  }
  return out.join('\n');
}
