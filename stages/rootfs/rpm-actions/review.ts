// The scriptlet review behind `pipeline lock`: every scriptlet of every package is covered by
// the native actions (or by the booted system, or is pointless at build), runs only on removal
// or upgrade, or is reported as uncovered with the commands no rule covers. A variant silences
// one it has looked at with `<package>` or `<package>/<scriptlet>` in its reviewed list.
import type { AccountRequest } from './accounts.js';
import { analyseLua } from './lua-analysis.js';
import { ARG1_IS_ONE, INSTALL_KINDS, LONG_NAMES, NOT_ON_INSTALL_KINDS, type PackageScriptlets, type Scriptlet, type Verdict } from './scriptlet-catalog.js';
import { analyseShell, type CommandVerdict } from './shell-analysis.js';

export interface ReviewedScriptlet {
  package: string;
  scriptlet: string;
  status: 'covered' | 'not-on-install' | 'reviewed';
  /** Native actions that stand in for it. */
  actions: string[];
  /** What else it did and who does it now (the booted system, nobody because pointless at build). */
  notes: string[];
}

export interface UncoveredScriptlet {
  package: string;
  scriptlet: string;
  interpreter: string;
  /** Why: each command no rule covers, with its line. */
  reason: string;
  /** The body's first lines, for the report. */
  firstLines: string;
}

export interface ScriptletReview {
  covered: ReviewedScriptlet[];
  uncovered: UncoveredScriptlet[];
  /** Accounts the scriptlets create with groupadd/useradd (for accountsToSysusers). */
  accounts: AccountRequest[];
  /** Actions some install-time scriptlet needs. */
  actions: string[];
}

const SHELLS = /^(\/usr)?\/bin\/(ba)?sh$|^(ba)?sh$/;

/** The name the review reports a scriptlet by (`postin` and `postinstall` are `post`). */
export function scriptletName(name: string): string {
  const lower = name.toLowerCase();
  return LONG_NAMES[lower] ?? lower;
}

function firstLines(body: string, count = 4): string {
  const lines = body.split('\n').filter((line) => line.trim() !== '');
  return lines.slice(0, count).join('\n') + (lines.length > count ? '\n...' : '');
}

interface Judgement {
  uncovered: string[];
  actions: Set<string>;
  notes: Set<string>;
  accounts: AccountRequest[];
}

function judgeCommands(commands: readonly CommandVerdict[], into: Judgement): void {
  for (const { text, line, verdict } of commands) add(verdict, into, line > 0 ? `line ${line}: ${text}`.trimEnd() : text);
}

function add(verdict: Verdict, into: Judgement, where: string): void {
  switch (verdict.kind) {
    case 'action':
      verdict.actions.forEach((a) => into.actions.add(a));
      if (verdict.note) into.notes.add(verdict.note);
      break;
    case 'boot':
      into.notes.add(`at boot: ${verdict.note}`);
      break;
    case 'no-op':
      into.notes.add(`not needed: ${verdict.note}`);
      break;
    case 'uncovered':
      into.uncovered.push(where ? `${where} (${verdict.note})` : verdict.note);
      break;
  }
}

function judgeScriptlet(pkg: string, kind: string, scriptlet: Scriptlet): Judgement {
  const into: Judgement = { uncovered: [], actions: new Set(), notes: new Set(), accounts: [] };
  const interpreter = scriptlet.interpreter.trim();
  const body = scriptlet.body ?? '';
  if (interpreter === '<lua>') {
    const { verdict, signature } = analyseLua(body);
    add(verdict, into, '');
    if (signature) into.notes.add(`Lua: ${signature}`);
    return into;
  }
  const arg1 = ARG1_IS_ONE.has(kind) ? 1 : undefined;
  const program = interpreter.split(/\s+/)[0];
  if (body.trim() === '' && !SHELLS.test(program)) {
    // `%post -p /sbin/ldconfig`: the program itself is the command.
    const analysis = analyseShell([interpreter, ...(scriptlet.args ?? [])].join(' '), arg1, pkg);
    judgeCommands(analysis.commands, into);
    into.accounts.push(...analysis.accounts);
    return into;
  }
  if (!SHELLS.test(program)) {
    into.uncovered.push(`interpreter ${interpreter}: only shell and Lua scriptlets are analysed`);
    return into;
  }
  const analysis = analyseShell(body, arg1, pkg);
  judgeCommands(analysis.commands, into);
  into.accounts.push(...analysis.accounts);
  return into;
}

/**
 * Reviews every scriptlet. `reviewed` entries are `<package>` (all its scriptlets) or
 * `<package>/<scriptlet>` (`post`, `posttrans`, ... or the name as given).
 */
export function reviewScriptlets(packages: readonly PackageScriptlets[], reviewed: readonly string[] = []): ScriptletReview {
  const marks = new Set(reviewed);
  const review: ScriptletReview = { covered: [], uncovered: [], accounts: [], actions: [] };
  const actions = new Set<string>();
  for (const pkg of packages) {
    for (const scriptlet of pkg.scriptlets) {
      const name = scriptletName(scriptlet.name);
      const kind = scriptlet.kind?.toLowerCase() ?? /^[a-z]+/.exec(name)?.[0] ?? name;
      const isReviewed = marks.has(pkg.name) || marks.has(`${pkg.name}/${name}`) || marks.has(`${pkg.name}/${scriptlet.name}`);
      if (NOT_ON_INSTALL_KINDS.has(kind)) {
        review.covered.push({ package: pkg.name, scriptlet: name, status: 'not-on-install', actions: [], notes: [`%${kind} runs only on removal, upgrade or verify`] });
        continue;
      }
      const judgement: Judgement = INSTALL_KINDS.has(kind)
        ? judgeScriptlet(pkg.name, kind, scriptlet)
        : { uncovered: [`unknown scriptlet kind %${kind}`], actions: new Set(), notes: new Set(), accounts: [] };
      review.accounts.push(...judgement.accounts);
      judgement.actions.forEach((a) => actions.add(a));
      if (judgement.uncovered.length === 0 || isReviewed) {
        review.covered.push({
          package: pkg.name,
          scriptlet: name,
          status: judgement.uncovered.length === 0 ? 'covered' : 'reviewed',
          actions: [...judgement.actions].sort(),
          notes: [...judgement.notes, ...judgement.uncovered.map((u) => `reviewed, not covered: ${u}`)],
        });
      } else {
        review.uncovered.push({
          package: pkg.name,
          scriptlet: name,
          interpreter: scriptlet.interpreter,
          reason: judgement.uncovered.join('; '),
          firstLines: firstLines(scriptlet.body ?? ''),
        });
      }
    }
  }
  review.actions = [...actions].sort();
  return review;
}
