// What every native post-install action shares: its description, the host tools it runs, and
// the context it runs in. An action works on a root directory on disk (the tree written out
// by the rootfs build), with host tools pointed at it by their --root/-b options: no chroot,
// no code from the packages.
import type { Runner } from '../../shared/host-runner.js';
import { RootfsError } from '../errors.js';

export interface RpmActionContext {
  runner: Runner;
  /** Seconds since the epoch: every date an action writes (shadow's lastchg, file headers). */
  sourceDateEpoch: number;
  /** sysusers.d lines derived from the packages' useradd/groupadd (catalog accountsToSysusers). */
  extraSysusers?: readonly string[];
  /** authselect features to enable (`with-faillock`, ...); none by default, as `authselect select local`. */
  authselectFeatures?: readonly string[];
  /** authselect profile under usr/share/authselect/default; `local` by default. */
  authselectProfile?: string;
}

export interface RpmActionOutcome {
  action: string;
  /** False when what the action works on is absent (it then did nothing). */
  ran: boolean;
  /** One line for the build log: what was done, or why nothing was. */
  summary: string;
}

export interface RpmAction {
  name: string;
  /** One line: the scriptlets this action stands in for. */
  replaces: string;
  /** Host tools it runs (for the node's tool list). */
  tools: readonly string[];
  run(root: string, ctx: RpmActionContext): Promise<RpmActionOutcome>;
}

/** A native post-install action could not do its work; names the action, the file and the reason. */
export class RpmActionError extends RootfsError {
  override name = 'RpmActionError';
  constructor(
    readonly action: string,
    message: string,
  ) {
    super(`post-install action ${action}: ${message}`);
  }
}

/** Logs the outcome and returns it. */
export function outcome(ctx: RpmActionContext, action: string, ran: boolean, summary: string): RpmActionOutcome {
  ctx.runner.log(`rpm-actions: ${action}: ${summary}`);
  return { action, ran, summary };
}
