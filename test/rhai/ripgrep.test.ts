// The recipe shape the pipeline runs: top level defines ctx, the host calls acquire/build/install.
import { describe, expect, it } from 'vitest';
import { RhaiEngine, parseRhai, toJs, type HostFunction, type RhaiValue } from '../../rhai/index.js';

export const RIPGREP = `// recipes/ripgrep.rhai
let ctx = #{
    name: "ripgrep",
    version: "14.1.0",
    repo: "BurntSushi/ripgrep",
};

fn acquire(ctx) {
    let tarball = github_download_release(ctx.repo, ctx.version, "*.tar.gz");
    extract(tarball, BUILD_DIR);
}

fn build(ctx) {
    shell_in(BUILD_DIR + "/rg", "cargo build --release");
}

fn install(ctx) {
    let bin = BUILD_DIR + "/rg/target/release/rg";
    shell("install -Dm755 " + bin + " $OUT/usr/bin/rg");
}
`;

/** Host functions that record their calls. */
export function recorder(names: string[], results: Record<string, RhaiValue> = {}): { calls: [string, unknown[], number][]; functions: Record<string, HostFunction> } {
  const calls: [string, unknown[], number][] = [];
  const functions: Record<string, HostFunction> = {};
  for (const name of names) {
    functions[name] = (args, site) => {
      calls.push([name, args.map(toJs), site.line]);
      return results[name];
    };
  }
  return { calls, functions };
}

describe('ripgrep recipe', () => {
  it('parses, runs its top level and calls the host from acquire/build/install', () => {
    const program = parseRhai(RIPGREP, 'recipes/ripgrep.rhai');
    expect(program.functions.map((f) => [f.name, f.params, f.private, f.line])).toEqual([
      ['acquire', ['ctx'], false, 8],
      ['build', ['ctx'], false, 13],
      ['install', ['ctx'], false, 17],
    ]);
    const { calls, functions } = recorder(['github_download_release', 'extract', 'shell_in', 'shell'], { github_download_release: '/dl/rg.tar.gz' });
    const engine = new RhaiEngine({ functions, constants: { BUILD_DIR: '/build' } });
    engine.run(program);
    const ctx = engine.getGlobal('ctx');
    expect(toJs(ctx)).toEqual({ name: 'ripgrep', version: '14.1.0', repo: 'BurntSushi/ripgrep' });
    for (const step of ['acquire', 'build', 'install']) {
      expect(engine.hasFunction(step, 1)).toBe(true);
      expect(engine.call(step, [ctx])).toBeUndefined();
    }
    expect(calls).toEqual([
      ['github_download_release', ['BurntSushi/ripgrep', '14.1.0', '*.tar.gz'], 9],
      ['extract', ['/dl/rg.tar.gz', '/build'], 10],
      ['shell_in', ['/build/rg', 'cargo build --release'], 14],
      ['shell', ['install -Dm755 /build/rg/target/release/rg $OUT/usr/bin/rg'], 19],
    ]);
  });
});
