// An RPM root after its tree is on disk: the packages' scriptlets are never run; the native
// post-install actions (rpm-actions/) do what a booting system needs, each picked up into the
// manifest like an install script's changes. Then the owners RPM headers give by name (cpio says
// 0) get their ids from the final /etc/passwd and /etc/group, which sysusers has completed.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Runner } from '../shared/host-runner.js';
import { nameIds } from './accounts.js';
import { RootfsError } from './errors.js';
import type { UnpackedPackage } from './package-input.js';
import { accountsToSysusers, reviewScriptlets, runRpmActions, type RpmActionOutcome } from './rpm-actions/index.js';
import { applyDiskChanges, snapshotTree, type ScriptChanges } from './tree-scan.js';
import type { RootTree } from './tree.js';

export interface ActionRun {
  action: string;
  outcome: RpmActionOutcome;
  changes: ScriptChanges;
  seconds: number;
}

export async function runPostInstallActions(
  tree: RootTree,
  rootDir: string,
  packages: readonly UnpackedPackage[],
  options: { runner: Runner; sourceDateEpoch: number; actions?: readonly string[] },
): Promise<ActionRun[]> {
  // Accounts that %pre scriptlets create with useradd/groupadd (and no sysusers.d file covers)
  // become sysusers lines: the review reads them out of the scriptlets.
  const scriptlets = [];
  for (const pkg of packages) {
    const list = [];
    for (const s of pkg.rpminfo?.scriptlets ?? []) {
      const path = pkg.scripts.get(s.name);
      const body = path ? await readFile(path, 'utf8') : '';
      const trigger = pkg.rpminfo?.triggers.find((t) => t.script === s.name);
      list.push({ name: s.name, kind: trigger?.type, interpreter: s.interpreter, args: s.args, body });
    }
    scriptlets.push({ name: pkg.name, scriptlets: list });
  }
  const accounts = reviewScriptlets(scriptlets).accounts;
  const runs: ActionRun[] = [];
  const rootless = process.getuid!() !== 0;
  await runRpmActions(
    rootDir,
    { runner: options.runner, sourceDateEpoch: options.sourceDateEpoch, extraSysusers: accountsToSysusers(accounts) },
    {
      only: options.actions,
      async around(action, run) {
        const before = await snapshotTree(rootDir);
        const started = performance.now();
        const outcome = await run();
        const seconds = (performance.now() - started) / 1000;
        const changes = await applyDiskChanges(tree, rootDir, before, await snapshotTree(rootDir), {
          owner: `rpm-action:${action.name}`,
          rootUid: rootless ? process.getuid!() : 0,
          rootGid: rootless ? process.getgid!() : 0,
        });
        options.runner.log(
          `post-install ${action.name}: ${outcome.summary} (${changes.added.length} added, ${changes.changed.length} changed, ${changes.removed.length} removed, ${seconds.toFixed(2)} s)`,
        );
        runs.push({ action: action.name, outcome, changes, seconds });
        return outcome;
      },
    },
  );
  return runs;
}

/** uid/gid of every entry an RPM package owns by name, from the root's final accounts. */
export async function resolveOwnerNames(tree: RootTree, rootDir: string, rpmPackages: ReadonlySet<string>): Promise<void> {
  const read = async (name: string) => readFile(join(rootDir, tree.resolve(`etc/${name}`)), 'utf8').catch(() => '');
  const { users, groups } = nameIds(await read('passwd'), await read('group'));
  const unknown: string[] = [];
  for (const entry of tree.entries()) {
    if (!entry.package || !rpmPackages.has(entry.package)) continue;
    const uid = entry.uname ? users.get(entry.uname) : 0;
    const gid = entry.gname ? groups.get(entry.gname) : 0;
    if (uid === undefined || gid === undefined) {
      unknown.push(`/${entry.path} (${entry.package}): ${uid === undefined ? `user ${entry.uname}` : ''}${uid === undefined && gid === undefined ? ', ' : ''}${gid === undefined ? `group ${entry.gname}` : ''}`);
      continue;
    }
    entry.uid = uid;
    entry.gid = gid;
  }
  if (unknown.length > 0) {
    throw new RootfsError(
      `${unknown.length} path(s) are owned by accounts the root does not have (no package's sysusers.d or %pre creates them):\n  ${unknown.slice(0, 20).join('\n  ')}${unknown.length > 20 ? `\n  ... and ${unknown.length - 20} more` : ''}`,
    );
  }
}
