// The built image, read back with the real tools: zstd/gzip, GNU cpio.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InitramfsResult } from '../../stages/initramfs/build.js';
import { buildInitramfs } from '../../stages/initramfs/build.js';
import { CompressionError, validateCompression } from '../../stages/initramfs/compression.js';
import { hostRunner } from '../../stages/shared/host-runner.js';
import { NotStaticBinaryError } from '../../stages/initramfs/static-binary.js';
import { fixturesDir, projectRoot } from '../../fixtures/paths.js';
import { buildTestInitramfs, TEST_EPOCH } from './build-image.js';
import { debianBusybox, debianKernel } from './debian-inputs.js';

const run = promisify(execFile);

/** Decompresses an image and runs cpio on it with these arguments. */
async function cpio(image: string, args: string[], cwd?: string): Promise<{ stdout: string; stderr: string }> {
  const decompress = (await readFile(image)).readUInt32LE(0) === 0xfd2fb528 ? 'zstd -dc' : 'gzip -dc';
  const quoted = args.map((a) => `'${a}'`).join(' ');
  return run('sh', ['-c', `${decompress} '${image}' | cpio ${quoted}`], { cwd, maxBuffer: 64 << 20, env: { PATH: process.env.PATH, TZ: 'UTC', LC_ALL: 'C' } });
}

describe('initramfs image (Debian kernel, default module list)', () => {
  let dir: string;
  let image: string;
  let result: InitramfsResult;

  beforeAll(async () => {
    await mkdir(join(fixturesDir(), 'initramfs'), { recursive: true });
    dir = await mkdtemp(join(fixturesDir(), 'initramfs', 'image-test-'));
    image = join(dir, 'initramfs-live.img');
    result = await buildTestInitramfs(image);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists sorted, with /init, busybox, the module order and every module of the closure', async () => {
    const { stdout } = await cpio(image, ['-it', '--quiet']);
    const names = stdout.trim().split('\n');
    const sorted = [...names].sort((a, b) => {
      const pa = a.split('/');
      const pb = b.split('/');
      for (let i = 0; i < Math.min(pa.length, pb.length); i++) if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
      return pa.length - pb.length;
    });
    expect(names).toEqual(sorted);
    for (const name of ['init', 'bin/busybox', 'bin/sh', 'dev/console', 'dev/null', 'etc/initramfs/modules', 'etc/initramfs/kernel-release', 'proc', 'sys', 'run', 'newroot']) {
      expect(names).toContain(name);
    }
    const modules = names.filter((n) => n.endsWith('.ko'));
    expect(modules).toHaveLength(result.closure.load.length);
    expect(modules).toContain(`lib/modules/${result.kernelRelease}/kernel/fs/isofs/isofs.ko`);
  });

  it('has /dev/console as char device 5,1 and everything owned by root', async () => {
    const { stdout } = await cpio(image, ['-itv', '--quiet']);
    const lines = stdout.trim().split('\n');
    expect(lines.find((l) => l.endsWith(' dev/console'))).toMatch(/^crw------- +1 root +root +5, +1 /);
    expect(lines.find((l) => l.endsWith(' dev/null'))).toMatch(/^crw-rw-rw- +1 root +root +1, +3 /);
    expect(lines.find((l) => l.endsWith(' init'))).toMatch(/^-rwxr-xr-x +1 root +root /);
    expect(lines.every((l) => / root +root /.test(l))).toBe(true);
  });

  it('carries the .ko files byte for byte, in the load order the closure computed', async () => {
    const kernel = await debianKernel();
    const out = join(dir, 'extracted');
    await mkdir(out);
    await cpio(image, ['-id', '--quiet', '--no-absolute-filenames'], out);
    const order = (await readFile(join(out, 'etc/initramfs/modules'), 'utf8')).trim().split('\n');
    expect(order).toEqual(result.closure.load.map((m) => `/lib/modules/${kernel.release}/${m.path}`));
    for (const module of result.closure.load) {
      const packaged = await readFile(join(kernel.root, 'lib/modules', kernel.release, module.path));
      expect((await readFile(join(out, order.find((p) => p.endsWith('/' + module.path))!))).equals(packaged)).toBe(true);
    }
    // Signed by Debian: the appended signature survives.
    const isofs = await readFile(join(out, `lib/modules/${kernel.release}/kernel/fs/isofs/isofs.ko`));
    expect(isofs.subarray(-28).toString('latin1')).toBe('~Module signature appended~\n');
    expect(await readFile(join(out, 'etc/initramfs/kernel-release'), 'utf8')).toBe(kernel.release + '\n');
    expect((await readFile(join(out, 'init'))).equals(await readFile(join(projectRoot(), 'stages/initramfs/init')))).toBe(true);
  });

  it('is byte-identical when built twice', async () => {
    const again = join(dir, 'again.img');
    await buildTestInitramfs(again);
    expect((await readFile(again)).equals(await readFile(image))).toBe(true);
  });

  it('builds with gzip too, readable by cpio', async () => {
    const gz = join(dir, 'gzip.img');
    const gzipped = await buildTestInitramfs(gz, { format: 'gzip', level: 9 });
    expect((await readFile(gz)).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(gzipped.cpioBytes).toBe(result.cpioBytes);
    const { stdout } = await cpio(gz, ['-it', '--quiet']);
    expect(stdout).toContain('dev/console');
  });
});

describe('initramfs inputs that must fail the build', () => {
  const inputs = async (dir: string) => ({
    kernelPackageRoot: (await debianKernel()).root,
    busybox: await debianBusybox(),
    initScript: join(projectRoot(), 'stages/initramfs/init'),
    modules: { required: ['isofs'], optional: [] },
    compression: { format: 'zstd' as const, level: 3 },
    sourceDateEpoch: TEST_EPOCH,
    scratch: dir,
    output: join(dir, 'out.img'),
    runner: hostRunner(),
  });

  it('a dynamically linked busybox', async () => {
    const dir = await mkdtemp(join(fixturesDir(), 'initramfs', 'dynamic-'));
    try {
      const attempt = buildInitramfs({ ...(await inputs(dir)), busybox: '/bin/ls' });
      await expect(attempt).rejects.toThrow(NotStaticBinaryError);
      await expect(attempt).rejects.toThrow(/\/bin\/ls is dynamically linked \(interpreter \/lib64\/ld-linux-x86-64\.so\.2\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a source that cannot be read leaves no image behind', async () => {
    const dir = await mkdtemp(join(fixturesDir(), 'initramfs', 'missing-'));
    try {
      const base = await inputs(dir);
      await expect(buildInitramfs({ ...base, initScript: join(dir, 'no-init') })).rejects.toThrow(/cpio entry init: cannot read .*no-init/);
      expect(existsSync(base.output)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('compression settings outside what the kernel can unpack', () => {
    expect(validateCompression({ format: 'zstd', level: 19 }, 'p')).toEqual({ format: 'zstd', level: 19 });
    expect(() => validateCompression({ format: 'zstd', level: 22 }, 'params')).toThrow(CompressionError);
    expect(() => validateCompression({ format: 'xz', level: 6 }, 'params')).toThrow(/'zstd' or 'gzip'/);
  });
});
