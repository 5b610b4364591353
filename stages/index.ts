// Every node kind, one line each. Adding a kind: write stages/<kind>.ts (its node factory and its
// StageKind: kind, version, tools with their Debian packages), then list it here. `pipeline
// doctor`, the hints of missing-tool errors, the firmware the engine resolves, and the test that
// .ci/debian-packages installs what the stages need all follow from this list.
import type { HostFileSpec } from '../graph/host-files.js';
import { BOOT_TEST_STAGE, SECUREBOOT_VARS_STAGE } from '../qemu/node.js';
import { EROFS_STAGE } from './erofs.js';
import { ESP_STAGE } from './esp.js';
import { INITRAMFS_STAGE } from './initramfs.js';
import { INSTALLER_STAGE } from './installer.js';
import { ISO_STAGE } from './iso.js';
import { LAYER_STAGE } from './layer.js';
import type { HostTool, StageKind } from './kind.js';
import { PROJECT_FILES_STAGE } from './project-files.js';
import { RECIPE_STAGE } from './recipe.js';
import { ROOTFS_STAGE } from './rootfs.js';
import { SBOM_STAGE } from './sbom.js';
import { SIGN_STAGE } from './sign.js';
import { SOURCE_STAGE } from './source.js';
import { APK_INDEX_STAGE } from './sources/apk/index-file.js';
import { APK_FETCH_STAGE, APK_UNPACK_STAGE } from './sources/apk/package.js';
import { APK_RESOLVE_STAGE } from './sources/apk/resolve-node.js';
import { RPM_LOCK_STAGE } from './sources/rpm/lock-node.js';
import { RPM_FETCH_STAGE, RPM_UNPACK_STAGE } from './sources/rpm/package.js';
import { RPM_REPODATA_STAGE } from './sources/rpm/repodata/index-node.js';
import { SQUASHFS_STAGE } from './squashfs.js';
import { STEP_STAGE } from './step.js';
import { UKI_STAGE } from './uki.js';
import { UPDATE_BUNDLE_STAGE } from './update-bundle.js';

export const STAGE_KINDS: readonly StageKind[] = [
  APK_INDEX_STAGE,
  APK_RESOLVE_STAGE,
  APK_FETCH_STAGE,
  APK_UNPACK_STAGE,
  RPM_REPODATA_STAGE,
  RPM_LOCK_STAGE,
  RPM_FETCH_STAGE,
  RPM_UNPACK_STAGE,
  SOURCE_STAGE,
  RECIPE_STAGE,
  ROOTFS_STAGE,
  INSTALLER_STAGE,
  LAYER_STAGE,
  SQUASHFS_STAGE,
  EROFS_STAGE,
  INITRAMFS_STAGE,
  UKI_STAGE,
  SIGN_STAGE,
  ESP_STAGE,
  ISO_STAGE,
  SBOM_STAGE,
  UPDATE_BUNDLE_STAGE,
  STEP_STAGE,
  PROJECT_FILES_STAGE,
  BOOT_TEST_STAGE,
  SECUREBOOT_VARS_STAGE,
];

export function stageKind(kind: string): StageKind | undefined {
  return STAGE_KINDS.find((k) => k.kind === kind);
}

export interface ToolUse extends HostTool {
  /** The summaries of the kinds that run it. */
  usedBy: string;
}

/** Every host tool the stages run, once each, with what runs it. */
export function stageTools(): ToolUse[] {
  const byName = new Map<string, ToolUse>();
  for (const stage of STAGE_KINDS) {
    for (const tool of stage.tools) {
      const known = byName.get(tool.name);
      if (!known) byName.set(tool.name, { ...tool, usedBy: stage.summary });
      else if (!known.usedBy.split(', ').includes(stage.summary)) known.usedBy += `, ${stage.summary}`;
    }
  }
  return [...byName.values()];
}

export interface HostFileUse extends HostFileSpec {
  name: string;
  debianPackage: string;
  usedBy: string;
}

/** Every host file (firmware) the stages read, once each. */
export function stageHostFiles(): HostFileUse[] {
  const byName = new Map<string, HostFileUse>();
  for (const stage of STAGE_KINDS) {
    for (const [name, spec] of Object.entries(stage.hostFiles ?? {})) {
      const known = byName.get(name);
      if (!known) byName.set(name, { ...spec, name, usedBy: stage.summary });
      else if (!known.usedBy.split(', ').includes(stage.summary)) known.usedBy += `, ${stage.summary}`;
    }
  }
  return [...byName.values()];
}

/** The session's host-file table: what a node's `hostFiles` names resolve to. */
export function hostFileTable(): Record<string, HostFileSpec> {
  return Object.fromEntries(stageHostFiles().map(({ name, candidates, what, hint }) => [name, { candidates, what, hint }]));
}

/** Tool name -> "Debian package X" hint for errors about a missing tool. */
export function toolHints(): Record<string, string> {
  return Object.fromEntries(stageTools().map((t) => [t.name, `Debian package ${t.debianPackage}: apt-get install ${t.debianPackage}`]));
}
