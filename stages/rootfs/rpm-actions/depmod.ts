// Module dependency files (modules.dep, modules.alias, their .bin indexes...) for each kernel in
// the root, as kernel-core's %posttrans gets them through kernel-install's 50-depmod.install and
// kmod's weak-modules. The host's depmod with -b reads ROOT/lib/modules/KVER (through the
// root's /lib -> usr/lib link) and, with -C, only the root's depmod.d configuration, never the
// host's. Output is a function of the modules and the configuration.
import { lstat, readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveInRoot } from './root-path.js';
import { outcome, RpmActionError, type RpmAction } from './types.js';

const MODULE_DIRS = ['usr/lib/modules', 'lib/modules'];
const CONFIG_DIRS = ['etc/depmod.d', 'usr/lib/depmod.d', 'usr/local/lib/depmod.d'];

/** Kernel releases with a module directory, each once even when reachable two ways. */
async function kernels(root: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const dir of MODULE_DIRS) {
    const base = await resolveInRoot(root, dir);
    for (const name of (await readdir(base).catch(() => [] as string[])).sort()) {
      const full = join(base, name);
      const st = await lstat(full).catch(() => undefined);
      if (!st?.isDirectory() || found.has(name)) continue;
      found.set(name, await realpath(full));
    }
  }
  return found;
}

export const depmod: RpmAction = {
  name: 'depmod',
  replaces: "kernel-core's %posttrans (kernel-install add: 50-depmod.install), weak-modules, kmod-* packages' depmod in %post",
  tools: ['depmod'],
  async run(root, ctx) {
    const found = await kernels(root);
    if (found.size === 0) return outcome(ctx, 'depmod', false, 'no kernel under usr/lib/modules: no module index built');
    const config = await Promise.all(CONFIG_DIRS.map((dir) => resolveInRoot(root, dir)));
    for (const [release, dir] of found) {
      // depmod 30 looks in ROOT/lib/modules only: the root must reach the kernel that way.
      const seen = await realpath(join(root, 'lib', 'modules', release)).catch(() => undefined);
      if (seen !== dir) {
        throw new RpmActionError(
          'depmod',
          `kernel ${release}: ${dir.slice(root.length)} is not reachable as /lib/modules/${release} in the root ` +
            `(depmod -b reads ROOT/lib/modules): the root needs the /lib -> usr/lib link the filesystem package makes`,
        );
      }
      try {
        await ctx.runner.exec('depmod', ['-b', root, ...config.flatMap((path) => ['-C', path]), release]);
      } catch (err) {
        throw new RpmActionError('depmod', `depmod for kernel ${release} failed: ${(err as Error).message}`);
      }
    }
    return outcome(ctx, 'depmod', true, `module indexes for ${[...found.keys()].join(', ')}`);
  },
};
