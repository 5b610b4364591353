// The RPM source part of a variant's graph (in progress).
import type { CompileInputs } from './load.js';
import type { PackageSource } from './package-source.js';
import type { Problems } from './problems.js';

export function rpmSource(inputs: CompileInputs, problems: Problems): PackageSource {
  problems.add(`${inputs.loaded.source.where(['rpm'])}: RPM variants are not built yet`);
  return { format: 'rpm', nodes: [], resolveId: 'rpm-resolve', resolutionIds: [], lockFile: inputs.lockFile, packageNode: () => undefined, fetchNode: () => '', installOrder: () => [], parseLock: () => { throw new Error('no'); } };
}
