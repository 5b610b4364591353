// The rootfs node: the variant's root tree from its unpacked packages, overlay and settings.
// Output: root/ (the tree; contents only) and manifest.json (owners, modes, devices, and which
// package installs each path). Later stages (squashfs, erofs, sbom) read the manifest, not the
// disk's owners. The work is in stages/rootfs/ (build.ts has the steps); this file is the factory.
import type { NodeSpec } from '../graph/node.js';
import { buildRootfs } from './rootfs/build.js';
import type { RootfsConfig } from './rootfs/config.js';
import { SCRIPT_TOOLS } from './rootfs/scripts.js';
import { RPM_ACTION_TOOLS } from './rootfs/rpm-actions/index.js';
import { epochEnv, parseSourceDateEpoch, type StampsTime } from './shared/source-date-epoch.js';
import type { StageKind } from './kind.js';
import { SH } from './shared/tools.js';

export { buildRootfs, type BuildRootfsOptions, type RootfsPackageInput, type RootfsResult } from './rootfs/build.js';
export type { RootfsConfig, UserConfig, GroupConfig, ServiceConfig, SerialConsoleConfig, FstabConfig } from './rootfs/config.js';
export { hostRunner, type Runner } from './shared/host-runner.js';
export { PathConflictError, InstallScriptError, RootfsConfigError, RootfsError } from './rootfs/errors.js';

/** Bump when the rootfs output changes for the same inputs. */
// 2: the A/B fstab mounts the ESP by label EFI on /boot, as the manual install makes it.
export const ROOTFS_KIND_VERSION = 2;

export interface RootfsNodeOptions extends StampsTime {
  variant: string;
  /** Default `rootfs:<variant>`; a recipe's build root is a rootfs of build packages under another id. */
  id?: string;
  /** Packages in the resolver's order, each with its apk-unpack or rpm-unpack node. */
  packages: ReadonlyArray<{ name: string; node: string }>;
  /** Project-relative overlay directory (`variants/overlays/<name>`), when the variant has one. */
  overlayDir?: string;
  config: Omit<RootfsConfig, 'variant'>;
  /** RPM packages: the native post-install actions run (and their host tools are declared). */
  postInstall?: 'scripts' | 'rpm-actions';
  /** Which actions (default all of stages/rootfs/rpm-actions/). */
  rpmActions?: string[];
}

export function rootfsId(variant: string): string {
  return `rootfs:${variant}`;
}

/** The root filesystem: packages merged by manifest, install scripts confined, overlays and generated files. */
export const ROOTFS_STAGE: StageKind = {
  kind: 'rootfs',
  version: ROOTFS_KIND_VERSION,
  summary: 'rootfs (install scripts run confined; RPM post-install actions)',
  tools: [
    { name: 'unshare', debianPackage: 'util-linux', versionArgs: ['--version'] },
    SH,
    { name: 'mount', debianPackage: 'mount', versionArgs: ['--version'] },
    { name: 'chroot', debianPackage: 'coreutils', versionArgs: ['--version'] },
    { name: 'systemd-sysusers', debianPackage: 'systemd', versionArgs: ['--version'] },
    { name: 'systemctl', debianPackage: 'systemd', versionArgs: ['--version'] },
    { name: 'depmod', debianPackage: 'kmod', versionArgs: ['--version'] },
    { name: 'ldconfig', debianPackage: 'libc-bin', versionArgs: ['--version'] },
  ],
};

/** `rootfs:<variant>`: merged packages + overlay + generated config + install scripts. */
export function rootfsNode(options: RootfsNodeOptions): NodeSpec {
  const names = options.packages.map((pkg) => pkg.name);
  const config: RootfsConfig = { ...options.config, variant: options.variant };
  return {
    id: options.id ?? rootfsId(options.variant),
    kind: ROOTFS_STAGE.kind,
    version: ROOTFS_KIND_VERSION,
    // Local name = package name; the order lives in params (object keys do not keep it for all names).
    deps: Object.fromEntries(options.packages.map((pkg) => [pkg.name, pkg.node])),
    files: options.overlayDir ? [options.overlayDir] : [],
    params: {
      packages: names,
      overlay: options.overlayDir ?? null,
      config: JSON.parse(JSON.stringify(config)),
      ...(options.postInstall === 'rpm-actions' ? { rpmActions: options.rpmActions ?? null } : {}),
    },
    tools: options.postInstall === 'rpm-actions' ? [...SCRIPT_TOOLS, ...RPM_ACTION_TOOLS] : SCRIPT_TOOLS,
    env: epochEnv(options),
    description: `root tree of ${options.variant}: ${names.length} packages, overlay, config, install scripts`,
    async run(ctx) {
      await buildRootfs({
        packages: names.map((name) => ({ name, dir: ctx.dep(name) })),
        overlayDir: options.overlayDir ? ctx.file(options.overlayDir) : undefined,
        config,
        outDir: ctx.out,
        tmpDir: ctx.tmp,
        sourceDateEpoch: parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH, ctx.id),
        runner: ctx,
        rpmActions: options.rpmActions,
      });
    },
  };
}
