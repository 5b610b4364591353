// The ESP image with real tools: mkfs.fat + mtools build it, mdir/mtype/fsck.fat read it back,
// sbverify checks the signed files survived the copy, two builds are byte-identical, the FAT type
// follows the content size, and bad input fails before anything is written.
import { createHash } from 'node:crypto';
import { copyFile, readFile, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildEsp, EspInputError, liveEspEntries, loaderConf, type EspEntry } from '../../stages/esp.js';
import { readFatGeometry } from '../../stages/esp/fat-layout.js';
import { ESP_ENROLL_DIR } from '../../keys/secureboot.js';
import { buildBootPieces, hostTools, OS, output, scratchDir, sparseFile, TEST_EPOCH, type BootPieces } from '../iso/fixtures.js';

let dir: string;
let pieces: BootPieces;

beforeAll(async () => {
  dir = await scratchDir('esp');
  pieces = await buildBootPieces(dir);
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

function liveEntries(p: BootPieces = pieces): EspEntry[] {
  return liveEspEntries({ os: OS, systemdBoot: p.systemdBoot, liveUki: p.liveUki, loader: { timeoutSeconds: 2 } });
}

async function build(name: string, entries: EspEntry[], extra: { label?: string; epoch?: number } = {}) {
  const image = join(dir, `${name}.img`);
  const result = await buildEsp({ entries, output: image, label: extra.label, sourceDateEpoch: extra.epoch ?? TEST_EPOCH, scratch: join(dir, `${name}-scratch`), runner: hostTools });
  return { image, result };
}

/** mdir's rows (name, size) for a directory of the image. */
async function listing(image: string, path: string): Promise<string> {
  return output('mdir', ['-i', image, `::/${path}`], { MTOOLS_SKIP_CHECK: '1' });
}

describe('live ESP', () => {
  let image: string;
  beforeAll(async () => {
    image = (await build('live', liveEntries())).image;
  });

  test('holds systemd-boot, the live UKI and loader.conf; fsck.fat finds nothing to fix', async () => {
    const boot = await listing(image, 'EFI/BOOT');
    expect(boot).toMatch(new RegExp(`BOOTX64\\s+EFI\\s+${(await stat(pieces.systemdBoot)).size}\\s+2023-11-14\\s+22:13`));
    const linux = await listing(image, 'EFI/Linux');
    expect(linux).toContain(`${OS}-live.efi`);
    expect(linux).toContain(String((await stat(pieces.liveUki)).size));
    expect(await listing(image, 'loader')).toContain('loader.conf');
    const conf = await output('mtype', ['-i', image, '::/loader/loader.conf'], { MTOOLS_SKIP_CHECK: '1' });
    expect(conf).toBe(`default ${OS}-live.efi\ntimeout 2\n`);
    const fsck = await output('fsck.fat', ['-n', image]);
    expect(fsck).toMatch(/\d+ files, \d+\/\d+ clusters/);
  });

  test('copied files are byte for byte the signed inputs (sbverify accepts them with the db certificate)', async () => {
    for (const [path, original] of [['EFI/BOOT/BOOTX64.EFI', pieces.systemdBoot], [`EFI/Linux/${OS}-live.efi`, pieces.liveUki]]) {
      const copy = join(dir, `out-${path.replace(/\W/g, '_')}`);
      await output('mcopy', ['-n', '-i', image, `::/${path}`, copy], { MTOOLS_SKIP_CHECK: '1' });
      expect(await sha256(copy)).toBe(await sha256(original));
      await expect(output('sbverify', ['--cert', pieces.keys.keys.db.crt, copy])).resolves.toContain('Signature verification OK');
    }
  });

  test('geometry: FAT16 sized to the content plus slack, volume id and label as asked', async () => {
    const g = await readFatGeometry(image);
    const content = (await stat(pieces.systemdBoot)).size + (await stat(pieces.liveUki)).size;
    expect(g.bits).toBe(16);
    expect(g.label).toBe('EFIBOOT');
    expect(g.clusters * g.clusterBytes).toBeGreaterThan(content + (1 << 20));
    // "A little slack": the image is not much bigger than what it holds.
    expect((await stat(image)).size).toBeLessThan(content + (3 << 20));
    const id = g.volumeId.toUpperCase();
    expect(await listing(image, '')).toContain(`Volume Serial Number is ${id.slice(0, 4)}-${id.slice(4)}`);
  });
});

describe('reproducibility', () => {
  test('two builds from copies with other paths and mtimes are byte-identical', async () => {
    const a = await build('repro-a', liveEntries());
    const copies = { ...pieces, systemdBoot: join(dir, 'copy-sdboot.efi'), liveUki: join(dir, 'copy-live.efi') };
    await copyFile(pieces.systemdBoot, copies.systemdBoot);
    await copyFile(pieces.liveUki, copies.liveUki);
    await utimes(copies.systemdBoot, new Date(), new Date('2031-05-06T07:08:09Z'));
    const b = await build('repro-b', liveEntries(copies));
    expect(await sha256(b.image)).toBe(await sha256(a.image));
  });

  test('other content or another date gives another image and volume id', async () => {
    const base = await readFatGeometry((await build('id-base', liveEntries())).image);
    const otherConf = liveEspEntries({ os: OS, systemdBoot: pieces.systemdBoot, liveUki: pieces.liveUki, loader: { timeoutSeconds: 5 } });
    const changed = await readFatGeometry((await build('id-conf', otherConf)).image);
    const later = await build('id-date', liveEntries(), { epoch: TEST_EPOCH + 86_400 });
    expect(changed.volumeId).not.toBe(base.volumeId);
    expect((await readFatGeometry(later.image)).volumeId).not.toBe(base.volumeId);
    expect(await listing(later.image, 'EFI/BOOT')).toContain('2023-11-15');
  });
});

describe('Secure Boot enrollment ESP', () => {
  test('systemd-boot, loader/keys/auto/{PK,KEK,db}.auth and secure-boot-enroll force, as a tiny FAT12', async () => {
    const entries: EspEntry[] = [
      { path: 'EFI/BOOT/BOOTX64.EFI', source: pieces.systemdBoot },
      ...Object.entries(pieces.keys.espFiles).map(([path, source]) => ({ path, source })),
      { path: 'loader/loader.conf', data: loaderConf({ timeoutSeconds: 0, secureBootEnroll: 'force' }) },
    ];
    const { image } = await build('enroll', entries, { label: 'ENROLL' });
    const keys = await listing(image, ESP_ENROLL_DIR);
    for (const name of ['PK', 'KEK', 'db']) expect(keys).toMatch(new RegExp(`\\s\\d{4} 2023-11-14  22:13  ${name}\\.auth$`, 'm'));
    expect(await output('mtype', ['-i', image, '::/loader/loader.conf'], { MTOOLS_SKIP_CHECK: '1' })).toBe('timeout 0\nsecure-boot-enroll force\n');
    const g = await readFatGeometry(image);
    expect(g).toMatchObject({ bits: 12, label: 'ENROLL' });
    expect((await stat(image)).size).toBeLessThan(2 << 20);
    await output('fsck.fat', ['-n', image]);
  });
});

describe('FAT type follows the content size', () => {
  // 2 KiB clusters: FAT12 holds at most 4084 of them (8 MiB) including 1 MiB of slack.
  test.each([
    ['6.5 MiB', 6.5 * 2 ** 20, 12],
    ['7.5 MiB', 7.5 * 2 ** 20, 16],
    ['40 MiB', 40 * 2 ** 20, 16],
  ])('content of %s gives FAT$2, and it all fits', async (label, bytes, bits) => {
    const filler = await sparseFile(join(dir, `filler-${bytes}`), bytes);
    const { image } = await build(`size-${bytes}`, [{ path: 'EFI/BOOT/BOOTX64.EFI', source: pieces.systemdBoot }, { path: 'filler.bin', source: filler }]);
    const g = await readFatGeometry(image);
    expect(g.bits).toBe(bits);
    await output('fsck.fat', ['-n', image]);
    expect(await listing(image, '')).toContain(String(bytes));
  }, 60_000);
});

describe('bad input fails early and leaves no image', () => {
  test.each([
    ['names that clash in FAT (case)', [{ path: 'EFI/BOOT/BOOTX64.EFI', data: 'a' }, { path: 'efi/boot/bootx64.efi', data: 'b' }], /name the same FAT file/],
    ['a file used as a directory', [{ path: 'loader', data: 'a' }, { path: 'loader/loader.conf', data: 'b' }], /is a file, but "loader\/loader.conf" needs it as a directory/],
    ['an absolute path', [{ path: '/EFI/BOOT/BOOTX64.EFI', data: 'a' }], /is not a relative path/],
    ['a missing source', [{ path: 'EFI/BOOT/BOOTX64.EFI', source: '/nonexistent/systemd-bootx64.efi' }], /source of EFI\/BOOT\/BOOTX64.EFI \(\/nonexistent\/systemd-bootx64.efi\) cannot be read/],
  ] as [string, EspEntry[], RegExp][])('%s', async (name, entries, message) => {
    const image = join(dir, `bad-${name.replace(/\W+/g, '-')}.img`);
    const attempt = buildEsp({ entries, output: image, sourceDateEpoch: TEST_EPOCH, scratch: join(dir, 'bad-scratch'), runner: hostTools });
    await expect(attempt).rejects.toThrow(EspInputError);
    await expect(attempt).rejects.toThrow(message);
    await expect(stat(image)).rejects.toThrow(/ENOENT/);
  });

  test('a label FAT cannot hold', async () => {
    await expect(build('bad-label', liveEntries(), { label: 'much-too-long-label' })).rejects.toThrow(/FAT label "much-too-long-label" must be 1-11 characters/);
  });
});
