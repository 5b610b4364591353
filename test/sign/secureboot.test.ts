// Secure Boot end to end in QEMU/OVMF (TCG): keys from initSecureBootKeys are enrolled by
// systemd-boot from /loader/keys/auto (boot 1, setup mode); with Secure Boot enforced, OVMF
// accepts the natively signed systemd-boot 252 (a layout sbsign calls "gappy") and UKI, and the
// kernel reports Secure Boot (boot 2); a UKI with one byte changed after signing is denied (boot 3).
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readPeHeaders } from '../../formats/pe.js';
import { initSecureBootKeys, type SecureBootKeySet } from '../../keys/secureboot.js';
import { signFile } from '../../stages/sign.js';
import { buildUki } from '../../stages/uki.js';
import { backportsSystemdBoot, bookwormSystemdBoot, busyboxStatic, debianKernel, scratchDir } from '../uki/fixtures.js';
import { CMDLINE_MARKER, writeCmdlineInitrd } from '../uki/initrd.js';
import { bootInQemu, makeEspImage } from '../uki/qemu.js';

let dir: string;
let keys: SecureBootKeySet;
let signedBoot: string;
let signedUki: string;
const CMDLINE = 'console=ttyS0 panic=-1 pipeline.secureboot_test=1';

beforeAll(async () => {
  dir = await scratchDir('secureboot');
  keys = await initSecureBootKeys(join(dir, 'keys'));
  const initrd = join(dir, 'initrd.cpio');
  await writeCmdlineInitrd(await busyboxStatic(), initrd);
  const uki = join(dir, 'uki.efi');
  await buildUki({ stub: (await backportsSystemdBoot()).stub, kernel: (await debianKernel()).vmlinuz, initrds: [initrd], cmdline: CMDLINE, osRelease: 'ID=pipeline-test\nNAME=Pipeline\n', sourceDateEpoch: 1700000000, output: uki });
  const sign = (input: string, output: string) =>
    signFile({ input, output, keyPath: keys.keys.db.key, certPath: keys.keys.db.crt, expectFingerprint: keys.fingerprints.db, signingTime: 1700000000 });
  signedBoot = join(dir, 'systemd-bootx64.signed.efi');
  signedUki = join(dir, 'uki.signed.efi');
  await sign((await bookwormSystemdBoot()).systemdBoot, signedBoot);
  await sign(uki, signedUki);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function esp(name: string, ukiFile: string): Promise<string> {
  const loaderConf = join(dir, 'loader.conf');
  await writeFile(loaderConf, 'timeout 0\nsecure-boot-enroll force\n');
  const image = join(dir, `${name}.img`);
  await makeEspImage(image, {
    'EFI/BOOT/BOOTX64.EFI': signedBoot,
    'EFI/Linux/pipeline.efi': ukiFile,
    'loader/loader.conf': loaderConf,
    ...keys.espFiles,
  });
  return image;
}

describe('Secure Boot with keys from keys init', () => {
  test('enrolls, then boots the natively signed UKI enforced; a tampered UKI is denied', async () => {
    const vars = join(dir, 'vars.fd');
    const good = await esp('esp-good', signedUki);

    const enroll = await bootInQemu({ esp: good, vars, secureBoot: true, until: /(?!)/, timeoutMs: 60_000 });
    expect(enroll.exited, `enrollment boot did not reset within ${enroll.seconds}s:\n${enroll.console.slice(-2000)}`).toBe(true);
    expect(enroll.console).toContain('Enrolling secure boot keys from directory: \\loader\\keys\\auto');

    const enforced = await bootInQemu({ esp: good, vars, reuseVars: true, secureBoot: true, until: CMDLINE_MARKER, timeoutMs: 90_000 });
    const tail = enforced.console.slice(-4000);
    expect(enforced.matched?.[1], `no kernel marker after ${enforced.seconds}s:\n${tail}`).toBe(CMDLINE);
    expect(enforced.console).toMatch(/secureboot: Secure boot enabled/);

    const tampered = join(dir, 'uki.tampered.efi');
    const bytes = await readFile(signedUki);
    const linux = (await readPeHeaders(signedUki)).sections.find((s) => s.name === '.linux')!;
    bytes[linux.pointerToRawData + 4096] ^= 0x01;
    await writeFile(tampered, bytes);
    const bad = await esp('esp-tampered', tampered);
    const denied = await bootInQemu({ esp: bad, vars, reuseVars: true, secureBoot: true, until: /Access Denied|UKI-CMDLINE\[/, timeoutMs: 60_000 });
    expect(denied.matched?.[0], `tampered UKI: no denial after ${denied.seconds}s:\n${denied.console.slice(-3000)}`).toBe('Access Denied');
    expect(denied.console).toContain('Error loading \\EFI\\Linux\\pipeline.efi: Access Denied');
  }, 240_000);
});
