// Parse + check of many recipes must stay cheap: `pipeline recipe check` runs it on every recipe.
// Measured on the development machine: 100 recipes of ~60 lines parse and check in about 10-20 ms
// in total (no timed assertion: CI machines vary).
import { describe, expect, it } from 'vitest';
import { checkRhai, parseRhai } from '../../rhai/index.js';

function recipe(i: number): string {
  return `//! extends: base.rhai
/// Recipe number ${i}.
let ctx = #{
    name: "pkg${i}",
    version: "1.${i}.0",
    repo: "owner/pkg${i}",
    features: ["a", "b", "c"],
    env: #{ CC: "gcc", CFLAGS: "-O2" },
};

const JOBS = 4;

/*
 * Helpers.
 */
private fn quote(s) {
    "'" + s + "'"
}

fn configure_flags(ctx) {
    let flags = [];
    for f in ctx.features {
        if f == "b" {
            continue;
        }
        flags.push("--enable-" + f);
    }
    flags
}

fn acquire(ctx) {
    let tarball = github_download_release(ctx.repo, ctx.version, "*.tar.gz");
    extract(tarball, BUILD_DIR);
}

fn build(ctx) {
    let dir = \`\${BUILD_DIR}/\${ctx.name}-\${ctx.version}\`;
    let flags = configure_flags(ctx);
    let env = "";
    for k in ctx.env.keys() {
        env += k + "=" + ctx.env[k] + " ";
    }
    shell_in(dir, env + "./configure " + flags.join(" "));
    shell_in(dir, "make -j" + JOBS);
}

fn install(ctx) {
    let dir = BUILD_DIR + "/" + ctx.name + "-" + ctx.version;
    let n = 0;
    while n < 3 {
        n += 1;
    }
    try {
        shell_in(dir, "make install DESTDIR=$OUT");
    } catch (e) {
        throw "install failed: " + e;
    }
    let files = switch ctx.name.len() {
        0 => [],
        _ => ["usr/bin/" + ctx.name],
    };
    files
}
`;
}

describe('scale', () => {
  it('parses and checks 100 generated recipes of ~60 lines', () => {
    const sources = Array.from({ length: 100 }, (_, i) => recipe(i));
    expect(sources[0]!.split('\n').length).toBeGreaterThanOrEqual(60);
    const known = { functions: new Set(['github_download_release', 'extract', 'shell_in']), constants: new Set(['BUILD_DIR']) };
    for (const [i, src] of sources.entries()) {
      const program = parseRhai(src, `recipes/pkg${i}.rhai`);
      expect(program.functions.map((f) => f.name)).toEqual(['quote', 'configure_flags', 'acquire', 'build', 'install']);
      expect(checkRhai(program, known)).toEqual([]);
    }
  });
});
