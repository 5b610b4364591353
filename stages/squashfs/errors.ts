// Errors of the squashfs stage (own file, so the helpers and stages/squashfs.ts share them without
// an import cycle).

export class SquashfsError extends Error {
  override name = 'SquashfsError';
}

/** The rootfs tree on disk says something else than its manifest.json: the rootfs output is broken. */
export class TreeMismatchError extends SquashfsError {
  override name = 'TreeMismatchError';
  constructor(
    readonly rootDir: string,
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${rootDir}/${path}: ${problem}; the tree disagrees with its manifest.json (rebuild it: pipeline build --no-cache)`);
  }
}
