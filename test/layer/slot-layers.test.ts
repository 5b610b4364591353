// The slot image convention (formats/slot-layers.ts) with real images: mksquashfs and mkfs.erofs
// make the layers, unsquashfs and fsck.erofs read them back from their offsets in the slot.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { layerImageInfo, parseSlotHeader, SLOT_HEADER_BYTES, SLOT_LAYERS_MAGIC, slotHeader, writeSlotImage } from '../../formats/slot-layers.js';

const run = promisify(execFile);
let work: string;
let base: string;
let upper: string;
let erofs: string;

async function tree(name: string, files: Record<string, string>): Promise<string> {
  const root = join(work, name);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return root;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'slot-layers-'));
  base = join(work, 'filesystem.squashfs');
  upper = join(work, 'overlayfs.squashfs');
  erofs = join(work, 'overlayfs.erofs');
  await run('mksquashfs', [await tree('base', { 'etc/motd': 'base\n', 'usr/bin/tool': 'x'.repeat(100_000) }), base, '-quiet', '-noappend', '-no-progress']);
  await run('mksquashfs', [await tree('upper', { 'etc/motd': 'upper\n' }), upper, '-quiet', '-noappend', '-no-progress']);
  await run('mkfs.erofs', [erofs, await tree('upper-erofs', { 'etc/motd': 'upper erofs\n' })]);
});

async function bytesAt(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  const buffer = Buffer.alloc(length);
  try {
    await fh.read(buffer, 0, length, offset);
  } finally {
    await fh.close();
  }
  return buffer;
}

describe('slot images', () => {
  it('reads each image size from its superblock', async () => {
    const sq = await layerImageInfo(base);
    expect(sq.type).toBe('squashfs');
    // mksquashfs pads the file to 4 KiB; bytes_used is what the filesystem uses.
    expect(sq.bytes).toBeLessThanOrEqual((await stat(base)).size);
    expect((await stat(base)).size - sq.bytes).toBeLessThan(4096);
    const er = await layerImageInfo(erofs);
    expect(er).toEqual({ type: 'erofs', bytes: (await stat(erofs)).size });
    await writeFile(join(work, 'junk'), Buffer.alloc(4096));
    await expect(layerImageInfo(join(work, 'junk'))).rejects.toThrow(/neither squashfs .* nor erofs/);
  });

  it('one layer: the image itself, as before layers existed', async () => {
    const slot = join(work, 'one.img');
    expect(await writeSlotImage([base], slot)).toEqual([{ type: 'squashfs', offset: 0, bytes: (await layerImageInfo(base)).bytes }]);
    expect((await readFile(slot)).equals(await readFile(base))).toBe(true);
  });

  it('two layers: a header, then each image on a 4 KiB boundary, readable from its offset', async () => {
    const slot = join(work, 'two.img');
    const layers = await writeSlotImage([base, upper, erofs], slot);
    expect(layers.map((l) => l.type)).toEqual(['squashfs', 'squashfs', 'erofs']);
    expect(layers[0].offset).toBe(SLOT_HEADER_BYTES);
    for (const l of layers) expect(l.offset % 4096).toBe(0);
    const header = await bytesAt(slot, 0, SLOT_HEADER_BYTES);
    expect(header.toString('latin1').split('\n')[0]).toBe(SLOT_LAYERS_MAGIC);
    expect(parseSlotHeader(header)).toEqual(layers);
    expect(header.equals(slotHeader(layers))).toBe(true);
    for (const [i, source] of [base, upper, erofs].entries()) {
      const content = await readFile(source);
      expect((await bytesAt(slot, layers[i].offset, content.length)).equals(content), source).toBe(true);
    }
    // The real tools find each filesystem at its offset.
    const { stdout: baseList } = await run('unsquashfs', ['-o', String(layers[0].offset), '-cat', slot, 'etc/motd']);
    expect(baseList).toBe('base\n');
    const { stdout: upperList } = await run('unsquashfs', ['-o', String(layers[1].offset), '-cat', slot, 'etc/motd']);
    expect(upperList).toBe('upper\n');
    const erofsCopy = join(work, 'erofs-copy');
    await writeFile(erofsCopy, await bytesAt(slot, layers[2].offset, layers[2].bytes));
    await run('fsck.erofs', [erofsCopy]);
    expect((await stat(slot)).size % 4096).toBe(0);
  });

  it('a block without the magic is not a header; a malformed header is an error', () => {
    expect(parseSlotHeader(Buffer.from('hsqs...'))).toBeUndefined();
    expect(() => parseSlotHeader(Buffer.from(`${SLOT_LAYERS_MAGIC}\nsquashfs 12 x\nend\n`))).toThrow(/bad slot header line/);
    expect(() => parseSlotHeader(Buffer.from(`${SLOT_LAYERS_MAGIC}\nsquashfs 4096 10\n`))).toThrow(/no end line/);
  });
});
