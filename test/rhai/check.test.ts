// Static check: API misuse found without running anything.
import { describe, expect, it } from 'vitest';
import { checkRhai, parseRhai } from '../../rhai/index.js';
import { RIPGREP } from './ripgrep.test.js';

const HOST = new Set(['github_download_release', 'extract', 'shell_in', 'shell']);
const CONSTANTS = new Set(['BUILD_DIR']);

describe('checkRhai', () => {
  it('finds nothing wrong with the ripgrep recipe', () => {
    expect(checkRhai(parseRhai(RIPGREP, 'recipes/ripgrep.rhai'), { functions: HOST, constants: CONSTANTS })).toEqual([]);
  });

  it('reports unknown functions, methods and variables with did-you-mean', () => {
    const src = [
      'let ctx = #{ name: "x" };',
      'fn build(ctx) {',
      '    shel("make");',
      '    let dir = BUILD_DRI + "/x";',
      '    let n = ctx.name.to_lowr();',
      '    let k = top_level;',
      '    helper(1, 2);',
      '    [1].map(|x| x + y);',
      '}',
      'fn helper(a) { a }',
      'const C = 1;',
      'C = 2;',
      'eval("1");',
      'let f = Fn("buidl");',
    ].join('\n');
    const problems = checkRhai(parseRhai(src, 'r.rhai'), { functions: HOST, constants: CONSTANTS });
    expect(problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`)).toEqual([
      "r.rhai:3:5: function not found: shel; did you mean 'shell'?",
      "r.rhai:4:15: variable not found: BUILD_DRI; did you mean 'BUILD_DIR'?",
      "r.rhai:5:22: function not found: to_lowr; did you mean 'to_lower'?",
      'r.rhai:6:13: variable not found: top_level',
      "r.rhai:7:5: function 'helper' takes 1 argument(s), called with 2",
      'r.rhai:8:21: variable not found: y',
      "r.rhai:12:1: cannot assign to constant 'C'",
      'r.rhai:13:1: eval is not supported',
      "r.rhai:14:12: function not found: buidl; did you mean 'build'?",
    ]);
  });

  it('checks host arities when given, and knows variables of a base program', () => {
    const functions = new Map([['shell', [1]]]);
    const problems = checkRhai(parseRhai('shell("a", "b"); ctx.name = "c";', 'c.rhai'), { functions, constants: new Set(), variables: ['ctx'] });
    expect(problems.map((p) => p.message)).toEqual(["function 'shell' takes 1 argument(s), called with 2"]);
  });
});
