// pipeToFile: a failed write leaves no file. A write stream opens its file asynchronously and a
// pipeline rejects before its sink has closed, so a file removed right after the rejection could
// appear once the open completed (seen as stray `.part-<pid>` downloads in a loaded test run).
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeToFile } from '../../util/file-stream.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipeline-file-stream-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('pipeToFile', () => {
  it('writes what the source gives, through the transforms', async () => {
    const path = join(dir, 'ok');
    const upper = new Transform({ transform: (chunk: Buffer, _e, done) => done(null, chunk.toString().toUpperCase()) });
    await pipeToFile(path, Readable.from(['ab', 'cd']), [upper]);
    expect(await readFile(path, 'utf8')).toBe('ABCD');
  });

  it('a source that fails at once leaves no file, not even once the open completes', async () => {
    const paths = Array.from({ length: 50 }, (_, i) => join(dir, `source-${i}`));
    const failing = () => new Readable({ read() { this.destroy(new Error('connection reset')); } });
    const results = await Promise.allSettled(paths.map((p) => pipeToFile(p, failing())));
    for (const r of results) expect(r.status).toBe('rejected');
    // The sink is closed when pipeToFile rejects: its file was made, then removed.
    expect(paths.filter((p) => existsSync(p))).toEqual([]);
    await settle();
    expect(paths.filter((p) => existsSync(p))).toEqual([]);
  });

  it('a transform that refuses the first chunk leaves no file', async () => {
    const paths = Array.from({ length: 50 }, (_, i) => join(dir, `limit-${i}`));
    const limit = () => new Transform({ transform: (_c, _e, done) => done(new Error('more data than declared')) });
    const results = await Promise.allSettled(paths.map((p) => pipeToFile(p, Readable.from(['0123456789']), [limit()])));
    for (const r of results) expect(r.status === 'rejected' && (r.reason as Error).message).toBe('more data than declared');
    expect(paths.filter((p) => existsSync(p))).toEqual([]);
    await settle();
    expect(paths.filter((p) => existsSync(p))).toEqual([]);
  });
});
