// The boot-test nodes at the end of a variant's graph: one per scenario, keyed on the ISO's digest,
// QEMU's binary, the firmware files' digests and the scenario definition, so an unchanged ISO is
// not booted again.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../graph/errors.js';
import type { NodeSpec } from '../graph/node.js';
import { FirmwareNotFoundError, locateFirmware, type FirmwareRole } from '../qemu/firmware.js';
import {
  ENROLLED_VARS_FILE,
  liveIsoTestNode,
  secureBootRefusalTestNode,
  secureBootTestNode,
  secureBootVarsNode,
  slotBTestNode,
} from '../qemu/node.js';
import { projectFilesNode } from '../stages/project-files.js';
import type { SystemGraph } from './system.js';
import type { LoadedVariant, Scenario } from './variant.js';

export const SCENARIOS: Scenario[] = ['uefi', 'bios', 'uefi-disk', 'bios-disk', 'secure-boot', 'slot-b'];
const ALL_ROLES: FirmwareRole[] = ['ovmf-code', 'ovmf-code-secboot', 'ovmf-vars', 'seabios'];

export async function testGraph(loaded: LoadedVariant, system: SystemGraph, only?: Scenario[]): Promise<NodeSpec[]> {
  const { variant, source, root } = loaded;
  const name = variant.name;
  let firmware;
  try {
    firmware = await locateFirmware(ALL_ROLES);
  } catch (err) {
    if (err instanceof FirmwareNotFoundError) throw new ConfigError(err.message);
    throw err;
  }
  const scenarios = only ?? variant.tests?.scenarios ?? SCENARIOS;
  const commands = [
    // What every image must show: its own os-release ID and a kernel matching its modules.
    { run: `. /etc/os-release && test "$ID" = ${shellWord(variant.os!.id)}` },
    { run: 'test -d "/lib/modules/$(uname -r)"' },
    ...(variant.tests?.commands ?? []),
  ];
  const iso = { node: system.ids.iso, file: system.ids.isoFile };
  const nodes: NodeSpec[] = [];
  for (const scenario of scenarios) {
    if (scenario === 'secure-boot') {
      const enrollDir = variant.signing?.enroll;
      if (!enrollDir) {
        throw new ConfigError(`${source.where(['signing'])}: the secure-boot test needs signing.enroll, the directory of PK.auth, KEK.auth and db.auth (\`pipeline keys init\` makes them)`);
      }
      const authFiles = ['PK', 'KEK', 'db'].map((k) => `${enrollDir}/${k}.auth`);
      for (const f of authFiles) if (!existsSync(join(root, f))) throw new ConfigError(`${source.where(['signing', 'enroll'])}: ${f} does not exist`);
      const keys = projectFilesNode({ id: `secureboot-keys:${name}`, files: authFiles, description: `${name}'s PK/KEK/db enrollment files` });
      const vars = secureBootVarsNode({
        variant: name,
        keys: { pkAuth: { node: keys.id, file: 'PK.auth' }, kekAuth: { node: keys.id, file: 'KEK.auth' }, dbAuth: { node: keys.id, file: 'db.auth' } },
        signedSystemdBoot: { node: system.ids.signedSystemdBoot, file: 'systemd-bootx64.efi' },
        firmware,
      });
      const enrolledVars = { node: vars.id, file: ENROLLED_VARS_FILE };
      nodes.push(
        keys,
        vars,
        secureBootTestNode({ variant: name, iso, enrolledVars, firmware }),
        secureBootRefusalTestNode({ variant: name, tampered: { fromIso: iso, signedUki: { node: `sign:${name}:uki-live`, file: 'uki.efi' } }, enrolledVars, firmware }),
      );
    } else if (scenario === 'slot-b') {
      nodes.push(
        slotBTestNode({
          variant: name,
          iso,
          systemdBoot: { node: system.ids.signedSystemdBoot, file: 'systemd-bootx64.efi' },
          ukiInIso: system.ids.ukiInIso('system-b'),
          rootImageInIso: system.ids.rootImageInIso,
          firmware,
        }),
      );
    } else {
      nodes.push(liveIsoTestNode({ variant: name, scenario, iso, firmware, commands }));
    }
  }
  return nodes;
}

function shellWord(text: string): string {
  return /^[A-Za-z0-9._-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
