// Expected failures of the rootfs build: each says what failed, where, and what to do.

export class RootfsError extends Error {
  override name = 'RootfsError';
}

/** Two packages install different content at one path and neither `replaces` the other. */
export class PathConflictError extends RootfsError {
  override name = 'PathConflictError';
  constructor(
    readonly path: string,
    readonly first: string,
    readonly second: string,
    detail: string,
  ) {
    super(
      `/${path}: installed by both ${first} and ${second} with different content (${detail}); ` +
        `remove one of them from the variant, or have one declare 'replaces = <other>' in its .PKGINFO`,
    );
  }
}

/** The variant's rootfs settings are unusable (bad os-release key, unknown group, ...). */
export class RootfsConfigError extends RootfsError {
  override name = 'RootfsConfigError';
}

/** An install script exited non-zero (or could not start) inside the chroot. */
export class InstallScriptError extends RootfsError {
  override name = 'InstallScriptError';
  constructor(
    readonly pkg: string,
    readonly version: string,
    readonly script: string,
    readonly exitCode: number,
    readonly output: string,
  ) {
    const tail = output.trim().split('\n').slice(-8).join('\n    ');
    super(
      `package ${pkg} ${version}: .${script} failed with exit code ${exitCode} in the chroot of the new root` +
        (tail ? `; its output ends with:\n    ${tail}\n` : ' (no output); ') +
        `fix the script or the package set (a script may only use what the packages before it installed; no network)`,
    );
  }
}
