// `//! extends: base.rhai`: the base runs first on the same engine, then the child.
import { describe, expect, it } from 'vitest';
import { RhaiEngine, parseRhai, toJs } from '../../rhai/index.js';
import { recorder } from './ripgrep.test.js';

const BASE = `//! a base recipe
const PREFIX = "/usr";
let ctx = #{ name: "base", version: "1.0", flags: [] };

fn build(ctx) { shell("base build " + ctx.version); }
fn install(ctx) { shell("install to " + PREFIX + "/" + ctx.name); }
fn install(ctx, dest) { shell("install to " + dest); }
`;

const CHILD = `//! extends: base.rhai
ctx.name = "child";
ctx.flags.push("--fast");
let ctx = ctx + #{ version: "2.0" };

fn build(ctx) { shell("child build " + ctx.version + " " + ctx.flags[0]); }
`;

describe('extends', () => {
  it('runs base then child; the later function with the same arity wins, the rest stay', () => {
    const base = parseRhai(BASE, 'recipes/base.rhai');
    const child = parseRhai(CHILD, 'recipes/child.rhai');
    expect(child.moduleDoc).toEqual(['extends: base.rhai']);
    const { calls, functions } = recorder(['shell']);
    const engine = new RhaiEngine({ functions });
    engine.run(base);
    engine.run(child);
    const ctx = engine.getGlobal('ctx');
    expect(toJs(ctx)).toEqual({ name: 'child', version: '2.0', flags: ['--fast'] });
    engine.call('build', [ctx]);
    engine.call('install', [ctx]);
    engine.call('install', [ctx, '/opt']);
    expect(calls.map(([, args]) => args[0])).toEqual(['child build 2.0 --fast', 'install to /usr/child', 'install to /opt']);
    expect(engine.getGlobal('PREFIX')).toBe('/usr');
  });

  it('does not let a function change the caller\'s ctx', () => {
    const engine = new RhaiEngine();
    engine.run(parseRhai('let ctx = #{ n: 1 }; fn bump(ctx) { ctx.n += 1; ctx }', 'r.rhai'));
    const ctx = engine.getGlobal('ctx');
    const bumped = engine.call('bump', [ctx]);
    expect(toJs(ctx)).toEqual({ n: 1 });
    expect(toJs(bumped)).toEqual({ n: 2 });
  });
});
