// What can be wrong with a repository's metadata, each naming the file (URL or path) at fault.

/** Metadata that is not what repomd.xml, primary.xml or filelists.xml should be. */
export class RepodataFormatError extends Error {
  override name = 'RepodataFormatError';
}

/** A metadata file whose bytes are not the ones repomd.xml names (tampered, stale or truncated). */
export class RepodataChecksumError extends Error {
  override name = 'RepodataChecksumError';
  constructor(
    /** The file: its URL or path. */
    readonly file: string,
    /** `checksum` (the compressed bytes), `open-checksum` (the decompressed ones), `size` or `open-size`. */
    readonly which: 'checksum' | 'open-checksum' | 'size' | 'open-size',
    readonly expected: string,
    readonly got: string,
  ) {
    super(`${file}: ${which} mismatch: repomd.xml says ${expected}, the file has ${got}`);
  }
}

/** A repository without a repomd.xml.asc, when unsigned metadata was not allowed. */
export class UnsignedRepodataError extends Error {
  override name = 'UnsignedRepodataError';
}
