// Messages a newcomer meets first: each says what is wrong, where, and what would be right.
import { describe, expect, it } from 'vitest';
import { cli, tempProject } from '../engine/helpers.js';

const ONE_STEP = `name: one\nsteps:\n  only: { run: [sh, -c, 'true'] }\n`;

describe('usage and configuration messages', () => {
  it('an empty value names what is missing instead of printing `null null`', async () => {
    const root = await tempProject({ 'variants/empty.yaml': `name: empty\ndescription:\nsteps:\n  only: { run: [sh, -c, 'true'] }\n` });
    const r = await cli(['build', 'empty'], root);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('variants/empty.yaml:2:13: description must be a string, got an empty value');
    expect(r.stderr).not.toContain('null null');

    const config = await tempProject({ 'variants/one.yaml': ONE_STEP, 'pipeline.config.yaml': 'mirrors:\n' });
    const c = await cli(['graph', 'one'], config);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/pipeline\.config\.yaml:1:\d+: mirrors must be an object, got an empty value/);
  });

  it('--mirror for a mirror the variant does not use is an error naming the ones it uses', async () => {
    const root = await tempProject({ 'variants/one.yaml': ONE_STEP });
    const none = await cli(['graph', 'one', '--mirror', 'nosuch=http://127.0.0.1:1/x'], root);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("--mirror nosuch=http://127.0.0.1:1/x: one uses no mirror named 'nosuch' (it uses none)");

    const demo = await cli(['graph', 'demo', '--mirror', 'dmeo=http://127.0.0.1:1/x'], process.cwd());
    expect(demo.code).toBe(2);
    expect(demo.stderr).toContain("demo uses no mirror named 'dmeo' (it uses demo); did you mean 'demo'?");
  });

  it('an unknown variant suggests the near one and lists the variants there are', async () => {
    const r = await cli(['graph', 'iupiter'], process.cwd());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no variant 'iupiter' in variants/; did you mean 'iuppiter'?");
    expect(r.stderr).toMatch(/variants: .*acorn.*demo.*iuppiter/);
    expect(r.stderr).not.toContain(process.cwd());
  });

  it('--jobs with a negative or non-numeric value says what it takes, not the parser text', async () => {
    const root = await tempProject({ 'variants/one.yaml': ONE_STEP });
    for (const value of ['-3', 'many', '0']) {
      const r = await cli(['build', 'one', '--jobs', value], root);
      expect(r.code, value).toBe(2);
      expect(r.stderr).toBe(`pipeline build: --jobs takes a whole number of at least 1, got '${value}'\n`);
    }
    const missing = await cli(['build', 'one', '--jobs'], root);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("pipeline build: --jobs needs a value (N)");
    const unknown = await cli(['build', 'one', '--job', '2'], root);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("pipeline build: unknown option '--job'; did you mean '--jobs'?");
  });
});
