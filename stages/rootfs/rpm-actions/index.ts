// The native post-install actions of an RPM root, run in place of the packages' scriptlets
// (which never run: no rpm at build time, and they are the packages' code). Each is a no-op when
// what it works on is absent. Order: accounts first (later actions and the manifest's owner
// names read them), then configuration files, then indexes of what is installed.
import { authselect } from './authselect.js';
import { cryptoPolicies } from './crypto-policies.js';
import { depmod } from './depmod.js';
import { ldconfig } from './ldconfig.js';
import { machineId } from './machine-id.js';
import { presets } from './presets.js';
import { sysusers } from './sysusers.js';
import type { RpmAction, RpmActionContext, RpmActionOutcome } from './types.js';

export { RpmActionError, type RpmAction, type RpmActionContext, type RpmActionOutcome } from './types.js';
export { reviewScriptlets, scriptletName, type ScriptletReview, type ReviewedScriptlet, type UncoveredScriptlet } from './review.js';
export { accountsToSysusers, type AccountRequest } from './accounts.js';
export type { PackageScriptlets, Scriptlet } from './scriptlet-catalog.js';

export const RPM_ACTIONS: readonly RpmAction[] = [sysusers, cryptoPolicies, authselect, machineId, presets, depmod, ldconfig];

/** Host tools the actions run (for the rootfs node's tool list). */
export const RPM_ACTION_TOOLS: readonly string[] = [...new Set(RPM_ACTIONS.flatMap((action) => action.tools))].sort();

export function rpmAction(name: string): RpmAction {
  const action = RPM_ACTIONS.find((candidate) => candidate.name === name);
  if (!action) throw new Error(`no post-install action named ${name} (known: ${RPM_ACTIONS.map((a) => a.name).join(', ')})`);
  return action;
}

export interface RunRpmActionsOptions {
  /** The actions to run (by name, in RPM_ACTIONS' order whatever the order given); default all. */
  only?: readonly string[];
  /** Runs before and after each action: the build snapshots the tree around it to pick its changes up. */
  around?: (action: RpmAction, run: () => Promise<RpmActionOutcome>) => Promise<RpmActionOutcome>;
}

/** Runs every action in order over the root. */
export async function runRpmActions(root: string, ctx: RpmActionContext, options: RunRpmActionsOptions = {}): Promise<RpmActionOutcome[]> {
  const outcomes: RpmActionOutcome[] = [];
  for (const name of options.only ?? []) rpmAction(name);
  for (const action of RPM_ACTIONS) {
    if (options.only && !options.only.includes(action.name)) continue;
    const run = () => action.run(root, ctx);
    outcomes.push(await (options.around ? options.around(action, run) : run()));
  }
  return outcomes;
}
