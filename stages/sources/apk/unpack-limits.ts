// How far the archives of an Alpine source may expand when unpacked. A few KiB of gzip can
// inflate to gigabytes (a decompression bomb), and a package's signature vouches for who built it,
// not for its being harmless, so every archive is held to a bound before its bytes are trusted:
//
// - a package's data member: the installed size its signed .PKGINFO declares (`size`, the index's
//   `I:`), with a tolerance for what tar adds and du does not count, and never past the ceiling;
// - its signature and control members: 16 MiB (real ones are a few KiB);
// - an APKINDEX.tar.gz: 512 MiB (the most an APKINDEX entry may hold) or the ceiling if lower.
//
// The ceiling is 2 GiB unless a variant sets `alpine.max_unpacked_size`: four times the largest
// installed size in Alpine 3.16 main (clang-static, 525,004,800 bytes).

/** The most any one package or index may unpack to, unless the variant raises it. */
export const DEFAULT_MAX_UNPACKED_BYTES = 2 * 1024 ** 3;

/** A package's signature and control members together (.PKGINFO and scripts, a few KiB in practice). */
export const HEAD_MAX_UNPACKED_BYTES = 16 << 20;

/** An APKINDEX.tar.gz, all members (the APKINDEX entry itself is read up to 512 MiB). */
export const INDEX_MAX_UNPACKED_BYTES = 512 << 20;

/**
 * The declared installed size is du's count of the package tree: 4 KiB blocks per file and
 * directory. The data tar holds the same bytes plus, per entry, a 512-byte header, a pax header
 * (512 bytes and a block of records: the SHA-1, long paths, xattrs) and up to 511 bytes of body
 * padding; symlinks, hardlinks and empty files, which du counts as nothing, cost exactly that.
 * Measured on the demo packages built from Debian's: tar bytes / declared size is 0.42 to 1.003
 * for packages with files (busybox: 3 entries of 2 KiB over), 2.5 for empty ones (a 10 KiB tar
 * record against a 4 KiB root).
 */
export const ENTRY_ALLOWANCE = 4096;
/** End-of-archive blocks and record padding (GNU tar pads to 10 KiB). */
export const ARCHIVE_ALLOWANCE = 64 << 10;
/** Room for builders whose du counts fewer bytes than the files hold (sparse files, compressing filesystems). */
export const DECLARED_FACTOR = 1.5;

/** The bound a data tar is held to, as a function of the entries read so far (readTar's maxBytes). */
export function dataMemberLimit(declared: number | undefined, ceiling: number): (entries: number) => number {
  if (declared === undefined) return () => ceiling;
  const base = Math.ceil(declared * DECLARED_FACTOR) + ARCHIVE_ALLOWANCE;
  return (entries) => Math.min(ceiling, base + entries * ENTRY_ALLOWANCE);
}

/** The variant key that sets the ceiling, for messages that tell how to raise it. */
export const CEILING_KEY = 'alpine.max_unpacked_size';
