// Unit enablement from the preset files, as %systemd_post does for each package on a fresh
// install (`systemctl preset` / systemd-update-helper install-system-units) and systemd's own
// %post does for all of them (`systemctl preset-all`). The host's systemctl with --root only
// reads unit and preset files and writes the .wants/ links and aliases under ROOT/etc/systemd.
// User units (usr/lib/systemd/user) get `--global preset-all`, as install-user-units does.
import { lstat, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveInRoot } from './root-path.js';
import { outcome, RpmActionError, type RpmAction } from './types.js';

async function hasEntries(root: string, dir: string): Promise<boolean> {
  const names = await readdir(await resolveInRoot(root, dir)).catch(() => [] as string[]);
  return names.length > 0;
}

/**
 * A systemctl built without merged /usr finds units through the root's /lib -> usr/lib link and
 * writes /lib/systemd/... targets; EL's own systemctl writes /usr/lib/systemd/... . Both name
 * the same file: the links are rewritten so the image does not depend on how the host was built.
 */
async function canonicalLinks(root: string): Promise<number> {
  if ((await resolveInRoot(root, 'lib')) !== join(root, 'usr', 'lib')) return 0;
  let rewritten = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const path = join(dir, name);
      const st = await lstat(path);
      if (st.isDirectory()) await walk(path);
      else if (st.isSymbolicLink()) {
        const target = await readlink(path);
        if (!target.startsWith('/lib/systemd/')) continue;
        await rm(path);
        await symlink(`/usr${target}`, path);
        rewritten++;
      }
    }
  };
  for (const scope of ['etc/systemd/system', 'etc/systemd/user']) await walk(await resolveInRoot(root, scope));
  return rewritten;
}

export const presets: RpmAction = {
  name: 'presets',
  replaces: "%systemd_post / %systemd_user_post (`systemctl preset`, systemd-update-helper install-*-units), systemd's `systemctl preset-all`",
  tools: ['systemctl'],
  async run(root, ctx) {
    const system = await hasEntries(root, 'usr/lib/systemd/system');
    const user = await hasEntries(root, 'usr/lib/systemd/user');
    if (!system && !user) return outcome(ctx, 'presets', false, 'no unit files under usr/lib/systemd/{system,user}: nothing to enable');
    const presetAll = async (scope: string[], what: string): Promise<void> => {
      try {
        await ctx.runner.exec('systemctl', [`--root=${root}`, ...scope, '--preset-mode=full', 'preset-all']);
      } catch (err) {
        throw new RpmActionError('presets', `systemctl preset-all for the ${what} units failed: ${(err as Error).message}`);
      }
    };
    const done: string[] = [];
    if (system) {
      await presetAll([], 'system');
      done.push('system');
    }
    if (user) {
      await presetAll(['--global'], 'user');
      done.push('user');
    }
    await canonicalLinks(root);
    return outcome(ctx, 'presets', true, `preset-all for the ${done.join(' and ')} units`);
  },
};
