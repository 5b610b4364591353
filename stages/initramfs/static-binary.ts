// The initramfs carries no C library or dynamic loader, so its busybox must be a static ELF
// binary: one without a PT_INTERP program header. Alpine's `busybox` package is linked against
// musl (its static build is busybox-static's /bin/busybox.static); catch that at build time
// instead of at boot, where it shows up only as "Kernel panic: No working init found".
import { open } from 'node:fs/promises';

export class NotStaticBinaryError extends Error {
  override name = 'NotStaticBinaryError';
}

const PT_INTERP = 3;

/** Throws NotStaticBinaryError unless `path` is an ELF executable without an interpreter. */
export async function assertStaticElf(path: string, role: string): Promise<void> {
  const file = await open(path, 'r').catch((err: Error) => {
    throw new NotStaticBinaryError(`${role} ${path} cannot be read: ${err.message}`);
  });
  try {
    const ident = Buffer.alloc(64);
    await file.read(ident, 0, 64, 0);
    if (ident.readUInt32BE(0) !== 0x7f454c46) throw new NotStaticBinaryError(`${role} ${path} is not an ELF binary`);
    const is64 = ident[4] === 2;
    const little = ident[5] === 1;
    const u16 = (buf: Buffer, at: number) => (little ? buf.readUInt16LE(at) : buf.readUInt16BE(at));
    const u32 = (buf: Buffer, at: number) => (little ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
    const phoff = is64 ? Number(little ? ident.readBigUInt64LE(0x20) : ident.readBigUInt64BE(0x20)) : u32(ident, 0x1c);
    const phentsize = u16(ident, is64 ? 0x36 : 0x2a);
    const phnum = u16(ident, is64 ? 0x38 : 0x2c);
    const table = Buffer.alloc(phentsize * phnum);
    await file.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      if (u32(table, i * phentsize) !== PT_INTERP) continue;
      const offset = is64 ? Number(little ? table.readBigUInt64LE(i * phentsize + 8) : table.readBigUInt64BE(i * phentsize + 8)) : u32(table, i * phentsize + 4);
      const size = is64 ? Number(little ? table.readBigUInt64LE(i * phentsize + 32) : table.readBigUInt64BE(i * phentsize + 32)) : u32(table, i * phentsize + 16);
      const interp = Buffer.alloc(Math.min(size, 4096));
      await file.read(interp, 0, interp.length, offset);
      throw new NotStaticBinaryError(
        `${role} ${path} is dynamically linked (interpreter ${interp.toString('utf8').replace(/\0.*$/s, '')}); the initramfs has no libraries: use a static build (Debian: busybox-static's /bin/busybox, Alpine: busybox-static's /bin/busybox.static)`,
      );
    }
  } finally {
    await file.close();
  }
}
