// Streaming decompression by magic number: gzip (node:zlib), xz and zstd (the host's `xz -dc` and
// `zstd -dc`: Node 20's zlib has no zstd, and the pure-JS decoders are ~12x slower than libzstd on a
// kernel-sized payload). Output is bounded: past `maxBytes` the stream fails with a
// DecompressLimitError and the child process is killed, so a bomb costs at most that many bytes.
import { spawn } from 'node:child_process';
import { PassThrough, Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

export type Compression = 'gzip' | 'xz' | 'zstd' | 'none';

export class DecompressError extends Error {
  override name = 'DecompressError';
}

export class DecompressLimitError extends DecompressError {
  override name = 'DecompressLimitError';
}

/** The compression a buffer's first bytes announce (`none` when no known magic). */
export function sniffCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 6 && head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a && head[3] === 0x58 && head[4] === 0x5a && head[5] === 0x00) return 'xz';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

export interface DecompressOptions {
  /** Refuse output past this many bytes (default: unbounded). */
  maxBytes?: number;
  /** Named in errors (`hello-2.0-1.x86_64.rpm payload`). */
  subject?: string;
  signal?: AbortSignal;
}

/** The host tools the xz and zstd formats need, for stage kinds to declare. */
export const DECOMPRESS_TOOLS = ['xz', 'zstd'] as const;

/**
 * Decompresses `input` (the compression given, or sniffed from its first bytes when `auto`).
 * The result is a Readable of the plain bytes; errors (corrupt data, a truncated stream, the limit)
 * surface on it as DecompressError.
 */
export function decompressStream(input: Readable, compression: Compression | 'auto', options: DecompressOptions = {}): Readable {
  const subject = options.subject ?? 'compressed data';
  const out = new PassThrough();
  const fail = (err: unknown): void => {
    const error = err instanceof DecompressError ? err : new DecompressError(`${subject}: ${(err as Error).message}`);
    if (!out.destroyed) out.destroy(error);
  };
  // The pipelines end in `sink`, not in `out`: a failing pipeline would destroy its last stream
  // with the raw error, before `fail` could name the subject. A consumer that stops reading
  // (destroys `out`) aborts the work.
  const stop = new AbortController();
  // `out` ends only once the whole input is known good: a tool's exit status comes after its
  // last output, and a truncated xz or zstd stream still yields what came before the cut.
  let verified: Promise<void> = Promise.resolve();
  out.once('close', () => stop.abort());
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (out.destroyed) return done();
      if (out.write(chunk)) return done();
      const resume = () => {
        out.off('drain', resume);
        out.off('close', resume);
        done();
      };
      out.on('drain', resume);
      out.on('close', resume);
    },
    final(done) {
      verified.then(() => {
        out.end();
        done();
      }, done);
    },
  });
  (async () => {
    let kind = compression;
    let source: Readable = input;
    if (kind === 'auto') {
      const { head, rest } = await peek(input, 6);
      kind = sniffCompression(head);
      source = rest;
    }
    const limit = limiter(options.maxBytes, subject);
    if (kind === 'none') {
      await pipeline(source, limit, sink, { signal });
    } else if (kind === 'gzip') {
      // 256 KiB output chunks: with the default 16 KiB a metadata parser waited on gunzip half the time.
      await pipeline(source, createGunzip({ chunkSize: 256 << 10 }), limit, sink, { signal });
    } else {
      await throughTool(kind === 'xz' ? 'xz' : 'zstd', source, limit, sink, subject, signal, (exit) => (verified = exit));
    }
  })().catch((err) => {
    if (!stop.signal.aborted || options.signal?.aborted) fail(err);
  });
  return out;
}

/** Decompresses a whole file-sized buffer (small inputs: metadata, test data). */
export async function decompressBuffer(data: Uint8Array, options: DecompressOptions = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of decompressStream(Readable.from([Buffer.from(data)]), 'auto', options)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function limiter(maxBytes: number | undefined, subject: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (maxBytes !== undefined && seen > maxBytes) {
        done(new DecompressLimitError(`${subject}: decompresses to more than ${maxBytes} bytes; refused`));
        return;
      }
      done(null, chunk);
    },
  });
}

async function throughTool(
  tool: 'xz' | 'zstd',
  source: Readable,
  limit: Transform,
  out: Writable,
  subject: string,
  signal: AbortSignal | undefined,
  onExit: (exit: Promise<void>) => void,
): Promise<void> {
  const child = spawn(tool, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(new DecompressError(err.code === 'ENOENT' ? `${subject}: needs \`${tool}\` to decompress (Debian package ${tool === 'xz' ? 'xz-utils' : 'zstd'})` : `${subject}: ${tool}: ${err.message}`)),
    );
    child.on('close', (code) => resolve(code));
  });
  const succeeded = exited.then((code) => {
    if (code !== 0) throw new DecompressError(`${subject}: ${tool} -dc failed (exit ${code}): ${stderr.trim().split('\n').pop() ?? ''}`);
  });
  succeeded.catch(() => {});
  onExit(succeeded);
  // The child's stdin closing early (it refused the data) is reported by its exit status.
  child.stdin.on('error', () => {});
  const feed = pipeline(source, child.stdin, { signal }).catch(() => {});
  try {
    await pipeline(child.stdout, limit, out, { signal });
  } catch (err) {
    child.kill('SIGKILL');
    source.destroy();
    throw err;
  }
  await feed;
  await succeeded;
}

/** Reads at least `n` bytes (fewer at EOF) and gives them back with a stream of everything. */
async function peek(input: Readable, n: number): Promise<{ head: Buffer; rest: Readable }> {
  const chunks: Buffer[] = [];
  let have = 0;
  const iterator = input[Symbol.asyncIterator]();
  while (have < n) {
    const next = await iterator.next();
    if (next.done) break;
    const chunk = Buffer.from(next.value as Uint8Array);
    chunks.push(chunk);
    have += chunk.length;
  }
  const head = Buffer.concat(chunks);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield Buffer.from(next.value as Uint8Array);
    }
  }
  return { head, rest: Readable.from(all()) };
}
