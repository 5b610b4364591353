// Errors point at file:line:col and carry the script call stack.
import { describe, expect, it } from 'vitest';
import { RhaiEngine, RhaiError, parseRhai } from '../../rhai/index.js';
import { failure } from './helpers.js';

function located(e: RhaiError): [string, string, number, number] {
  return [e.kind, e.file, e.line, e.col];
}

describe('errors', () => {
  it('syntax errors name file, line and column', () => {
    let e: unknown;
    try {
      parseRhai('let a = 1;\n\nlet b = foo(1;\n', 'recipes/x.rhai');
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(RhaiError);
    expect((e as RhaiError).message).toBe("recipes/x.rhai:3:14: syntax error: expected ')' but found ';'");
    expect(located(e as RhaiError)).toEqual(['syntax', 'recipes/x.rhai', 3, 14]);
    expect(() => parseRhai('let x = 1\nlet y = 2;', 'a.rhai')).toThrow("a.rhai:2:1: syntax error: expected ';' but found 'let'");
    expect(() => parseRhai('let s = "abc\n";', 'a.rhai')).toThrow('a.rhai:1:9: syntax error: unterminated string');
    expect(() => parseRhai('/* open', 'a.rhai')).toThrow('a.rhai:1:1: syntax error: unterminated block comment');
    expect(() => parseRhai('fn f(a) {} fn f(b) {}', 'a.rhai')).toThrow("function 'f' with 1 parameter(s) is already defined");
    expect(() => parseRhai('let t = `a ${1 +}`;', 'a.rhai')).toThrow("a.rhai:1:17: syntax error: expected an expression but found '}'");
  });

  it('unknown functions name the argument types, suggest a name and show the call stack', () => {
    const src = 'fn helper(x) {\n    shel("make " + x);\n}\n\nfn build(ctx) {\n    helper(ctx.name);\n}\n';
    const engine = new RhaiEngine({ functions: { shell: () => undefined } });
    engine.run(parseRhai(src, 'recipes/hello.rhai'));
    let e: RhaiError | undefined;
    try {
      engine.call('build', [new Map([['name', 'hello']])]);
    } catch (err) {
      e = err as RhaiError;
    }
    expect(e?.message).toBe("recipes/hello.rhai:2:5: function not found: shel (string); did you mean 'shell'?");
    expect(e?.kind).toBe('unknown-function');
    expect(e?.callStack).toEqual([
      { fn: 'helper', file: 'recipes/hello.rhai', line: 6, col: 5 },
      { fn: 'build', file: 'recipes/hello.rhai', line: 5, col: 1 },
    ]);
    expect(e?.format()).toBe(
      [
        "recipes/hello.rhai:2:5: function not found: shel (string); did you mean 'shell'?",
        "  in call to function 'helper' (recipes/hello.rhai:6:5)",
        "  in call to function 'build' (recipes/hello.rhai:5:1)",
      ].join('\n'),
    );
  });

  it('type errors name both types, at the operator', () => {
    const e = failure('fn f(m) {\n  let x = 1 + m;\n}\nf(#{});', {}, 'r.rhai');
    expect(e.message).toBe('r.rhai:2:13: cannot add int and map');
    expect(e.kind).toBe('type');
    expect(e.callStack).toEqual([{ fn: 'f', file: 'r.rhai', line: 4, col: 1 }]);
    expect(failure('if 1 { }').reason).toBe('the if condition must be a bool, not int');
    expect(failure('"a" - 1').reason).toBe('cannot subtract string and int');
    expect(failure('let m = 5; m.x = 1;').reason).toBe("cannot set property 'x' of int");
    expect(failure('[1].len(2)').reason).toBe("function not found: len (array, int); no version of 'len' takes these argument types");
  });

  it('unknown variables suggest a near name', () => {
    const e = failure('let version = 1;\nlet v = versoin + 1;');
    expect(e.message).toBe("test.rhai:2:9: variable not found: versoin; did you mean 'version'?");
    expect(e.kind).toBe('unknown-variable');
  });

  it('an uncaught throw keeps the thrown value', () => {
    const e = failure('fn check(v) {\n  if v == "" { throw #{ reason: "empty version" }; }\n}\ncheck("");');
    expect(e.kind).toBe('thrown');
    expect([e.line, e.col]).toEqual([2, 16]);
    expect(e.thrown).toEqual(new Map([['reason', 'empty version']]));
    expect(failure('throw "bad input";').message).toBe('test.rhai:1:1: thrown: bad input');
  });

  it('stops `loop {}` at the operation budget, uncatchable', () => {
    const e = failure('let i = 0;\ntry {\n  loop { i += 1; }\n} catch { }', { maxOperations: 10_000 });
    expect(e.kind).toBe('budget');
    expect(e.reason).toBe('operation budget of 10000 exhausted');
    expect(e.line).toBe(3);
  });

  it('stops infinite recursion at the call depth limit, and by budget when deep calls are allowed', () => {
    const e = failure('fn down(n) {\n  down(n + 1)\n}\ndown(0);');
    expect(e.kind).toBe('stack');
    expect(e.reason).toBe('call stack too deep: more than 64 nested function calls');
    expect(e.callStack).toHaveLength(64);
    expect(e.callStack.at(-1)).toEqual({ fn: 'down', file: 'test.rhai', line: 4, col: 1 });
    // Wide recursion with a shallow stack: the budget stops it.
    const b = failure('fn both(n) { if n > 20 { return 0; } both(n + 1) + both(n + 1) }\nboth(0);', { maxOperations: 100_000 });
    expect(b.kind).toBe('budget');
  });

  it('a host function that throws becomes a runtime error at the call, catchable by try', () => {
    const shell = (args: unknown[]): undefined => {
      throw new Error(`command failed with exit code 2: ${args[0]}`);
    };
    const src = 'fn build(ctx) {\n  shell("make");\n}\nfn safe() { try { shell("x"); } catch (e) { "caught: " + e } }';
    const engine = new RhaiEngine({ functions: { shell } });
    engine.run(parseRhai(src, 'recipes/h.rhai'));
    let e: RhaiError | undefined;
    try {
      engine.call('build', [undefined]);
    } catch (err) {
      e = err as RhaiError;
    }
    expect(e?.message).toBe('recipes/h.rhai:2:3: command failed with exit code 2: make');
    expect(e?.kind).toBe('runtime');
    expect(e?.callStack).toEqual([{ fn: 'build', file: 'recipes/h.rhai', line: 1, col: 1 }]);
    expect(engine.call('safe')).toBe('caught: command failed with exit code 2: x');
  });

  it('calling a missing script function from the host is an unknown-function error', () => {
    const engine = new RhaiEngine();
    engine.run(parseRhai('fn build(ctx) { }', 'r.rhai'));
    expect(() => engine.call('biuld', [undefined])).toThrow("function not found: biuld (()); did you mean 'build'?");
    expect(() => engine.call('build', [])).toThrow("function not found: build (); 'build' takes 1 argument(s)");
  });
});

describe('pathological input', () => {
  it('reports absurd nesting as a syntax error', () => {
    expect(() => parseRhai('let x = ' + '('.repeat(100_000) + '1' + ')'.repeat(100_000) + ';', 'deep.rhai')).toThrow(/deep\.rhai:1:\d+: syntax error: expressions nested too deeply/);
  });
});
