// An empty /etc/machine-id: systemd then treats the first boot as first boot (ConditionFirstBoot,
// preset-all, a fresh random id written once /etc is writable) instead of every image sharing
// the id systemd's %post (`systemd-machine-id-setup`) would have written at build time.
import { chmod, lstat, writeFile } from 'node:fs/promises';
import { resolveInRoot } from './root-path.js';
import { outcome, RpmActionError, type RpmAction } from './types.js';

export const machineId: RpmAction = {
  name: 'machine-id',
  replaces: "systemd's %post `systemd-machine-id-setup` (an empty file: the id is made at first boot)",
  tools: [],
  async run(root, ctx) {
    const etc = await resolveInRoot(root, 'etc');
    const st = await lstat(etc).catch(() => undefined);
    if (!st?.isDirectory()) return outcome(ctx, 'machine-id', false, 'the root has no /etc directory: no machine-id written');
    const path = await resolveInRoot(root, 'etc/machine-id');
    if (!path.startsWith(etc + '/')) {
      throw new RpmActionError('machine-id', `/etc/machine-id is a symbolic link out of /etc (to ${path.slice(root.length)}): refusing to write through it`);
    }
    const existing = await lstat(path).catch(() => undefined);
    if (existing && !existing.isFile()) {
      throw new RpmActionError('machine-id', `/etc/machine-id exists and is not a regular file: remove it from the packages or the overlay`);
    }
    // A non-empty id can only come from the variant's overlay (systemd ships the file as %ghost): keep it.
    if (existing && existing.size > 0) return outcome(ctx, 'machine-id', false, '/etc/machine-id is already set (by the overlay): kept');
    if (!existing) await writeFile(path, '', { mode: 0o444 });
    await chmod(path, 0o444);
    return outcome(ctx, 'machine-id', true, 'empty /etc/machine-id, mode 0444 (the id is made at first boot)');
  },
};
