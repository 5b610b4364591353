// The build sandbox a recipe's shell commands run in: the build root (the variant's own build
// packages, a cached node output, never written) under an overlay whose upper layer lives in the
// job's work directory, with /build, /out and /recipe bound in, a private /dev and /tmp, in new
// network, mount, pid, uts and ipc namespaces (no network: only a loopback that is down), as
// root of a user namespace when the builder is not root. A clean environment: only what
// `sandboxEnv` gives. Synchronous, because the interpreter's host functions are.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SANDBOX_PATHS } from './api.js';

export interface SandboxTools {
  unshare: string;
  sh: string;
  mount: string;
  chroot: string;
}

export interface Sandbox {
  /** The build root (read-only lower layer). */
  lower: string;
  /** Job directory: upper/, ovwork/, merged/, build/, out/, recipe/, tmp/ live here. */
  work: string;
  tools: SandboxTools;
  env: Record<string, string>;
  /** Output of each command is appended here (the node's log) besides being returned. */
  onOutput?: (text: string) => void;
}

const WRAPPER = `set -eu
w=$PIPELINE_WORK; m=$w/merged
"$PIPELINE_MOUNT" -t overlay overlay -o "lowerdir=$PIPELINE_LOWER,upperdir=$w/upper,workdir=$w/ovwork" "$m"
for d in build out recipe; do
	mkdir -p "$m/$d"
	"$PIPELINE_MOUNT" --bind "$w/$d" "$m/$d"
done
"$PIPELINE_MOUNT" -o remount,bind,ro "$m/recipe"
mkdir -p "$m/dev" "$m/tmp" "$m/proc"
"$PIPELINE_MOUNT" -t tmpfs -o mode=0755,nosuid,size=1m tmpfs "$m/dev"
for node in null zero full random urandom tty; do
	: >"$m/dev/$node"
	"$PIPELINE_MOUNT" --bind "/dev/$node" "$m/dev/$node"
done
ln -s /proc/self/fd "$m/dev/fd"
"$PIPELINE_MOUNT" --bind "$w/tmp" "$m/tmp"
"$PIPELINE_MOUNT" -t proc -o nosuid,nodev,noexec proc "$m/proc"
cd /
exec "$PIPELINE_CHROOT" "$m" /bin/sh -c 'cd "$1" && eval "$2"' sh "$PIPELINE_CWD" "$PIPELINE_COMMAND"
`;

export interface ShellResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Prepares the work directory's layout. */
export function prepareSandbox(sandbox: Sandbox): void {
  for (const dir of ['upper', 'ovwork', 'merged', 'build', 'out', 'recipe', 'tmp']) mkdirSync(join(sandbox.work, dir), { recursive: true });
  writeFileSync(join(sandbox.work, 'wrapper.sh'), WRAPPER);
}

/** Runs `command` with /bin/sh in the sandbox, in `cwd` (a sandbox path). */
export function sandboxShell(sandbox: Sandbox, cwd: string, command: string): ShellResult {
  const rootless = process.getuid!() !== 0;
  const args = [...(rootless ? ['--user', '--map-root-user'] : []), '--net', '--mount', '--pid', '--fork', '--uts', '--ipc', '--', sandbox.tools.sh, join(sandbox.work, 'wrapper.sh')];
  const result = spawnSync(sandbox.tools.unshare, args, {
    env: {
      ...sandbox.env,
      PIPELINE_WORK: sandbox.work,
      PIPELINE_LOWER: sandbox.lower,
      PIPELINE_MOUNT: sandbox.tools.mount,
      PIPELINE_CHROOT: sandbox.tools.chroot,
      PIPELINE_CWD: cwd,
      PIPELINE_COMMAND: command,
      // The wrapper itself runs on the host before the chroot: it needs the host's PATH for mkdir/ln.
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 256 << 20,
  });
  const stdout = result.stdout?.toString() ?? '';
  const stderr = result.stderr?.toString() ?? '';
  if (stdout || stderr) sandbox.onOutput?.(stdout + stderr);
  if (result.error) return { status: 127, stdout, stderr: `${stderr}${result.error.message}` };
  return { status: result.status ?? 128 + 9, stdout, stderr };
}

/** The environment of commands in the sandbox: nothing from the caller's. */
export function sandboxEnv(options: { epoch: number; nproc: number; arch: string }): Record<string, string> {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: SANDBOX_PATHS.build,
    TMPDIR: SANDBOX_PATHS.tmp,
    LC_ALL: 'C',
    LANG: 'C',
    TZ: 'UTC',
    SOURCE_DATE_EPOCH: String(options.epoch),
    BUILD_DIR: SANDBOX_PATHS.build,
    OUT: SANDBOX_PATHS.out,
    RECIPE_DIR: SANDBOX_PATHS.recipe,
    ARCH: options.arch,
    NPROC: String(options.nproc),
    // Build systems that embed paths or times honour these (gcc's __FILE__, ar's dates).
    ZERO_AR_DATE: '1',
  };
}

/**
 * What the commands wrote outside /build, /out and /tmp: the overlay's upper layer, minus the
 * mount points the wrapper itself made. An install that writes into /usr of the build root has
 * written nothing that reaches the system: the recipe is wrong, and this names where.
 */
export function writesOutsideSandboxDirs(sandbox: Sandbox): string[] {
  const upper = join(sandbox.work, 'upper');
  const allowed = new Set(['build', 'out', 'recipe', 'tmp', 'dev', 'proc']);
  const found: string[] = [];
  const walk = (dir: string, prefix: string, depth: number): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = `${prefix}/${entry.name}`;
      if (prefix === '' && allowed.has(entry.name)) continue;
      if (entry.isDirectory() && depth < 6) {
        const before = found.length;
        walk(join(dir, entry.name), path, depth + 1);
        if (found.length === before) found.push(`${path}/`);
      } else found.push(path);
      if (found.length >= 20) return;
    }
  };
  walk(upper, '', 0);
  return found;
}
