// FAT layout planning against the real mkfs.fat: for content sizes across FAT12, FAT16 and FAT32,
// the planned image gets exactly the planned type and cluster size, at least the clusters the
// content needs, and fsck.fat accepts it.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLUSTER_RANGE, directoryEntriesFor, planFatLayout, readFatGeometry } from '../../stages/esp/fat-layout.js';
import { output, scratchDir } from '../iso/fixtures.js';

let dir: string;

beforeAll(async () => {
  dir = await scratchDir('fat-layout');
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const MiB = 2 ** 20;
const files = (bytes: number) => [
  { path: 'EFI/BOOT/BOOTX64.EFI', size: 120_000 },
  { path: 'EFI/Linux/pltest-live.efi', size: bytes },
  { path: 'loader/loader.conf', size: 40 },
];

describe('planFatLayout', () => {
  test.each([
    [0.5 * MiB, 12, 2048],
    [6 * MiB, 12, 2048],
    [7 * MiB, 16, 2048],
    [100 * MiB, 16, 2048],
    [150 * MiB, 16, 4096],
    [400 * MiB, 16, 8192],
    [600 * MiB, 32, 4096],
  ])('%d bytes of UKI -> FAT%i with %i-byte clusters', (bytes, bits, clusterBytes) => {
    const layout = planFatLayout({ files: files(bytes), slackBytes: MiB });
    expect(layout).toMatchObject({ bits, clusterBytes });
    expect(layout.clustersNeeded).toBeLessThanOrEqual(CLUSTER_RANGE[layout.bits].max);
    // Small overhead: the content, the slack, the FATs (at most 1%) and a few hundred KiB.
    expect(layout.sizeKiB * 1024).toBeLessThan(bytes + MiB + 120_000 + bytes / 100 + 600 * 1024);
  });

  test('long and lower-case names take long-name directory entries', () => {
    expect(directoryEntriesFor('BOOTX64.EFI')).toBe(1);
    expect(directoryEntriesFor('loader.conf')).toBe(2);
    expect(directoryEntriesFor('pltest-system-a-with-a-long-name.efi')).toBe(4);
  });
});

describe('mkfs.fat makes what was planned', () => {
  // Sizes around each boundary and in between, in KiB.
  const sizes: number[] = [];
  for (const around of [0, 6000, 7000, 7100, 7200, 8000, 127_000, 128_000, 129_000, 254_000, 256_000, 258_000, 510_000, 512_000, 514_000, 700_000]) {
    for (const delta of [-37, -3, 0, 5, 61, 300]) if (around + delta > 0) sizes.push(around + delta);
  }
  test(`${sizes.length} content sizes from 0 to 700 MB`, async () => {
    for (const kib of sizes) {
      const layout = planFatLayout({ files: files(kib * 1024), slackBytes: MiB });
      const image = join(dir, 'plan.img');
      await rm(image, { force: true });
      await output('mkfs.fat', [
        '-C', '--invariant', '--mbr=n', '-F', String(layout.bits), '-S', '512', '-s', String(layout.clusterBytes / 512), '-f', '2',
        ...(layout.bits === 32 ? [] : ['-r', '512']), image, String(layout.sizeKiB),
      ]);
      const g = await readFatGeometry(image);
      expect({ kib, bits: g.bits, clusterBytes: g.clusterBytes }).toEqual({ kib, bits: layout.bits, clusterBytes: layout.clusterBytes });
      expect(g.clusters, `${kib} KiB of content`).toBeGreaterThanOrEqual(layout.clustersNeeded);
      await output('fsck.fat', ['-n', image]);
    }
  }, 120_000);
});
