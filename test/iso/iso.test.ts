// The hybrid ISO with real tools: the file layout (xorriso -find, isoinfo), isolinux.cfg, the El
// Torito catalog, the isohybrid MBR and GPT (fdisk, xorriso -report_system_area), the .sha256,
// byte-identical rebuilds, an ESP past 32 MiB, an erofs root, and refused inputs.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, open, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildEsp, liveEspEntries } from '../../stages/esp.js';
import { buildIso, IsoInputError, ISO_PATHS, type BuildIsoOptions } from '../../stages/iso.js';
import { VolumeLabelError } from '../../stages/iso/volume-label.js';
import {
  buildBootPieces, buildRootImage, hostTools, isolinuxTemplate, LIVE_LABEL, OS, output, scratchDir, sparseFile, TEST_EPOCH, VARIANT_CMDLINE, type BootPieces,
} from './fixtures.js';

let dir: string;
let pieces: BootPieces;
let esp: string;
let bigEsp: string;
let template: string;

beforeAll(async () => {
  dir = await scratchDir('iso');
  pieces = await buildBootPieces(dir);
  template = await isolinuxTemplate();
  const entries = liveEspEntries({ os: OS, systemdBoot: pieces.systemdBoot, liveUki: pieces.liveUki, loader: { timeoutSeconds: 2 } });
  esp = join(dir, 'efiboot.img');
  await buildEsp({ entries, output: esp, sourceDateEpoch: TEST_EPOCH, scratch: join(dir, 'esp-scratch'), runner: hostTools });
  const filler = await sparseFile(join(dir, 'filler.bin'), 40 * 2 ** 20);
  bigEsp = join(dir, 'efiboot-big.img');
  await buildEsp({ entries: [...entries, { path: `EFI/${OS}/filler.bin`, source: filler }], output: bigEsp, sourceDateEpoch: TEST_EPOCH, scratch: join(dir, 'esp-scratch'), runner: hostTools });
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function isoOptions(output: string, overrides: Partial<BuildIsoOptions> = {}): BuildIsoOptions {
  return {
    output, os: OS, volumeLabel: LIVE_LABEL, cmdline: VARIANT_CMDLINE, timeoutSeconds: 2, isolinuxTemplate: template, sourceDateEpoch: TEST_EPOCH,
    esp, syslinux: pieces.syslinux, kernel: pieces.kernel, initramfs: pieces.initramfs, rootImage: pieces.rootImage,
    systemA: pieces.systemA, systemB: pieces.systemB, scratch: join(dir, 'iso-scratch'), runner: hostTools, ...overrides,
  };
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/** ISO path -> size, from `xorriso -find / -exec lsdl` (Rock Ridge view). */
async function isoFiles(iso: string): Promise<Map<string, number>> {
  const text = await output('xorriso', ['-no_rc', '-indev', iso, '-find', '/', '-type', 'f', '-exec', 'lsdl']);
  const files = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^-\S+\s+\d+\s+\d+\s+\d+\s+(\d+)\s+.*'(.*)'$/.exec(line);
    if (m) files.set(m[2], Number(m[1]));
  }
  return files;
}

async function extract(iso: string, isoPath: string, dest: string): Promise<string> {
  await output('xorriso', ['-no_rc', '-osirrox', 'on', '-indev', iso, '-extract', isoPath, dest]);
  return dest;
}

interface ElToritoEntry {
  platform: string;
  emulation: string;
  loadSize: number;
  lba: number;
  path: string;
}

async function elTorito(iso: string): Promise<ElToritoEntry[]> {
  const text = await output('xorriso', ['-no_rc', '-indev', iso, '-report_el_torito', 'plain']);
  const entries: ElToritoEntry[] = [];
  for (const m of text.matchAll(/^El Torito boot img :\s+(\d+)\s+(\S+)\s+\S+\s+(\S+)\s+\S+\s+\S+\s+(\d+)\s+(\d+)$/gm)) {
    entries.push({ platform: m[2], emulation: m[3], loadSize: Number(m[4]), lba: Number(m[5]), path: '' });
  }
  for (const m of text.matchAll(/^El Torito img path :\s+(\d+)\s+(\S+)$/gm)) entries[Number(m[1]) - 1].path = m[2];
  return entries;
}

async function volumeBlocks(iso: string): Promise<number> {
  return Number(/Volume size is: (\d+)/.exec(await output('isoinfo', ['-d', '-i', iso]))![1]);
}

describe('the live ISO', () => {
  let iso: string;
  beforeAll(async () => {
    iso = join(dir, 'a', `${OS}.iso`);
    await mkdir(join(dir, 'a'), { recursive: true });
    await buildIso(isoOptions(iso));
  }, 120_000);

  test('lays out kernel, initramfs, ESP, isolinux, slot UKIs and the root image at their paths', async () => {
    const files = await isoFiles(iso);
    // The El Torito catalog is a special node (not -type f); its path is checked with the catalog.
    const size = async (p: string) => (await stat(p)).size;
    expect(Object.fromEntries(files)).toEqual({
      [ISO_PATHS.kernel]: await size(pieces.kernel),
      [ISO_PATHS.initramfs]: await size(pieces.initramfs),
      [ISO_PATHS.esp]: await size(esp),
      [ISO_PATHS.isolinuxBin]: await size(pieces.syslinux.isolinuxBin),
      [ISO_PATHS.ldlinux]: await size(pieces.syslinux.ldlinuxC32),
      [ISO_PATHS.isolinuxCfg]: expect.any(Number),
      [`/boot/uki/${OS}-system-a.efi`]: await size(pieces.systemA),
      [`/boot/uki/${OS}-system-b.efi`]: await size(pieces.systemB),
      '/live/filesystem.squashfs': await size(pieces.rootImage),
    });
    for (const [isoPath, host] of [[ISO_PATHS.esp, esp], ['/live/filesystem.squashfs', pieces.rootImage], [`/boot/uki/${OS}-system-b.efi`, pieces.systemB]]) {
      expect(await sha256(await extract(iso, isoPath, join(dir, `x-${isoPath.replace(/\W/g, '_')}`)))).toBe(await sha256(host));
    }
  });

  test('volume label whole (no Joliet tree to cut it to 16), Rock Ridge, dates from SOURCE_DATE_EPOCH', async () => {
    const info = await output('isoinfo', ['-d', '-i', iso]);
    expect(info).toContain(`Volume id: ${LIVE_LABEL}`);
    expect(info).toContain('NO Joliet present');
    expect(info).toMatch(/Rock Ridge signatures version \d found/);
    const pvd = await output('xorriso', ['-no_rc', '-indev', iso, '-pvd_info']);
    expect(pvd).toMatch(/^Creation Time: 2023111422132000$/m);
    expect(pvd).toMatch(/^Modif. Time  : 2023111422132000$/m);
    const listing = await output('xorriso', ['-no_rc', '-indev', iso, '-find', '/live', '-exec', 'lsdl']);
    expect(listing).toMatch(/-r--r--r--\s+1 0\s+0\s+\d+ Nov 14\s+2023 '\/live\/filesystem.squashfs'/);
  });

  test('isolinux.cfg: serial console first, the live label on the command line, a short prompt', async () => {
    const cfg = await readFile(await extract(iso, ISO_PATHS.isolinuxCfg, join(dir, 'isolinux.cfg')), 'utf8');
    expect(cfg.split('\n')[0]).toBe('SERIAL 0 115200');
    expect(cfg).toMatch(/^PROMPT 1$/m);
    expect(cfg).toMatch(/^TIMEOUT 20$/m);
    expect(cfg).toMatch(/^DEFAULT live$/m);
    expect(cfg).toMatch(/^ {2}KERNEL \/boot\/vmlinuz$/m);
    expect(cfg).toMatch(/^ {2}INITRD \/boot\/initramfs-live.img$/m);
    expect(cfg).toMatch(new RegExp(`^  APPEND root=live:LABEL=${LIVE_LABEL} console=ttyS0,115200$`, 'm'));
    expect(cfg).not.toContain('@');
  });

  test('El Torito: isolinux for BIOS (4 sectors), the ESP for UEFI with its exact load size', async () => {
    const [bios, uefi, ...rest] = await elTorito(iso);
    expect(rest).toEqual([]);
    expect(bios).toMatchObject({ platform: 'BIOS', emulation: 'none', loadSize: 4, path: ISO_PATHS.isolinuxBin });
    expect(uefi).toMatchObject({ platform: 'UEFI', emulation: 'none', path: ISO_PATHS.esp });
    expect(uefi.loadSize).toBe((await stat(esp)).size / 512);
    const report = await output('xorriso', ['-no_rc', '-indev', iso, '-report_el_torito', 'plain']);
    expect(report).toMatch(new RegExp(`^El Torito cat path : ${ISO_PATHS.bootCatalog}$`, 'm'));
  });

  test('hybrid disk: isohdpfx MBR code, bootable ISO partition at 32 KiB, ESP as MBR 0xEF and GPT partition', async () => {
    const mbr = Buffer.alloc(512);
    const fh = await open(iso, 'r');
    await fh.read(mbr, 0, 512, 0);
    await fh.close();
    // The boot code is isohdpfx.bin's; xorriso patches isolinux.bin's address in after byte 432.
    expect(mbr.subarray(0, 432).equals((await readFile(pieces.syslinux.isohdpfxBin)).subarray(0, 432))).toBe(true);
    expect(mbr.readUInt16LE(510)).toBe(0xaa55);

    const uefi = (await elTorito(iso))[1];
    const espSectors = (await stat(esp)).size / 512;
    const fdisk = await output('fdisk', ['-l', iso]);
    expect(fdisk).toMatch(/^\S+1\s+\*\s+64\s+\d+\s+\d+\s+\S+\s+0 Empty$/m);
    expect(fdisk).toMatch(new RegExp(`^\\S+2\\s+${uefi.lba * 4}\\s+${uefi.lba * 4 + espSectors - 1}\\s+${espSectors}\\s+\\S+\\s+ef EFI`, 'm'));
    const area = await output('xorriso', ['-no_rc', '-indev', iso, '-report_system_area', 'plain']);
    expect(area).toMatch(/^GPT disk GUID\s+:\s+[0-9a-f]{32}$/m);
    expect(area).toMatch(new RegExp(`^GPT start and size :\\s+2\\s+${uefi.lba * 4}\\s+${espSectors}$`, 'm'));
    expect(area).toMatch(/^GPT partition path :\s+2\s+\/boot\/efiboot.img$/m);
  });

  test('writes a .sha256 that sha256sum -c accepts', async () => {
    const line = await readFile(`${iso}.sha256`, 'utf8');
    expect(line).toBe(`${await sha256(iso)}  ${OS}.iso\n`);
    await expect(output('sh', ['-c', `cd "${join(dir, 'a')}" && sha256sum -c ${OS}.iso.sha256`])).resolves.toContain(`${OS}.iso: OK`);
  });

  test('leaves the syslinux package untouched (the boot info table goes into a private copy)', async () => {
    const bin = await readFile(pieces.syslinux.isolinuxBin);
    const inIso = await readFile(await extract(iso, ISO_PATHS.isolinuxBin, join(dir, 'isolinux-in-iso.bin')));
    // -boot-info-table writes the medium's layout at bytes 8-63 of the copy on the medium only.
    expect(inIso.subarray(8, 64).equals(bin.subarray(8, 64))).toBe(false);
    expect(inIso.subarray(64).equals(bin.subarray(64))).toBe(true);
  });

  test('rebuilding in another directory, from copies with other mtimes, gives the same bytes', async () => {
    const other = join(dir, 'b');
    await mkdir(other, { recursive: true });
    const copies: Record<string, string> = {};
    for (const [name, path] of Object.entries({ kernel: pieces.kernel, initramfs: pieces.initramfs, rootImage: pieces.rootImage, esp })) {
      copies[name] = join(other, `copy-${name}`);
      await copyFile(path, copies[name]);
      await utimes(copies[name], new Date(), new Date('2030-01-02T03:04:05Z'));
    }
    const second = join(other, `${OS}.iso`);
    await buildIso(isoOptions(second, { ...copies, scratch: join(other, 'scratch') }));
    expect(await sha256(second)).toBe(await sha256(iso));
    expect(await readFile(`${second}.sha256`, 'utf8')).toBe(await readFile(`${iso}.sha256`, 'utf8'));
  }, 120_000);
});

describe('an ESP over 32 MiB', () => {
  test('stays inside the ISO volume, so UEFI reads it whole although El Torito records load size 0', async () => {
    const iso = join(dir, 'big.iso');
    await buildIso(isoOptions(iso, { esp: bigEsp }));
    const espBytes = (await stat(bigEsp)).size;
    expect(espBytes).toBeGreaterThan(32 * 2 ** 20);
    const uefi = (await elTorito(iso))[1];
    expect(uefi.path).toBe(ISO_PATHS.esp);
    // 16 bits of 512-byte sectors cannot say 40 MiB: xorriso writes 0, which edk2 reads as
    // "from the image's LBA to the end of the volume".
    expect(uefi.loadSize).toBe(0);
    expect(uefi.lba * 2048 + espBytes).toBeLessThanOrEqual((await volumeBlocks(iso)) * 2048);
    const area = await output('xorriso', ['-no_rc', '-indev', iso, '-report_system_area', 'plain']);
    expect(area).toMatch(new RegExp(`^GPT start and size :\\s+2\\s+${uefi.lba * 4}\\s+${espBytes / 512}$`, 'm'));
  }, 120_000);
});

describe('other inputs', () => {
  test('an erofs root image goes to /live/filesystem.erofs', async () => {
    const erofsDir = join(dir, 'erofs');
    await mkdir(erofsDir, { recursive: true });
    const iso = join(erofsDir, 'erofs.iso');
    const result = await buildIso(isoOptions(iso, { rootImage: await buildRootImage(erofsDir, 'erofs') }));
    expect(result.rootImageType).toBe('erofs');
    const files = await isoFiles(iso);
    expect(files.has('/live/filesystem.erofs')).toBe(true);
    expect(files.has('/live/filesystem.squashfs')).toBe(false);
  }, 120_000);

  test('timeout 0 boots the default without a prompt', async () => {
    const iso = join(dir, 'no-prompt.iso');
    await buildIso(isoOptions(iso, { timeoutSeconds: 0 }));
    const cfg = await readFile(await extract(iso, ISO_PATHS.isolinuxCfg, join(dir, 'no-prompt.cfg')), 'utf8');
    expect(cfg).toMatch(/^PROMPT 0$/m);
  }, 120_000);
});

describe('refused inputs leave no ISO behind', () => {
  test.each([
    ['a lower-case label', { volumeLabel: 'pltest live' }, VolumeLabelError, /ISO volume label "pltest live" must be 1-32 characters of A-Z 0-9 _ .*try "PLTEST_LIVE"/],
    ['a label over 32 characters', { volumeLabel: 'A'.repeat(33) }, VolumeLabelError, /must be 1-32 characters/],
    ['a command line with its own root=', { cmdline: 'root=/dev/sda1 console=ttyS0' }, VolumeLabelError, /already has root=/],
    ['a missing kernel', { kernel: '/nonexistent/vmlinuz' }, IsoInputError, /kernel \/nonexistent\/vmlinuz is missing/],
  ] as [string, Partial<BuildIsoOptions>, typeof Error, RegExp][])('%s', async (name, overrides, type, message) => {
    const iso = join(dir, `refused-${name.replace(/\W+/g, '-')}.iso`);
    const attempt = buildIso(isoOptions(iso, overrides));
    await expect(attempt).rejects.toThrow(type);
    await expect(attempt).rejects.toThrow(message);
    await expect(stat(iso)).rejects.toThrow(/ENOENT/);
  });

  test('a root image that is neither squashfs nor erofs', async () => {
    const bogus = join(dir, 'bogus.img');
    await writeFile(bogus, Buffer.alloc(4096, 7));
    await expect(buildIso(isoOptions(join(dir, 'bogus.iso'), { rootImage: bogus }))).rejects.toThrow(/neither squashfs .* nor erofs/);
  });

  test('an ESP image that is not FAT', async () => {
    await expect(buildIso(isoOptions(join(dir, 'bad-esp.iso'), { esp: pieces.rootImage }))).rejects.toThrow(/ESP image .* is not a FAT image/);
  });

  test('xorriso failing (unwritable output directory) removes the partial ISO and reports the command', async () => {
    const iso = join(dir, 'no-such-dir', 'x.iso');
    await expect(buildIso(isoOptions(iso))).rejects.toThrow(/xorriso .* failed/);
    await expect(stat(iso)).rejects.toThrow(/ENOENT/);
  });
});
