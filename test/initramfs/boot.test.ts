// Real boots under QEMU (TCG): Debian's kernel with our initramfs, into a live ISO, into an
// installed slot found by GPT partition name, and into the rescue shell when the root is missing.
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, open, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fixturesDir } from '../fixtures/paths.js';
import { buildTestInitramfs } from './build-image.js';
import { debianBusybox, debianKernel } from './debian-inputs.js';
import { directBootArgs, SerialGuest } from './qemu-serial.js';

const run = promisify(execFile);
const LIVE_LABEL = 'PLTEST_LIVE';
const BOOT_TIMEOUT_MS = 60_000;
/** Serial logs of the last run, kept for reading after a failure. */
const logs = join(fixturesDir(), 'initramfs', 'logs');

// Patterns end at a line break: output arrives in chunks, and `\S+` must not match half a word.
const MARKER = /ROOTFS-MARKER name=(\S+) pid=(\d+) root=(\S+) medium=(\S+) writable=(\S+)\r?\n/;

/** A minimal busybox root whose /sbin/init reports what it sees and powers off. */
async function rootImage(dir: string, name: string, format: 'squashfs' | 'erofs'): Promise<string> {
  const root = join(dir, `${name}-root`);
  for (const sub of ['bin', 'sbin', 'proc', 'sys', 'dev', 'run', 'tmp', 'etc']) await mkdir(join(root, sub), { recursive: true });
  await copyFile(await debianBusybox(), join(root, 'bin/busybox'));
  await chmod(join(root, 'bin/busybox'), 0o755);
  await symlink('busybox', join(root, 'bin/sh'));
  const init = [
    '#!/bin/sh',
    'bb=/bin/busybox',
    `root=$($bb awk '$2 == "/" { type = $3 } END { print type }' /proc/mounts)`,
    `if $bb grep -q ' /run/live/medium iso9660 ' /proc/mounts; then medium=yes; else medium=no; fi`,
    'if echo ok >/etc/written 2>/dev/null; then writable=yes; else writable=no; fi',
    // The serial line, whichever console /dev/console is: the tests read the serial log.
    `echo "ROOTFS-MARKER name=${name} pid=$$ root=$root medium=$medium writable=$writable" >/dev/ttyS0`,
    '$bb sleep 1', // let the UART drain before the machine goes away
    '$bb poweroff -f',
    '',
  ].join('\n');
  await writeFile(join(root, 'sbin/init'), init, { mode: 0o755 });
  const image = join(dir, `${name}.${format}`);
  if (format === 'squashfs') await run('mksquashfs', [root, image, '-all-root', '-noappend', '-quiet', '-no-progress']);
  else await run('mkfs.erofs', ['--quiet', '--all-root', '-zlz4hc', image, root]);
  return image;
}

/** A disk image with a GPT naming partitions system-a and system-b, each holding a root image. */
async function slotDisk(dir: string, slotA: string, slotB: string): Promise<string> {
  const disk = join(dir, 'disk.img');
  await writeFile(disk, Buffer.alloc(0));
  await run('truncate', ['-s', '24M', disk]);
  const layout = ['label: gpt', 'first-lba: 2048', 'size=8MiB, name="system-a"', 'size=8MiB, name="system-b"', ''].join('\n');
  await new Promise<void>((resolve, reject) => {
    const child = execFile('sfdisk', ['--no-reread', '--no-tell-kernel', disk], (err) => (err ? reject(err) : resolve()));
    child.stdin!.end(layout);
  });
  const { stdout } = await run('sfdisk', ['--json', disk]);
  const partitions = JSON.parse(stdout).partitiontable.partitions as { start: number; name: string }[];
  const file = await open(disk, 'r+');
  try {
    for (const [name, image] of [['system-a', slotA], ['system-b', slotB]]) {
      const partition = partitions.find((p) => p.name === name)!;
      await file.write(await readFile(image), 0, undefined, partition.start * 512);
    }
  } finally {
    await file.close();
  }
  return disk;
}

describe('booting Debian 6.1 with the initramfs (QEMU pc, TCG)', () => {
  let dir: string;
  let vmlinuz: string;
  let zstdImage: string;
  let gzipImage: string;
  let iso: string;
  let disk: string;
  let guest: SerialGuest | undefined;

  beforeAll(async () => {
    await mkdir(logs, { recursive: true });
    dir = await mkdtemp(join(fixturesDir(), 'initramfs', 'boot-test-'));
    vmlinuz = (await debianKernel()).vmlinuz;
    zstdImage = join(dir, 'initramfs-zstd.img');
    gzipImage = join(dir, 'initramfs-gzip.img');
    await buildTestInitramfs(zstdImage);
    await buildTestInitramfs(gzipImage, { format: 'gzip', level: 9 });

    const isoTree = join(dir, 'iso');
    await mkdir(join(isoTree, 'live'), { recursive: true });
    await copyFile(await rootImage(dir, 'live', 'squashfs'), join(isoTree, 'live/filesystem.squashfs'));
    iso = join(dir, 'live.iso');
    await run('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-V', LIVE_LABEL, '-o', iso, isoTree]);

    disk = await slotDisk(dir, await rootImage(dir, 'slot-a', 'erofs'), await rootImage(dir, 'slot-b', 'squashfs'));
  });
  afterEach(async () => {
    await guest?.stop();
    guest = undefined;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('root=live:LABEL= finds the ISO, loop-mounts its squashfs under an overlay and starts its init', async () => {
    const args = directBootArgs(vmlinuz, zstdImage, `root=live:LABEL=${LIVE_LABEL} console=ttyS0`, ['-cdrom', iso]);
    guest = new SerialGuest(args, join(logs, 'live-boot.log'));
    const marker = await guest.waitFor(MARKER, BOOT_TIMEOUT_MS);
    expect(marker.slice(1)).toEqual(['live', '1', 'overlay', 'yes', 'yes']);
    const [, loaded, total, absent, failed] = guest.log.match(/initramfs: loaded (\d+) of (\d+) modules \((\d+) without matching hardware, (\d+) failed\)/)!;
    expect(failed).toBe('0');
    expect(Number(loaded) + Number(absent)).toBe(Number(total));
    expect(guest.log).toContain('initramfs: mounted /live/filesystem.squashfs (squashfs)');
    expect(guest.log).not.toContain('initramfs: fatal:');
    expect(await guest.exit(20_000)).toBe(0);
  }, 120_000);

  it('root=LABEL=system-b finds the GPT partition by name and boots the root image in it (two consoles)', async () => {
    // tty0 last makes it /dev/console: the initramfs must still report on the serial console.
    const args = directBootArgs(vmlinuz, zstdImage, 'root=LABEL=system-b console=ttyS0 console=tty0', [
      '-drive', `file=${disk},if=virtio,format=raw`,
    ]);
    guest = new SerialGuest(args, join(logs, 'slot-b-boot.log'));
    const marker = await guest.waitFor(MARKER, BOOT_TIMEOUT_MS);
    expect(marker.slice(1)).toEqual(['slot-b', '1', 'overlay', 'no', 'yes']);
    expect(guest.log).toMatch(/initramfs: mounted \/dev\/vda2 \(system-b, squashfs\)/);
    expect(await guest.exit(20_000)).toBe(0);
  }, 120_000);

  it('root=LABEL=system-a on q35 finds an erofs slot on a SATA disk (ahci, sd_mod; erofs needs crc32c)', async () => {
    const args = directBootArgs(
      vmlinuz,
      zstdImage,
      'root=LABEL=system-a console=ttyS0',
      ['-drive', `file=${disk},if=none,id=disk,format=raw`, '-device', 'ide-hd,drive=disk,bus=ide.0'],
      'q35',
    );
    guest = new SerialGuest(args, join(logs, 'slot-a-boot.log'));
    const marker = await guest.waitFor(MARKER, BOOT_TIMEOUT_MS);
    expect(marker.slice(1)).toEqual(['slot-a', '1', 'overlay', 'no', 'yes']);
    expect(guest.log).toMatch(/initramfs: mounted \/dev\/sda1 \(system-a, erofs\)/);
    expect(await guest.exit(20_000)).toBe(0);
  }, 120_000);

  it('a label no device carries prints one fatal line, then an interactive shell (gzip image)', async () => {
    const args = directBootArgs(vmlinuz, gzipImage, 'root=live:LABEL=NO_SUCH_LABEL console=ttyS0 initramfs.timeout=3', ['-cdrom', iso]);
    guest = new SerialGuest(args, join(logs, 'fatal-boot.log'));
    const fatal = await guest.waitFor(/initramfs: fatal: no device with label NO_SUCH_LABEL after 3 s; devices seen: ([^\r\n]*)\r?\n/, BOOT_TIMEOUT_MS);
    expect(fatal[1]).toBe('sr0');
    await guest.waitFor(/initramfs: starting a shell on the console/, 10_000);
    // The shell answers on the console: arithmetic proves it ran the command, not an echo of it.
    guest.type('echo rescue-$((6 * 7))\n');
    await guest.waitFor(/rescue-42/, 20_000);
    expect(guest.log.match(/initramfs: fatal: /g)).toHaveLength(1);
  }, 120_000);
});
