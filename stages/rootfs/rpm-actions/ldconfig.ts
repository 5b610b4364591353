// The dynamic linker's cache (/etc/ld.so.cache), as `%post -p /sbin/ldconfig` and glibc's
// ldconfig file trigger build it. Optional for booting (the linker falls back to its default
// directories) but it makes libraries in ld.so.conf.d directories findable.
import { lstat, rm } from 'node:fs/promises';
import { resolveInRoot } from './root-path.js';
import { outcome, RpmActionError, type RpmAction } from './types.js';

export const ldconfig: RpmAction = {
  name: 'ldconfig',
  replaces: '%post -p /sbin/ldconfig, %ldconfig_scriptlets, glibc\'s ldconfig file trigger',
  tools: ['ldconfig'],
  async run(root, ctx) {
    const conf = await lstat(await resolveInRoot(root, 'etc/ld.so.conf')).catch(() => undefined);
    if (!conf?.isFile()) return outcome(ctx, 'ldconfig', false, 'no /etc/ld.so.conf in the root: no linker cache built');
    try {
      // As rpm's `ldconfig`: the cache, and soname links a payload lacks.
      await ctx.runner.exec('ldconfig', ['-r', root]);
    } catch (err) {
      throw new RpmActionError('ldconfig', `ldconfig -r over the root failed: ${(err as Error).message}`);
    }
    // The aux cache records the libraries' inode numbers and ctimes (ldconfig's own speed-up):
    // it would make two builds differ. The booted system's ldconfig writes its own.
    await rm(await resolveInRoot(root, 'var/cache/ldconfig/aux-cache'), { force: true });
    return outcome(ctx, 'ldconfig', true, 'built /etc/ld.so.cache');
  },
};
