// How far an RPM payload may expand. A signature vouches for who built a package, not for its
// being harmless, so the payload is held to a bound before its bytes are trusted:
//
// - the signed header declares the installed size (SIZE 1009 / LONGSIZE 5009: the sum of the
//   files' sizes) and every file's size; the cpio payload is those bytes plus, per member, a
//   110-byte header, the name (at most PATH_MAX) and padding to 4 bytes;
// - when the signature header gives the payload's exact size (1007 / 271), that is the bound;
// - never past the ceiling: 4 GiB unless the variant raises it (EL9's largest packages,
//   linux-firmware and texlive bits, install well under 1 GiB).

/** The most any one package may unpack to, unless the variant raises it. */
export const DEFAULT_MAX_UNPACKED_BYTES = 4 * 1024 ** 3;

/** A newc header, a PATH_MAX name and its padding. */
export const MEMBER_ALLOWANCE = 110 + 4096 + 4;
/** The trailer and any zero padding after it. */
export const ARCHIVE_ALLOWANCE = 64 << 10;
/** Room for a builder whose SIZE counts a little less than the files hold. */
export const DECLARED_TOLERANCE = 1.02;

/** The bound the decompressed payload is held to, as a function of the members read so far. */
export function payloadLimit(declared: number | undefined, exact: number | undefined, ceiling: number): (members: number) => number {
  if (exact !== undefined) return () => Math.min(exact, ceiling);
  if (declared === undefined) return () => ceiling;
  const base = Math.ceil(declared * DECLARED_TOLERANCE) + ARCHIVE_ALLOWANCE;
  return (members) => Math.min(ceiling, base + members * MEMBER_ALLOWANCE);
}

/** The variant key that sets the ceiling, for messages that tell how to raise it. */
export const CEILING_KEY = 'rpm.max_unpacked_size';
