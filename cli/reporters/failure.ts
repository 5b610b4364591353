// What a user sees when a node fails: the node, the command, its exit code, the end of the log
// and where the whole log is.
import { relative } from 'node:path';
import type { BuildResult } from '../../graph/build.js';
import { NodeFailure } from '../../graph/errors.js';

export function failureReport(result: BuildResult, root: string): string {
  const lines: string[] = [];
  for (const outcome of result.outcomes.values()) {
    if (outcome.status !== 'failed') continue;
    const err = outcome.error;
    lines.push('', `✗ ${outcome.id} (${outcome.kind}) failed: ${err?.message ?? 'unknown error'}`);
    if (err instanceof NodeFailure) {
      const d = err.details;
      if (d.command) lines.push(`  command:   ${d.command}`);
      if (d.exitCode !== undefined) lines.push(`  exit code: ${d.exitCode}`);
      if (d.logPath) lines.push(`  log:       ${relative(root, d.logPath) || d.logPath}`);
      if (d.logTail && d.logTail.length > 0) {
        lines.push(`  last ${d.logTail.length} lines of the log:`);
        for (const l of d.logTail) lines.push(`    | ${l}`);
      }
    }
  }
  const skipped = [...result.outcomes.values()].filter((o) => o.status === 'skipped').length;
  if (skipped > 0) lines.push('', `${skipped} node(s) were skipped because of the failure${result.interrupted ? ' or the interrupt' : ''}.`);
  return lines.join('\n');
}
