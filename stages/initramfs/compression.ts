// How the initramfs image is compressed. The kernel must have the decompressor built in
// (CONFIG_RD_ZSTD, CONFIG_RD_GZIP): Debian's 6.1 kernel has both, and boots both in the tests.
export type CompressionFormat = 'zstd' | 'gzip';

export interface Compression {
  format: CompressionFormat;
  level: number;
}

/**
 * Chosen by measurement: Debian 6.1 kernel, default module list (52 modules, 9.7 MB of cpio),
 * whole build including depmod, 2 shared cores:
 *   gzip -6 3.07 MB 1.0 s | gzip -9 3.04 MB 3.4 s | zstd -3 3.01 MB 1.0 s
 *   zstd -9 2.68 MB 1.0 s | zstd -15 2.66 MB 1.9 s | zstd -19 2.40 MB 4.4 s
 * zstd -19 is the smallest (-21% against gzip -9) and decompresses fastest; its extra seconds
 * are paid only when the kernel, busybox, module list or /init change (the node is cached).
 */
export const DEFAULT_COMPRESSION: Compression = { format: 'zstd', level: 19 };

export class CompressionError extends Error {
  override name = 'CompressionError';
}

// zstd stops at 19: levels 20-22 need --ultra and windows of up to 128 MiB, which the
// kernel's early decompressor would have to allocate.
const LEVELS: Record<CompressionFormat, [number, number]> = { zstd: [1, 19], gzip: [1, 9] };

export function validateCompression(value: unknown, source: string): Compression {
  const candidate = value as Partial<Compression> | null;
  const format = candidate?.format;
  if (format !== 'zstd' && format !== 'gzip') {
    throw new CompressionError(`${source}: compression format must be 'zstd' or 'gzip'; got ${JSON.stringify(format)}`);
  }
  const [low, high] = LEVELS[format];
  const level = candidate?.level;
  if (typeof level !== 'number' || !Number.isInteger(level) || level < low || level > high) {
    throw new CompressionError(`${source}: ${format} level must be a whole number from ${low} to ${high}; got ${JSON.stringify(level)}`);
  }
  return { format, level };
}

/** The host tool and arguments that compress stdin to stdout, reproducibly. */
export function compressorCommand(compression: Compression): { tool: CompressionFormat; args: string[] } {
  switch (compression.format) {
    case 'zstd':
      // -T1: one worker thread, whatever the machine, so the frame layout never varies.
      return { tool: 'zstd', args: ['-q', `-${compression.level}`, '-T1', '-c'] };
    case 'gzip':
      // -n: no file name or time stamp in the gzip header.
      return { tool: 'gzip', args: ['-n', `-${compression.level}`, '-c'] };
  }
}
