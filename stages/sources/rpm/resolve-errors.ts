// What the RPM resolver reports when a package list cannot be installed. Every problem is a
// structured value with a readable `message`; the thrown error carries all of them.
//
// A chain is the path of requests that led to a dependency, starting at the request list's label:
//   ['levitate', 'kernel-core', 'linux-firmware >= 20220209']
// renders  levitate -> kernel-core -> linux-firmware >= 20220209.
// A step met by a package of another name shows it: `/bin/sh (bash)`.
import { resolveFailureMessage, sortProblems } from '../resolve-report.js';

export interface MissingProblem {
  kind: 'missing';
  /** The request nothing in the repositories is or provides. */
  request: string;
  chain: string[];
  /** Close package names that do exist (did you mean). */
  suggestions: string[];
  message: string;
}

export interface NothingProvidesProblem {
  kind: 'nothing-provides';
  /** The dependency as written (`linux-firmware >= 20220209`, `(a or b)`). */
  dependency: string;
  chain: string[];
  /** Packages of another architecture that would provide it (never installed). */
  foreignProviders: string[];
  message: string;
}

export interface ConflictSide {
  /** NEVRA of the package on this side. */
  package: string;
  /** How this side came to be wanted. */
  chain: string[];
}

export interface ConflictProblem {
  kind: 'conflict';
  /** `conflicts`, `obsoletes` or `same-name` (two versions of one name). */
  rule: string;
  /** The dependency behind it (`Conflicts: foo < 2`), or the shared name. */
  dependency: string;
  sides: [ConflictSide, ConflictSide];
  message: string;
}

export interface UninstallableProblem {
  kind: 'uninstallable';
  package: string;
  chain: string[];
  reason: string;
  message: string;
}

export type RpmResolveProblem = MissingProblem | NothingProvidesProblem | ConflictProblem | UninstallableProblem;

/** Base class: the package list cannot be resolved. `problems` lists what is wrong. */
export class RpmResolveError extends Error {
  constructor(
    readonly label: string,
    readonly problems: RpmResolveProblem[],
  ) {
    super(resolveFailureMessage('RPM package list', label, problems));
    this.name = 'RpmResolveError';
  }
}

/** A request, or a dependency on the way, that nothing provides. */
export class RpmMissingPackageError extends RpmResolveError {
  override name = 'RpmMissingPackageError';
}

/** Two packages the request needs cannot be installed together (both sides are named). */
export class RpmPackageConflictError extends RpmResolveError {
  override name = 'RpmPackageConflictError';
}

/** Everything is provided, but no consistent choice exists. */
export class RpmUnsatisfiableError extends RpmResolveError {
  override name = 'RpmUnsatisfiableError';
}

const KIND_ORDER: Record<RpmResolveProblem['kind'], number> = {
  missing: 0,
  'nothing-provides': 1,
  conflict: 2,
  uninstallable: 3,
};

/** Sorts problems (root causes first), drops repeats, and builds the error of the first one's kind. */
export function rpmResolveErrorFor(label: string, problems: RpmResolveProblem[]): RpmResolveError {
  const unique = [...new Map(problems.map((p) => [p.message, p])).values()];
  const sorted = sortProblems(unique, KIND_ORDER);
  switch (sorted[0]!.kind) {
    case 'missing':
    case 'nothing-provides':
      return new RpmMissingPackageError(label, sorted);
    case 'conflict':
      return new RpmPackageConflictError(label, sorted);
    case 'uninstallable':
      return new RpmUnsatisfiableError(label, sorted);
  }
}
