// Static check of a program without running it (`pipeline recipe check`): calls of functions
// nobody defines and variables nobody declared, each located, with a did-you-mean.
import type { Node, RhaiProgram } from './ast.js';
import { BUILTINS } from './builtins/index.js';
import { SPECIAL_FUNCTIONS } from './evaluator.js';
import { children } from './walk.js';
import { didYouMean } from './suggest.js';

export interface RhaiProblem {
  file: string;
  line: number;
  col: number;
  message: string;
}

export interface RhaiKnownNames {
  /** Host functions: names, or names with the arities they accept. */
  functions: Set<string> | Map<string, number[]>;
  /** Host constants (and global constants of programs run before this one). */
  constants: Set<string>;
  /** Top-level variables of programs run before this one (an `extends` base), seen by top-level code only. */
  variables?: Iterable<string>;
  /** Script functions (name → arities) of programs run before this one. */
  scriptFunctions?: Map<string, number[]>;
}

interface Var {
  name: string;
  isConst: boolean;
}

export function checkRhai(program: RhaiProgram, known: RhaiKnownNames): RhaiProblem[] {
  const problems: RhaiProblem[] = [];
  const report = (n: { line: number; col: number }, message: string): void => {
    problems.push({ file: program.file, line: n.line, col: n.col, message });
  };

  const scriptArities = new Map<string, number[]>();
  for (const [name, arities] of known.scriptFunctions ?? []) scriptArities.set(name, [...arities]);
  for (const f of program.functions) scriptArities.set(f.name, [...(scriptArities.get(f.name) ?? []), f.params.length]);
  const host = known.functions;
  const hostAccepts = (name: string, arity: number): boolean => {
    if (host instanceof Map) return host.get(name)?.includes(arity) ?? false;
    return host.has(name);
  };
  const allNames = (): string[] => [...scriptArities.keys(), ...host.keys(), ...BUILTINS.keys(), ...SPECIAL_FUNCTIONS];

  const globalConsts: Var[] = [...known.constants].map((name) => ({ name, isConst: true }));
  for (const s of program.statements) if (s.k === 'let' && s.isConst) globalConsts.push({ name: s.name, isConst: true });

  /** Whether `name` with `arity` arguments resolves; otherwise a message. */
  const callProblem = (name: string, arity: number, method: boolean): string | undefined => {
    if (name === 'eval') return 'eval is not supported';
    const script = scriptArities.get(name);
    if (script?.includes(arity) || (method && script?.includes(arity - 1))) return undefined;
    if (hostAccepts(name, arity) || BUILTINS.has(name) || SPECIAL_FUNCTIONS.includes(name)) return undefined;
    if (script) return `function '${name}' takes ${script.join(' or ')} argument(s), called with ${arity}`;
    if (host instanceof Map && host.has(name)) return `function '${name}' takes ${host.get(name)!.join(' or ')} argument(s), called with ${arity}`;
    return `function not found: ${name}${didYouMean(name, allNames())}`;
  };

  const visit = (n: Node, scope: Var[]): void => {
    switch (n.k) {
      case 'var':
        if (!scope.some((v) => v.name === n.name)) {
          report(n, `variable not found: ${n.name}${didYouMean(n.name, scope.map((v) => v.name))}`);
        }
        return;
      case 'let':
        if (n.value) visit(n.value, scope);
        scope.push({ name: n.name, isConst: n.isConst });
        return;
      case 'block': {
        const mark = scope.length;
        for (const s of n.stmts) visit(s, scope);
        scope.length = mark;
        return;
      }
      case 'for': {
        visit(n.iter, scope);
        const mark = scope.length;
        scope.push({ name: n.name, isConst: false });
        if (n.index !== undefined) scope.push({ name: n.index, isConst: false });
        visit(n.body, scope);
        scope.length = mark;
        return;
      }
      case 'try': {
        visit(n.body, scope);
        const mark = scope.length;
        if (n.catchVar !== undefined) scope.push({ name: n.catchVar, isConst: false });
        visit(n.handler, scope);
        scope.length = mark;
        return;
      }
      case 'closure':
        visit(n.body, [...scope, ...n.params.map((name) => ({ name, isConst: false }))]);
        return;
      case 'assign': {
        let root = n.target;
        while (root.k === 'index' || root.k === 'prop') root = root.target;
        if (root.k === 'var') {
          const v = scope.findLast((x) => x.name === root.name);
          if (v?.isConst) report(root, `cannot assign to constant '${v.name}'`);
        }
        break;
      }
      case 'call': {
        const message = n.name === 'is_def_var' ? undefined : callProblem(n.name, n.args.length, false);
        if (message) report(n, message);
        const first = n.args[0];
        if (n.name === 'Fn' && first?.k === 'lit' && typeof first.value === 'string') {
          const name = first.value;
          if (!scriptArities.has(name) && !host.has(name) && !BUILTINS.has(name)) {
            report(first, `function not found: ${name}${didYouMean(name, allNames())}`);
          }
        }
        break;
      }
      case 'method': {
        if (n.name !== 'call' && n.name !== 'curry') {
          const message = callProblem(n.name, n.args.length + 1, true);
          if (message) report(n, message);
        }
        break;
      }
    }
    for (const c of children(n)) visit(c, scope);
  };

  const top: Var[] = [...globalConsts.slice(0, known.constants.size)];
  for (const name of known.variables ?? []) top.push({ name, isConst: false });
  for (const f of program.functions) {
    visit(f.body, [...globalConsts, ...f.params.map((name) => ({ name, isConst: false }))]);
  }
  for (const s of program.statements) visit(s, top);
  problems.sort((a, b) => a.line - b.line || a.col - b.col);
  return problems;
}
