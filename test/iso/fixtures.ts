// Real inputs for the ESP and ISO tests, from Debian packages: systemd-boot and the EFI stub
// (systemd-boot-efi), isolinux.bin + isohdpfx.bin (isolinux), ldlinux.c32 (syslinux-common), the
// Debian kernel, the project's initramfs built from it, signed UKIs, and a busybox root image
// whose init starts a root shell on the console (what the qemu/ boot scenarios talk to).
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { initSecureBootKeys, type SecureBootKeySet } from '../../keys/secureboot.js';
import { signFile } from '../../stages/sign.js';
import { buildUki } from '../../stages/uki.js';
import { liveKernelCommandLine } from '../../stages/iso/volume-label.js';
import { hostRunner, type Runner } from '../../stages/shared/host-runner.js';
import type { SyslinuxFiles } from '../../stages/iso.js';
import { extractDeb, fetchDeb } from '../../fixtures/debs.js';
import { fixturesDir, projectRoot } from '../../fixtures/paths.js';
import { buildTestInitramfs } from '../initramfs/build-image.js';
import { debianBusybox, debianKernel } from '../initramfs/debian-inputs.js';
import { bookwormSystemdBoot } from '../uki/fixtures.js';

const run = promisify(execFile);

export const TEST_EPOCH = 1_700_000_000;
export const OS = 'pltest';
/** Longer than Joliet's 16 characters on purpose: the ISO must keep it whole for findfs. */
export const LIVE_LABEL = 'PIPELINE_TEST_LIVE_2023';
export const VARIANT_CMDLINE = 'console=ttyS0,115200';
/** What the root image's init prints before it starts the shell. */
export const ROOT_MARKER = 'pipeline-test-root: shell on the console';

/** mkfs.fat, mtools and xorriso from PATH, outside the engine (HOME: mtools reads ~/.mtoolsrc). */
export const hostTools: Runner = hostRunner({ env: { HOME: tmpdir() } });

export function isoFixturesDir(): string {
  return join(fixturesDir(), 'iso');
}

/** A fresh scratch directory under out/fixtures/iso (the caller removes it). */
export async function scratchDir(name: string): Promise<string> {
  await mkdir(isoFixturesDir(), { recursive: true });
  return mkdtemp(join(isoFixturesDir(), `${name}-`));
}

/** Unpacks a Debian package once into out/fixtures/iso/extract/<pkg> (a killed run leaves no half tree). */
async function unpackedOnce(pkg: string): Promise<string> {
  const dest = join(isoFixturesDir(), 'extract', pkg);
  if (existsSync(join(dest, '.complete'))) return dest;
  const partial = `${dest}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await extractDeb(await fetchDeb(pkg), partial);
  await writeFile(join(partial, '.complete'), '');
  try {
    await rename(partial, dest);
  } catch {
    await rm(partial, { recursive: true, force: true });
    if (!existsSync(join(dest, '.complete'))) throw new Error(`cannot move ${partial} to ${dest}`);
  }
  return dest;
}

/** Debian's syslinux pieces (Alpine ships the same three files in one package, under /usr/share/syslinux). */
export async function debianSyslinux(): Promise<SyslinuxFiles> {
  const isolinux = await unpackedOnce('isolinux');
  const common = await unpackedOnce('syslinux-common');
  return {
    isolinuxBin: join(isolinux, 'usr/lib/ISOLINUX/isolinux.bin'),
    isohdpfxBin: join(isolinux, 'usr/lib/ISOLINUX/isohdpfx.bin'),
    ldlinuxC32: join(common, 'usr/lib/syslinux/modules/bios/ldlinux.c32'),
  };
}

/** The isolinux.cfg template of the project. */
export async function isolinuxTemplate(): Promise<string> {
  return readFile(join(projectRoot(), 'stages/iso/isolinux.cfg'), 'utf8');
}

const ROOT_INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
echo "${ROOT_MARKER}"
exec setsid cttyhack sh
`;

/** A busybox root image (squashfs or erofs) whose /sbin/init gives a root shell on the console. */
export async function buildRootImage(dir: string, format: 'squashfs' | 'erofs' = 'squashfs'): Promise<string> {
  const root = join(dir, `root-${format}`);
  for (const sub of ['bin', 'sbin', 'dev', 'proc', 'sys', 'run', 'tmp', 'etc']) await mkdir(join(root, sub), { recursive: true });
  await copyFile(await debianBusybox(), join(root, 'bin/busybox'));
  await chmod(join(root, 'bin/busybox'), 0o755);
  await symlink('busybox', join(root, 'bin/sh'));
  await writeFile(join(root, 'sbin/init'), ROOT_INIT, { mode: 0o755 });
  const image = join(dir, `root.${format}`);
  const env = { ...process.env, SOURCE_DATE_EPOCH: String(TEST_EPOCH) };
  if (format === 'squashfs') await run('mksquashfs', [root, image, '-all-root', '-noappend', '-quiet', '-no-progress'], { env });
  else await run('mkfs.erofs', ['--quiet', '--all-root', '-T', String(TEST_EPOCH), image, root], { env });
  return image;
}

export interface BootPieces {
  keys: SecureBootKeySet;
  /** Signed with the key set's db key. */
  systemdBoot: string;
  liveUki: string;
  systemA: string;
  systemB: string;
  kernel: string;
  initramfs: string;
  rootImage: string;
  syslinux: SyslinuxFiles;
}

async function signedUki(dir: string, name: string, stub: string, kernel: string, initramfs: string, cmdline: string, keys: SecureBootKeySet): Promise<string> {
  const unsigned = join(dir, `${name}.unsigned.efi`);
  await buildUki({ stub, kernel, initrds: [initramfs], cmdline, osRelease: `ID=${OS}\nNAME="pipeline test"\n`, sourceDateEpoch: TEST_EPOCH, output: unsigned });
  const signed = join(dir, `${name}.efi`);
  await signFile({ input: unsigned, output: signed, keyPath: keys.keys.db.key, certPath: keys.keys.db.crt, signingTime: TEST_EPOCH });
  return signed;
}

/**
 * Everything an ESP and an ISO are made of, built into dir: a key set, signed systemd-boot,
 * signed live and slot UKIs (Debian kernel + the project's initramfs), a squashfs root image.
 */
export async function buildBootPieces(dir: string): Promise<BootPieces> {
  const keys = await initSecureBootKeys(join(dir, 'keys'));
  const boot = await bookwormSystemdBoot();
  const systemdBoot = join(dir, 'systemd-bootx64.efi');
  await signFile({ input: boot.systemdBoot, output: systemdBoot, keyPath: keys.keys.db.key, certPath: keys.keys.db.crt, signingTime: TEST_EPOCH });
  const kernel = (await debianKernel()).vmlinuz;
  const initramfs = join(dir, 'initramfs-live.img');
  await buildTestInitramfs(initramfs);
  const liveUki = await signedUki(dir, 'live', boot.stub, kernel, initramfs, liveKernelCommandLine(LIVE_LABEL, VARIANT_CMDLINE), keys);
  const systemA = await signedUki(dir, 'system-a', boot.stub, kernel, initramfs, `root=LABEL=system-a ${VARIANT_CMDLINE}`, keys);
  const systemB = await signedUki(dir, 'system-b', boot.stub, kernel, initramfs, `root=LABEL=system-b ${VARIANT_CMDLINE}`, keys);
  return { keys, systemdBoot, liveUki, systemA, systemB, kernel, initramfs, rootImage: await buildRootImage(dir), syslinux: await debianSyslinux() };
}

/** Runs a command and returns stdout (for mdir, isoinfo, xorriso reports, fdisk). */
export async function output(cmd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run(cmd, args, { env: { ...process.env, LC_ALL: 'C.UTF-8', TZ: 'UTC', ...env }, maxBuffer: 64 << 20 });
  return stdout;
}

/** A sparse file of the given size (content: zeros), for images past a size threshold. */
export async function sparseFile(path: string, bytes: number): Promise<string> {
  await writeFile(path, '');
  await run('truncate', ['-s', String(bytes), path]);
  return path;
}
