// What users see: failure reports, --keep-going, Ctrl-C, --json, --trace, graph formats, explain.
import { once } from 'node:events';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, jsonEvents, PIPELINE, spawnCli, statuses, tempProject } from './helpers.js';

const FAILING = `name: fail
steps:
  ok1: { run: [sh, -c, 'echo fine > "$OUT/a"'] }
  broken:
    run: [sh, -c, 'for i in $(seq 1 50); do echo "log line $i"; done; echo "the real reason" >&2; exit 3']
    after: [ok1]
  after-broken: { run: [sh, -c, 'true'], after: [broken] }
  independent: { run: [sh, -c, 'sleep 1; echo x > "$OUT/x"'] }
`;

describe('a failing node', () => {
  it('reports the node, the command, the exit code, the last 30 log lines and the log path', async () => {
    const root = await tempProject({ 'variants/fail.yaml': FAILING });
    const r = await cli(['build', 'fail', '--jobs', '1'], root);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('✗ step:fail:broken (step) failed');
    expect(r.stderr).toMatch(/command: +sh -c 'for i in/);
    expect(r.stderr).toMatch(/exit code: 3/);
    expect(r.stderr).toMatch(/log: +out\/logs\/step_fail_broken-[0-9a-f]{8}\.log/);
    expect(r.stderr).toContain('last 30 lines of the log:');
    expect(r.stderr).toContain('| the real reason');
    expect(r.stderr).toContain('| log line 50');
    expect(r.stderr).not.toContain('| log line 19\n');
    const logs = await readdir(join(root, 'out/logs'));
    const log = await readFile(join(root, 'out/logs', logs.find((l) => l.includes('broken'))!), 'utf8');
    expect(log).toContain('log line 1\n');
    // Nothing of the failed node entered the cache; its dependent was skipped.
    expect(r.stderr).toMatch(/node\(s\) were skipped/);
  });

  it('stops starting new work without --keep-going, and finishes independent branches with it', async () => {
    const root = await tempProject({ 'variants/fail.yaml': FAILING });
    const stop = await cli(['build', 'fail', '--json', '--jobs', '1'], root);
    expect(statuses(stop.stdout)['step:fail:after-broken']).toBe('skipped');
    const root2 = await tempProject({ 'variants/fail.yaml': FAILING });
    const going = await cli(['build', 'fail', '--json', '--jobs', '1', '--keep-going'], root2);
    expect(going.code).toBe(1);
    expect(statuses(going.stdout)).toEqual({
      'step:fail:ok1': 'built',
      'step:fail:broken': 'failed',
      'step:fail:after-broken': 'skipped',
      'step:fail:independent': 'built',
    });
  });
});

describe('Ctrl-C', () => {
  it('kills running children, leaves no entry for them, exits 130, and the cache stays consistent', async () => {
    const mark = join(tmpdir(), 'pipeline-sigint-pid');
    const root = await tempProject({
      'variants/slow.yaml': `name: slow
steps:
  quick: { run: [sh, -c, 'echo q > "$OUT/q"'] }
  long: { run: [sh, -c, 'echo $$ > "$ROOT_MARK"; sleep 30; echo done > "$OUT/l"'], env: { ROOT_MARK: ${mark} }, after: [quick] }
`,
    });
    const child = spawnCli(['build', 'slow', '--json'], root);
    let out = '';
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('"event":"start","id":"step:slow:long"')) setTimeout(resolve, 400);
      });
    });
    const sleeperShell = Number((await readFile(mark, 'utf8')).trim());
    const started = Date.now();
    child.kill('SIGINT');
    const [code] = await once(child, 'exit');
    expect(code).toBe(130);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(() => process.kill(sleeperShell, 0)).toThrow(); // the child is gone
    const events = jsonEvents(out);
    expect(events.find((e) => e.id === 'step:slow:long' && e.event === 'node')).toMatchObject({ status: 'failed' });
    expect(await readdir(join(root, 'out/cache/tmp'))).toEqual([]);
    const verify = await cli(['cache', 'verify', '--json'], root);
    expect(JSON.parse(verify.stdout).corrupt).toEqual([]);
    const graph = await cli(['graph', 'slow', '--format', 'json'], root);
    const nodes = JSON.parse(graph.stdout).nodes as Array<{ id: string; status: string }>;
    expect(nodes.find((n) => n.id === 'step:slow:quick')!.status).toBe('cached');
    expect(nodes.find((n) => n.id === 'step:slow:long')!.status).toBe('never-built');
  }, 60_000);
});

describe('--json and --trace', () => {
  it('emit one event per node and a summary last; the trace has one slice per node', async () => {
    const root = await tempProject({
      'variants/j.yaml': `name: j
steps:
  a: { run: [sh, -c, 'echo a > "$OUT/a"'] }
  b: { run: [sh, -c, 'cat "$DEP_A/a" > "$OUT/b"'], after: [a], publish: true }
`,
    });
    const r = await cli(['build', 'j', '--json', '--trace', 'trace.json'], root);
    expect(r.code).toBe(0);
    const events = jsonEvents(r.stdout);
    const nodeEvents = events.filter((e) => e.event === 'node');
    expect(nodeEvents).toHaveLength(2);
    for (const e of nodeEvents) {
      expect(e).toMatchObject({ event: 'node', kind: 'step', status: 'built' });
      expect(typeof e.id).toBe('string');
      expect(typeof e.ms).toBe('number');
    }
    const summary = events[events.length - 1];
    expect(summary).toMatchObject({ event: 'summary', built: 2, cached: 0, failed: 0 });
    expect(summary.artifacts).toEqual({ b: join(root, 'out/j/b') });
    expect(await readFile(join(root, 'out/j/b/b'), 'utf8')).toBe('a\n');

    const trace = JSON.parse(await readFile(join(root, 'trace.json'), 'utf8'));
    const slices = trace.traceEvents.filter((e: { ph: string }) => e.ph === 'X');
    expect(slices.map((s: { name: string }) => s.name).sort()).toEqual(['step:j:a', 'step:j:b']);
    for (const s of slices) expect(s.args.status).toBe('built');

    const again = await cli(['build', 'j', '--json', '--trace', 'trace2.json'], root);
    const cachedSummary = jsonEvents(again.stdout).pop();
    expect(cachedSummary).toMatchObject({ built: 0, cached: 2 });
    const trace2 = JSON.parse(await readFile(join(root, 'trace2.json'), 'utf8'));
    expect(trace2.traceEvents.filter((e: { ph: string }) => e.ph === 'X').every((s: { args: { status: string } }) => s.args.status === 'cached')).toBe(true);
  });

  it('without a terminal, prints one line per finished node', async () => {
    const root = await tempProject({ 'variants/p.yaml': `name: p\nsteps:\n  a: { run: [sh, -c, 'true'] }\n  b: { run: [sh, -c, 'true'], after: [a] }\n` });
    const r = await cli(['build', 'p'], root);
    const lines = r.stderr.split('\n').filter((l) => /^\[\d\/2\]/.test(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\[1\/2\] built +step:p:a \d+ ms$/);
  });
});

describe('pipeline graph and explain', () => {
  const VARIANT = `name: g
steps:
  src: { run: [sh, -c, 'cat conf/motd > "$OUT/motd"'], inputs: [conf] }
  img: { run: [sh, -c, 'cat "$DEP_SRC/motd" > "$OUT/img"; echo "$LEVEL" >> "$OUT/img"'], after: [src], env: { LEVEL: 'zstd:15' } }
`;

  it('marks nodes never built, cached and stale, in every format', async () => {
    const root = await tempProject({ 'variants/g.yaml': VARIANT, 'conf/motd': 'hi\n' });
    const fresh = await cli(['graph', 'g'], root);
    expect(fresh.stdout).toMatch(/\+ never built +step:g:src/);
    await cli(['build', 'g'], root);
    expect((await cli(['graph', 'g'], root)).stdout).toContain('2 nodes: 2 cached, 0 stale, 0 never built');
    await writeFile(join(root, 'conf/motd'), 'hello\n');
    const text = await cli(['graph', 'g'], root);
    expect(text.stdout).toMatch(/~ stale +step:g:src/);
    expect(text.stdout).toMatch(/~ stale +step:g:img +<- step:g:src/);
    const dot = await cli(['graph', 'g', '--format', 'dot'], root);
    expect(dot.stdout).toContain('"step:g:src" -> "step:g:img";');
    const mermaid = await cli(['graph', 'g', '--format', 'mermaid'], root);
    expect(mermaid.stdout).toMatch(/^flowchart LR/);
    expect(mermaid.stdout).toContain('n0 --> n1');
    const json = JSON.parse((await cli(['graph', 'g', '--format', 'json'], root)).stdout);
    expect(json.nodes.map((n: { status: string }) => n.status)).toEqual(['stale', 'stale']);
  });

  it('explains a change down to its first cause, and why a cached node last ran', async () => {
    const root = await tempProject({ 'variants/g.yaml': VARIANT, 'conf/motd': 'hi\n' });
    expect((await cli(['explain', 'g', 'step:g:img'], root)).stdout).toContain('will run: it has never been built');
    await cli(['build', 'g'], root);
    expect((await cli(['explain', 'g', 'step:g:img'], root)).stdout).toContain('It has run once, on its first build');

    await writeFile(join(root, 'conf/motd'), 'hello\n');
    await writeFile(join(root, 'variants/g.yaml'), VARIANT.replace("'zstd:15'", "'zstd:19'"));
    const pending = await cli(['explain', 'g', 'step:g:img'], root);
    expect(pending.stdout).toContain('step:g:img will run');
    expect(pending.stdout).toContain('- param env.LEVEL: "zstd:15" -> "zstd:19"');
    expect(pending.stdout).toContain('- env LEVEL: zstd:15 -> zstd:19');
    expect(pending.stdout).toContain('- dependency step:g:src will be rebuilt first, because:');
    expect(pending.stdout).toContain('    - file conf/motd changed');

    await cli(['build', 'g'], root);
    const after = await cli(['explain', 'g', 'step:g:img', '--json'], root);
    const e = JSON.parse(after.stdout);
    expect(e.verdict).toBe('cached');
    expect(e.changes).toContainEqual(expect.objectContaining({ type: 'dep', id: 'step:g:src', change: 'output' }));
    const dep = e.changes.find((c: { type: string }) => c.type === 'dep');
    expect(dep.because.changes).toEqual([{ type: 'file', path: 'conf/motd', change: 'changed' }]);
  });
});

describe('progress on a terminal', () => {
  it('shows the running nodes with their elapsed time and a done/total count', async () => {
    const root = await tempProject({
      'variants/t.yaml': `name: t
steps:
  slow: { run: [sh, -c, 'sleep 1.5; echo x > "$OUT/x"'] }
  after: { run: [sh, -c, 'true'], after: [slow] }
`,
    });
    // script(1) gives the command a pseudo-terminal, as a user's shell would.
    const { execFile } = await import('node:child_process');
    const out = await new Promise<string>((resolve, reject) =>
      execFile('script', ['-qec', `${process.execPath} ${PIPELINE} build t`, '/dev/null'], { cwd: root, env: { ...process.env, COLUMNS: '100' } }, (err, stdout) =>
        err ? reject(err) : resolve(stdout),
      ),
    );
    expect(out).toMatch(/\[0\/2\]\x1b\[0m 0 cached · 1 running/);
    expect(out).toMatch(/⠋|⠙|⠹|⠸/);
    expect(out).toMatch(/step:t:slow {2}\d+ ms|step:t:slow {2}1\.\d s/);
    expect(out).toMatch(/✓.* built +step:t:after/);
    expect(out).toContain('t built in');
  });
});
