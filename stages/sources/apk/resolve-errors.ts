// What the resolver reports when a package list cannot be installed. Every problem is a
// structured value with a readable `message`; the thrown error carries all of them.
//
// A chain is the path of requests that led to a name, starting at the request list's label:
//   ['iuppiter', 'openssh', 'so:libcrypto.so.3']  renders  iuppiter -> openssh -> so:libcrypto.so.3
// A step reached through a virtual name shows the package behind it: `openssh-client (openssh-client-default)`.
import { resolveFailureMessage, sortProblems } from '../resolve-report.js';

export interface MissingProblem {
  kind: 'missing';
  /** The name nothing in the repositories provides. */
  name: string;
  /** The dependency as written (`so:libcrypto.so.3`, `openssh>=9`). */
  dependency: string;
  chain: string[];
  /** Close names that do exist (did you mean). */
  suggestions: string[];
  message: string;
}

export interface NoCandidateProblem {
  kind: 'no-candidate';
  name: string;
  dependency: string;
  chain: string[];
  /** Every provider and why it was not chosen. */
  candidates: { package: string; why: string }[];
  message: string;
}

export interface UnsatisfiableProblem {
  kind: 'unsatisfiable';
  name: string;
  dependency: string;
  chain: string[];
  /** The versions the repositories offer for the name (`busybox-1.35.0-r17`). */
  available: string[];
  message: string;
}

export interface ConflictSide {
  /** `name-version` of the package on this side, or the request list's label. */
  package: string;
  /** How this side came to be installed. */
  chain: string[];
  /** What this side wants: `openssl>=3`, `!openssh-client-krb5`, `provides theservice=1`. */
  wants: string;
}

export interface ConflictProblem {
  kind: 'conflict';
  name: string;
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

export type ResolveProblem =
  | MissingProblem
  | NoCandidateProblem
  | UnsatisfiableProblem
  | ConflictProblem
  | UninstallableProblem;

/** Base class: the package list cannot be resolved. `problems` lists everything that is wrong. */
export class ResolveError extends Error {
  constructor(
    readonly label: string,
    readonly problems: ResolveProblem[],
  ) {
    super(resolveFailureMessage('package list', label, problems));
    this.name = 'ResolveError';
  }
}

/** A requested or depended-on name that no repository provides (or no provider may be chosen). */
export class MissingPackageError extends ResolveError {
  override name = 'MissingPackageError';
}

/** A version constraint no available package meets, or a package apk would refuse to install. */
export class UnsatisfiableError extends ResolveError {
  override name = 'UnsatisfiableError';
}

/** Two parts of the request want incompatible things (both sides are named). */
export class PackageConflictError extends ResolveError {
  override name = 'PackageConflictError';
}

const KIND_ORDER: Record<ResolveProblem['kind'], number> = {
  missing: 0,
  'no-candidate': 1,
  unsatisfiable: 2,
  uninstallable: 3,
  conflict: 4,
};

/** Sorts problems (root causes first) and builds the error of the first one's kind. */
export function resolveErrorFor(label: string, problems: ResolveProblem[]): ResolveError {
  const sorted = sortProblems(problems, KIND_ORDER);
  switch (sorted[0]!.kind) {
    case 'missing':
    case 'no-candidate':
      return new MissingPackageError(label, sorted);
    case 'unsatisfiable':
    case 'uninstallable':
      return new UnsatisfiableError(label, sorted);
    case 'conflict':
      return new PackageConflictError(label, sorted);
  }
}
