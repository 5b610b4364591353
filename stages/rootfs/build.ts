// The rootfs build, start to end, as one plain function of paths:
//   1. merge the unpacked packages in the resolver's order (conflicts, `replaces`)
//   2. apply the variant's overlay
//   3. generate os-release, hostname, fstab, inittab, accounts, runlevel links, mount points
//   4. write the tree to <out>/root, run the APK install scripts and triggers in a chroot, or
//      for RPM packages (whose scriptlets never run) the native post-install actions; pick
//      their changes up into the manifest
//   5. set every time on disk to SOURCE_DATE_EPOCH, write <out>/manifest.json
// Output is a function of the inputs: entries are sorted, owners come from manifests (or from
// what a script did as root in the chroot), never from the user who ran the build.
import { readFile } from 'node:fs/promises';
import { lutimes } from 'node:fs/promises';
import { join } from 'node:path';
import { writeManifest, MANIFEST_FORMAT, MANIFEST_VERSION, type TreeManifest } from '../shared/manifest.js';
import { idNames } from './accounts.js';
import { validateRootfsConfig, type RootfsConfig } from './config.js';
import { applyGeneratedConfig } from './generated.js';
import { writeTreeToDisk } from './materialize.js';
import { mergePackages } from './merge.js';
import { applyOverlay } from './overlay.js';
import { readUnpackedPackage } from './package-input.js';
import type { Runner } from '../shared/host-runner.js';
import { runInstallScripts, type ScriptRun } from './scripts.js';
import { resolveOwnerNames, runPostInstallActions, type ActionRun } from './rpm-post-install.js';
import { RootTree, toManifestEntry } from './tree.js';

export interface RootfsPackageInput {
  /** Package name, as the resolver named it. */
  name: string;
  /** The package's apk-unpack or rpm-unpack output directory. */
  dir: string;
}

export interface BuildRootfsOptions {
  /** Unpacked packages in the resolver's order (dependencies first). */
  packages: readonly RootfsPackageInput[];
  /** The variant's overlay directory (variants/overlays/<name>), if it has one. */
  overlayDir?: string;
  config: RootfsConfig;
  /** Fresh directory: receives root/ and manifest.json. */
  outDir: string;
  /** Scratch directory. */
  tmpDir: string;
  sourceDateEpoch: number;
  runner: Runner;
  /** RPM packages: the post-install actions to run (default all). */
  rpmActions?: readonly string[];
}

export interface RootfsResult {
  manifest: TreeManifest;
  scripts: ScriptRun[];
  /** RPM roots: the post-install actions that ran in place of the scriptlets. */
  actions: ActionRun[];
  /** Paths where `replaces` settled a conflict. */
  replaced: string[];
  timings: { merge: number; write: number; scripts: number; finish: number };
}

export async function buildRootfs(options: BuildRootfsOptions): Promise<RootfsResult> {
  const { config, runner } = options;
  validateRootfsConfig(config);
  const clock = stopwatch();
  const packages = [];
  for (const input of options.packages) packages.push(await readUnpackedPackage(input.dir, input.name));

  const tree = new RootTree();
  const { replaced } = mergePackages(tree, packages);
  for (const line of replaced) runner.log(`replaces: ${line}`);
  const overlayPaths = options.overlayDir ? await applyOverlay(tree, options.overlayDir, config.variant, config.overlayModes) : new Set<string>();
  await applyGeneratedConfig(tree, config, overlayPaths);
  const merge = clock();

  const rootDir = join(options.outDir, 'root');
  await writeTreeToDisk(tree, rootDir);
  const write = clock();

  const env: Record<string, string> = { SOURCE_DATE_EPOCH: String(options.sourceDateEpoch) };
  const apk = packages.filter((p) => p.format === 'apk');
  const rpm = packages.filter((p) => p.format === 'rpm');
  const scripts = await runInstallScripts(tree, rootDir, apk, { runner, tmpDir: options.tmpDir, env });
  const actions = rpm.length > 0 ? await runPostInstallActions(tree, rootDir, rpm, { runner, sourceDateEpoch: options.sourceDateEpoch, actions: options.rpmActions }) : [];
  const scriptSeconds = clock();

  await nameScriptOwners(tree, rootDir, [...scripts.map((s) => s.changes), ...actions.map((a) => a.changes)]);
  if (rpm.length > 0) await resolveOwnerNames(tree, rootDir, new Set(rpm.map((p) => p.name)));
  await setTimes(tree, rootDir, options.sourceDateEpoch);
  const manifest: TreeManifest = { format: MANIFEST_FORMAT, version: MANIFEST_VERSION, entries: tree.entries().map(toManifestEntry) };
  await writeManifest(join(options.outDir, 'manifest.json'), manifest);
  const finish = clock();
  runner.log(`rootfs: ${manifest.entries.length} entries from ${packages.length} packages, ${scripts.length} scripts, ${actions.length} post-install actions`);
  return { manifest, scripts, actions, replaced, timings: { merge, write, scripts: scriptSeconds, finish } };
}

/** Owner names for paths whose owner came from the disk, from the final /etc/passwd and /etc/group. */
async function nameScriptOwners(tree: RootTree, rootDir: string, changes: ReadonlyArray<{ ownedFromDisk: string[] }>): Promise<void> {
  const paths = new Set(changes.flatMap((c) => c.ownedFromDisk));
  if (paths.size === 0) return;
  const read = async (name: string) => readFile(join(rootDir, tree.resolve(`etc/${name}`)), 'utf8').catch(() => '');
  const names = idNames(await read('passwd'), await read('group'));
  for (const path of paths) {
    const node = tree.get(path);
    if (!node) continue;
    node.uname = names.users.get(node.uid) ?? '';
    node.gname = names.groups.get(node.gid) ?? '';
  }
}

/** Every time on disk is SOURCE_DATE_EPOCH (the manifest carries no times; this is for tools that read the disk). */
async function setTimes(tree: RootTree, rootDir: string, epoch: number): Promise<void> {
  for (const entry of tree.entries()) {
    if (entry.type === 'file' || entry.type === 'dir' || entry.type === 'symlink' || entry.type === 'hardlink') {
      await lutimes(join(rootDir, entry.path), epoch, epoch);
    }
  }
  await lutimes(rootDir, epoch, epoch);
}

function stopwatch(): () => number {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const seconds = (now - last) / 1000;
    last = now;
    return Math.round(seconds * 1000) / 1000;
  };
}
