// The key material of a scenario plan: the plan built from placeholder inputs, so it holds the
// scenario's definition (machine, memory, firmware roles, drive layout, fatal patterns, script)
// and nothing machine-specific (no host paths).
import type { Json } from '../graph/node.js';
import type { FirmwareRole, FirmwareSet } from './firmware.js';
import type { ScenarioPlan } from './scenarios.js';
import { scriptKeyMaterial } from './script.js';

/** Stands in for a firmware file in a plan built for its key. */
export function placeholderFirmware(roles: readonly FirmwareRole[]): FirmwareSet {
  const set: FirmwareSet = {};
  for (const role of roles) set[role] = { role, fileName: `<${role}>`, path: `<${role}>`, sha256: '' };
  return set;
}

export function planKeyMaterial(plan: ScenarioPlan): Json {
  return {
    name: plan.name,
    qemu: JSON.parse(JSON.stringify(plan.qemu)) as Json,
    fatalPatterns: plan.fatalPatterns.map((fatal) => String(fatal.pattern)),
    steps: scriptKeyMaterial(plan.steps),
  };
}
