// A killed build, two builds at once on one cache, and corruption on disk: the cache stays
// consistent and the next build produces what a clean build would.
import { once } from 'node:events';
import { appendFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, jsonEvents, spawnCli, statuses, tempProject } from './helpers.js';

// A variant whose `slow` step writes part of its output, then sleeps: the place to kill it.
const VARIANT = `name: chain
steps:
  gen:
    run: [sh, -c, 'for i in 1 2 3 4 5 6 7 8; do echo "line $i" >> "$OUT/data"; done']
    inputs: [seed.txt]
  slow:
    run: [sh, -c, 'cat "$DEP_GEN/data" seed.txt > "$OUT/partial"; sleep 3; mv "$OUT/partial" "$OUT/result"']
    inputs: [seed.txt]
    after: [gen]
  fan1:
    run: [sh, -c, 'sha256sum < "$DEP_SLOW/result" > "$OUT/sum"']
    after: [slow]
  fan2:
    run: [sh, -c, 'wc -c < "$DEP_SLOW/result" > "$OUT/size"']
    after: [slow]
  final:
    run: [sh, -c, 'cat "$DEP_FAN1/sum" "$DEP_FAN2/size" > "$OUT/final"']
    after: [fan1, fan2]
    publish: true
`;

async function chainProject(): Promise<string> {
  return tempProject({ 'variants/chain.yaml': VARIANT, 'seed.txt': 'seed\n' });
}

/** Every output digest a --json build reports, by node. */
function outputs(stdout: string): Record<string, unknown> {
  return Object.fromEntries(jsonEvents(stdout).filter((e) => e.event === 'node').map((e) => [e.id, e.output]));
}

describe('a build killed with SIGKILL', () => {
  it('reruns cleanly: same outputs as a clean build, and cache verify finds nothing corrupt', async () => {
    const clean = await chainProject();
    const reference = await cli(['build', 'chain', '--json'], clean);
    expect(reference.code).toBe(0);

    const root = await chainProject();
    const child = spawnCli(['build', 'chain', '--json'], root);
    let seen = '';
    // Kill as soon as the slow node has started (it is then mid-run, with a partial output).
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('"event":"start","id":"step:chain:slow"')) setTimeout(resolve, 500);
      });
    });
    child.kill('SIGKILL');
    await once(child, 'exit');
    // The killed process leaves its work area; nothing in the store names the slow node yet.
    expect((await readdir(join(root, 'out/cache/tmp'))).length).toBeGreaterThan(0);

    const rerun = await cli(['build', 'chain', '--json'], root);
    expect(rerun.code).toBe(0);
    expect(statuses(rerun.stdout)['step:chain:gen']).toBe('cached');
    expect(statuses(rerun.stdout)['step:chain:slow']).toBe('built');
    expect(outputs(rerun.stdout)).toEqual(outputs(reference.stdout));
    expect(await readFile(join(root, 'out/chain/final/final'), 'utf8')).toBe(await readFile(join(clean, 'out/chain/final/final'), 'utf8'));
    // The dead process's work area was removed at start-up.
    expect(await readdir(join(root, 'out/cache/tmp'))).toEqual([]);

    const verify = await cli(['cache', 'verify', '--json'], root);
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout).corrupt).toEqual([]);
  });
});

describe('two builds on one cache at once', () => {
  it('both succeed with identical outputs', async () => {
    const root = await chainProject();
    const [a, b] = await Promise.all([cli(['build', 'chain', '--json'], root), cli(['build', 'chain', '--json'], root)]);
    expect([a.code, b.code], `${a.stderr}\n${b.stderr}`).toEqual([0, 0]);
    expect(outputs(a.stdout)).toEqual(outputs(b.stdout));
    const verify = await cli(['cache', 'verify', '--json'], root);
    expect(JSON.parse(verify.stdout)).toMatchObject({ corrupt: [], danglingEntries: 0 });
    // And a third build finds everything cached.
    const third = await cli(['build', 'chain', '--json'], root);
    expect(new Set(Object.values(statuses(third.stdout)))).toEqual(new Set(['cached']));
  });

  it('two projects sharing one --cache-dir share results', async () => {
    const shared = join(await tempProject(), 'cache');
    const p1 = await chainProject();
    const p2 = await chainProject();
    expect((await cli(['build', 'chain', '--json', '--cache-dir', shared], p1)).code).toBe(0);
    const second = await cli(['build', 'chain', '--json'], p2, { PIPELINE_CACHE: shared });
    expect(new Set(Object.values(statuses(second.stdout)))).toEqual(new Set(['cached']));
  });
});

describe('a stored output corrupted on disk', () => {
  it('is caught by cache verify, and the next build rebuilds it', async () => {
    const root = await chainProject();
    const first = await cli(['build', 'chain', '--json'], root);
    const slowOutput = outputs(first.stdout)['step:chain:slow'] as string;
    await appendFile(join(root, 'out/cache/cas', slowOutput, 'result'), 'flipped bits');

    const verify = await cli(['cache', 'verify', '--json'], root);
    expect(verify.code).toBe(1);
    expect(JSON.parse(verify.stdout).corrupt).toEqual([slowOutput]);

    const rebuilt = await cli(['build', 'chain', '--json'], root);
    expect(rebuilt.code).toBe(0);
    expect(statuses(rebuilt.stdout)['step:chain:slow']).toBe('built');
    expect(outputs(rebuilt.stdout)).toEqual(outputs(first.stdout));
    expect((await cli(['cache', 'verify', '--json'], root)).code).toBe(0);
  });

  it('a removed output tree is a miss, not an error', async () => {
    const root = await chainProject();
    const first = await cli(['build', 'chain', '--json'], root);
    await rm(join(root, 'out/cache/cas', outputs(first.stdout)['step:chain:fan2'] as string), { recursive: true });
    const again = await cli(['build', 'chain', '--json'], root);
    expect(again.code).toBe(0);
    expect(statuses(again.stdout)['step:chain:fan2']).toBe('built');
    expect(statuses(again.stdout)['step:chain:final']).toBe('cached');
  });
});

describe('the project moved to another directory', () => {
  it('keeps every key', async () => {
    const a = await chainProject();
    const b = await chainProject();
    await writeFile(join(b, 'unrelated.txt'), 'not an input');
    const keys = (stdout: string) => Object.fromEntries(jsonEvents(stdout).filter((e) => e.event === 'node').map((e) => [e.id, e.key]));
    const ra = await cli(['build', 'chain', '--json'], a);
    const rb = await cli(['build', 'chain', '--json'], b);
    expect(a).not.toBe(b);
    expect(keys(ra.stdout)).toEqual(keys(rb.stdout));
    expect(Object.keys(keys(ra.stdout))).toHaveLength(5);
  });
});
