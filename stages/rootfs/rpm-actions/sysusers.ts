// Users and groups from sysusers.d, as systemd-sysusers creates them on a running system: the
// packages' useradd/groupadd in %pre and %sysusers_create_compat do the same from the same
// files. Runs the host's systemd-sysusers with --root (it reads ROOT/usr/lib/sysusers.d,
// ROOT/etc/sysusers.d and appends to ROOT/etc/{passwd,group,shadow,gshadow}). Accounts only a
// %pre useradd asked for (no sysusers.d line) come as extra lines from the scriptlet catalog.
// Deterministic: SOURCE_DATE_EPOCH sets shadow's last-change day, ids are allocated in file order.
import { readdir, rm } from 'node:fs/promises';
import { existsInRoot, resolveInRoot } from './root-path.js';
import { outcome, RpmActionError, type RpmAction } from './types.js';

const CONFIG_DIRS = ['usr/lib/sysusers.d', 'etc/sysusers.d'];

async function confFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  for (const dir of CONFIG_DIRS) {
    const names = await readdir(await resolveInRoot(root, dir)).catch(() => [] as string[]);
    found.push(...names.filter((name) => name.endsWith('.conf')).map((name) => `${dir}/${name}`));
  }
  return found;
}

export const sysusers: RpmAction = {
  name: 'sysusers',
  replaces: "useradd/groupadd/getent in %pre, %sysusers_create_compat, systemd's sysusers.d file trigger",
  tools: ['systemd-sysusers'],
  async run(root, ctx) {
    const files = await confFiles(root);
    const extra = ctx.extraSysusers ?? [];
    if (files.length === 0 && extra.length === 0) {
      return outcome(ctx, 'sysusers', false, 'no usr/lib/sysusers.d or etc/sysusers.d *.conf in the root: nothing to create');
    }
    const hadLock = await existsInRoot(root, 'etc/.pwd.lock');
    const env = { SOURCE_DATE_EPOCH: String(ctx.sourceDateEpoch) };
    const run = async (args: string[], what: string): Promise<void> => {
      try {
        await ctx.runner.exec('systemd-sysusers', [`--root=${root}`, ...args], { env });
      } catch (err) {
        throw new RpmActionError('sysusers', `systemd-sysusers over ${what} failed: ${(err as Error).message}`);
      }
    };
    if (files.length > 0) await run([], files.join(', '));
    // Inline lines: an explicit file argument would be looked up inside the root, not on the host.
    if (extra.length > 0) await run(['--inline', ...extra], `the accounts the packages' scriptlets create (${extra.length} lines)`);
    // The lock file is an artifact of this run, not part of the image.
    if (!hadLock) await rm(await resolveInRoot(root, 'etc/.pwd.lock'), { force: true });
    return outcome(ctx, 'sysusers', true, `${files.length} sysusers.d files${extra.length ? ` and ${extra.length} lines from scriptlets` : ''}`);
  },
};
