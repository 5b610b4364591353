// Real boots of the initramfs. The product shows it at work (the demo ISO, built by the pipeline and
// booted once per test run by test/qemu/demo-boots.ts): live boots find the medium by label and
// loop-mount the squashfs; the A/B slot is found by GPT partition name. Booted here, directly
// (QEMU -kernel, TCG) with Debian's kernel, is what the product cannot show: an erofs slot on a
// SATA disk with two consoles (tty0 last), and the failure path to the rescue shell.
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, open, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBootTest, SERIAL_LOG } from '../../qemu/boot-test.js';
import { DEFAULT_FATAL_PATTERNS, type FatalPattern } from '../../qemu/expect.js';
import { locateFirmware, type FirmwareSet } from '../../qemu/firmware.js';
import type { DriveConfig } from '../../qemu/qemu-config.js';
import { BOOT_BUDGETS, COMMAND_BUDGET, type ScenarioPlan } from '../../qemu/scenarios.js';
import type { ScriptStep } from '../../qemu/script.js';
import { fixturesDir } from '../../fixtures/paths.js';
import { slotHeader, writeSlotImage } from '../../formats/slot-layers.js';
import { demoBoots, type DemoBoots } from '../qemu/demo-boots.js';
import { buildTestInitramfs } from './build-image.js';
import { debianBusybox, debianKernel } from './debian-inputs.js';

const run = promisify(execFile);
const LIVE_LABEL = 'PLTEST_LIVE';
// Patterns end at a line break: output arrives in chunks, and `\S+` must not match half a word.
const MARKER = /ROOTFS-MARKER name=(\S+) pid=(\d+) root=(\S+) medium=(\S+) writable=(\S+)\r?\n/;
const FATAL_LINE = /initramfs: fatal: no device with label NO_SUCH_LABEL after 3 s; devices seen: ([^\r\n]*)\r?\n/;

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

describe('the initramfs in the product', () => {
  let demo: DemoBoots;
  const log = async (scenario: string) => readFile(join(demo.nodes[`test:demo:${scenario}`].outputDir!, SERIAL_LOG), 'utf8');

  beforeAll(async () => {
    demo = await demoBoots(['bios', 'slot-b']);
  }, 900_000);

  it('root=live:LABEL= finds the ISO, loads its modules and loop-mounts its squashfs (BIOS live boot)', async () => {
    const text = await log('bios');
    const [, loaded, total, absent, failed] = text.match(/initramfs: loaded (\d+) of (\d+) modules \((\d+) without matching hardware, (\d+) failed\)/)!;
    expect(failed).toBe('0');
    expect(Number(loaded) + Number(absent)).toBe(Number(total));
    expect(text).toMatch(/initramfs: mounted the live medium \/dev\/sr0 on \/run\/live\/medium/);
    expect(text).toContain('initramfs: mounted /live/filesystem.squashfs (squashfs)');
    expect(text).toContain('initramfs: mounted /live/overlayfs.squashfs (squashfs)');
    expect(text).toContain('initramfs: joined the layers with overlayfs: lowerdir=/run/live/layers/1:/run/live/layers/0');
    expect(text).toMatch(/initramfs: switching to the root filesystem, starting \S+/);
    expect(text).not.toContain('initramfs: fatal:');
  });

  it('root=LABEL=system-b finds the GPT partition by name and mounts the two layers in it', async () => {
    const text = await log('slot-b');
    expect(text).toMatch(/initramfs: mounted layer 0 of \/dev\/vda3 \(system-b, squashfs at byte 4096\)/);
    expect(text).toMatch(/initramfs: mounted layer 1 of \/dev\/vda3 \(system-b, squashfs at byte \d+\)/);
    expect(text).toContain('initramfs: joined the layers with overlayfs: lowerdir=/run/slot/layers/1:/run/slot/layers/0');
  });
});

describe('booting Debian 6.1 with the initramfs directly (QEMU, TCG)', () => {
  let dir: string;
  let vmlinuz: string;
  let gzipImage: string;
  let zstdImage: string;
  let firmware: FirmwareSet;

  beforeAll(async () => {
    await mkdir(join(fixturesDir(), 'initramfs'), { recursive: true });
    dir = await mkdtemp(join(fixturesDir(), 'initramfs', 'boot-test-'));
    vmlinuz = (await debianKernel()).vmlinuz;
    firmware = await locateFirmware(['seabios']);
    zstdImage = join(dir, 'initramfs-zstd.img');
    gzipImage = join(dir, 'initramfs-gzip.img');
    await buildTestInitramfs(zstdImage);
    await buildTestInitramfs(gzipImage, { format: 'gzip', level: 9 });
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Boots kernel + initramfs with the project's boot-test engine; returns the serial log. */
  async function boot(name: string, options: {
    machine: 'pc' | 'q35';
    initrd: string;
    append: string;
    drives: DriveConfig[];
    steps: ScriptStep[];
    fatalPatterns?: readonly FatalPattern[];
  }): Promise<string> {
    const plan: ScenarioPlan = {
      name: 'direct-kernel',
      description: name,
      qemu: { machine: options.machine, memoryMiB: 1024, firmware: { type: 'seabios', bios: firmware.seabios!.path }, drives: options.drives,
        directKernel: { kernel: vmlinuz, initrd: options.initrd, append: options.append } },
      fatalPatterns: options.fatalPatterns ?? DEFAULT_FATAL_PATTERNS,
      steps: options.steps,
    };
    const outDir = join(dir, name);
    await runBootTest(plan, { outDir, runDir: join(outDir, 'run') });
    return readFile(join(outDir, SERIAL_LOG), 'utf8');
  }

  it('root=LABEL=system-a on q35 finds an erofs slot on a SATA disk (ahci, sd_mod; erofs needs crc32c), reporting on ttyS0 with tty0 the console', async () => {
    const disk = await slotDisk(dir, await rootImage(dir, 'slot-a', 'erofs'), await rootImage(dir, 'slot-b', 'squashfs'));
    // tty0 last makes it /dev/console: the initramfs must still report on the serial console.
    const log = await boot('slot-a', {
      machine: 'q35',
      initrd: zstdImage,
      append: 'root=LABEL=system-a console=ttyS0 console=tty0',
      drives: [{ type: 'ide-disk', file: disk, snapshot: true }],
      steps: [
        { kind: 'expect', marker: 'root', pattern: MARKER, what: "the root image's init reporting", budget: BOOT_BUDGETS.bios },
        { kind: 'exit', marker: 'poweroff', what: 'the guest to power off', budget: BOOT_BUDGETS.bios },
      ],
    });
    expect(MARKER.exec(log)!.slice(1)).toEqual(['slot-a', '1', 'overlay', 'no', 'yes']);
    expect(log).toMatch(/initramfs: mounted \/dev\/sda1 \(system-a, erofs\)/);
  }, 240_000);

  it('a layered slot (erofs base, squashfs upper) boots with both joined; a truncated stack stops with a fatal line', async () => {
    // The upper layer is only an /sbin/init script: it runs with the base's /bin/sh, so its
    // marker proves both layers are there, the upper one on top.
    const upperRoot = join(dir, 'upper-root');
    await mkdir(join(upperRoot, 'sbin'), { recursive: true });
    const base = await rootImage(dir, 'layered-base', 'erofs');
    const init = (await readFile(join(dir, 'layered-base-root/sbin/init'), 'utf8')).replace('name=layered-base', 'name=upper-over-base');
    await writeFile(join(upperRoot, 'sbin/init'), init, { mode: 0o755 });
    const upper = join(dir, 'upper.squashfs');
    await run('mksquashfs', [upperRoot, upper, '-all-root', '-noappend', '-quiet', '-no-progress']);
    const good = join(dir, 'layered.img');
    const layers = await writeSlotImage([base, upper], good);
    // The same stack whose header claims a base bigger than the 8 MiB partition.
    const bad = join(dir, 'truncated.img');
    await writeFile(bad, await readFile(good));
    const fh = await open(bad, 'r+');
    await fh.write(slotHeader([{ ...layers[0], bytes: 16 << 20 }, layers[1]]), 0, undefined, 0);
    await fh.close();
    const disk = await slotDisk(dir, bad, good);
    const steps: ScriptStep[] = [
      { kind: 'expect', marker: 'root', pattern: MARKER, what: "the upper layer's init reporting", budget: BOOT_BUDGETS.bios },
      { kind: 'exit', marker: 'poweroff', what: 'the guest to power off', budget: BOOT_BUDGETS.bios },
    ];
    const log = await boot('layered', { machine: 'q35', initrd: zstdImage, append: 'root=LABEL=system-b console=ttyS0', drives: [{ type: 'ide-disk', file: disk, snapshot: true }], steps });
    expect(MARKER.exec(log)!.slice(1)).toEqual(['upper-over-base', '1', 'overlay', 'no', 'yes']);
    expect(log).toMatch(/initramfs: mounted layer 0 of \/dev\/sda2 \(system-b, erofs at byte 4096\)/);
    expect(log).toContain('initramfs: joined the layers with overlayfs: lowerdir=/run/slot/layers/1:/run/slot/layers/0');
    const truncated = /initramfs: fatal: \/dev\/sda1 \(system-a\): layer 0 \(erofs, 16777216 bytes at 4096\) ends past the partition \(8388608 bytes\): the slot is truncated\r?\n/;
    const fatal = await boot('truncated', {
      machine: 'q35', initrd: zstdImage, append: 'root=LABEL=system-a console=ttyS0', drives: [{ type: 'ide-disk', file: disk, snapshot: true }],
      fatalPatterns: DEFAULT_FATAL_PATTERNS.filter((f) => f.pattern !== 'initramfs: fatal:'),
      steps: [{ kind: 'expect', marker: 'fatal', pattern: truncated, what: 'the fatal line of a truncated stack', budget: BOOT_BUDGETS.bios }],
    });
    expect(fatal.match(/initramfs: fatal: /g)).toHaveLength(1);
  }, 240_000);

  it('a label no device carries prints one fatal line, then an interactive shell (gzip image)', async () => {
    const isoTree = join(dir, 'iso');
    await mkdir(join(isoTree, 'live'), { recursive: true });
    await copyFile(await rootImage(dir, 'live', 'squashfs'), join(isoTree, 'live/filesystem.squashfs'));
    const iso = join(dir, 'live.iso');
    await run('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-V', LIVE_LABEL, '-o', iso, isoTree]);
    const log = await boot('fatal', {
      machine: 'pc',
      initrd: gzipImage,
      append: 'root=live:LABEL=NO_SUCH_LABEL console=ttyS0 initramfs.timeout=3',
      drives: [{ type: 'cdrom', file: iso }],
      // The fatal line is what this boot must show.
      fatalPatterns: DEFAULT_FATAL_PATTERNS.filter((fatal) => fatal.pattern !== 'initramfs: fatal:'),
      steps: [
        { kind: 'expect', marker: 'fatal', pattern: FATAL_LINE, what: 'the fatal line', budget: BOOT_BUDGETS.bios },
        { kind: 'expect', marker: 'rescue', pattern: 'initramfs: starting a shell on the console', budget: BOOT_BUDGETS.bios },
        { kind: 'shell', marker: 'shell', budget: BOOT_BUDGETS.bios },
        // The shell answers on the console: arithmetic proves it ran the command, not an echo of it.
        { kind: 'run', command: 'echo rescue-$((6 * 7))', output: /^rescue-42$/, budget: COMMAND_BUDGET },
      ],
    });
    expect(FATAL_LINE.exec(log)![1]).toBe('sr0');
    expect(log.match(/initramfs: fatal: /g)).toHaveLength(1);
  }, 240_000);
});
