// A slot partition holding every layer of the root (base first, then the upper layer), which the
// initramfs joins with overlayfs. The convention, also described at the top of
// stages/initramfs/init and in the README:
//
//   one layer:  the image itself, from byte 0 (a squashfs or erofs magic at the start; every slot
//               written before layers existed looks like this and still boots)
//   layers:     a 4 KiB header at byte 0, ASCII lines, NUL-padded:
//                 pipeline-layers 1
//                 <squashfs|erofs> <offset> <bytes>     one line per layer, bottom (base) first
//                 end
//               then the images, each starting on a 4 KiB boundary (offsets are multiples of
//               4096). <bytes> is the image's size from its own superblock (squashfs: bytes_used;
//               erofs: blocks << blkszbits), so the initramfs can check that a layer fits in the
//               partition and that the magic at <offset> is the type the header names.
// A header, not a probe for "another image after this one": a slot rewritten with fewer layers
// keeps stale bytes after its last image, and a probe would mount them.
import { open, stat, type FileHandle } from 'node:fs/promises';

export const SLOT_LAYERS_MAGIC = 'pipeline-layers 1';
export const SLOT_LAYER_ALIGN = 4096;
export const SLOT_HEADER_BYTES = 4096;

export type LayerImageType = 'squashfs' | 'erofs';

export interface SlotLayer {
  type: LayerImageType;
  /** Byte offset in the partition (a multiple of 4096). */
  offset: number;
  /** The image's size as its superblock gives it. */
  bytes: number;
}

export class SlotImageError extends Error {
  override name = 'SlotImageError';
}

/** The type and size of a squashfs or erofs image, from its superblock. */
export async function layerImageInfo(path: string): Promise<{ type: LayerImageType; bytes: number }> {
  const fh = await open(path, 'r');
  const head = Buffer.alloc(1024 + 128);
  try {
    await fh.read(head, 0, head.length, 0);
  } finally {
    await fh.close();
  }
  if (head.toString('latin1', 0, 4) === 'hsqs') return { type: 'squashfs', bytes: Number(head.readBigUInt64LE(40)) };
  if (head.readUInt32LE(1024) === 0xe0f5e1e2) {
    const blkszbits = head.readUInt8(1024 + 12);
    return { type: 'erofs', bytes: head.readUInt32LE(1024 + 36) * 2 ** blkszbits };
  }
  throw new SlotImageError(`${path} is neither squashfs (magic 'hsqs') nor erofs (magic 0xE0F5E1E2 at 1024)`);
}

/** The header block of a layered slot. */
export function slotHeader(layers: readonly SlotLayer[]): Buffer {
  const text = [SLOT_LAYERS_MAGIC, ...layers.map((l) => `${l.type} ${l.offset} ${l.bytes}`), 'end', ''].join('\n');
  const header = Buffer.alloc(SLOT_HEADER_BYTES);
  if (Buffer.byteLength(text) > header.length) throw new SlotImageError(`${layers.length} layers do not fit in a ${SLOT_HEADER_BYTES}-byte header`);
  header.write(text, 'latin1');
  return header;
}

/** The layers a slot header lists, or undefined when the block is not a layers header. */
export function parseSlotHeader(block: Buffer): SlotLayer[] | undefined {
  const lines = block.toString('latin1').replace(/\0+$/, '').replace(/\n$/, '').split('\n');
  if (lines[0] !== SLOT_LAYERS_MAGIC) return undefined;
  const layers: SlotLayer[] = [];
  for (const line of lines.slice(1)) {
    if (line === 'end') return layers;
    const m = /^(squashfs|erofs) (\d+) (\d+)$/.exec(line);
    if (!m) throw new SlotImageError(`bad slot header line ${JSON.stringify(line)}`);
    layers.push({ type: m[1] as LayerImageType, offset: Number(m[2]), bytes: Number(m[3]) });
  }
  throw new SlotImageError('slot header has no end line');
}

const align = (n: number) => Math.ceil(n / SLOT_LAYER_ALIGN) * SLOT_LAYER_ALIGN;

/**
 * Writes a slot image from layer image files, bottom (base) first: one layer as the plain image,
 * several behind a header. Returns the layers as placed (one layer: offset 0).
 */
export async function writeSlotImage(layers: readonly string[], output: string): Promise<SlotLayer[]> {
  if (layers.length === 0) throw new SlotImageError('a slot needs at least one layer');
  const infos = await Promise.all(layers.map(async (path) => ({ path, ...(await layerImageInfo(path)), fileBytes: (await stat(path)).size })));
  for (const info of infos) {
    if (info.bytes > info.fileBytes) throw new SlotImageError(`${info.path}: its superblock says ${info.bytes} bytes, the file has ${info.fileBytes}: truncated`);
  }
  const placed: SlotLayer[] = [];
  let offset = layers.length === 1 ? 0 : SLOT_HEADER_BYTES;
  for (const info of infos) {
    placed.push({ type: info.type, offset, bytes: info.bytes });
    offset = align(offset + info.fileBytes);
  }
  const out = await open(output, 'w');
  try {
    if (layers.length > 1) await out.write(slotHeader(placed), 0, SLOT_HEADER_BYTES, 0);
    for (const [i, info] of infos.entries()) {
      await copyInto(info.path, out, placed[i].offset);
    }
    await out.truncate(offset);
  } finally {
    await out.close();
  }
  return placed;
}

async function copyInto(path: string, out: FileHandle, at: number): Promise<void> {
  const input = await open(path, 'r');
  const buffer = Buffer.alloc(1 << 20);
  try {
    for (let done = 0; ; ) {
      const { bytesRead } = await input.read(buffer, 0, buffer.length, done);
      if (bytesRead === 0) return;
      await out.write(buffer, 0, bytesRead, at + done);
      done += bytesRead;
    }
  } finally {
    await input.close();
  }
}
