// The store's own promises: gc by least recent use, atomic publish, shared outputs, secrets
// kept out of logs, job slots and weights.
import { mkdir, readFile, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { build } from '../../graph/build.js';
import type { NodeSpec } from '../../graph/node.js';
import { collectGarbage, parseSize } from '../../graph/cache-maintenance.js';
import { LocalStore } from '../../graph/local-store.js';
import { OutputDigests } from '../../graph/output-digests.js';
import { sha256 } from '../../graph/hash.js';
import { Session } from '../../graph/session.js';
import { cli, shNode, tempProject } from './helpers.js';

describe('cache gc', () => {
  it('removes the least recently used outputs first, down to the size asked for', async () => {
    const root = await tempProject();
    const session = await Session.open({ root });
    // Five nodes of 100 KiB each.
    const nodes = [0, 1, 2, 3, 4].map((i) => shNode(`n${i}`, `head -c 102400 /dev/zero | tr '\\0' '${i}' > "$OUT/blob"`, { tools: ['sh', 'head', 'tr'] }));
    const first = await build(session, nodes);
    expect(first.ok).toBe(true);
    // Make n0 the oldest use and n4 the newest, whatever order they finished in.
    for (let i = 0; i < 5; i++) {
      const t = new Date(Date.now() - (10 - i) * 60_000);
      await utimes(join(session.cacheDir, 'ac', `${first.outcomes.get(`n${i}`)!.key}.json`), t, t);
    }
    const r = await collectGarbage(session.local, 250 * 1024);
    expect(r.removedOutputs).toBe(3);
    expect(r.keptBytes).toBe(2 * 102400);
    const again = await build(session, nodes);
    const status = Object.fromEntries([...again.outcomes.values()].map((o) => [o.id, o.status]));
    expect(status).toEqual({ n0: 'built', n1: 'built', n2: 'built', n3: 'cached', n4: 'cached' });
  });

  it('the command takes sizes such as 10G', async () => {
    expect(parseSize('10G')).toBe(10 * 1024 ** 3);
    expect(parseSize('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('512m')).toBe(512 * 1024 ** 2);
    expect(() => parseSize('ten gigs')).toThrow(/not a size/);
    const root = await tempProject();
    const r = await cli(['cache', 'gc', '--max-size', '10G', '--json'], root);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ removedOutputs: 0 });
    expect((await cli(['cache', 'gc'], root)).code).toBe(2);
  });
});

describe('outputs', () => {
  it('two nodes with identical output bytes share one stored tree', async () => {
    const root = await tempProject();
    const session = await Session.open({ root });
    const r = await build(session, [shNode('x', 'echo same > "$OUT/f"'), shNode('y', 'echo  same > "$OUT/f"')]);
    expect(r.outcomes.get('x')!.output).toBe(r.outcomes.get('y')!.output);
    expect((await readdir(join(session.cacheDir, 'cas'))).length).toBe(1);
  });

  it("a file the node hashed itself is stored under that digest, and under its new one if it changed after", async () => {
    const root = await tempProject();
    const session = await Session.open({ root });
    const first = Buffer.alloc(1 << 20, 'a');
    const second = Buffer.alloc(1 << 20, 'b');
    const writer = (id: string, hashThenChange: boolean): NodeSpec => ({
      id,
      kind: 'writer',
      version: 1,
      params: { id },
      async run(ctx) {
        const file = join(ctx.out, 'image');
        await writeFile(file, first);
        expect(await ctx.sha256File(file)).toBe(sha256(first));
        if (hashThenChange) {
          // Same size, same mtime: only the ctime tells.
          const { atime, mtime } = await stat(file);
          await writeFile(file, second);
          await utimes(file, atime, mtime);
        }
      },
    });
    const plain = (id: string, bytes: Buffer): NodeSpec => ({ id, kind: 'writer', version: 1, params: { id }, run: (ctx) => writeFile(join(ctx.out, 'image'), bytes) });
    const r = await build(session, [writer('hashed', false), writer('changed', true), plain('first', first), plain('second', second)]);
    expect(r.ok).toBe(true);
    expect(r.outcomes.get('hashed')!.output).toBe(r.outcomes.get('first')!.output);
    expect(r.outcomes.get('changed')!.output).toBe(r.outcomes.get('second')!.output);
  });

  it('remembers a digest only for files of the output, and only while they are as they were', async () => {
    const root = await tempProject();
    const out = join(root, 'out-dir');
    await mkdir(out);
    const inside = join(out, 'f');
    const outside = join(root, 'g');
    await writeFile(inside, 'one');
    await writeFile(outside, 'one');
    const digests = new OutputDigests(out);
    expect(await digests.sha256File(inside)).toBe(sha256('one'));
    expect(await digests.sha256File(outside)).toBe(sha256('one'));
    expect(await digests.lookup('f', inside)).toBe(sha256('one'));
    expect(await digests.lookup('../g', outside)).toBeUndefined();
    await writeFile(inside, 'two');
    expect(await digests.lookup('f', inside)).toBeUndefined();
  });

  it('a failed node leaves no cache entry and no work area', async () => {
    const root = await tempProject();
    const session = await Session.open({ root });
    const r = await build(session, [shNode('bad', 'echo half > "$OUT/f"; exit 1')]);
    expect(r.ok).toBe(false);
    expect(await readdir(join(session.cacheDir, 'ac'))).toEqual([]);
    expect(await readdir(join(session.cacheDir, 'cas'))).toEqual([]);
    expect(await readdir(join(session.cacheDir, 'tmp'))).toEqual([]);
  });

  it('secrets never reach the log, the events or the key', async () => {
    const root = await tempProject();
    const session = await Session.open({ root });
    const secretPath = '/very/secret/db.key';
    const events: unknown[] = [];
    const withKey: NodeSpec = {
      id: 'sign',
      kind: 'sign',
      version: 1,
      tools: ['sh'],
      secrets: { key: secretPath },
      async run(ctx) {
        await ctx.exec('sh', ['-c', 'echo "using $0"; echo "cannot read $0" >&2; exit 1', ctx.secrets.key]);
      },
    };
    const r = await build(session, [withKey], { onEvent: (e) => events.push(e) });
    expect(r.ok).toBe(false);
    const log = await readFile(join(session.logDir, 'sign.log'), 'utf8');
    expect(log).not.toContain(secretPath);
    expect(log).toContain('<secret:key>');
    expect(JSON.stringify(events)).not.toContain(secretPath);
    expect(r.outcomes.get('sign')!.error!.message).not.toContain(secretPath);
    // Another key path gives the same key: the secret is not key material.
    const a = await session.key({ ...withKey, secrets: { key: '/a' } }, {});
    const b = await session.key({ ...withKey, secrets: { key: '/b' } }, {});
    expect(a.key).toBe(b.key);
  });
});

describe('a node log rewritten while it is stored', () => {
  it('publishing copies what is there and returns (two builds of one node rewrite one log)', async () => {
    // libuv's copyFile spun forever when the log shrank mid-copy: a build on a shared cache hung.
    const root = await tempProject();
    const store = new LocalStore(join(root, 'cache'));
    await store.open();
    const log = join(root, 'node.log');
    await writeFile(log, '');
    // Another thread keeps cutting the log short, as a second build of the same node does.
    const truncator = new Worker(
      `const fs = require('fs'); const pause = new Int32Array(new SharedArrayBuffer(4));
       for (;;) { fs.truncateSync(${JSON.stringify(log)}, 0); Atomics.wait(pause, 0, 0, 3); }`,
      { eval: true },
    );
    try {
      for (let i = 0; i < 20; i++) {
        const work = await store.createWorkDir();
        await writeFile(join(work.out, 'result'), `run ${i}\n`);
        await writeFile(log, 'x'.repeat(32 << 20));
        const result = await store.publish(`key${i}`, work, { id: 'n', kind: 'step', ms: 1, log });
        // Whatever the log held while it was read (a cut may leave a hole of zeros), never more.
        expect((await readFile(store.logPath(result.key))).length).toBeLessThanOrEqual(32 << 20);
      }
    } finally {
      await truncator.terminate();
    }
    expect((await readdir(join(root, 'cache/logs'))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }, 30_000);
});

describe('scheduling', () => {
  it('never runs more than --jobs slots at once, and a heavy node runs alone', async () => {
    const root = await tempProject();
    const session = await Session.open({ root });
    const log = join(root, 'concurrency.log');
    const script = `echo "start $(date +%s%N)" >> ${log}; sleep 0.3; echo "end $(date +%s%N)" >> ${log}; echo ok > "$OUT/o"`;
    const nodes = [
      ...[0, 1, 2, 3, 4, 5].map((i) => shNode(`light${i}`, script + `; echo ${i} > "$OUT/i"`, { tools: ['sh', 'date', 'sleep'] })),
      shNode('heavy', script.replace(/start/, 'HSTART').replace(/end \$/, 'HEND $'), { tools: ['sh', 'date', 'sleep'], weight: 3 }),
    ];
    const r = await build(session, nodes, { jobs: 3 });
    expect(r.ok).toBe(true);
    const events = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => l.split(' '))
      .map(([what, t]) => ({ what, t: BigInt(t) }))
      .sort((a, b) => (a.t < b.t ? -1 : 1));
    let running = 0;
    let max = 0;
    let heavyRunning = false;
    for (const e of events) {
      if (e.what === 'HSTART') {
        expect(running).toBe(0);
        heavyRunning = true;
      } else if (e.what === 'HEND') heavyRunning = false;
      else if (e.what === 'start') {
        expect(heavyRunning).toBe(false);
        running++;
      } else running--;
      max = Math.max(max, running);
    }
    expect(max).toBe(3);
  });
});
