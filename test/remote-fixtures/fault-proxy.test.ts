// fixtures/fault-proxy.ts in front of the real nginx cache: requests pass through byte for byte,
// and each fault mode does to the client what the remote-cache tests rely on: a status without
// reaching nginx, a hang until the client's timeout, a body cut halfway under a full
// Content-Length, a connection reset; rules limited to a number of requests; counters.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../fixtures/fault-proxy.js';
import { startWebdavCache, type WebdavCache } from '../../fixtures/webdav-cache.js';
import { http } from './http.js';

let cache: WebdavCache;
let proxy: FaultProxy;
const blob = randomBytes(2 * 1024 * 1024 + 5);
const digest = createHash('sha256').update(blob).digest('hex');

beforeAll(async () => {
  cache = await startWebdavCache();
  proxy = await FaultProxy.start(cache.url);
});

afterAll(async () => {
  await proxy?.stop();
  await cache?.stop();
});

beforeEach(() => proxy.setRules([]));

describe('fault proxy in front of nginx', () => {
  it('passes PUT, GET, HEAD and 404 through unchanged, at the same paths, and counts them', async () => {
    expect(proxy.url).toBe(cache.url.replace(/:\d+\//, `:${new URL(proxy.url).port}/`));
    const before = proxy.requests.length;
    expect((await http(`${proxy.url}/cas/${digest}`, { method: 'PUT', body: blob })).status).toBe(201);
    const get = await http(`${proxy.url}/cas/${digest}`);
    expect(get.status).toBe(200);
    expect(get.body.equals(blob)).toBe(true);
    const head = await http(`${proxy.url}/cas/${digest}`, { method: 'HEAD' });
    expect([head.status, head.headers['content-length']]).toEqual([200, String(blob.length)]);
    expect((await http(`${proxy.url}/ac/${'f'.repeat(64)}`)).status).toBe(404);
    expect(proxy.requests.slice(before)).toEqual([
      { method: 'PUT', path: `/cache/cas/${digest}`, action: 'pass' },
      { method: 'GET', path: `/cache/cas/${digest}`, action: 'pass' },
      { method: 'HEAD', path: `/cache/cas/${digest}`, action: 'pass' },
      { method: 'GET', path: `/cache/ac/${'f'.repeat(64)}`, action: 'pass' },
    ]);
    const log = (await cache.accessLog()).slice(-4);
    expect(log.map((e) => `${e.method} ${e.status}`)).toEqual(['PUT 201', 'GET 200', 'HEAD 200', 'GET 404']);
    expect(proxy.count({ method: /^GET$/, path: /\/cas\// })).toBeGreaterThanOrEqual(1);
  });

  it('answers a status itself, by method and path, without asking nginx', async () => {
    await http(`${proxy.url}/cas/${digest}`, { method: 'PUT', body: blob });
    proxy.setRules([
      { method: /^GET$/, path: /^\/cache\/cas\//, action: { status: 503 } },
      { method: /^PUT$/, path: /^\/cache\/ac\//, action: { status: 500 } },
      { path: /^\/cache\/ac\/gone/, action: { status: 404 } },
    ]);
    const logged = (await cache.accessLog()).length;
    expect((await http(`${proxy.url}/cas/${digest}`)).status).toBe(503);
    expect((await http(`${proxy.url}/ac/${'1'.repeat(64)}`, { method: 'PUT', body: Buffer.from('entry') })).status).toBe(500);
    expect((await http(`${proxy.url}/ac/gone`)).status).toBe(404);
    // HEAD on the CAS matches no rule: nginx answers.
    expect((await http(`${proxy.url}/cas/${digest}`, { method: 'HEAD' })).status).toBe(200);
    expect((await cache.accessLog()).slice(logged).map((e) => e.method)).toEqual(['HEAD']);
    expect(existsSync(join(cache.storage, 'ac', '1'.repeat(64)))).toBe(false);
    expect(proxy.count({ action: '503' })).toBe(1);
    expect(proxy.count({ action: '500' })).toBe(1);
  });

  it('applies a rule to its first `times` matches only (a fault that clears on retry)', async () => {
    await http(`${proxy.url}/cas/${digest}`, { method: 'PUT', body: blob });
    proxy.setRules([{ method: /^GET$/, action: { status: 500 }, times: 2 }]);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await http(`${proxy.url}/cas/${digest}`)).status);
    expect(statuses).toEqual([500, 500, 200]);
  });

  it('hangs: the client gets nothing until its own timeout', async () => {
    proxy.setRules([{ path: /\/ac\//, action: 'hang' }]);
    const started = Date.now();
    await expect(http(`${proxy.url}/ac/${'2'.repeat(64)}`, { timeoutMs: 400 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    // A hanging upload never reaches nginx either.
    await expect(http(`${proxy.url}/ac/${'3'.repeat(64)}`, { method: 'PUT', body: Buffer.from('x'), timeoutMs: 300 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(existsSync(join(cache.storage, 'ac', '3'.repeat(64)))).toBe(false);
    expect(proxy.count({ action: 'hang' })).toBe(2);
  });

  it('truncates: the full Content-Length, half the body, then the connection is gone', async () => {
    await http(`${proxy.url}/cas/${digest}`, { method: 'PUT', body: blob });
    proxy.setRules([{ method: /^GET$/, path: new RegExp(digest), action: 'truncate' }]);
    const cut = await http(`${proxy.url}/cas/${digest}`);
    expect(cut.status).toBe(200);
    expect(cut.headers['content-length']).toBe(String(blob.length));
    expect(cut.error).toBeDefined();
    expect(cut.body.length).toBe(Math.floor(blob.length / 2));
    expect(cut.body.equals(blob.subarray(0, cut.body.length))).toBe(true);
    // fetch, as the remote store may use it, fails on the body too.
    const res = await fetch(`${proxy.url}/cas/${digest}`);
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();
  });

  it('resets: the connection drops before any answer, and a reset upload stores nothing', async () => {
    proxy.setRules([{ action: 'reset' }]);
    await expect(http(`${proxy.url}/cas/${digest}`)).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|EPIPE/) });
    const body = randomBytes(1024 * 1024);
    const name = createHash('sha256').update(body).digest('hex');
    await expect(http(`${proxy.url}/cas/${name}`, { method: 'PUT', body })).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|EPIPE/) });
    expect(existsSync(join(cache.storage, 'cas', name))).toBe(false);
    await expect(fetch(`${proxy.url}/cas/${digest}`)).rejects.toThrow(/fetch failed/);
  });

  it('stop() closes hanging connections too', async () => {
    const own = await FaultProxy.start(cache.url);
    own.setRules([{ action: 'hang' }]);
    const pending = http(`${own.url}/cas/${digest}`);
    while (own.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
    await own.stop();
    await expect(pending).rejects.toMatchObject({ code: 'ECONNRESET' });
    await expect(http(`${own.url}/cas/${digest}`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
