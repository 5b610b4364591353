// A tiny initrd for boot proofs: static busybox and an /init that prints the kernel command line
// on the console and powers off (formats/cpio.ts writes it; /dev/console needs no mknod).
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cpioNewcStream } from '../../formats/cpio.js';

/** What the init prints: `UKI-CMDLINE[<contents of /proc/cmdline>]`. */
export const CMDLINE_MARKER = /UKI-CMDLINE\[([^\]\r\n]*)\]/;

const INIT = [
  '#!/bin/busybox sh',
  '/bin/busybox mount -t proc proc /proc',
  'echo "UKI-CMDLINE[$(/bin/busybox cat /proc/cmdline)]"',
  '/bin/busybox poweroff -f',
  '',
].join('\n');

export async function writeCmdlineInitrd(busybox: string, out: string): Promise<void> {
  const archive = cpioNewcStream(
    [
      { kind: 'file', path: 'bin/busybox', mode: 0o755, source: { path: busybox } },
      { kind: 'char-device', path: 'dev/console', mode: 0o600, major: 5, minor: 1 },
      { kind: 'directory', path: 'proc' },
      { kind: 'file', path: 'init', mode: 0o755, source: { data: INIT } },
    ],
    { sourceDateEpoch: 1700000000 },
  );
  await pipeline(Readable.from(archive), createWriteStream(out));
}
