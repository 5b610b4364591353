// What an RPM repository says about one package, as the repodata reader produces it and the
// resolver and the lock consume it. Format-neutral: primary.xml fills it today; a package header
// carries the same facts.

/** An epoch-version-release. `epoch` is 0 when absent (rpm treats a missing epoch as 0). */
export interface Evr {
  epoch: number;
  version: string;
  release: string;
}

export type DepFlag = 'EQ' | 'LT' | 'LE' | 'GT' | 'GE';

/**
 * One dependency or capability entry (`<rpm:entry>`). A rich dependency keeps its whole
 * expression in `name` (`(foo if bar)`) with no flags; the resolver parses it.
 */
export interface RpmDep {
  name: string;
  flags?: DepFlag;
  /** Present with `flags`; `release` may be absent (`>= 1.2` matches any release). */
  evr?: { epoch: number; version: string; release?: string };
  /** `Requires(pre)` / `Requires(post)`...: `pre="1"` in primary.xml. */
  pre?: boolean;
}

export interface RpmChecksum {
  /** `sha256` (what createrepo_c writes), `sha512`, `sha1`... */
  type: string;
  hex: string;
}

export interface RpmPackageMeta {
  name: string;
  arch: string;
  evr: Evr;
  /** `pkgid` checksum of the whole .rpm file. */
  checksum: RpmChecksum;
  /** Bytes of the .rpm file (`<size package>`). */
  size: number;
  /** `<size installed>`. */
  installedSize: number;
  /** `<location href>` relative to the repository root (`Packages/b/bash-5.1.8-2.el9.x86_64.rpm`). */
  location: string;
  summary: string;
  license: string;
  sourceRpm: string;
  provides: RpmDep[];
  requires: RpmDep[];
  conflicts: RpmDep[];
  obsoletes: RpmDep[];
  recommends: RpmDep[];
  suggests: RpmDep[];
  supplements: RpmDep[];
  enhances: RpmDep[];
  /** File paths primary.xml lists (only `/etc/*`, `*bin/*` and a few others); filelists.xml has the rest. */
  files: string[];
}

/** A repository as the resolver sees it: name, priority (lower wins, like dnf; default 99). */
export interface RpmRepository {
  name: string;
  priority: number;
  packages: RpmPackageMeta[];
}
