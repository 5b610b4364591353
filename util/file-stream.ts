// Writing a stream into a file that is removed when the write fails. A write stream opens its file
// asynchronously: when a pipeline fails before that open completes (a source that errors at once,
// a size limit hit in the first chunk), the file appears after the failure, and an rm run right
// away finds nothing to remove and leaves a stray file behind. Wait for the stream to close first.
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Pipes `source` (through `transforms`) into `path`; on failure `path` is gone when this rejects. */
export async function pipeToFile(path: string, source: Readable, transforms: Transform[] = [], signal?: AbortSignal): Promise<void> {
  const sink = createWriteStream(path);
  try {
    await pipeline([source, ...transforms, sink], { signal });
  } catch (err) {
    await closed(sink);
    await rm(path, { force: true });
    throw err;
  }
}

function closed(stream: WriteStream): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => stream.once('close', () => resolve()));
}
