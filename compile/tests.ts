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
import { INSTALLED_DISK, installTestNode, updateBrokenTestNode, updateRefusedTestNode, updateTestNode } from '../qemu/install-node.js';
import { projectFilesNode } from '../stages/project-files.js';
import { osReleaseText } from '../stages/rootfs/etc-files.js';
import { osRelease } from './system.js';
import type { CompileInputs } from './load.js';
import type { Problems } from './problems.js';
import type { SystemGraph } from './system.js';
import type { Scenario } from './variant.js';

export const SCENARIOS: Scenario[] = ['uefi', 'bios', 'uefi-disk', 'bios-disk', 'secure-boot', 'slot-b', 'install', 'update', 'update-broken', 'update-refused'];

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
  // What every image must show: its own os-release ID and a kernel matching its modules; then
  // the variant's own checks.
  const imageCommands = [
    { run: `. /etc/os-release && test "$ID" = ${shellQuoteWord(variant.os!.id)}` },
    { run: 'test -d "/lib/modules/$(uname -r)"' },
    ...(variant.tests?.commands ?? []),
  ];
  // A root from the medium is every layer joined by overlayfs: as many lowerdirs as the image
  // has layers. (An installed slot A holds the system extracted; an update adds a layer.)
  const commands = [{ run: `grep -E ${shellQuoteWord(layeredRootPattern(system.ids.layersInIso.length))} /proc/mounts` }, ...imageCommands];
  const iso = { node: system.ids.iso, file: system.ids.isoFile };
  const nodes: NodeSpec[] = [];
  const updates = updateTestInputs(inputs, system, iso, imageCommands, nodes);
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
    } else if (scenario === 'install') {
      updates.installed();
    } else if (scenario === 'update') {
      nodes.push(updateTestNode({ variant: name, installed: updates.installed(), next: updates.next(), nextVersion: updates.nextVersion, commands: imageCommands }));
    } else if (scenario === 'update-broken') {
      nodes.push(updateBrokenTestNode({ variant: name, installed: updates.installed(), broken: updates.broken() }));
    } else if (scenario === 'update-refused') {
      nodes.push(updateRefusedTestNode({ variant: name, installed: updates.installed(), next: updates.next(), foreign: updates.foreign() }));
    } else {
      nodes.push(liveIsoTestNode({ variant: name, scenario, iso, commands }));
    }
  }
  return nodes;
}

/**
 * What the install and update tests share, each made once when a scenario first asks: the
 * install node (its installed disk is every update test's base) and the bundles the updates
 * install, derived from the variant's own (same layers and UKIs, signed with the same key) with
 * one more layer: the next version's os-release; an init that dies at once; or, for the
 * foreign one, another variant's name in its manifest.
 */
function updateTestInputs(inputs: CompileInputs, system: SystemGraph, iso: { node: string; file: string }, commands: { run: string; expect?: string }[], nodes: NodeSpec[]) {
  const { variant } = inputs.loaded;
  const name = variant.name;
  const once = <T>(make: () => T): (() => T) => {
    let made: T | undefined;
    return () => (made ??= make());
  };
  const osReleaseOf = (version: string) => osReleaseText({ ...osRelease(variant), VERSION_ID: version });
  const bundle = (id: string, version: string, files: Record<string, { content: string; mode: number }>, variantName?: string) => {
    const made = system.derivedBundle({ id, version, variant: variantName, extraLayer: { files } });
    nodes.push(made.node);
    return { node: made.node.id, file: made.file };
  };
  const nextVersion = `${system.version}.1`;
  const brokenVersion = `${system.version}.2`;
  const release = (version: string) => ({ 'etc/os-release': { content: osReleaseOf(version), mode: 0o644 }, 'usr/lib/os-release': { content: osReleaseOf(version), mode: 0o644 } });
  return {
    nextVersion,
    installed: once(() => {
      const node = installTestNode({ variant: name, os: variant.os!.id, osName: variant.os!.name, iso, commands });
      nodes.push(node);
      return { node: node.id, file: INSTALLED_DISK };
    }),
    next: once(() => bundle(`bundle:${name}:next`, nextVersion, release(nextVersion))),
    broken: once(() =>
      bundle(`bundle:${name}:broken`, brokenVersion, {
        ...release(brokenVersion),
        'sbin/init': { content: '#!/bin/sh\necho "update test: this init exits at once"\nexit 1\n', mode: 0o755 },
      }),
    ),
    foreign: once(() => bundle(`bundle:${name}:foreign`, system.version, release(system.version), `${name}-other`)),
  };
}
