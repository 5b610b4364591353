// The image helpers with the real tools, checked by other real tools (FAT images are the ESP
// builder's, tested in test/esp): GPT disks (sfdisk --json), ISO extraction (xorriso), and the tampered UKI (sbverify).
import { execFile } from 'node:child_process';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEnrollmentDisk, ENROLLMENT_LOADER_CONF } from '../../qemu/enrollment-disk.js';
import { hostRunner } from '../../stages/shared/host-runner.js';
import { buildGptDisk, PARTITION_TYPE, stableGuid } from '../../qemu/gpt-disk.js';
import { extractFromIso } from '../../qemu/iso-extract.js';
import { buildSlotBDisk } from '../../qemu/slot-disk.js';
import { TamperError, tamperUkiCmdline } from '../../qemu/tamper.js';
import { FIXTURE_LIVE_UKI, FIXTURE_SYSTEM_B_UKI, fixtureBootSet, type FixtureBootSet } from './fixture-iso.js';
import { qemuFixturesDir } from './fixtures.js';
import { FSTAB_DEFAULTS } from '../../stages/rootfs/etc-files.js';

const run = promisify(execFile);
const host = hostRunner();
const mtoolsEnv = { ...process.env, MTOOLS_SKIP_CHECK: '1' };

let dir: string;
let set: FixtureBootSet;

beforeAll(async () => {
  set = await fixtureBootSet();
  dir = await mkdtemp(join(qemuFixturesDir(), '.images-'));
}, 300_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function mtype(image: string, path: string): Promise<string> {
  return (await run('mtype', ['-i', image, `::${path}`], { env: mtoolsEnv })).stdout;
}

async function mcopyOut(image: string, path: string, dest: string): Promise<string> {
  await run('mcopy', ['-i', image, `::${path}`, dest], { env: mtoolsEnv });
  return dest;
}

describe('GPT disks', () => {
  it('lay out named, typed, MiB-aligned partitions with their images at the right offsets', async () => {
    const payload = join(dir, 'payload.img');
    await writeFile(payload, Buffer.concat([Buffer.from('PAYLOAD-START'), Buffer.alloc(1_500_000, 1), Buffer.from('PAYLOAD-END')]));
    const disk = join(dir, 'disk.img');
    const layout = await buildGptDisk(
      disk,
      [
        { name: 'EFI', type: PARTITION_TYPE.esp, sizeMiB: 2 },
        { name: 'system-b', type: PARTITION_TYPE.rootX86_64, image: payload },
        { name: 'var', type: PARTITION_TYPE.var, sizeMiB: 1 },
      ],
      { runner: host, diskSeed: 'test' },
    );
    expect(layout).toEqual([
      { name: 'EFI', startSector: 2048, sectors: 4096 },
      { name: 'system-b', startSector: 6144, sectors: 4096 },
      { name: 'var', startSector: 10240, sectors: 2048 },
    ]);
    const table = JSON.parse((await run('sfdisk', ['--json', disk])).stdout).partitiontable;
    expect(table.label).toBe('gpt');
    expect(table.id).toBe(stableGuid('test:disk'));
    expect(table.partitions.map((p: { name: string; type: string; start: number; size: number }) => [p.name, p.type, p.start, p.size])).toEqual([
      ['EFI', PARTITION_TYPE.esp, 2048, 4096],
      ['system-b', PARTITION_TYPE.rootX86_64, 6144, 4096],
      ['var', PARTITION_TYPE.var, 10240, 2048],
    ]);
    const handle = await open(disk, 'r');
    const head = Buffer.alloc(13);
    await handle.read(head, 0, 13, 6144 * 512);
    await handle.close();
    expect(head.toString()).toBe('PAYLOAD-START');
  });

  it('refuses an image larger than its partition and names it', async () => {
    const payload = join(dir, 'big.img');
    await writeFile(payload, Buffer.alloc(3 << 20));
    await expect(buildGptDisk(join(dir, 'x.img'), [{ name: 'root', type: PARTITION_TYPE.rootX86_64, sizeMiB: 2, image: payload }], { runner: host })).rejects.toThrow(
      /partition root: image .*big\.img \(3145728 bytes\) exceeds sizeMiB 2/,
    );
  });
});

describe('the slot-b and enrollment disks', () => {
  it('slot-b: EFI + system-a + system-b + var, the ESP defaulting to the system-b UKI', async () => {
    const disk = join(dir, 'slot.img');
    const root = join(dir, 'root.img');
    // Enough of a squashfs for the slot writer: the magic and bytes_used (offset 40).
    const image = Buffer.alloc(3 << 20, 0x5a);
    image.write('hsqs', 0, 'latin1');
    image.writeBigUInt64LE(BigInt(image.length), 40);
    await writeFile(root, image);
    await buildSlotBDisk({ systemdBoot: set.signedSystemdBoot, ukiSystemB: set.signedSystemBUki, ukiFileName: FIXTURE_SYSTEM_B_UKI, layers: [root], out: disk, tmp: dir, runner: host });
    const table = JSON.parse((await run('sfdisk', ['--json', disk])).stdout).partitiontable;
    expect(table.partitions.map((p: { name: string }) => p.name)).toEqual(['EFI', 'system-a', 'system-b', 'var']);
    const esp = table.partitions[0];
    const espImage = join(dir, 'slot-esp.img');
    await run('dd', [`if=${disk}`, `of=${espImage}`, 'bs=512', `skip=${esp.start}`, `count=${esp.size}`, 'status=none']);
    expect(await mtype(espImage, '/loader/loader.conf')).toBe(`default ${FIXTURE_SYSTEM_B_UKI}\ntimeout 0\n`);
    const uki = await readFile(await mcopyOut(espImage, `/EFI/Linux/${FIXTURE_SYSTEM_B_UKI}`, join(dir, 'b.efi')));
    expect(uki.equals(await readFile(set.signedSystemBUki))).toBe(true);
    // One layer: the image itself from the partition's first byte (the single-image slot).
    const slotB = table.partitions[2];
    const head = Buffer.alloc(64);
    const handle = await open(disk, 'r');
    await handle.read(head, 0, 64, slotB.start * 512);
    await handle.close();
    expect(head.equals(image.subarray(0, 64))).toBe(true);
    // The filesystems carry the labels the image's fstab mounts them by (LABEL=EFI, LABEL=var).
    const label = async (partition: { start: number; size: number }) => {
      const { stdout } = await run('blkid', ['-p', '-o', 'export', '-O', String(partition.start * 512), '--size', String(partition.size * 512), disk]);
      return Object.fromEntries(stdout.trim().split('\n').map((line: string) => line.split('=', 2)));
    };
    expect(await label(esp)).toMatchObject({ TYPE: 'vfat', LABEL: FSTAB_DEFAULTS.espLabel });
    expect(await label(table.partitions[3])).toMatchObject({ TYPE: 'ext4', LABEL: FSTAB_DEFAULTS.varLabel });
  });

  it('enrollment: signed systemd-boot, the three .auth files, secure-boot-enroll force', async () => {
    const image = await buildEnrollmentDisk({
      signedSystemdBoot: set.signedSystemdBoot,
      keys: { pkAuth: set.keys.PK.auth, kekAuth: set.keys.KEK.auth, dbAuth: set.keys.db.auth },
      out: join(dir, 'enroll.img'),
      tmp: dir,
      runner: host,
    });
    expect(await mtype(image, '/loader/loader.conf')).toBe(ENROLLMENT_LOADER_CONF);
    expect(ENROLLMENT_LOADER_CONF).toContain('secure-boot-enroll force');
    for (const name of ['PK', 'KEK', 'db'] as const) {
      const back = await readFile(await mcopyOut(image, `/loader/keys/auto/${name}.auth`, join(dir, `${name}.back`)));
      expect(back.equals(await readFile(set.keys[name].auth))).toBe(true);
    }
    await run('sbverify', ['--cert', set.keys.db.crt, await mcopyOut(image, '/EFI/BOOT/BOOTX64.EFI', join(dir, 'boot.efi'))]);
  });
});

describe('ISO extraction and tampering', () => {
  it('extracts a file from the ISO, and fails naming a missing one', async () => {
    const uki = await extractFromIso(set.iso, `/boot/uki/${FIXTURE_SYSTEM_B_UKI}`, join(dir, 'extracted.efi'), host);
    expect((await readFile(uki)).equals(await readFile(set.signedSystemBUki))).toBe(true);
    await expect(extractFromIso(set.iso, '/boot/uki/nope.efi', join(dir, 'nope.efi'), host)).rejects.toThrow(/xorriso.*nope\.efi/s);
  });

  it('changes one .cmdline byte of the stored UKI: sbverify then rejects it, and nothing else differs', async () => {
    const tampered = join(dir, 'tampered.iso');
    const { offsets } = await tamperUkiCmdline(set.iso, set.signedLiveUki, tampered);
    expect(offsets).toHaveLength(1);
    const [original, changed] = [await readFile(set.iso), await readFile(tampered)];
    for (const offset of offsets) {
      expect(changed[offset]).not.toBe(original[offset]);
      changed[offset] = original[offset];
    }
    expect(changed.equals(original)).toBe(true);

    const espOf = async (iso: string, name: string) => extractFromIso(iso, '/boot/efiboot.img', join(dir, name), host);
    const good = await mcopyOut(await espOf(set.iso, 'good-esp.img'), `/EFI/Linux/${FIXTURE_LIVE_UKI}`, join(dir, 'good.efi'));
    const bad = await mcopyOut(await espOf(tampered, 'bad-esp.img'), `/EFI/Linux/${FIXTURE_LIVE_UKI}`, join(dir, 'bad.efi'));
    await run('sbverify', ['--cert', set.keys.db.crt, good]);
    await expect(run('sbverify', ['--cert', set.keys.db.crt, bad])).rejects.toThrow();
  });

  it('refuses an unsigned UKI and a UKI that is not on the image', async () => {
    const unsigned = join(set.dir, 'live.efi');
    await expect(tamperUkiCmdline(set.iso, unsigned, join(dir, 't1.iso'))).rejects.toThrow(/is not signed/);
    const other = join(dir, 'other.img');
    await writeFile(other, Buffer.alloc(1 << 20, 1));
    await expect(tamperUkiCmdline(other, set.signedLiveUki, join(dir, 't2.iso'))).rejects.toThrow(TamperError);
  });
});
