// Downloads for source nodes: http(s) and file URLs (and project-relative paths), with
// connect/idle timeouts, retries with exponential backoff on transport failures, a size limit,
// and atomic placement (temp file, then rename). Every error names what is downloaded (when the
// caller says) and the URL.
//
// Only transport failures are retried: a refused or reset connection, a timeout, a 5xx, a body
// cut short before its Content-Length. A complete answer that is wrong (a 404, a file of another
// size than the index declares, from a server or a file mirror) is final: asking again gets the
// same bytes, and retrying it only hides the problem behind seconds of backoff.
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { dirname, isAbsolute, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pipeToFile } from '../../util/file-stream.js';

export class DownloadError extends Error {
  override name = 'DownloadError';
  constructor(
    message: string,
    readonly url: string,
    /** A transport failure, worth another attempt (a timeout, a reset, a 5xx), as opposed to a 404 or a wrong size. */
    readonly transient: boolean,
  ) {
    super(message);
  }
}

export interface DownloadOptions {
  /** What is downloaded (`busybox-1.36.1-r2`): the first words of every error and retry line. */
  subject?: string;
  /** No response headers (or no data for a while) after this long: the attempt fails. Default 30 s. */
  timeoutMs?: number;
  /** Further attempts after a transient failure. Default 3. */
  retries?: number;
  /** First backoff delay; doubles each retry. Default 500 ms. */
  backoffMs?: number;
  /** Refuse more bytes than this (a declared size); also checks the final size when `exact`. */
  maxBytes?: number;
  exactSize?: boolean;
  signal?: AbortSignal;
  /** Where relative paths are resolved (the project root). */
  baseDir?: string;
  log?: (line: string) => void;
}

/** Joins a repository base (URL or path) and a file name. */
export function joinLocation(base: string, name: string): string {
  return base.endsWith('/') ? base + name : `${base}/${name}`;
}

export async function download(location: string, dest: string, options: DownloadOptions = {}): Promise<void> {
  await withRetries(location, options, () => attemptDownload(location, dest, options));
}

/** Runs `attempt` again after transient failures, with exponential backoff; errors are named. */
async function withRetries<T>(location: string, options: DownloadOptions, attempt: () => Promise<T>): Promise<T> {
  const retries = options.retries ?? 3;
  let delay = options.backoffMs ?? 500;
  const named = (message: string): string => (options.subject ? `${options.subject}: ${message}` : message);
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const e = err instanceof DownloadError ? err : new DownloadError(`${location}: ${(err as Error).message}`, location, true);
      if (!e.transient || n >= retries || options.signal?.aborted) {
        const after = n > 0 ? ` (after ${n + 1} attempts)` : '';
        throw new DownloadError(named(e.message) + after, location, e.transient);
      }
      options.log?.(`${named(e.message)}; retrying in ${delay} ms (attempt ${n + 2} of ${retries + 1})`);
      await sleep(delay, options.signal);
      delay *= 2;
    }
  }
}

async function attemptDownload(location: string, dest: string, options: DownloadOptions): Promise<void> {
  const source = await open(location, options);
  const temp = `${dest}.part-${process.pid}`;
  await mkdir(dirname(dest), { recursive: true });
  let received = 0;
  const limit = options.maxBytes;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      if (limit !== undefined && received > limit) {
        done(new DownloadError(`${location}: more data than the declared ${limit} bytes; refusing it`, location, false));
      } else done(null, chunk);
    },
  });
  try {
    await pipeToFile(temp, source, [counter], options.signal);
    // The transfer completed (a body cut short of its Content-Length fails the pipeline above,
    // as a transport error): a size that still differs is the file's, and final.
    if (options.exactSize && limit !== undefined && received !== limit) {
      throw new DownloadError(`${location}: got ${received} bytes, the index declares ${limit}`, location, false);
    }
    await rename(temp, dest);
  } catch (err) {
    await rm(temp, { force: true });
    if (err instanceof DownloadError) throw err;
    if ((err as Error).name === 'AbortError') throw err;
    throw new DownloadError(`${location}: ${(err as Error).message}`, location, true);
  }
}

/**
 * The first bytes of a file, read until `wanted(bytesSoFar)` says how many are enough (undefined:
 * not known yet), then the transfer is dropped: a package's header without its payload. Retried
 * like a download; fails when the file ends first or the head would pass `maxBytes`.
 */
export async function readHead(location: string, wanted: (head: Buffer) => number | undefined, options: DownloadOptions & { maxBytes: number }): Promise<Buffer> {
  return withRetries(location, options, () => attemptHead(location, wanted, options));
}

async function attemptHead(location: string, wanted: (head: Buffer) => number | undefined, options: DownloadOptions & { maxBytes: number }): Promise<Buffer> {
  const source = await open(location, options);
  const chunks: Buffer[] = [];
  let have = 0;
  try {
    for await (const chunk of source) {
      chunks.push(chunk as Buffer);
      have += (chunk as Buffer).length;
      const head = Buffer.concat(chunks);
      chunks.length = 0;
      chunks.push(head);
      const need = wanted(head);
      if (need !== undefined && have >= need) return head.subarray(0, need);
      if (have > options.maxBytes || (need !== undefined && need > options.maxBytes)) {
        throw new DownloadError(`${location}: the head is larger than ${options.maxBytes} bytes; refusing it`, location, false);
      }
    }
  } finally {
    source.destroy();
  }
  throw new DownloadError(`${location}: the file ends after ${have} bytes, before its head does`, location, false);
}

async function open(location: string, options: DownloadOptions): Promise<Readable> {
  if (/^https?:\/\//.test(location)) return openHttp(location, options);
  const symbolic = /^mirror:\/\/([^/]+)/.exec(location);
  if (symbolic) {
    const name = symbolic[1];
    throw new DownloadError(
      `${location}: no location is configured for mirror '${name}'; give one with --mirror ${name}=<url> ` +
        `or under mirrors: in pipeline.config.yaml (a URL, a file URL or a project-relative path)`,
      location,
      false,
    );
  }
  const path = location.startsWith('file://') ? fileURLToPath(location) : isAbsolute(location) ? location : join(options.baseDir ?? process.cwd(), location);
  try {
    await stat(path);
  } catch {
    throw new DownloadError(`${location}: no such file (${path})`, location, false);
  }
  return createReadStream(path);
}

function openHttp(url: string, options: DownloadOptions, redirects = 0): Promise<Readable> {
  const timeout = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const req = get(url, { timeout, signal: options.signal }, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location && redirects < 5) {
        res.resume();
        resolve(openHttp(new URL(res.headers.location, url).toString(), options, redirects + 1));
        return;
      }
      if (status !== 200) {
        res.resume();
        reject(new DownloadError(`${url}: HTTP ${status} ${res.statusMessage ?? ''}`.trim(), url, status >= 500 || status === 429 || status === 408));
        return;
      }
      // An idle connection mid-body is a failure too, not a hang.
      res.setTimeout(timeout, () => res.destroy(new DownloadError(`${url}: no data for ${timeout} ms`, url, true)));
      resolve(res);
    });
    req.on('timeout', () => req.destroy(new DownloadError(`${url}: no response within ${timeout} ms`, url, true)));
    req.on('error', (err) => {
      if (err instanceof DownloadError) reject(err);
      else if ((err as NodeJS.ErrnoException).code === 'ABORT_ERR') reject(err);
      else reject(new DownloadError(`${url}: ${describeNetError(err as NodeJS.ErrnoException)}`, url, true));
    });
  });
}

function describeNetError(err: NodeJS.ErrnoException): string {
  if (err.code === 'ECONNREFUSED') return 'connection refused (is the mirror up?)';
  if (err.code === 'ENOTFOUND') return 'host not found';
  if (err.code === 'ECONNRESET') return 'connection reset';
  return err.message;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason ?? new Error('aborted'));
    }, { once: true });
  });
}
