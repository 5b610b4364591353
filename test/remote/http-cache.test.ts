// The Bazel HTTP cache client against a small in-memory server of the same protocol that can
// misbehave on demand: error statuses, silence, bodies cut short or corrupted, reset connections.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpCache, MAX_AC_BYTES, RemoteCacheError, RemoteIntegrityError, type HttpCacheOptions } from '../../graph/remote/http-cache.js';

type FaultAction = 'status' | 'hang' | 'reset' | 'truncate' | 'stall-body' | 'corrupt' | 'oversize';
interface Fault {
  action: FaultAction;
  method?: string;
  status?: number;
  statusMessage?: string;
  times: number;
}

/** Bazel's HTTP cache protocol in memory, under a path prefix, with faults injected per request. */
class FakeCache {
  readonly ac = new Map<string, Buffer>();
  readonly cas = new Map<string, Buffer>();
  readonly requests: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];
  readonly faults: Fault[] = [];
  /** Answer without content-length (chunked). */
  chunked = false;
  delayMs = 0;
  inFlight = 0;
  maxInFlight = 0;
  private readonly server = http.createServer((req, res) => void this.handle(req, res));
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(readonly prefix: string) {
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  reset(): void {
    this.ac.clear();
    this.cas.clear();
    this.requests.length = 0;
    this.faults.length = 0;
    this.chunked = false;
    this.delayMs = 0;
    this.maxInFlight = 0;
  }

  fault(action: FaultAction, options: Partial<Fault> = {}): void {
    this.faults.push({ action, times: 1, ...options });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? '';
    this.requests.push({ method, url: req.url ?? '', headers: req.headers });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.on('close', () => this.inFlight--);
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));

    const match = new RegExp(`^${this.prefix}/(ac|cas)/([0-9a-f]{64})$`).exec(req.url ?? '');
    const store = match?.[1] === 'ac' ? this.ac : this.cas;
    const key = match?.[2] ?? '';
    const fault = this.faults.find((f) => f.times > 0 && (!f.method || f.method === method));
    if (fault) fault.times--;

    switch (fault?.action) {
      case 'hang':
        return; // never answers
      case 'reset':
        req.socket.destroy();
        return;
      case 'status':
        req.resume();
        res.writeHead(fault.status!, fault.statusMessage ?? http.STATUS_CODES[fault.status!]).end('error body');
        return;
    }
    if (!match) {
      res.writeHead(400).end();
      return;
    }
    if (method === 'PUT') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      // Only a complete body is stored: a client that gives up midway leaves nothing.
      req.on('end', () => {
        store.set(key, Buffer.concat(chunks));
        res.writeHead(200).end();
      });
      return;
    }
    const body = store.get(key);
    if (method === 'HEAD') {
      res.writeHead(body ? 200 : 404, body ? { 'content-length': body.length } : {}).end();
      return;
    }
    if (method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    const headers = this.chunked ? {} : { 'content-length': body.length };
    switch (fault?.action) {
      case 'truncate':
        res.writeHead(200, headers);
        res.write(body.subarray(0, body.length >> 1), () => res.destroy());
        return;
      case 'stall-body':
        res.writeHead(200, headers);
        res.write(body.subarray(0, body.length >> 1));
        return; // the rest never comes
      case 'corrupt': {
        const bad = Buffer.from(body);
        bad[bad.length >> 1]! ^= 0x01;
        res.writeHead(200, headers).end(bad);
        return;
      }
      case 'oversize':
        res.writeHead(200, this.chunked ? {} : { 'content-length': MAX_AC_BYTES + 1 });
        res.end(Buffer.alloc(MAX_AC_BYTES + 1));
        return;
    }
    res.writeHead(200, headers).end(body);
  }
}

const TOKEN = 'tok_S3CRET_d1d2d3d4e5e6';
const sha = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
const KEY = sha('an action key');

const server = new FakeCache('/cache/v1');
let dir: string;
const clients: HttpCache[] = [];

function client(options: Partial<HttpCacheOptions> = {}): HttpCache {
  const c = new HttpCache({ url: `http://127.0.0.1:${server.port}/cache/v1`, token: TOKEN, timeoutMs: 2000, backoffMs: 10, ...options });
  clients.push(c);
  return c;
}

/** Runs `fn`, expecting it to throw; returns what it threw. */
async function thrown(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  await server.start();
  dir = await mkdtemp(join(tmpdir(), 'http-cache-'));
});
afterAll(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => server.reset());
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

describe('protocol', () => {
  it('stores and fetches action results under the path prefix, with the bearer token', async () => {
    const c = client();
    expect(await c.getAc(KEY)).toBeUndefined();
    await c.putAc(KEY, Buffer.from('entry'));
    expect(server.ac.get(KEY)?.toString()).toBe('entry');
    expect((await c.getAc(KEY))?.toString()).toBe('entry');
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([`GET /cache/v1/ac/${KEY}`, `PUT /cache/v1/ac/${KEY}`, `GET /cache/v1/ac/${KEY}`]);
    for (const r of server.requests) expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(server.requests[1]!.headers['content-length']).toBe('5');
    // An empty entry is a real entry, not a miss.
    await c.putAc(KEY, Buffer.alloc(0));
    expect(await c.getAc(KEY)).toEqual(Buffer.alloc(0));
  });

  it('takes the base URL with or without a trailing slash, and works without a token', async () => {
    for (const url of [`http://127.0.0.1:${server.port}/cache/v1/`, `http://127.0.0.1:${server.port}/cache/v1//`]) {
      const c = client({ url, token: undefined });
      await c.putAc(KEY, Buffer.from(url));
      expect((await c.getAc(KEY))?.toString()).toBe(url);
    }
    expect(server.requests.every((r) => r.url === `/cache/v1/ac/${KEY}` && r.headers.authorization === undefined)).toBe(true);
  });

  it('uploads a blob from a file and streams it back into a file, hashing on the way', async () => {
    const c = client();
    const data = randomBytes(3 << 20);
    const digest = sha(data);
    await writeFile(join(dir, 'blob'), data);
    expect(await c.hasCas(digest)).toBe(false);
    await c.putCasFromFile(digest, join(dir, 'blob'));
    expect(server.cas.get(digest)?.equals(data)).toBe(true);
    expect(await c.hasCas(digest)).toBe(true);
    await c.getCasToFile(digest, data.length, join(dir, 'back'));
    expect((await readFile(join(dir, 'back'))).equals(data)).toBe(true);
    expect(c.stats).toEqual({ requests: 4, bytesDown: data.length, bytesUp: data.length, retries: 0, requestMs: expect.any(Number) });
    expect(c.stats.requestMs).toBeGreaterThan(0);
    const put = server.requests.find((r) => r.method === 'PUT')!;
    expect(put.headers['content-length']).toBe(String(data.length));
    expect(put.headers['transfer-encoding']).toBeUndefined();
    // The empty blob too.
    const empty = sha('');
    await writeFile(join(dir, 'empty'), '');
    await c.putCasFromFile(empty, join(dir, 'empty'));
    await c.getCasToFile(empty, 0, join(dir, 'empty-back'));
    expect((await readFile(join(dir, 'empty-back'))).length).toBe(0);
  });

  it('a chunked answer (no content-length) is read and checked the same way', async () => {
    server.chunked = true;
    const c = client();
    const data = randomBytes(100_000);
    server.cas.set(sha(data), data);
    await c.getCasToFile(sha(data), data.length, join(dir, 'chunked'));
    expect((await readFile(join(dir, 'chunked'))).equals(data)).toBe(true);
    server.ac.set(KEY, Buffer.from('chunked entry'));
    expect((await c.getAc(KEY))?.toString()).toBe('chunked entry');
  });

  it('refuses keys and digests that are not 64 lowercase hex digits before sending anything', async () => {
    const c = client();
    for (const bad of ['', 'abc', KEY.toUpperCase(), `${KEY}0`, `../${KEY.slice(3)}`, `${KEY.slice(0, 63)}g`]) {
      await expect(c.getAc(bad)).rejects.toThrow(/is not 64 lowercase hex digits/);
      await expect(c.hasCas(bad)).rejects.toThrow(/blob digest .* is not 64 lowercase hex digits/);
    }
    expect(server.requests).toEqual([]);
    expect(() => new HttpCache({ url: 'ftp://127.0.0.1/x' })).toThrow(/only http: and https:/);
    expect(() => new HttpCache({ url: 'http://user:pw@127.0.0.1/x' })).toThrow(/credentials in the URL are not accepted/);
    expect(() => new HttpCache({ url: 'not a url' })).toThrow(/is not a URL/);
  });

  it('queues requests beyond the concurrency', async () => {
    const c = client({ concurrency: 2 });
    server.delayMs = 60;
    server.ac.set(KEY, Buffer.from('x'));
    const results = await Promise.all(Array.from({ length: 8 }, () => c.getAc(KEY)));
    expect(results.every((r) => r?.toString() === 'x')).toBe(true);
    expect(server.maxInFlight).toBe(2);
  });
});

describe('integrity', () => {
  it('a blob whose bytes differ is an integrity error, not retried, and leaves no file', async () => {
    const c = client();
    const data = randomBytes(50_000);
    server.cas.set(sha(data), data);
    server.fault('corrupt');
    const err = await thrown(() => c.getCasToFile(sha(data), data.length, join(dir, 'corrupt')));
    expect(err).toBeInstanceOf(RemoteIntegrityError);
    expect(err.message).toMatch(/the body's sha256 is [0-9a-f]{64}/);
    expect(existsSync(join(dir, 'corrupt'))).toBe(false);
    expect(server.requests.length).toBe(1);

    // The right bytes under the wrong name.
    server.cas.set(sha('other'), data);
    await expect(c.getCasToFile(sha('other'), data.length, join(dir, 'wrong'))).rejects.toThrow(RemoteIntegrityError);
    expect(existsSync(join(dir, 'wrong'))).toBe(false);
  });

  it('a body of another length is refused, declared or not, longer or shorter', async () => {
    const c = client();
    const data = randomBytes(10_000);
    server.cas.set(sha(data), data);
    await expect(c.getCasToFile(sha(data), data.length + 1, join(dir, 'f'))).rejects.toThrow(/the server sends 10000 bytes, 10001 were expected/);
    server.chunked = true;
    await expect(c.getCasToFile(sha(data), data.length - 1, join(dir, 'f'))).rejects.toThrow(/longer than the expected 9999 bytes/);
    await expect(c.getCasToFile(sha(data), data.length + 1, join(dir, 'f'))).rejects.toThrow(/the body has 10000 bytes, 10001 were expected/);
    expect(existsSync(join(dir, 'f'))).toBe(false);
  });

  it('a body cut short by a closed connection is a transient fault: retried, then a fault of the server; no file left', async () => {
    const c = client({ retries: 1 });
    const data = randomBytes(200_000);
    server.cas.set(sha(data), data);
    server.ac.set(KEY, data.subarray(0, 1000));
    server.fault('truncate', { times: 4 });
    const err = await thrown(() => c.getCasToFile(sha(data), data.length, join(dir, 'cut')));
    expect(err).toBeInstanceOf(RemoteCacheError);
    expect(err).toMatchObject({ transient: true, code: 'ETRUNCATED' });
    expect(err.message).toMatch(/the body ended early after \d+ of 200000 bytes \(after 2 attempts\)/);
    expect(existsSync(join(dir, 'cut'))).toBe(false);
    await expect(c.getAc(KEY)).rejects.toThrow(/the body ended early after 500 of 1000 bytes/);
    expect(server.requests.length).toBe(4);
    expect(c.stats.retries).toBe(2);
    // Cut once, whole the second time: the retry gets it.
    server.fault('truncate', { times: 1 });
    await c.getCasToFile(sha(data), data.length, join(dir, 'whole'));
    expect((await readFile(join(dir, 'whole'))).equals(data)).toBe(true);
  });

  it('an action-cache entry over 4 MiB is refused, with or without content-length', async () => {
    const c = client();
    server.ac.set(KEY, Buffer.from('x'));
    server.fault('oversize');
    await expect(c.getAc(KEY)).rejects.toThrow(/an action-cache entry of 4194305 bytes/);
    server.chunked = true;
    server.fault('oversize');
    await expect(c.getAc(KEY)).rejects.toThrow(RemoteIntegrityError);
  });

  it('a file that is not the digest it is uploaded under never reaches the server whole', async () => {
    const c = client();
    const data = randomBytes(3 << 20);
    await writeFile(join(dir, 'mislabelled'), data);
    const claimed = sha('something else');
    await expect(c.putCasFromFile(claimed, join(dir, 'mislabelled'))).rejects.toThrow(/mislabelled has sha256 [0-9a-f]{64}, not the one it is uploaded under/);
    await new Promise((r) => setTimeout(r, 50));
    expect(server.cas.has(claimed)).toBe(false);
    expect(server.requests.length).toBe(1);
  });
});

describe('faults and retries', () => {
  it('retries 503, 500 and a reset connection with backoff, then succeeds', async () => {
    const c = client({ retries: 3 });
    server.ac.set(KEY, Buffer.from('ok'));
    server.fault('status', { status: 503 });
    server.fault('status', { status: 500 });
    server.fault('reset');
    expect((await c.getAc(KEY))?.toString()).toBe('ok');
    expect(c.stats.requests).toBe(4);
    expect(c.stats.retries).toBe(3);
  });

  it('gives up after the retries with a transient error that carries the status', async () => {
    const c = client({ retries: 2 });
    server.fault('status', { status: 502, times: 5 });
    const err = await thrown(() => c.hasCas(KEY));
    expect(err).toBeInstanceOf(RemoteCacheError);
    expect(err).toMatchObject({ transient: true, status: 502 });
    expect(err.message).toBe(`HEAD http://127.0.0.1:${server.port}/cache/v1/cas/${KEY}: HTTP 502 Bad Gateway (after 3 attempts)`);
    expect(server.requests.length).toBe(3);
  });

  it('does not retry 400, 401, 403, 404 on a blob, 405', async () => {
    for (const status of [400, 401, 403, 405]) {
      server.reset();
      const c = client();
      server.fault('status', { status, times: 3 });
      const err = await thrown(() => c.putAc(KEY, Buffer.from('x')));
      expect(err).toMatchObject({ transient: false, status });
      expect(server.requests.length).toBe(1);
    }
    server.reset();
    const c = client();
    const err = await thrown(() => c.getCasToFile(KEY, 1, join(dir, 'missing')));
    expect(err).toMatchObject({ transient: false, status: 404 });
    expect(existsSync(join(dir, 'missing'))).toBe(false);
    expect(server.requests.length).toBe(1);
  });

  it('a server that answers an upload early (401) is that answer, not a broken pipe', async () => {
    const c = client();
    const data = randomBytes(4 << 20);
    await writeFile(join(dir, 'big'), data);
    server.fault('status', { status: 401, method: 'PUT', times: 3 });
    const err = await thrown(() => c.putCasFromFile(sha(data), join(dir, 'big')));
    expect(err).toMatchObject({ transient: false, status: 401 });
  });

  it('a server that never answers times out, is retried, and the error says so', async () => {
    const c = client({ timeoutMs: 150, retries: 1 });
    server.fault('hang', { times: 2 });
    const started = Date.now();
    const err = await thrown(() => c.getAc(KEY));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err).toMatchObject({ transient: true, code: 'ETIMEDOUT' });
    expect(err.message).toBe(`GET http://127.0.0.1:${server.port}/cache/v1/ac/${KEY}: no answer within 150 ms (after 2 attempts)`);
    expect(server.requests.length).toBe(2);
  });

  it('a body that stops flowing times out too (idle, not total, time)', async () => {
    const c = client({ timeoutMs: 200, retries: 1 });
    const data = randomBytes(100_000);
    server.cas.set(sha(data), data);
    server.fault('stall-body');
    await c.getCasToFile(sha(data), data.length, join(dir, 'stalled'));
    expect((await readFile(join(dir, 'stalled'))).equals(data)).toBe(true);
    expect(c.stats.retries).toBe(1);
  });

  it('a refused connection is retried once at most, whatever the retries', async () => {
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const c = client({ url: `http://127.0.0.1:${port}/cache`, retries: 6, backoffMs: 20 });
    const started = Date.now();
    const err = await thrown(() => c.getAc(KEY));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(err).toMatchObject({ transient: true, code: 'ECONNREFUSED' });
    expect(c.stats).toMatchObject({ requests: 2, retries: 1 });
  });
});

describe('the token', () => {
  it('never appears in an error, its properties, the stats or the client', async () => {
    const errors: unknown[] = [];
    const c = client({ timeoutMs: 150, retries: 1 });
    // A server that echoes the Authorization header in its status line.
    server.fault('status', { status: 403, statusMessage: `Forbidden for Bearer ${TOKEN}` });
    errors.push(await thrown(() => c.getAc(KEY)));
    server.fault('status', { status: 500, statusMessage: `oops ${TOKEN}`, times: 2 });
    errors.push(await thrown(() => c.putAc(KEY, Buffer.from('x'))));
    server.fault('hang', { times: 2 });
    errors.push(await thrown(() => c.hasCas(KEY)));
    const data = Buffer.from('blob');
    server.cas.set(sha(data), data);
    server.fault('corrupt');
    errors.push(await thrown(() => c.getCasToFile(sha(data), 4, join(dir, 't'))));
    errors.push(await thrown(() => client({ url: 'http://127.0.0.1:1/x', retries: 0 }).getAc(KEY)));
    errors.push(await thrown(() => c.getAc(`${TOKEN}`)));
    expect(String((errors[0] as Error).message)).toContain('Forbidden for Bearer <token>');
    for (const err of errors) {
      const views = [String(err), (err as Error).stack ?? '', JSON.stringify(err), inspect(err, { showHidden: true, depth: Infinity }), JSON.stringify(Object.entries(err as object))];
      for (const view of views) expect(view).not.toContain(TOKEN);
    }
    expect(JSON.stringify(c.stats)).not.toContain(TOKEN);
    expect(inspect(c, { showHidden: true, depth: Infinity })).not.toContain(TOKEN);
    // It was sent all the same.
    expect(server.requests.every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });
});
