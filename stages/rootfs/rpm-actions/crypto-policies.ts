// The system-wide crypto policy, as crypto-policies' Lua %post sets it on a fresh install: the
// policy name in /etc/crypto-policies/config (DEFAULT unless the variant's overlay wrote one)
// and state/current, and for each back-end file of that policy, back-ends/<name>.config ->
// /usr/share/crypto-policies/<POLICY>/<name>.txt. Sub-policies (`DEFAULT:SHA1`) are generated
// by update-crypto-policies, a Python tool: they are refused here, not approximated.
import { lstat, mkdir, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveInRoot } from './root-path.js';
import { outcome, RpmActionError, type RpmAction } from './types.js';

const SHARE = 'usr/share/crypto-policies';

/** The policy named by a config file: its first line that is not blank or a comment. */
export function policyName(text: string): string | undefined {
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .find((line) => line !== '');
}

export const cryptoPolicies: RpmAction = {
  name: 'crypto-policies',
  replaces: "crypto-policies' Lua %post (config, state/current, back-ends/*.config links), update-crypto-policies --no-reload",
  tools: [],
  async run(root, ctx) {
    const share = await resolveInRoot(root, SHARE);
    if (!(await lstat(share).catch(() => undefined))?.isDirectory()) {
      return outcome(ctx, 'crypto-policies', false, `no /${SHARE} in the root: no policy set`);
    }
    const etc = await resolveInRoot(root, 'etc/crypto-policies');
    const configPath = join(etc, 'config');
    const configText = await readFile(configPath, 'utf8').catch(() => undefined);
    const policy = configText === undefined ? 'DEFAULT' : policyName(configText);
    if (!policy) throw new RpmActionError('crypto-policies', '/etc/crypto-policies/config names no policy');
    if (!/^[A-Z0-9_-]+$/i.test(policy)) {
      throw new RpmActionError(
        'crypto-policies',
        `/etc/crypto-policies/config asks for ${policy}: only a base policy with a directory under /${SHARE} is supported (sub-policies need update-crypto-policies)`,
      );
    }
    const policyDir = join(share, policy);
    const backends = (await readdir(policyDir).catch(() => undefined))?.filter((name) => name.endsWith('.txt')).sort();
    if (!backends) {
      throw new RpmActionError('crypto-policies', `policy ${policy} has no directory /${SHARE}/${policy} in the root (is it a custom policy from /etc/crypto-policies/policies? those need update-crypto-policies)`);
    }
    await mkdir(join(etc, 'back-ends'), { recursive: true });
    await mkdir(join(etc, 'state'), { recursive: true });
    if (configText === undefined) await writeFile(configPath, `${policy}\n`, { mode: 0o644 });
    await writeFile(join(etc, 'state', 'current'), `${policy}\n`, { mode: 0o644 });
    for (const file of backends) {
      // As the Lua scriptlet: the back-end is the name up to its first dot.
      const backend = file.replace(/\..*/, '');
      const link = join(etc, 'back-ends', `${backend}.config`);
      const target = `/${SHARE}/${policy}/${file}`;
      const existing = await lstat(link).catch(() => undefined);
      if (existing?.isSymbolicLink() && (await readlink(link)) === target) continue;
      if (existing) await rm(link, { recursive: false });
      await symlink(target, link);
    }
    return outcome(ctx, 'crypto-policies', true, `policy ${policy}: ${backends.length} back-end links`);
  },
};
