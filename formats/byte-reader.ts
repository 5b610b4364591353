// Pulling exact byte counts out of a chunked stream, for the archive readers (tar, RPM's cpio):
// headers are read whole, member bodies are streamed in the source's own chunks, never copied
// unless a read spans chunks.

/** Pull-based reader over chunks; hands out views into the source buffers when it can. */
export class ByteReader {
  /** Bytes handed out so far: the offset of the next byte in the stream. */
  position = 0;
  private chunk: Buffer = Buffer.alloc(0);
  private chunkOffset = 0;
  private readonly iterator: AsyncIterator<Uint8Array> | undefined;
  private ended = false;

  /** A whole buffer in memory, or a stream of chunks (a Node Readable is one). */
  constructor(source: Uint8Array | AsyncIterable<Uint8Array>) {
    if (source instanceof Uint8Array) {
      this.chunk = Buffer.isBuffer(source) ? source : Buffer.from(source.buffer, source.byteOffset, source.byteLength);
      this.ended = true;
    } else {
      this.iterator = source[Symbol.asyncIterator]();
    }
  }

  /** Up to `n` bytes (fewer only at the end of the stream). */
  async read(n: number): Promise<Buffer> {
    if (this.chunk.length - this.chunkOffset >= n) return this.take(n);
    const parts: Buffer[] = [];
    let need = n;
    for (;;) {
      const have = this.chunk.length - this.chunkOffset;
      if (have >= need) {
        parts.push(this.take(need));
        break;
      }
      if (have > 0) {
        parts.push(this.take(have));
        need -= have;
      }
      if (!(await this.pull())) break;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  /** Up to `n` bytes without copying (what is left of the current chunk); empty at the end of the stream. */
  async readSome(n: number): Promise<Buffer> {
    if (this.chunk.length - this.chunkOffset === 0 && !(await this.pull())) return Buffer.alloc(0);
    return this.take(Math.min(n, this.chunk.length - this.chunkOffset));
  }

  /** Passes over `n` bytes; `truncated` is called (and must throw) if the stream ends first. */
  async skip(n: number, truncated: () => never): Promise<void> {
    while (n > 0) {
      const piece = await this.readSome(n);
      if (piece.length === 0) truncated();
      n -= piece.length;
    }
  }

  private take(n: number): Buffer {
    const out = this.chunk.subarray(this.chunkOffset, this.chunkOffset + n);
    this.chunkOffset += n;
    this.position += n;
    return out;
  }

  private async pull(): Promise<boolean> {
    while (!this.ended && this.iterator) {
      const next = await this.iterator.next();
      if (next.done) {
        this.ended = true;
        break;
      }
      const value = next.value;
      if (value.length === 0) continue;
      this.chunk = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      this.chunkOffset = 0;
      return true;
    }
    return false;
  }
}

/**
 * The data of one archive member, `size` bytes followed by `padding` bytes of alignment, streamed
 * from the reader. The archive reader calls finish() before reading the next header, which skips
 * whatever the consumer left unread.
 */
export class MemberBody implements AsyncIterable<Buffer> {
  private remaining: number;
  private padding: number;
  private started = false;

  constructor(
    private readonly input: ByteReader,
    size: number,
    padding: number,
    /** Names the member in the read-twice error: `tar entry etc/passwd`. */
    private readonly what: string,
    /** Throws the archive's own error when the stream ends inside the member. */
    private readonly truncated: () => never,
  ) {
    this.remaining = size;
    this.padding = padding;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    if (this.started) throw new Error(`${this.what}: body read twice`);
    this.started = true;
    while (this.remaining > 0) {
      const piece = await this.input.readSome(this.remaining);
      if (piece.length === 0) this.truncated();
      this.remaining -= piece.length;
      yield piece;
    }
  }

  /** Skips what the consumer left, then the padding. */
  async finish(): Promise<void> {
    this.started = true;
    await this.input.skip(this.remaining, this.truncated);
    this.remaining = 0;
    await this.input.skip(this.padding, this.truncated);
    this.padding = 0;
  }
}
