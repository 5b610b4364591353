// Boot proof: a UKI assembled natively boots in QEMU (q35 + OVMF, TCG) from EFI/BOOT/BOOTX64.EFI,
// and the kernel sees the UKI's .cmdline (a tiny initrd prints /proc/cmdline and powers off).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildUki } from '../../stages/uki.js';
import { backportsSystemdBoot, bookwormSystemdBoot, busyboxStatic, debianKernel, scratchDir } from './fixtures.js';
import { CMDLINE_MARKER, writeCmdlineInitrd } from './initrd.js';
import { bootInQemu, makeEspImage } from './qemu.js';

let dir: string;
let initrd: string;
let kernel: string;

beforeAll(async () => {
  dir = await scratchDir('uki-boot');
  initrd = join(dir, 'initrd.cpio');
  await writeCmdlineInitrd(await busyboxStatic(), initrd);
  kernel = (await debianKernel()).vmlinuz;
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.each([
  ['systemd 252 stub (0x200 alignment)', bookwormSystemdBoot],
  ['systemd 254 stub (4 KiB alignment)', backportsSystemdBoot],
])('%s', (label, stubFiles) => {
  test('boots under OVMF and the kernel sees the UKI command line', async () => {
    const tag = label.split(' ')[1];
    const cmdline = `console=ttyS0 panic=-1 pipeline.uki_test=${tag}`;
    const uki = join(dir, `uki-${tag}.efi`);
    await buildUki({ stub: (await stubFiles()).stub, kernel, initrds: [initrd], cmdline, osRelease: 'ID=pipeline-test\n', sourceDateEpoch: 1700000000, output: uki });
    const esp = join(dir, `esp-${tag}.img`);
    await makeEspImage(esp, { 'EFI/BOOT/BOOTX64.EFI': uki }, 32);
    const boot = await bootInQemu({ esp, vars: join(dir, `vars-${tag}.fd`), until: CMDLINE_MARKER, timeoutMs: 75_000 });
    expect(boot.matched?.[1], `no command line marker after ${boot.seconds}s; console tail:\n${boot.console.slice(-3000)}`).toBe(cmdline);
  }, 120_000);
});
