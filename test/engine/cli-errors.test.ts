// Configuration and usage errors: clear messages, exit code 2, and nothing built.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tempProject } from './helpers.js';

describe('configuration errors exit with code 2', () => {
  it('a dependency cycle names the cycle', async () => {
    const root = await tempProject({
      'variants/loop.yaml': `name: loop
steps:
  a: { run: [sh, -c, 'true'], after: [c] }
  b: { run: [sh, -c, 'true'], after: [a] }
  c: { run: [sh, -c, 'true'], after: [b] }
`,
    });
    for (const command of [['build', 'loop'], ['graph', 'loop']]) {
      const r = await cli(command, root);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/dependency cycle: step:loop:(a|b|c) -> .* -> step:loop:\1/);
    }
    expect(existsSync(join(root, 'out/cache/ac'))).toBe(false);
  });

  it('a missing dependency names the node and suggests the near one', async () => {
    const root = await tempProject({
      'variants/miss.yaml': `name: miss
steps:
  fetch: { run: [sh, -c, 'true'] }
  use: { run: [sh, -c, 'true'], after: ['step:miss:fecth'] }
`,
    });
    const r = await cli(['build', 'miss'], root);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("node step:miss:use depends on 'step:miss:fecth'");
    expect(r.stderr).toContain("did you mean 'step:miss:fetch'?");
  });

  it('an unknown node id given to explain', async () => {
    const root = await tempProject({ 'variants/one.yaml': `name: one\nsteps:\n  only: { run: [sh, -c, 'true'] }\n` });
    const r = await cli(['explain', 'one', 'step:one:onyl'], root);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no node 'step:one:onyl'");
    expect(r.stderr).toContain("did you mean 'step:one:only'?");
  });

  it('a declared input that does not exist, before anything runs', async () => {
    const root = await tempProject({
      'variants/inp.yaml': `name: inp
steps:
  first: { run: [sh, -c, 'echo ran > "$OUT/x"'] }
  second: { run: [sh, -c, 'true'], inputs: [overlays/missing.txt] }
`,
    });
    const r = await cli(['build', 'inp', '--json'], root);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("file 'overlays/missing.txt' does not exist (needed by step:inp:second)");
    expect(r.stdout).not.toContain('"status":"built"');
  });

  it('a host tool that is not installed names the tool', async () => {
    const root = await tempProject({ 'variants/tool.yaml': `name: tool\nsteps:\n  x: { run: [no-such-tool-here, --flag] }\n` });
    const r = await cli(['build', 'tool'], root);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("host tool 'no-such-tool-here' was not found on PATH");
  });

  it('malformed YAML and schema errors give file:line:col, the key and what was expected', async () => {
    const root = await tempProject({
      'variants/bad.yaml': 'name: bad\nsteps:\n  x:\n    run: [sh, -c\n',
      'variants/typo.yaml': `name: typo\nsteps:\n  x:\n    run: [sh, -c, 'true']\n    aftr: [y]\n`,
      'variants/wrongtype.yaml': `name: wrongtype\nsteps:\n  x:\n    run: [sh]\n    weight: lots\n`,
    });
    const bad = await cli(['build', 'bad'], root);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/variants\/bad\.yaml:\d+:\d+: YAML syntax error/);
    const typo = await cli(['graph', 'typo'], root);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("variants/typo.yaml:5:5: unknown key 'aftr' in steps.x; did you mean 'after'?");
    const wrong = await cli(['graph', 'wrongtype'], root);
    expect(wrong.stderr).toContain('variants/wrongtype.yaml:5:13: steps.x.weight must be an integer, got string "lots"');
  });

  it('unknown variants, commands and options', async () => {
    const root = await tempProject();
    const none = await cli(['build', 'nosuch'], root);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("no variant 'nosuch' in variants/ (it holds no <name>.yaml");
    const cmd = await cli(['biuld', 'x'], root);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain("did you mean 'build'?");
    const opt = await cli(['build', 'x', '--jbos', '3'], root);
    expect(opt.code).toBe(2);
    expect(opt.stderr).toContain("unknown option '--jbos'; did you mean '--jobs'?");
    const jobs = await cli(['graph', 'x', '--format', 'svg'], root);
    expect(jobs.code).toBe(2);
    expect(jobs.stderr).toContain('--format must be one of text, dot, json, mermaid');
  });
});
