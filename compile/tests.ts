// The boot-test nodes at the end of a variant's graph: one per scenario, keyed on the ISO's digest,
// QEMU's binary, the firmware files' digests and the scenario definition, so an unchanged ISO is
// not booted again.
import type { NodeSpec } from '../graph/node.js';
import { shellQuoteWord } from '../util/shell-quote.js';
import {
  ENROLLED_VARS_FILE,
  liveIsoTestNode,
  secureBootRefusalTestNode,
  secureBootTestNode,
  secureBootVarsNode,
  slotBTestNode,
} from '../qemu/node.js';
import { bootTimeScale, TimeScaleConfigError } from '../qemu/time-scale.js';
import { projectFilesNode } from '../stages/project-files.js';
import type { CompileInputs } from './load.js';
import type { Problems } from './problems.js';
import type { SystemGraph } from './system.js';
import type { Scenario } from './variant.js';

export const SCENARIOS: Scenario[] = ['uefi', 'bios', 'uefi-disk', 'bios-disk', 'secure-boot', 'slot-b'];

/** A /proc/mounts line of an overlayfs root with exactly `layers` read-only layers. */
export function layeredRootPattern(layers: number): string {
  return `^overlay / overlay .*lowerdir=[^,:]+${'(:[^,:]+)'.repeat(layers - 1)}[, ]`;
}

/**
 * The boot-test nodes, pure: the firmware they boot with is a host file each node declares (the
 * engine finds and hashes it), the enrollment files are declared project files.
 */
export function testGraph(inputs: CompileInputs, system: SystemGraph, problems: Problems, only?: Scenario[]): NodeSpec[] {
  const { variant, source } = inputs.loaded;
  const name = variant.name;
  try {
    bootTimeScale(inputs.env);
  } catch (err) {
    if (!(err instanceof TimeScaleConfigError)) throw err;
    problems.add(err.message);
  }
  const scenarios = only ?? variant.tests?.scenarios ?? SCENARIOS;
  const commands = [
    // What every image must show: its own os-release ID and a kernel matching its modules.
    { run: `. /etc/os-release && test "$ID" = ${shellQuoteWord(variant.os!.id)}` },
    { run: 'test -d "/lib/modules/$(uname -r)"' },
    // The root is every layer joined by overlayfs: as many lowerdirs as the image has layers.
    { run: `grep -E ${shellQuoteWord(layeredRootPattern(system.ids.layersInIso.length))} /proc/mounts` },
    ...(variant.tests?.commands ?? []),
  ];
  const iso = { node: system.ids.iso, file: system.ids.isoFile };
  const nodes: NodeSpec[] = [];
  for (const scenario of scenarios) {
    if (scenario === 'secure-boot') {
      const enrollDir = variant.signing?.enroll;
      if (!enrollDir) {
        problems.add(`${source.where(['signing'])}: the secure-boot test needs signing.enroll, the directory of PK.auth, KEK.auth and db.auth (\`pipeline keys init\` makes them)`);
        continue;
      }
      const authFiles = ['PK', 'KEK', 'db'].map((k) => `${enrollDir}/${k}.auth`);
      const hint = `${source.where(['signing', 'enroll'])}: the Secure Boot enrollment files (\`pipeline keys init ${enrollDir}\` makes them)`;
      const keys = { ...projectFilesNode({ id: `secureboot-keys:${name}`, files: authFiles, description: `${name}'s PK/KEK/db enrollment files` }), hints: Object.fromEntries(authFiles.map((f) => [f, hint])) };
      const vars = secureBootVarsNode({
        variant: name,
        keys: { pkAuth: { node: keys.id, file: 'PK.auth' }, kekAuth: { node: keys.id, file: 'KEK.auth' }, dbAuth: { node: keys.id, file: 'db.auth' } },
        signedSystemdBoot: { node: system.ids.signedSystemdBoot, file: 'systemd-bootx64.efi' },
      });
      const enrolledVars = { node: vars.id, file: ENROLLED_VARS_FILE };
      nodes.push(
        keys,
        vars,
        secureBootTestNode({ variant: name, iso, enrolledVars }),
        secureBootRefusalTestNode({ variant: name, tampered: { fromIso: iso, signedUki: { node: `sign:${name}:uki-live`, file: 'uki.efi' } }, enrolledVars }),
      );
    } else if (scenario === 'slot-b') {
      nodes.push(
        slotBTestNode({
          variant: name,
          iso,
          systemdBoot: { node: system.ids.signedSystemdBoot, file: 'systemd-bootx64.efi' },
          ukiInIso: system.ids.ukiInIso('system-b'),
          layersInIso: system.ids.layersInIso,
          commands,
        }),
      );
    } else {
      nodes.push(liveIsoTestNode({ variant: name, scenario, iso, commands }));
    }
  }
  return nodes;
}
