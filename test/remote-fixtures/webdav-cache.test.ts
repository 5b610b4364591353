// fixtures/webdav-cache.ts: a real nginx as a Bazel HTTP cache. The round trip of a few-MB binary
// blob (PUT, GET, HEAD, 404), the read-only refusal, the access log, and that stop() and kill()
// leave no process and no file behind.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../fixtures/paths.js';
import { startWebdavCache, type WebdavCache } from '../../fixtures/webdav-cache.js';
import { http } from './http.js';

const started: WebdavCache[] = [];
afterAll(async () => {
  for (const cache of started) await cache.stop();
});

async function start(options?: Parameters<typeof startWebdavCache>[0]): Promise<WebdavCache> {
  const cache = await startWebdavCache(options);
  started.push(cache);
  return cache;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Alive means in /proc and not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = execFileSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function pgrep(pattern: string): string {
  try {
    return execFileSync('pgrep', ['-af', pattern], { encoding: 'utf8' });
  } catch {
    return ''; // exit 1: no match
  }
}

describe('webdav cache (nginx)', () => {
  it('stores a binary blob with PUT and serves it back with GET and HEAD; a missing file is 404', async () => {
    const cache = await start();
    expect(cache.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/cache$/);
    const blob = randomBytes(3 * 1024 * 1024 + 17);
    const digest = sha256(blob);

    const put = await http(`${cache.url}/cas/${digest}`, { method: 'PUT', body: blob });
    expect(put.status).toBe(201);
    expect(sha256(await readFile(join(cache.storage, 'cas', digest)))).toBe(digest);

    const get = await http(`${cache.url}/cas/${digest}`);
    expect(get.status).toBe(200);
    expect(get.headers['content-length']).toBe(String(blob.length));
    expect(sha256(get.body)).toBe(digest);

    const head = await http(`${cache.url}/cas/${digest}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(blob.length));
    expect(head.body.length).toBe(0);

    expect((await http(`${cache.url}/cas/${'0'.repeat(64)}`)).status).toBe(404);
    expect((await http(`${cache.url}/ac/${'1'.repeat(64)}`, { method: 'HEAD' })).status).toBe(404);

    // An overwrite is 204; a path whose directories do not exist yet is created whole.
    const entry = Buffer.from('action result bytes');
    expect((await http(`${cache.url}/ac/${'a'.repeat(64)}`, { method: 'PUT', body: entry })).status).toBe(201);
    expect((await http(`${cache.url}/ac/${'a'.repeat(64)}`, { method: 'PUT', body: entry })).status).toBe(204);
    expect((await http(`${cache.url}/cas/ab/cd/${digest}`, { method: 'PUT', body: blob.subarray(0, 1000) })).status).toBe(201);
    expect((await http(`${cache.url}/cas/ab/cd/${digest}`)).body).toEqual(blob.subarray(0, 1000));
  });

  it('runs its worker as nobody when started as root, with storage that user owns', async () => {
    const cache = await start();
    const [master, ...workers] = cache.pids().sort((a, b) => a - b);
    expect(workers).toHaveLength(1);
    const uidOf = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(execFileSync('cat', [`/proc/${pid}/status`], { encoding: 'utf8' }))![1]);
    expect(uidOf(master)).toBe(process.getuid!());
    if (process.getuid!() === 0) {
      expect(cache.workerUser).toBe('nobody');
      expect(uidOf(workers[0])).toBe(65534);
      const body = Buffer.from('written by the worker');
      expect((await http(`${cache.url}/cas/${sha256(body)}`, { method: 'PUT', body })).status).toBe(201);
      expect((await stat(join(cache.storage, 'cas', sha256(body)))).uid).toBe(65534);
    } else {
      expect(uidOf(workers[0])).toBe(process.getuid!());
    }
  });

  it('refuses PUT with 403 when read-only, stores nothing, and still serves what is there', async () => {
    const cache = await start({ readOnly: true });
    const body = randomBytes(4096);
    const put = await http(`${cache.url}/cas/${sha256(body)}`, { method: 'PUT', body });
    expect(put.status).toBe(403);
    expect(existsSync(join(cache.storage, 'cas', sha256(body)))).toBe(false);

    await writeFile(join(cache.storage, 'cas', sha256(body)), body, { mode: 0o644 });
    const get = await http(`${cache.url}/cas/${sha256(body)}`);
    expect(get.status).toBe(200);
    expect(get.body).toEqual(body);
    expect((await http(`${cache.url}/cas/${sha256(body)}`, { method: 'HEAD' })).status).toBe(200);
    expect((await http(`${cache.url}/cas/${sha256(body)}`, { method: 'DELETE' })).status).toBe(403);
  });

  it('parses its access log: method, path, status, bytes sent and received, in order', async () => {
    const cache = await start();
    const blob = randomBytes(200_000);
    const digest = sha256(blob);
    await http(`${cache.url}/cas/${digest}`, { method: 'PUT', body: blob });
    await http(`${cache.url}/cas/${digest}`);
    await http(`${cache.url}/cas/${digest}`, { method: 'HEAD' });
    await http(`${cache.url}/ac/missing?x=1`);
    const log = await cache.accessLog();
    expect(log.map(({ method, path, status }) => ({ method, path, status }))).toEqual([
      { method: 'PUT', path: `/cache/cas/${digest}`, status: 201 },
      { method: 'GET', path: `/cache/cas/${digest}`, status: 200 },
      { method: 'HEAD', path: `/cache/cas/${digest}`, status: 200 },
      { method: 'GET', path: '/cache/ac/missing?x=1', status: 404 },
    ]);
    expect(log[0].received).toBeGreaterThan(blob.length);
    expect(log[1].bytes).toBe(blob.length);
    expect(log[1].received).toBeLessThan(1000);
    expect(log[2].bytes).toBe(0);
    // Asked again right after a request, the log already has it.
    await http(`${cache.url}/cas/${digest}`);
    expect((await cache.accessLog()).length).toBe(5);
  });

  it('takes another port when the one asked for is in use', async () => {
    const squatter: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((ready) => squatter.listen(0, '127.0.0.1', ready));
    const taken = (squatter.address() as { port: number }).port;
    try {
      const cache = await start({ port: taken });
      expect(cache.port).not.toBe(taken);
      expect((await http(`${cache.url}/cas/none`)).status).toBe(404);
    } finally {
      await new Promise<void>((done) => squatter.close(() => done()));
    }
  });

  it('stop() shuts down gracefully: every process gone, the prefix removed, the temporary directory mode restored', async () => {
    for (const other of started.splice(0)) await other.stop(); // none holds the directory open now
    // Only this file's TMPDIR is checked: the run's directory above it is shared with other test
    // processes, whose caches may keep its search bit.
    const modeBefore = statSync(tmpdir()).mode;
    const cache = await startWebdavCache();
    const pids = cache.pids();
    expect(pids.length).toBe(2);
    if (cache.workerUser === 'nobody') {
      // The worker can reach its prefix: every ancestor is searchable by others while it runs.
      for (let d = dirname(cache.prefix); d !== dirname(d); d = dirname(d)) expect([d, statSync(d).mode & 0o001]).toEqual([d, 0o001]);
    }
    expect(pgrep(cache.prefix)).toContain('nginx');
    await cache.stop();
    expect(pids.filter(alive)).toEqual([]);
    expect(pgrep(cache.prefix)).toBe('');
    expect(existsSync(cache.prefix)).toBe(false);
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('webdav-cache-'))).toEqual([]);
    expect(statSync(tmpdir()).mode).toBe(modeBefore);
    await expect(http(`${cache.url}/cas/x`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('kill() takes down master and worker at once, even in the middle of a download, and leaves nothing', async () => {
    const cache = await startWebdavCache();
    const blob = randomBytes(32 * 1024 * 1024); // more than the socket buffers hold
    const digest = sha256(blob);
    await mkdir(join(cache.storage, 'cas'), { recursive: true });
    await writeFile(join(cache.storage, 'cas', digest), blob, { mode: 0o644 });
    const pids = cache.pids();
    expect(pids.length).toBe(2);

    // A slow reader: nginx is still sending when it dies.
    const partial = new Promise<{ received: number; error: string }>((resolve) => {
      import('node:http').then(({ get }) => {
        const req = get(`${cache.url}/cas/${digest}`, { agent: false }, (res) => {
          let received = 0;
          res.once('data', (chunk: Buffer) => {
            received += chunk.length;
            res.pause();
            void cache.kill().then(() => res.resume());
          });
          res.on('data', (chunk: Buffer) => (received += chunk.length));
          res.once('end', () => resolve({ received, error: 'none' }));
          res.once('aborted', () => resolve({ received, error: 'aborted' }));
          res.once('error', (err) => resolve({ received, error: err.message }));
        });
        req.once('error', (err) => resolve({ received: -1, error: err.message }));
      });
    });
    const outcome = await partial;
    expect(outcome.error).not.toBe('none');
    expect(outcome.received).toBeGreaterThan(0);
    expect(outcome.received).toBeLessThan(blob.length);
    expect(pids.filter(alive)).toEqual([]);
    expect(pgrep(cache.prefix)).toBe('');
    expect(existsSync(cache.prefix)).toBe(false);
    await expect(http(`${cache.url}/cas/${digest}`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('stops the nginx of a test process that was killed before stop(), when the next cache starts', async () => {
    // The fixture, bundled for a plain node process that starts a cache, reports it, and waits.
    const dir = await mkdtemp(join(tmpdir(), 'abandoning-'));
    const script = join(dir, 'start.mjs');
    await build({
      stdin: {
        contents: `import { startWebdavCache } from ${JSON.stringify(join(projectRoot(), 'fixtures/webdav-cache.ts'))};
          const cache = await startWebdavCache();
          console.log(JSON.stringify({ prefix: cache.prefix, pids: cache.pids() }));
          setInterval(() => {}, 1000);`,
        resolveDir: dir,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: script,
      logLevel: 'silent',
    });
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString())));
    const abandoned = JSON.parse(line) as { prefix: string; pids: number[] };
    expect(abandoned.pids).toHaveLength(2);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(abandoned.pids.filter(alive)).toHaveLength(2); // nothing stopped them

    const next = await start();
    expect(abandoned.pids.filter(alive)).toEqual([]);
    expect(existsSync(abandoned.prefix)).toBe(false);
    expect(next.pids()).toHaveLength(2);
    await rm(dir, { recursive: true, force: true });
  });
});
