// How the package resolvers (APK and RPM) report a package list that cannot be installed: the
// same chain notation, the same problem order and the same error message layout for both, so a
// user reads one format whatever the variant's package manager.

/** A resolve problem as the report needs it: its kind (for the order) and its readable message. */
export interface ReportedProblem<Kind extends string = string> {
  kind: Kind;
  message: string;
}

/** `['iuppiter', 'openssh', 'so:libcrypto.so.3']` renders `iuppiter -> openssh -> so:libcrypto.so.3`. */
export function renderChain(chain: readonly string[]): string {
  return chain.join(' -> ');
}

/**
 * The problems in report order: root causes first (the lowest `rank` of its kind), then by
 * message, so the same failure always reads the same.
 */
export function sortProblems<Kind extends string, P extends ReportedProblem<Kind>>(problems: readonly P[], rank: Record<Kind, number>): P[] {
  return [...problems].sort((a, b) => rank[a.kind] - rank[b.kind] || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0));
}

/** `cannot resolve the <list> of <label>: N problems` and one indented line per problem. */
export function resolveFailureMessage(list: string, label: string, problems: readonly ReportedProblem[]): string {
  const lines = problems.map((p) => `  - ${p.message}`);
  return `cannot resolve the ${list} of ${label}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n` + lines.join('\n');
}
