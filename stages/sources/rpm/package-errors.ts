// Why an RPM package was refused: one error class for every check, naming the package and, when
// there is one, the file or payload member concerned.

/** Why a package was refused; tests and callers switch on this. */
export type RpmRejectReason =
  | 'size' // file size differs from the repository's
  | 'checksum' // file digest differs from the repository's
  | 'truncated' // the file ends inside the lead, a header or the payload
  | 'format' // not an RPM v4 package (bad lead, header, region, v3 format), or a malformed header
  | 'identity' // the header names another package than the one asked for
  | 'digest-missing' // no SHA-256 header digest (273) or payload digest (5092): rpm < 4.14
  | 'header-digest' // the main header does not match its digest (273, 269) or the declared SIZE
  | 'payload-digest' // the compressed payload does not match PAYLOADDIGEST (5092), or MD5 (1004); or 5097, 1007
  | 'signature-missing'
  | 'signature-unknown-key'
  | 'signature-bad'
  | 'signature-unsupported' // an algorithm we cannot verify (named), a v3 or v6 signature packet
  | 'decompress' // the payload does not decompress
  | 'payload' // cpio malformed, a member not in the header, a header file missing, sizes disagree
  | 'file-digest' // a file does not match its FILEDIGESTS entry
  | 'unsafe-path' // absolute, `..`, through a symlink or a non-directory, duplicate
  | 'unsafe-link' // a symlink without a target
  | 'unpacked-size'; // more than its declared installed size allows, or than the ceiling

export class RpmPackageError extends Error {
  constructor(
    readonly reason: RpmRejectReason,
    /** `name-evr.arch` of the package (or the file name when unknown). */
    readonly pkg: string,
    message: string,
    /** The header file or payload member concerned, when there is one. */
    readonly entry?: string,
    options?: { cause?: unknown },
  ) {
    super(`${pkg}${entry !== undefined ? ` (entry ${JSON.stringify(entry)})` : ''}: ${message}`, options);
    this.name = 'RpmPackageError';
  }
}

export type Reject = (reason: RpmRejectReason, message: string, entry?: string, cause?: unknown) => never;

export function rejecter(pkg: string): Reject {
  return (reason, message, entry, cause) => {
    throw new RpmPackageError(reason, pkg, message, entry, cause === undefined ? undefined : { cause });
  };
}
