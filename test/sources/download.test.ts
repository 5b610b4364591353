// Downloads for source nodes against real HTTP servers on 127.0.0.1: timeouts, retries with
// backoff on transient failures only, size limits, atomic placement, and clear errors.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { download, DownloadError } from '../../stages/sources/download.js';
import { StaticHttpServer } from '../../fixtures/http-server.js';

const servers: Server[] = [];
const mirrors: StaticHttpServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((done) => s.close(() => done()));
  for (const m of mirrors.splice(0)) await m.stop();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A server answering each request with the next behaviour of the list (the last one repeats). */
async function serve(behaviours: Array<'hang' | number | string>): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    const b = behaviours[Math.min(hits, behaviours.length - 1)];
    hits++;
    if (b === 'hang') return; // accept, never answer
    if (typeof b === 'number') res.writeHead(b).end();
    else res.writeHead(200, { 'content-length': String(Buffer.byteLength(b)) }).end(b);
  });
  servers.push(server);
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/APKINDEX.tar.gz`, hits: () => hits };
}

async function dir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'pipeline-download-'));
  dirs.push(d);
  return d;
}

/** A mirror directory holding `name` with `size` bytes, served by the fixture HTTP server. */
async function mirrorWith(name: string, size: number): Promise<{ root: string; server: StaticHttpServer; url: string }> {
  const root = await dir();
  await writeFile(join(root, name), Buffer.alloc(size, 7));
  const server = await StaticHttpServer.start(root);
  mirrors.push(server);
  return { root, server, url: `${server.url}/${name}` };
}

const fast = { timeoutMs: 300, backoffMs: 20 };

describe('download', () => {
  it('retries a transient failure with backoff, then succeeds', async () => {
    const { url, hits } = await serve([503, 503, 'index bytes']);
    const dest = join(await dir(), 'index');
    const lines: string[] = [];
    await download(url, dest, { ...fast, retries: 3, log: (l) => lines.push(l) });
    expect(await readFile(dest, 'utf8')).toBe('index bytes');
    expect(hits()).toBe(3);
    expect(lines[0]).toMatch(/HTTP 503.*retrying in 20 ms \(attempt 2 of 4\)/);
    expect(lines[1]).toMatch(/retrying in 40 ms/);
  });

  it('a server that never answers times out, naming the URL, after every attempt', async () => {
    const { url, hits } = await serve(['hang']);
    const dest = join(await dir(), 'index');
    const started = performance.now();
    const error = await download(url, dest, { ...fast, retries: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toBe(`${url}: no response within 300 ms (after 2 attempts)`);
    expect(hits()).toBe(2);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(existsSync(dest)).toBe(false);
  });

  it('a 404 is not retried', async () => {
    const { url, hits } = await serve([404]);
    await expect(download(url, join(await dir(), 'x'), { ...fast, retries: 3 })).rejects.toThrow(`${url}: HTTP 404`);
    expect(hits()).toBe(1);
  });

  it('refuses more bytes than declared and leaves nothing behind', async () => {
    const { url } = await serve(['0123456789']);
    const d = await dir();
    await expect(download(url, join(d, 'x'), { ...fast, maxBytes: 4 })).rejects.toThrow('more data than the declared 4 bytes');
    expect(await readdir(d)).toEqual([]);
  });

  it('a complete response of the wrong size is an integrity failure: one request, no retry, the package named first', async () => {
    const apk = 'busybox-1.36.1-r2.apk';
    const { url, server } = await mirrorWith(apk, 1000);
    const lines: string[] = [];
    const started = performance.now();
    const error = await download(url, join(await dir(), apk), {
      subject: 'busybox-1.36.1-r2',
      maxBytes: 1234,
      exactSize: true,
      log: (l) => lines.push(l),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as DownloadError).message).toBe(`busybox-1.36.1-r2: ${url}: got 1000 bytes, the index declares 1234`);
    expect((error as DownloadError).transient).toBe(false);
    expect(server.requests).toEqual([`/${apk}`]);
    expect(lines).toEqual([]);
    // The default backoff starts at 500 ms: one retry would already take longer than this.
    expect(performance.now() - started).toBeLessThan(450);
  });

  it('a file on a file mirror that is too short is an integrity failure, not retried', async () => {
    const apk = 'busybox-1.36.1-r2.apk';
    const { root } = await mirrorWith(apk, 1000);
    const url = pathToFileURL(join(root, apk)).toString();
    const lines: string[] = [];
    const started = performance.now();
    await expect(
      download(url, join(await dir(), apk), { subject: 'busybox-1.36.1-r2', maxBytes: 1234, exactSize: true, log: (l) => lines.push(l) }),
    ).rejects.toThrow(`busybox-1.36.1-r2: ${url}: got 1000 bytes, the index declares 1234`);
    expect(lines).toEqual([]);
    expect(performance.now() - started).toBeLessThan(450);
  });

  it('a body cut short before its Content-Length is a transport failure, retried', async () => {
    const apk = 'busybox-1.36.1-r2.apk';
    const { url, server } = await mirrorWith(apk, 200_000);
    server.setFault(`/${apk}`, { kind: 'truncate', afterBytes: 70_000 });
    const lines: string[] = [];
    const d = await dir();
    const error = await download(url, join(d, apk), {
      ...fast,
      retries: 2,
      subject: 'busybox-1.36.1-r2',
      maxBytes: 200_000,
      exactSize: true,
      log: (l) => lines.push(l),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as DownloadError).transient).toBe(true);
    expect((error as DownloadError).message).toMatch(new RegExp(`^busybox-1\\.36\\.1-r2: ${url.replace(/[.]/g, '\\.')}: .*\\(after 3 attempts\\)$`));
    expect(server.requests).toHaveLength(3);
    expect(lines[0]).toMatch(/retrying in 20 ms \(attempt 2 of 3\)/);
    expect(await readdir(d)).toEqual([]);

    server.clearFaults();
    await download(url, join(d, apk), { ...fast, subject: 'busybox-1.36.1-r2', maxBytes: 200_000, exactSize: true });
    expect((await readFile(join(d, apk))).length).toBe(200_000);
  });

  it('reads file URLs and project-relative paths, and names a missing file', async () => {
    const d = await dir();
    await writeFile(join(d, 'APKINDEX.tar.gz'), 'local');
    await download(pathToFileURL(join(d, 'APKINDEX.tar.gz')).toString(), join(d, 'a'));
    await download('APKINDEX.tar.gz', join(d, 'b'), { baseDir: d });
    expect(await readFile(join(d, 'a'), 'utf8')).toBe('local');
    expect(await readFile(join(d, 'b'), 'utf8')).toBe('local');
    await expect(download('nothere.tar.gz', join(d, 'c'), { baseDir: d })).rejects.toThrow(`nothere.tar.gz: no such file (${join(d, 'nothere.tar.gz')})`);
  });

  it('a mirror with no location says how to give one', async () => {
    await expect(download('mirror://alpine/v3.23/main/x86_64/APKINDEX.tar.gz', join(await dir(), 'x'))).rejects.toThrow(
      "no location is configured for mirror 'alpine'; give one with --mirror alpine=<url>",
    );
  });
});
