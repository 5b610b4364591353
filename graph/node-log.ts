// A node's log: out/logs/<id>.log, rewritten on each run. Secrets are redacted on the way in,
// so no private-key path ever reaches the file (or the store copy, or a failure report).
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';

export class NodeLog {
  private stream: WriteStream | undefined;
  private partial = '';

  constructor(
    readonly path: string,
    private readonly secrets: Record<string, string>,
  ) {}

  async open(header: string): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    this.stream = createWriteStream(this.path, { flags: 'w' });
    this.line(header);
  }

  /** Hides every secret value behind its name. */
  redact(text: string): string {
    let out = text;
    for (const [name, value] of Object.entries(this.secrets)) {
      if (value) out = out.split(value).join(`<secret:${name}>`);
    }
    return out;
  }

  line(text: string): void {
    this.stream?.write(this.redact(text) + '\n');
  }

  /** Output of a process, possibly cut mid-line: redact whole lines only. */
  chunk(data: Buffer | string): void {
    const text = this.partial + data.toString();
    const cut = text.lastIndexOf('\n');
    if (cut < 0) {
      this.partial = text;
      return;
    }
    this.partial = text.slice(cut + 1);
    this.stream?.write(this.redact(text.slice(0, cut + 1)));
  }

  async close(): Promise<void> {
    if (this.partial) this.line(this.partial);
    this.partial = '';
    const stream = this.stream;
    this.stream = undefined;
    if (stream) await new Promise<void>((resolve) => stream.end(resolve));
  }

  /** The last `count` lines of the log (reads at most the last 64 KiB). */
  async tail(count: number): Promise<string[]> {
    let handle;
    try {
      handle = await open(this.path, 'r');
      const { size } = await handle.stat();
      const length = Math.min(size, 64 * 1024);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      const lines = buffer.toString('utf8').split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      return lines.slice(-count);
    } catch {
      return [];
    } finally {
      await handle?.close();
    }
  }
}
