// Judging each command a shell scriptlet can run on a fresh install. Tests of $1 are evaluated
// (it is 1 in %pre, %post, %pretrans and %posttrans of a first install), as are tests for paths
// that never exist while an image is built (/run/ostree-booted, /run/systemd/system), so upgrade
// branches and running-system branches are skipped; an `exit` that is certainly reached ends the
// script. Every other branch counts as possibly taken: its commands must be covered too.
import { parseAccountCommand, type AccountRequest } from './accounts.js';
import { COMMAND_RULES, type Verdict } from './scriptlet-catalog.js';
import { lexShell, ShellSyntaxError, type Redirection, type Token, type Word } from './shell-lexer.js';

export interface CommandVerdict {
  /** The command as written (words joined by spaces). */
  text: string;
  line: number;
  verdict: Verdict;
}

export interface ShellAnalysis {
  commands: CommandVerdict[];
  /** Commands that cannot run on a fresh install (upgrade branches, after a certain exit). */
  skipped: number;
  accounts: AccountRequest[];
}

type Reach = 0 | 1 | 2; // never, maybe, certainly
type Truth = boolean | undefined;

interface SimpleCommand {
  words: Word[];
  redirs: Redirection[];
  line: number;
}

type Piece =
  | { kind: 'cmd'; cmd: SimpleCommand; connector: 'start' | '&&' | '||' | '|' }
  | { kind: 'sep' }
  | { kind: 'open'; line: number }
  | { kind: 'close'; line: number }
  | { kind: 'pattern'; patterns: string[]; line: number };

const KEYWORDS = new Set(['if', 'then', 'elif', 'else', 'fi', 'for', 'while', 'until', 'do', 'done', 'case', 'esac', '{', '}', '!']);
const QUIET_TARGETS = /^(\/dev\/null|\/dev\/stderr|\/dev\/stdout|&?-|&?[0-9]+)$/;
const NEVER_AT_BUILD = new Set(['/run/ostree-booted', '/run/systemd/system']);

function pieces(tokens: Token[]): Piece[] {
  const out: Piece[] = [];
  let current: SimpleCommand | undefined;
  let connector: 'start' | '&&' | '||' | '|' = 'start';
  let expectPattern = false;
  let pattern: string[] | undefined;
  const flush = () => {
    if (current) out.push({ kind: 'cmd', cmd: current, connector });
    current = undefined;
  };
  for (const token of tokens) {
    if (pattern) {
      if (token.type === 'word') pattern.push(token.word.value);
      else if (token.type === 'op' && token.op === ')') {
        out.push({ kind: 'pattern', patterns: pattern, line: token.line });
        pattern = undefined;
        connector = 'start';
      } else if (token.type === 'op' && (token.op === '|' || token.op === '(' || token.op === '\n')) continue;
      else throw new ShellSyntaxError(`line ${token.line}: unexpected token in a case pattern`);
      continue;
    }
    if (expectPattern && token.type === 'op' && (token.op === '\n' || token.op === ';')) continue;
    if (expectPattern && token.type === 'word' && token.word.raw !== 'esac') {
      expectPattern = false;
      pattern = [token.word.value];
      continue;
    }
    if (expectPattern && token.type === 'op' && token.op === '(') {
      expectPattern = false;
      pattern = [];
      continue;
    }
    expectPattern = false;
    if (token.type === 'word') {
      current ??= { words: [], redirs: [], line: token.line };
      current.words.push(token.word);
      const w = current.words;
      if (connector === 'start' && w.length === 3 && w[0].raw === 'case' && w[2].raw === 'in') {
        flush();
        out.push({ kind: 'sep' });
        expectPattern = true;
      }
    } else if (token.type === 'redir') {
      current ??= { words: [], redirs: [], line: token.line };
      current.redirs.push(token.redir);
    } else if (token.op === '&&' || token.op === '||' || token.op === '|') {
      flush();
      connector = token.op;
    } else if (token.op === '(' || token.op === ')') {
      if (current && token.op === '(') throw new ShellSyntaxError(`line ${token.line}: shell function definitions are not analysed`);
      flush();
      out.push(token.op === '(' ? { kind: 'open', line: token.line } : { kind: 'close', line: token.line });
      connector = 'start';
    } else {
      flush();
      out.push({ kind: 'sep' });
      connector = 'start';
      if (token.op === ';;') expectPattern = true;
    }
  }
  flush();
  return out;
}

/** Truth of a `test`/`[`/`[[` expression on a fresh install at image build, when it is known. */
export function evaluateTest(args: string[], arg1: number | undefined): Truth {
  if (args[0] === '!') {
    const inner = evaluateTest(args.slice(1), arg1);
    return inner === undefined ? undefined : !inner;
  }
  const num = (text: string): number | undefined => {
    if (/^\$\{?1\}?$/.test(text)) return arg1;
    return /^-?\d+$/.test(text) ? Number(text) : undefined;
  };
  if (args.length === 3) {
    const [a, op, b] = args;
    const x = num(a);
    const y = num(b);
    if (x === undefined || y === undefined) return undefined;
    switch (op) {
      case '-eq': case '=': case '==': return x === y;
      case '-ne': case '!=': return x !== y;
      case '-gt': return x > y;
      case '-ge': return x >= y;
      case '-lt': return x < y;
      case '-le': return x <= y;
      default: return undefined;
    }
  }
  if (args.length === 2 && /^-[efdxrwsLhp]$/.test(args[0]) && NEVER_AT_BUILD.has(args[1].replace(/\/+$/, ''))) return false;
  return undefined;
}

function commandText(cmd: SimpleCommand): string {
  return [...cmd.words.map((w) => w.raw), ...cmd.redirs.map((r) => `${r.op}${r.target}`)].join(' ');
}

interface Frame {
  type: 'if' | 'loop' | 'case' | 'group' | 'subshell';
  reach: Reach;
  /** if: collecting the condition (until then/do). */
  inCondition?: boolean;
  condTruth?: Truth;
  /** if/case: a branch before was certainly taken / possibly taken. */
  taken?: boolean;
  maybe?: boolean;
  caseWord?: string;
}

export function analyseShell(body: string, arg1: number | undefined, pkg: string): ShellAnalysis {
  const result: ShellAnalysis = { commands: [], skipped: 0, accounts: [] };
  let list: Piece[];
  try {
    list = pieces(lexShell(body));
  } catch (err) {
    if (!(err instanceof ShellSyntaxError)) throw err;
    result.commands.push({ text: body.split('\n')[0], line: 1, verdict: { kind: 'uncovered', note: `cannot read the shell text: ${err.message}` } });
    return result;
  }
  const frames: Frame[] = [];
  let exited = false;
  const ctxReach = (): Reach => (exited ? 0 : (Math.min(2, ...frames.map((f) => f.reach)) as Reach));

  // The and-or list being evaluated.
  let listTruth: Truth = undefined;
  let listReach: Reach = 2;

  const judge = (cmd: SimpleCommand, reach: Reach): Truth => {
    if (reach === 0) {
      result.skipped++;
      return undefined;
    }
    const words = cmd.words.map((w) => w.value);
    for (const word of cmd.words) {
      for (const inner of word.substitutions) {
        const sub = analyseShell(inner, arg1, pkg);
        result.commands.push(...sub.commands.map((c) => ({ ...c, line: cmd.line })));
      }
    }
    const text = commandText(cmd);
    const push = (verdict: Verdict) => result.commands.push({ text, line: cmd.line, verdict });
    for (const redir of cmd.redirs) {
      if (/>/.test(redir.op) && !QUIET_TARGETS.test(redir.target)) {
        push({ kind: 'uncovered', note: `writes to ${redir.target}` });
        return undefined;
      }
    }
    let start = 0;
    while (start < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[start])) start++;
    if (start === words.length) {
      push({ kind: 'harmless' });
      return true;
    }
    let name = words[start];
    let args = words.slice(start + 1);
    while (['env', 'exec', 'nice', 'nohup'].includes(name.replace(/.*\//, '')) && args.length > 0) {
      name = args[0];
      args = args.slice(1);
    }
    if (name.includes('$') || name.includes('`')) {
      push({ kind: 'uncovered', note: 'runs a command named by a variable' });
      return undefined;
    }
    const base = name.replace(/.*\//, '');
    const joined = args.join(' ');
    const rule = COMMAND_RULES.find((r) => (typeof r.command === 'string' ? r.command === base : r.command.includes(base)) && (!r.args || r.args.test(joined)));
    let verdict: Verdict = rule?.verdict ?? { kind: 'uncovered', note: `${base}: no rule covers this command` };
    if (base === 'useradd' || base === 'groupadd') {
      const account = parseAccountCommand(base, args, pkg);
      if (account) result.accounts.push(account);
      else verdict = { kind: 'uncovered', note: `${base}: arguments not understood` };
    }
    push(verdict);
    if (base === 'exit' || base === 'return') {
      if (reach === 2 && !frames.some((f) => f.type === 'subshell')) exited = true;
      return undefined;
    }
    if (base === 'test' || base === '[' || base === '[[') {
      const inner = base === 'test' ? args : args.slice(0, -1);
      return evaluateTest(inner, arg1);
    }
    if (base === ':' || base === 'true') return true;
    if (base === 'false') return false;
    return undefined;
  };

  /** Runs one element of an and-or list (a command, or a keyword's trailing command). */
  const element = (cmd: SimpleCommand, connector: 'start' | '&&' | '||' | '|', negate: boolean): void => {
    let reach: Reach;
    if (connector === 'start') {
      listTruth = undefined;
      listReach = ctxReach();
      reach = listReach;
    } else if (connector === '|') {
      reach = listReach;
    } else {
      const gate: Reach = connector === '&&' ? (listTruth === true ? 2 : listTruth === false ? 0 : 1) : listTruth === false ? 2 : listTruth === true ? 0 : 1;
      reach = Math.min(listReach, gate) as Reach;
    }
    let truth = judge(cmd, reach);
    if (negate && truth !== undefined) truth = !truth;
    if (reach === 0) return;
    if (connector === 'start' || connector === '|') listTruth = truth;
    else if (connector === '&&') listTruth = listTruth === false ? false : listTruth === true ? truth : truth === false ? false : undefined;
    else listTruth = listTruth === true ? true : listTruth === false ? truth : truth === true ? true : undefined;
    if (connector !== 'start' && connector !== '|') listReach = Math.min(listReach, reach === 2 ? 2 : 1) as Reach;
  };

  const openBranch = (frame: Frame, truth: Truth): void => {
    if (frame.taken) frame.reach = 0;
    else if (truth === false) frame.reach = 0;
    else if (truth === true && !frame.maybe) frame.reach = 2;
    else frame.reach = 1;
    if (frame.reach === 2) frame.taken = true;
    if (frame.reach === 1) frame.maybe = true;
  };

  const uncoveredAt = (line: number, note: string) => result.commands.push({ text: '', line, verdict: { kind: 'uncovered', note } });

  for (const piece of list) {
    if (piece.kind === 'sep') continue;
    if (piece.kind === 'open') {
      frames.push({ type: 'subshell', reach: 2 });
      continue;
    }
    if (piece.kind === 'close') {
      if (frames.at(-1)?.type !== 'subshell') {
        uncoveredAt(piece.line, 'unbalanced )');
        break;
      }
      frames.pop();
      continue;
    }
    if (piece.kind === 'pattern') {
      const frame = frames.at(-1);
      if (frame?.type !== 'case') {
        uncoveredAt(piece.line, 'case pattern outside case');
        break;
      }
      const word = frame.caseWord ?? '';
      const value = /^\$\{?1\}?$/.test(word) && arg1 !== undefined ? String(arg1) : undefined;
      let truth: Truth;
      if (piece.patterns.includes('*')) truth = true;
      else if (value !== undefined && piece.patterns.every((p) => /^[\w.-]+$/.test(p))) truth = piece.patterns.includes(value);
      frame.reach = 2;
      openBranch(frame, truth);
      continue;
    }
    const { cmd, connector } = piece;
    const words = cmd.words;
    let negate = false;
    const keyword = words[0]?.raw;
    if (keyword === undefined || !KEYWORDS.has(keyword)) {
      const top = frames.at(-1);
      if (top?.inCondition && connector === 'start') listTruth = undefined;
      element(cmd, connector, false);
      if (top?.inCondition) top.condTruth = listTruth;
      continue;
    }
    const rest = (n: number): SimpleCommand | undefined => (words.length > n ? { ...cmd, words: words.slice(n) } : undefined);
    switch (keyword) {
      case 'if':
      case 'while':
      case 'until': {
        const outer = ctxReach();
        frames.push({ type: keyword === 'if' ? 'if' : 'loop', reach: outer === 0 ? 0 : 2, inCondition: true });
        const tail = rest(1);
        if (tail) {
          negate = tail.words[0]?.raw === '!';
          element(negate ? { ...tail, words: tail.words.slice(1) } : tail, 'start', negate);
          frames.at(-1)!.condTruth = listTruth;
        }
        continue;
      }
      case 'elif': {
        const frame = frames.at(-1);
        if (frame?.type !== 'if') {
          uncoveredAt(cmd.line, 'elif outside if');
          break;
        }
        // The condition runs only when no branch before was certainly taken.
        frame.reach = frame.taken ? 0 : frame.maybe ? 1 : 2;
        frame.inCondition = true;
        const tail = rest(1);
        if (tail) {
          element(tail, 'start', false);
          frame.condTruth = listTruth;
        }
        continue;
      }
      case 'then':
      case 'do': {
        const frame = frames.at(-1);
        if (!frame?.inCondition && keyword === 'then') {
          uncoveredAt(cmd.line, 'then without if');
          break;
        }
        if (keyword === 'do' && frame?.type !== 'loop') {
          frames.push({ type: 'loop', reach: 1 });
        } else if (frame) {
          frame.inCondition = false;
          if (frame.type === 'loop') frame.reach = Math.min(frame.reach, frame.condTruth === false ? 0 : 1) as Reach;
          else {
            const outer = frame.reach;
            frame.reach = 2;
            openBranch(frame, frame.condTruth);
            if (outer === 0) frame.reach = 0;
          }
        }
        const tail = rest(1);
        if (tail) element(tail, 'start', false);
        continue;
      }
      case 'else': {
        const frame = frames.at(-1);
        if (frame?.type !== 'if') {
          uncoveredAt(cmd.line, 'else outside if');
          break;
        }
        frame.reach = 2;
        openBranch(frame, true);
        const tail = rest(1);
        if (tail) element(tail, 'start', false);
        continue;
      }
      case 'fi':
      case 'done':
      case 'esac':
      case '}': {
        const expected = keyword === 'fi' ? 'if' : keyword === 'done' ? 'loop' : keyword === 'esac' ? 'case' : 'group';
        if (frames.at(-1)?.type !== expected) {
          uncoveredAt(cmd.line, `${keyword} without its opening keyword`);
          break;
        }
        frames.pop();
        if (words.length > 1) uncoveredAt(cmd.line, `words after ${keyword} are not analysed`);
        continue;
      }
      case 'for': {
        // `for NAME in WORDS`: the words' substitutions run; the body may run any number of times.
        const substitutions = words.flatMap((w) => w.substitutions);
        element({ ...cmd, words: [{ raw: ':', value: ':', substitutions }] }, 'start', false);
        frames.push({ type: 'loop', reach: ctxReach() === 0 ? 0 : 1, inCondition: true, condTruth: undefined });
        continue;
      }
      case 'case': {
        frames.push({ type: 'case', reach: ctxReach() === 0 ? 0 : 2, caseWord: words[1]?.value });
        frames.at(-1)!.reach = 0; // until a pattern opens a branch
        continue;
      }
      case '{': {
        // A group after && / || runs when that list reaches it.
        const gate: Reach =
          connector === '&&' ? (listTruth === true ? 2 : listTruth === false ? 0 : 1) : connector === '||' ? (listTruth === false ? 2 : listTruth === true ? 0 : 1) : 2;
        frames.push({ type: 'group', reach: Math.min(ctxReach(), gate) as Reach });
        const tail = rest(1);
        if (tail) element(tail, 'start', false);
        continue;
      }
      case '!': {
        const tail = rest(1);
        if (tail) element(tail, connector, true);
        continue;
      }
    }
    break;
  }
  if (!exited && frames.length > 0) uncoveredAt(0, `unterminated ${frames.at(-1)!.type}`);
  return result;
}
