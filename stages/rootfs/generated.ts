// Puts the generated configuration into the tree: os-release, hostname, fstab, inittab,
// passwd/group/shadow, OpenRC runlevel links or systemd getty drop-ins and `.wants` links, and the
// mount-point directories every root needs.
// Generated files replace what packages ship at the same path; a collision with the overlay is
// an error (two sources of truth for one file).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { mergeAccounts, type AccountFiles } from './accounts.js';
import type { RootfsConfig } from './config.js';
import { RootfsConfigError } from './errors.js';
import { fstabText, FSTAB_DEFAULTS, hostnameText, inittabText, osReleaseText, systemdGettyDropIns } from './etc-files.js';
import { GENERATED_OWNER, type RootTree, type TreeNode } from './tree.js';

/** Directories a booting root needs as mount points (the initramfs moves /dev /proc /sys /run in). */
const MOUNT_POINTS: Array<[string, number]> = [
  ['dev', 0o755],
  ['proc', 0o555],
  ['run', 0o755],
  ['sys', 0o555],
  ['tmp', 0o1777],
];

export async function applyGeneratedConfig(tree: RootTree, config: RootfsConfig, overlayPaths: ReadonlySet<string>): Promise<string[]> {
  const written: string[] = [];
  const put = (rawPath: string, node: Omit<TreeNode, 'path' | 'uid' | 'gid' | 'uname' | 'gname' | 'package'> & Partial<TreeNode>): void => {
    const path = tree.resolve(rawPath);
    if (overlayPaths.has(path)) {
      throw new RootfsConfigError(
        `variant ${config.variant}: /${path} is both in the overlay and generated from the variant's settings; drop it from the overlay or from the settings`,
      );
    }
    tree.ensureParents(path, GENERATED_OWNER);
    const existing = tree.get(path);
    if (existing?.type === 'dir' && node.type !== 'dir') {
      throw new RootfsConfigError(`variant ${config.variant}: cannot write /${path}: ${existing.package} installs a directory there`);
    }
    tree.set({ uid: 0, gid: 0, uname: 'root', gname: 'root', package: GENERATED_OWNER, ...node, path });
    written.push(path);
  };
  const text = (path: string, content: string, mode = 0o644, owner: Partial<TreeNode> = {}): void => {
    const bytes = Buffer.from(content, 'utf8');
    put(path, { type: 'file', mode, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), source: { bytes }, ...owner });
  };

  text('usr/lib/os-release', osReleaseText(config.osRelease));
  put('etc/os-release', { type: 'symlink', mode: 0o777, target: '../usr/lib/os-release' });
  text('etc/hostname', hostnameText(config.hostname));
  if (config.fstab !== false) text('etc/fstab', fstabText(config.fstab ?? {}));
  if (config.init === 'systemd') {
    for (const dropIn of systemdGettyDropIns(config.console)) text(dropIn.path, dropIn.text);
  } else {
    text('etc/inittab', inittabText(config));
  }

  const packaged: Partial<AccountFiles> = {};
  const owners: Record<keyof AccountFiles, Partial<TreeNode>> = { passwd: {}, group: {}, shadow: {} };
  for (const name of ['passwd', 'group', 'shadow'] as const) {
    const node = tree.get(tree.resolve(`etc/${name}`));
    if (node?.type === 'file' && node.source) {
      packaged[name] = 'bytes' in node.source ? node.source.bytes.toString('utf8') : await readFile(node.source.file, 'utf8');
      owners[name] = { mode: node.mode, uid: node.uid, gid: node.gid, uname: node.uname, gname: node.gname };
    }
  }
  const accounts = mergeAccounts(packaged, config);
  text('etc/passwd', accounts.passwd, 0o644, owners.passwd);
  text('etc/group', accounts.group, 0o644, owners.group);
  text('etc/shadow', accounts.shadow, 0o640, owners.shadow);

  if (config.init === 'openrc') {
    for (const service of config.services ?? []) {
      const script = tree.get(tree.resolve(`etc/init.d/${service.name}`));
      if (!script) {
        throw new RootfsConfigError(`variant ${config.variant}: service ${service.name} is enabled, but no package installs /etc/init.d/${service.name}`);
      }
      put(`etc/runlevels/${service.runlevel ?? 'default'}/${service.name}`, { type: 'symlink', mode: 0o777, target: `/etc/init.d/${service.name}` });
    }
  }
  if (config.init === 'systemd') {
    for (const service of config.services ?? []) {
      const unit = ['usr/lib/systemd/system', 'etc/systemd/system'].map((dir) => `${dir}/${service.name}`).find((path) => tree.get(tree.resolve(path)));
      if (!unit) throw new RootfsConfigError(`variant ${config.variant}: service ${service.name} is enabled, but no package installs /usr/lib/systemd/system/${service.name}`);
      put(`etc/systemd/system/${service.runlevel ?? 'multi-user.target'}.wants/${service.name}`, { type: 'symlink', mode: 0o777, target: `/${unit}` });
    }
  }

  const fstab = config.fstab === false ? undefined : { ...FSTAB_DEFAULTS, ...config.fstab };
  const mountPoints = [...MOUNT_POINTS];
  if (fstab) mountPoints.push([fstab.espMountPoint.slice(1), 0o755], ['var', 0o755], ['home', 0o755]);
  for (const [raw, mode] of mountPoints) {
    const path = tree.resolve(raw);
    const existing = tree.get(path);
    if (existing === undefined) put(path, { type: 'dir', mode });
    else if (existing.type !== 'dir') throw new RootfsConfigError(`variant ${config.variant}: /${path} must be a directory (a mount point), but ${existing.package} installs a ${existing.type}`);
  }
  return written;
}
