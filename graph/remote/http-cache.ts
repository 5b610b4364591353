// A client of Bazel's HTTP remote cache protocol: GET/PUT <base>/ac/<key> (action results) and
// GET/PUT/HEAD <base>/cas/<sha256> (blobs). node:http rather than fetch, for streamed bodies with
// backpressure and a socket-level timeout (connect + idle) per request.
//
// Faults are RemoteCacheError (transient: worth a retry) or RemoteIntegrityError (the server
// answered, with bytes that are not what was asked for: never retried). Transient faults are
// retried with exponential backoff; a refused connection only once, so a dead server costs little.
// The bearer token is kept in a private field and masked in every message: it never reaches an
// error, its properties or the stats.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit, { type LimitFunction } from 'p-limit';
import { pipeToFile } from '../../util/file-stream.js';

export interface HttpCacheOptions {
  /** Base URL, may have a path prefix: `http://127.0.0.1:9090/cache`. */
  url: string;
  token?: string;
  /** Per request: connect, then any silence of the socket. Default 30000. */
  timeoutMs?: number;
  /** Requests in flight at once; more wait in a queue. Default 4. */
  concurrency?: number;
  /** Retries of a transient fault. Default 2. */
  retries?: number;
  /** First backoff; it doubles per retry. Default 200. */
  backoffMs?: number;
}

export interface HttpCacheStats {
  /** Requests sent, retries included. */
  requests: number;
  bytesDown: number;
  bytesUp: number;
  retries: number;
  /** Wall milliseconds requests were in flight, summed (overlapping requests each count). */
  requestMs: number;
}

/** A server or transport fault. */
export class RemoteCacheError extends Error {
  transient: boolean;
  status?: number;
  /** The system error code of a transport fault (ECONNREFUSED, ECONNRESET, ETIMEDOUT...). */
  code?: string;

  constructor(message: string, options: { transient: boolean; status?: number; code?: string }) {
    super(message);
    this.name = 'RemoteCacheError';
    this.transient = options.transient;
    if (options.status !== undefined) this.status = options.status;
    if (options.code !== undefined) this.code = options.code;
  }
}

/** The server sent bytes that are not what was asked for (wrong digest, wrong length, too big). */
export class RemoteIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RemoteIntegrityError';
  }
}

/**
 * A body that stops before its end is the connection's fault (a server dying, a proxy timing
 * out), not bytes that lie: transient, so retried, and a fault of the server when it persists.
 */
function cutShort(message: string): RemoteCacheError {
  return new RemoteCacheError(message, { transient: true, code: 'ETRUNCATED' });
}

/** An action-cache entry is small (a signed ActionResult): anything bigger is not ours. */
export const MAX_AC_BYTES = 4 << 20;

const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/** Faults that say nobody is there: retried once at most. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);
const HEX64 = /^[0-9a-f]{64}$/;

type Kind = 'ac' | 'cas';

interface Body {
  /** A fresh stream per attempt (a retry sends it again). */
  open(): Readable;
  length: number;
}

export class HttpCache {
  readonly stats: HttpCacheStats = { requests: 0, bytesDown: 0, bytesUp: 0, retries: 0, requestMs: 0 };
  /** The base URL as shown in messages. */
  readonly url: string;
  private readonly base: URL;
  private readonly transport: typeof http | typeof https;
  private readonly agent: http.Agent;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly limit: LimitFunction;
  // ES private: invisible to util.inspect, JSON.stringify and property enumeration.
  readonly #token: string | undefined;

  constructor(options: HttpCacheOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new Error(`remote cache URL ${JSON.stringify(options.url)} is not a URL`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error(`remote cache URL ${base.origin}: only http: and https: are supported`);
    if (base.username || base.password) throw new Error(`remote cache URL ${base.host}: credentials in the URL are not accepted; give a token (remote_cache.token_env)`);
    if (base.search || base.hash) throw new Error(`remote cache URL ${base.origin}${base.pathname}: a query or fragment is not accepted`);
    base.pathname = base.pathname.replace(/\/+$/, '');
    this.base = base;
    this.url = `${base.origin}${base.pathname}`;
    this.#token = options.token || undefined;
    this.timeoutMs = positive(options.timeoutMs, 30_000, 'timeoutMs');
    this.retries = nonNegative(options.retries, 2, 'retries');
    this.backoffMs = nonNegative(options.backoffMs, 200, 'backoffMs');
    const concurrency = positive(options.concurrency, 4, 'concurrency');
    if (!Number.isInteger(concurrency)) throw new Error(`remote cache: concurrency must be a whole number, not ${concurrency}`);
    this.limit = pLimit(concurrency);
    this.transport = base.protocol === 'https:' ? https : http;
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: concurrency });
  }

  /** The entry under `key`, or undefined when the server has none (404). */
  async getAc(key: string): Promise<Buffer | undefined> {
    const path = this.path('ac', key);
    return this.withRetries('GET', path, () =>
      this.attempt('GET', path, undefined, async (res) => {
        if (res.statusCode === 404) return discard(res, undefined);
        this.expectOk('GET', path, res);
        const declared = contentLength(res);
        if (declared !== undefined && declared > MAX_AC_BYTES) {
          res.destroy();
          throw new RemoteIntegrityError(`GET ${this.show(path)}: an action-cache entry of ${declared} bytes (more than ${MAX_AC_BYTES})`);
        }
        const chunks: Buffer[] = [];
        let got = 0;
        try {
          for await (const chunk of res as AsyncIterable<Buffer>) {
            got += chunk.length;
            this.stats.bytesDown += chunk.length;
            if (got > MAX_AC_BYTES) {
              res.destroy();
              throw new RemoteIntegrityError(`GET ${this.show(path)}: an action-cache entry of more than ${MAX_AC_BYTES} bytes`);
            }
            chunks.push(chunk);
          }
        } catch (err) {
          if (err instanceof RemoteIntegrityError) throw err;
          throw cutShort(`GET ${this.show(path)}: the body ended early after ${got}${declared !== undefined ? ` of ${declared}` : ''} bytes`);
        }
        return Buffer.concat(chunks);
      }),
    );
  }

  async putAc(key: string, body: Buffer): Promise<void> {
    const path = this.path('ac', key);
    await this.withRetries('PUT', path, () => this.attempt('PUT', path, bufferBody(body), async (res) => discard(res, this.expectOk('PUT', path, res))));
  }

  /** Whether the server has the blob (HEAD; 404 is false). */
  async hasCas(sha256: string): Promise<boolean> {
    const path = this.path('cas', sha256);
    return this.withRetries('HEAD', path, () =>
      this.attempt('HEAD', path, undefined, async (res) => {
        if (res.statusCode === 404) return discard(res, false);
        this.expectOk('HEAD', path, res);
        return discard(res, true);
      }),
    );
  }

  /**
   * Streams the blob into `file`, hashing it on the way. Bytes whose SHA-256 or length is not the
   * one asked for, a body cut short included, are a RemoteIntegrityError. On any error `file` is gone.
   */
  async getCasToFile(sha256: string, size: number, file: string): Promise<void> {
    const path = this.path('cas', sha256);
    if (!Number.isSafeInteger(size) || size < 0) throw new Error(`GET ${this.show(path)}: size ${size} is not a byte count`);
    await this.withRetries('GET', path, () =>
      this.attempt('GET', path, undefined, async (res) => {
        this.expectOk('GET', path, res);
        const declared = contentLength(res);
        if (declared !== undefined && declared !== size) {
          res.destroy();
          throw new RemoteIntegrityError(`GET ${this.show(path)}: the server sends ${declared} bytes, ${size} were expected`);
        }
        const check = new Verifier(size, () => new RemoteIntegrityError(`GET ${this.show(path)}: the body is longer than the expected ${size} bytes`), (n) => (this.stats.bytesDown += n));
        try {
          await pipeToFile(file, res, [check]);
        } catch (err) {
          if (err instanceof RemoteIntegrityError) throw err;
          if (isLocalFileError(err)) throw err; // writing the file failed: not the server's fault
          throw cutShort(`GET ${this.show(path)}: the body ended early after ${check.bytes} of ${size} bytes`);
        }
        const actual = check.digest();
        if (check.bytes !== size || actual !== sha256) {
          await rm(file, { force: true });
          throw new RemoteIntegrityError(
            check.bytes !== size ? `GET ${this.show(path)}: the body has ${check.bytes} bytes, ${size} were expected` : `GET ${this.show(path)}: the body's sha256 is ${actual}`,
          );
        }
      }),
    );
  }

  /**
   * Uploads `file` under `sha256` with its content-length. The file is hashed on the way and its
   * last chunk held back until the hash is checked: a file that is not `sha256` never reaches the
   * server whole, so the server cannot store it.
   */
  async putCasFromFile(sha256: string, file: string): Promise<void> {
    const path = this.path('cas', sha256);
    const { size } = await stat(file);
    const body: Body = {
      length: size,
      open: () => {
        const source = createReadStream(file, { highWaterMark: 1 << 20 });
        const holdBack = new HoldLastChunk((digest) => (digest === sha256 ? undefined : new Error(`PUT ${this.show(path)}: ${file} has sha256 ${digest}, not the one it is uploaded under`)));
        source.on('error', (err) => holdBack.destroy(err));
        return source.pipe(holdBack);
      },
    };
    await this.withRetries('PUT', path, () => this.attempt('PUT', path, body, async (res) => discard(res, this.expectOk('PUT', path, res))));
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private path(kind: Kind, hex: string): string {
    if (typeof hex !== 'string' || !HEX64.test(hex)) {
      throw new Error(this.mask(`remote cache: ${kind === 'ac' ? 'action key' : 'blob digest'} ${JSON.stringify(String(hex).slice(0, 80))} is not 64 lowercase hex digits`));
    }
    return `${this.base.pathname}/${kind}/${hex}`;
  }

  private show(path: string): string {
    return this.mask(`${this.base.origin}${path}`);
  }

  /** Masks the token out of text that came from elsewhere (a server's status line, a system error). */
  private mask(text: string): string {
    return this.#token ? text.split(this.#token).join('<token>') : text;
  }

  private expectOk(method: string, path: string, res: IncomingMessage): void {
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return;
    res.resume();
    // The status line only: a body could echo the request's headers back.
    throw new RemoteCacheError(this.mask(`${method} ${this.show(path)}: HTTP ${status} ${res.statusMessage ?? ''}`.trimEnd()), {
      transient: TRANSIENT_STATUS.has(status),
      status,
    });
  }

  private async withRetries<T>(method: string, path: string, attempt: () => Promise<T>): Promise<T> {
    let unreachable = 0;
    for (let n = 0; ; n++) {
      try {
        return await this.limit(async () => {
          const started = performance.now();
          try {
            return await attempt();
          } finally {
            this.stats.requestMs += performance.now() - started;
          }
        });
      } catch (err) {
        if (!(err instanceof RemoteCacheError) || !err.transient) throw err;
        if (err.code && UNREACHABLE_CODES.has(err.code)) unreachable++;
        if (n >= this.retries || unreachable > 1) {
          if (n > 0) err.message += ` (after ${n + 1} attempts)`;
          throw err;
        }
        this.stats.retries++;
        await sleep(this.backoffMs * 2 ** n);
      }
    }
  }

  /** One request. Its outcome is `onResponse`'s once a response came; a transport fault before that. */
  private attempt<T>(method: string, path: string, body: Body | undefined, onResponse: (res: IncomingMessage) => Promise<T>): Promise<T> {
    this.stats.requests++;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let responded = false;
      let timedOut: RemoteCacheError | undefined;
      let bodyError: Error | undefined;
      const finish = (err: unknown, value?: T): void => {
        if (settled) return;
        settled = true;
        if (err) reject(timedOut ?? bodyError ?? err);
        else resolve(value as T);
      };
      const headers: OutgoingHttpHeaders = {};
      if (this.#token) headers.authorization = `Bearer ${this.#token}`;
      if (body) {
        headers['content-length'] = body.length;
        headers['content-type'] = 'application/octet-stream';
      }
      const req = this.transport.request({
        protocol: this.base.protocol,
        hostname: this.base.hostname,
        port: this.base.port,
        method,
        path,
        headers,
        agent: this.agent,
        // Socket timeout: while connecting, then any silence (headers or body) this long.
        timeout: this.timeoutMs,
      });
      req.on('timeout', () => {
        timedOut = new RemoteCacheError(`${method} ${this.show(path)}: no answer within ${this.timeoutMs} ms`, { transient: true, code: 'ETIMEDOUT' });
        req.destroy(timedOut);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        // After a response the outcome is the response handler's (it sees the body's end).
        if (responded && !timedOut) return;
        finish(bodyError ?? this.transportError(method, path, err));
      });
      req.on('response', (res) => {
        responded = true;
        onResponse(res).then(
          (value) => finish(undefined, value),
          (err) => finish(err),
        );
      });
      if (!body) {
        req.end();
        return;
      }
      const counter = new Transform({
        transform: (chunk: Buffer, _encoding, callback) => {
          this.stats.bytesUp += chunk.length;
          callback(null, chunk);
        },
      });
      const source = body.open();
      // A local fault of the body (unreadable file, wrong digest) is the outcome, not the broken request it causes.
      source.on('error', (err) => (bodyError ??= err));
      pipeline(source, counter, req).catch((err: Error) => {
        // A server that answers before reading the whole body (401, 413) makes the rest fail: its answer counts.
        if (!responded) finish(bodyError ?? this.transportError(method, path, err));
      });
    });
  }

  private transportError(method: string, path: string, err: NodeJS.ErrnoException): RemoteCacheError {
    const code = typeof err.code === 'string' ? err.code : undefined;
    const transient = (code !== undefined && TRANSIENT_CODES.has(code)) || /socket hang up/i.test(err.message);
    return new RemoteCacheError(this.mask(`${method} ${this.show(path)}: ${err.message || code || 'connection failed'}`), { transient, ...(code ? { code } : {}) });
  }
}

function bufferBody(data: Buffer): Body {
  // In an array: Readable.from(buffer) would send it byte by byte.
  return { length: data.length, open: () => Readable.from([data]) };
}

/** Counts and hashes what passes; fails as soon as more than `limit` bytes came. */
class Verifier extends Transform {
  bytes = 0;
  private readonly hash = createHash('sha256');

  constructor(
    private readonly limit: number,
    private readonly tooLong: () => Error,
    private readonly onBytes: (n: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.onBytes(chunk.length);
    if (this.bytes > this.limit) return callback(this.tooLong());
    this.hash.update(chunk);
    callback(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Passes chunks on one step late, and the last only when `check(sha256 of everything)` finds no fault. */
class HoldLastChunk extends Transform {
  private held: Buffer | undefined;
  private readonly hash = createHash('sha256');

  constructor(private readonly check: (sha256: string) => Error | undefined) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    const previous = this.held;
    this.held = chunk;
    callback(null, previous);
  }

  override _flush(callback: TransformCallback): void {
    const fault = this.check(this.hash.digest('hex'));
    if (fault) return callback(fault);
    callback(null, this.held);
  }
}

function isLocalFileError(err: unknown): boolean {
  const syscall = (err as NodeJS.ErrnoException)?.syscall;
  return syscall === 'open' || syscall === 'write' || syscall === 'close' || syscall === 'fsync';
}

function contentLength(res: IncomingMessage): number | undefined {
  const value = res.headers['content-length'];
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/** Drains a response whose body does not matter, so its connection can be reused. */
function discard<T>(res: IncomingMessage, value: T): T {
  res.resume();
  return value;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`remote cache: ${name} must be a positive number, not ${value}`);
  return v;
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0) throw new Error(`remote cache: ${name} must be zero or more, not ${value}`);
  return v;
}
