// The recipe sandbox when the builder is not root: unshare adds a user namespace in which the
// builder is root, and the overlay, the binds, /dev, /proc and the empty network work there too.
// The tests run as root, so this one runs the sandbox in a process of its own as 'nobody'
// (setpriv), from a bundle of recipe/sandbox.ts in a directory that user owns.
import { execFile } from 'node:child_process';
import { chmod, chown, copyFile, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { build as esbuild } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../fixtures/paths.js';
import { hostRunner } from '../../stages/shared/host-runner.js';

const run = promisify(execFile);
const NOBODY = 65534;
let base: string;
/** Directories made traversable for 'nobody', with the mode to restore. */
const opened: { dir: string; mode: number }[] = [];


beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'pipeline-rootless-'));
  // The per-run and per-file temporary directories are private (0700): let 'nobody' pass through.
  for (let dir = base; dir !== dirname(dir); dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) {
      opened.push({ dir, mode: mode & 0o7777 });
      await chmod(dir, (mode & 0o7777) | 0o001);
    }
  }
  const lower = join(base, 'lower');
  await mkdir(join(lower, 'bin'), { recursive: true });
  await copyFile('/bin/busybox', join(lower, 'bin/busybox'));
  await chmod(join(lower, 'bin/busybox'), 0o755);
  for (const applet of ['sh', 'id', 'cat', 'wc', 'mkdir', 'echo', 'ls']) await symlink('busybox', join(lower, 'bin', applet));
  await mkdir(join(base, 'work'));
  await esbuild({
    entryPoints: [join(projectRoot(), 'recipe/sandbox.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: join(base, 'sandbox.mjs'),
    logLevel: 'silent',
  });
  const host = hostRunner();
  const tools = { unshare: host.tool('unshare'), sh: '/bin/sh', mount: host.tool('mount'), chroot: host.tool('chroot') };
  await writeFile(
    join(base, 'main.mjs'),
    `import { prepareSandbox, sandboxEnv, sandboxShell, writesOutsideSandboxDirs } from './sandbox.mjs';
const sandbox = { lower: ${JSON.stringify(lower)}, work: ${JSON.stringify(join(base, 'work'))}, tools: ${JSON.stringify(tools)},
  env: sandboxEnv({ epoch: 1767225600, nproc: 1, arch: 'x86_64' }) };
prepareSandbox(sandbox);
const shell = sandboxShell(sandbox, '/build', [
  'echo "uid=$(id -u) gid=$(id -g) pid=$$"',
  'echo made > /out/made',
  'mkdir -p /usr/stray && echo x > /usr/stray/file',
  'echo "interfaces=$(($(wc -l < /proc/net/dev) - 2))"',
  'echo "epoch=$SOURCE_DATE_EPOCH home=$HOME"',
].join('\\n'));
console.log(JSON.stringify({ uid: process.getuid(), shell, outside: writesOutsideSandboxDirs(sandbox) }));
`,
  );
  await run('chown', ['-R', `${NOBODY}:${NOBODY}`, base]);
  await chown(base, NOBODY, NOBODY);
});

afterAll(async () => {
  for (const { dir, mode } of opened.reverse()) await chmod(dir, mode).catch(() => {});
  if (base) await rm(base, { recursive: true, force: true });
});

describe('the recipe sandbox without root', () => {
  it("runs as root of its own user namespace, with the overlay, binds, /proc and no network; the builder owns what it wrote", async () => {
    const { stdout } = await run('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, join(base, 'main.mjs')], {
      cwd: base,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    const result = JSON.parse(stdout) as { uid: number; shell: { status: number; stdout: string; stderr: string }; outside: string[] };
    expect(result.uid).toBe(NOBODY);
    expect(result.shell.status, result.shell.stderr).toBe(0);
    // Root inside, pid 1 of its own pid namespace, only the (down) loopback, the clean environment.
    expect(result.shell.stdout).toBe('uid=0 gid=0 pid=1\ninterfaces=1\nepoch=1767225600 home=/build\n');
    // On the host, the file written as 'root' in the sandbox belongs to the builder.
    const made = await stat(join(base, 'work/out/made'));
    expect([made.uid, made.gid]).toEqual([NOBODY, NOBODY]);
    // A write into the build root's /usr went to the overlay's upper layer and is reported.
    expect(result.outside).toEqual(['/usr/stray/file']);
    await expect(stat(join(base, 'lower/usr'))).rejects.toThrow(/ENOENT/);
  });
});
