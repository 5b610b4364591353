// Running the packages' install scripts in a confined chroot of the new root.
//
// Order: for each package in the resolver's order, .pre-install then .post-install, each with
// the package version as its argument (what apk passes on a fresh install). The whole merged
// tree is already on disk, so a script sees every file (apk would show it only the packages
// before it); per-package order still lets busybox's .post-install make the applet links that
// later packages' scripts (adduser, addgroup) call. Then each .trigger runs once with the
// directories matching its `triggers` globs, as apk does at the end of a transaction.
//
// Confinement: `unshare --net --mount --uts --ipc` (and `--user --map-root-user` when not root):
// no network but a down loopback, mounts private to the script. Inside, /dev is a tmpfs with
// null, zero, full, random, urandom and tty bound from the host, and /tmp a tmpfs holding the
// script: both vanish with the namespace, so nothing of them lands in the image.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Runner } from '../shared/host-runner.js';
import { InstallScriptError, RootfsError } from './errors.js';
import type { UnpackedPackage } from './package-input.js';
import { applyDiskChanges, snapshotTree, type ScriptChanges } from './tree-scan.js';
import type { RootTree } from './tree.js';

export const SCRIPT_TOOLS = ['unshare', 'sh', 'mount', 'chroot'];

const READY_MARKER = '@@pipeline-chroot-ready@@';

// Runs under `unshare`, as root of its namespaces: prepares /dev and /tmp, then execs the script.
const WRAPPER = `set -eu
exec 2>&1
root=$1; script=$2; shift 2
"$PIPELINE_MOUNT" -t tmpfs -o mode=0755,nosuid,size=1m tmpfs "$root/dev"
for node in null zero full random urandom tty; do
	: >"$root/dev/$node"
	"$PIPELINE_MOUNT" --bind "/dev/$node" "$root/dev/$node"
done
"$PIPELINE_MOUNT" -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
: >"$root/tmp/.pipeline-install-script"
"$PIPELINE_MOUNT" --bind -o ro "$script" "$root/tmp/.pipeline-install-script"
unset TMPDIR PIPELINE_MOUNT
export HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin
echo "${READY_MARKER}"
exec "$PIPELINE_CHROOT" "$root" /tmp/.pipeline-install-script "$@"
`;

export interface ScriptRun {
  pkg: string;
  script: string;
  args: string[];
  changes: ScriptChanges;
  seconds: number;
}

export interface InstallScriptOptions {
  runner: Runner;
  /** Scratch directory for the wrapper. */
  tmpDir: string;
  /** Environment for the scripts (SOURCE_DATE_EPOCH). */
  env?: Record<string, string>;
}

export async function runInstallScripts(
  tree: RootTree,
  rootDir: string,
  packages: readonly UnpackedPackage[],
  options: InstallScriptOptions,
): Promise<ScriptRun[]> {
  const runs: ScriptRun[] = [];
  const wrapper = join(options.tmpDir, 'chroot-wrapper.sh');
  await writeFile(wrapper, WRAPPER, { mode: 0o644 });
  const run = async (pkg: UnpackedPackage, script: string, args: string[]): Promise<void> => {
    const path = pkg.scripts.get(script)!;
    const before = await snapshotTree(rootDir);
    const started = performance.now();
    await runInChroot(pkg, script, path, args, rootDir, wrapper, options);
    const seconds = (performance.now() - started) / 1000;
    const after = await snapshotTree(rootDir);
    const rootless = process.getuid!() !== 0;
    const changes = await applyDiskChanges(tree, rootDir, before, after, {
      owner: pkg.name,
      rootUid: rootless ? process.getuid!() : 0,
      rootGid: rootless ? process.getgid!() : 0,
    });
    options.runner.log(
      `${pkg.name} .${script} ${args.join(' ')}: ${changes.added.length} added, ${changes.changed.length} changed, ${changes.removed.length} removed (${seconds.toFixed(2)} s)`,
    );
    runs.push({ pkg: pkg.name, script, args, changes, seconds });
  };
  for (const pkg of packages) {
    for (const script of ['pre-install', 'post-install']) {
      if (pkg.scripts.has(script)) await run(pkg, script, [pkg.version]);
    }
  }
  const dirs = tree
    .entries()
    .filter((entry) => entry.type === 'dir')
    .map((entry) => `/${entry.path}`);
  for (const pkg of packages) {
    const triggers = pkg.pkginfo?.triggers ?? [];
    if (!pkg.scripts.has('trigger') || triggers.length === 0) continue;
    const matchers = triggers.map(globToRegExp);
    const matched = dirs.filter((dir) => matchers.some((re) => re.test(dir)));
    if (matched.length > 0) await run(pkg, 'trigger', matched);
  }
  return runs;
}

async function runInChroot(
  pkg: UnpackedPackage,
  script: string,
  scriptPath: string,
  args: string[],
  rootDir: string,
  wrapper: string,
  options: InstallScriptOptions,
): Promise<void> {
  const { runner } = options;
  const rootless = process.getuid!() !== 0;
  const unshareArgs = [
    ...(rootless ? ['--user', '--map-root-user'] : []),
    '--net',
    '--mount',
    '--uts',
    '--ipc',
    '--',
    runner.tool('sh'),
    wrapper,
    rootDir,
    scriptPath,
    ...args,
  ];
  const result = await runner.exec('unshare', unshareArgs, {
    captureStdout: true,
    okExitCodes: Array.from({ length: 256 }, (_, code) => code),
    env: { ...options.env, PIPELINE_MOUNT: runner.tool('mount'), PIPELINE_CHROOT: runner.tool('chroot') },
  });
  const output = result.stdout.replace(/\r/g, '');
  const marker = output.indexOf(READY_MARKER);
  if (marker < 0) {
    throw new RootfsError(
      `package ${pkg.name} ${pkg.version}: could not prepare the chroot for .${script} (exit code ${result.exitCode}): ${output.trim() || 'no output'}; ` +
        `unshare needs user namespaces when not root (sysctl kernel.unprivileged_userns_clone=1)`,
    );
  }
  const scriptOutput = output.slice(marker + READY_MARKER.length + 1);
  for (const line of scriptOutput.split('\n')) if (line) runner.log(`[${pkg.name} .${script}] ${line}`);
  if (result.exitCode !== 0) throw new InstallScriptError(pkg.name, pkg.version, script, result.exitCode, scriptOutput);
}

/** fnmatch(3) with FNM_PATHNAME, as apk matches trigger globs: `*` and `?` stop at `/`. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (const char of glob) {
    if (char === '*') out += '[^/]*';
    else if (char === '?') out += '[^/]';
    else out += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}
