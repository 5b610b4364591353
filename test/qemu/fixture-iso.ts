// A small hybrid ISO built the way the real ISO stage will build one (isolinux for BIOS, an ESP
// with systemd-boot + a UKI for UEFI, both bootable from CD and as a disk), from Debian's
// systemd-boot, kernel and busybox, so every boot scenario can be proven before the real ISO lands.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { extractDeb, fetchDeb } from '../../fixtures/debs.js';
import { THROWAWAY_IMAGE_EPOCH } from '../../qemu/image-epoch.js';
import { buildEsp } from '../../stages/esp.js';
import { hostRunner } from '../../stages/shared/host-runner.js';
import { buildInitramfs, buildOnceIn, debianKernel, qemuFixturesDir, SHELL_INIT } from './fixtures.js';

const run = promisify(execFile);

/** Debian's systemd-boot 252 (bootloader and UKI stub), extracted once. */
export async function systemdBootEfi(): Promise<{ bootloader: string; stub: string }> {
  const dir = await buildOnceIn(join(qemuFixturesDir(), 'systemd-boot-efi'), async (into) => {
    await extractDeb(await fetchDeb('systemd-boot-efi'), join(into, 'deb'));
    const efi = join(into, 'deb', 'usr', 'lib', 'systemd', 'boot', 'efi');
    await copyFile(join(efi, 'systemd-bootx64.efi'), join(into, 'systemd-bootx64.efi'));
    await copyFile(join(efi, 'linuxx64.efi.stub'), join(into, 'linuxx64.efi.stub'));
    await rm(join(into, 'deb'), { recursive: true, force: true });
  });
  return { bootloader: join(dir, 'systemd-bootx64.efi'), stub: join(dir, 'linuxx64.efi.stub') };
}

export interface KeyPair {
  key: string;
  crt: string;
  /** The signed EFI signature list for enrollment. */
  auth: string;
}

export interface SecureBootKeys {
  PK: KeyPair;
  KEK: KeyPair;
  db: KeyPair;
}

/** A fresh PK/KEK/db hierarchy (PK self-signed, KEK signed by PK, db by KEK), efitools-style. */
export async function generateSecureBootKeys(dir: string): Promise<SecureBootKeys> {
  await mkdir(dir, { recursive: true });
  const owner = '6c6f6e67-7069-7065-6c69-6e6531323334';
  const pair = (name: string): KeyPair => ({
    key: join(dir, `${name}.key`),
    crt: join(dir, `${name}.crt`),
    auth: join(dir, `${name}.auth`),
  });
  const keys: SecureBootKeys = { PK: pair('PK'), KEK: pair('KEK'), db: pair('db') };
  for (const [name, pairOf] of Object.entries(keys)) {
    await run('openssl', ['req', '-new', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650',
      '-subj', `/CN=pipeline test ${name}/`, '-keyout', pairOf.key, '-out', pairOf.crt]);
    await run('cert-to-efi-sig-list', ['-g', owner, pairOf.crt, join(dir, `${name}.esl`)]);
  }
  const signList = (variable: string, signer: KeyPair, target: KeyPair) =>
    run('sign-efi-sig-list', ['-t', '2025-01-01 00:00:00', '-k', signer.key, '-c', signer.crt, variable, join(dir, `${variable}.esl`), target.auth]);
  await signList('PK', keys.PK, keys.PK);
  await signList('KEK', keys.PK, keys.KEK);
  await signList('db', keys.KEK, keys.db);
  return keys;
}

export async function sbsign(pair: KeyPair, input: string, out: string): Promise<string> {
  await run('sbsign', ['--key', pair.key, '--cert', pair.crt, '--output', out, input]);
  return out;
}

/** A UKI from the systemd 252 stub with objcopy (its fixed section addresses fit a < 16 MiB kernel). */
export async function buildUki(options: { stub: string; vmlinuz: string; initrd: string; cmdline: string; out: string }): Promise<string> {
  const osrel = `${options.out}.osrel`;
  const cmdline = `${options.out}.cmdline`;
  await writeFile(osrel, 'NAME="pipeline fixture"\nID=pipeline-fixture\n');
  await writeFile(cmdline, options.cmdline);
  await run('objcopy', [
    '--add-section', `.osrel=${osrel}`, '--change-section-vma', '.osrel=0x20000',
    '--add-section', `.cmdline=${cmdline}`, '--change-section-vma', '.cmdline=0x30000',
    '--add-section', `.linux=${options.vmlinuz}`, '--change-section-vma', '.linux=0x2000000',
    '--add-section', `.initrd=${options.initrd}`, '--change-section-vma', '.initrd=0x3000000',
    options.stub, options.out,
  ]);
  return options.out;
}

export interface FixtureIsoInputs {
  vmlinuz: string;
  initrd: string;
  /** Kernel command line for the BIOS (isolinux) path. */
  biosAppend: string;
  systemdBoot: string;
  /** The default UEFI entry, stored on the ESP as EFI/Linux/<liveUkiName>. */
  liveUki: string;
  liveUkiName: string;
  /** More files in the ISO 9660 tree (e.g. /boot/uki/*.efi, /live/filesystem.squashfs). */
  extras?: { pathInIso: string; source: string }[];
  volumeId: string;
  out: string;
  tmp: string;
}

export async function buildFixtureIso(inputs: FixtureIsoInputs): Promise<string> {
  const tree = join(inputs.tmp, 'iso-tree');
  await mkdir(join(tree, 'isolinux'), { recursive: true });
  await mkdir(join(tree, 'boot'), { recursive: true });
  await copyFile('/usr/lib/ISOLINUX/isolinux.bin', join(tree, 'isolinux', 'isolinux.bin'));
  await copyFile('/usr/lib/syslinux/modules/bios/ldlinux.c32', join(tree, 'isolinux', 'ldlinux.c32'));
  await writeFile(
    join(tree, 'isolinux', 'isolinux.cfg'),
    ['SERIAL 0 115200', 'DEFAULT live', 'PROMPT 0', 'TIMEOUT 0', 'LABEL live', '  KERNEL /boot/vmlinuz',
      '  INITRD /boot/initrd.img', `  APPEND ${inputs.biosAppend}`, ''].join('\n'),
  );
  await copyFile(inputs.vmlinuz, join(tree, 'boot', 'vmlinuz'));
  await copyFile(inputs.initrd, join(tree, 'boot', 'initrd.img'));
  await buildEsp({
    output: join(tree, 'boot', 'efiboot.img'),
    label: 'ESP',
    sourceDateEpoch: THROWAWAY_IMAGE_EPOCH,
    scratch: inputs.tmp,
    runner: hostRunner(),
    entries: [
      { path: 'EFI/BOOT/BOOTX64.EFI', source: inputs.systemdBoot },
      { path: `EFI/Linux/${inputs.liveUkiName}`, source: inputs.liveUki },
      { path: 'loader/loader.conf', data: `default ${inputs.liveUkiName}\ntimeout 0\n` },
    ],
  });
  for (const extra of inputs.extras ?? []) {
    const target = join(tree, extra.pathInIso);
    await mkdir(dirname(target), { recursive: true });
    await copyFile(extra.source, target);
  }
  // The ESP lives in the ISO tree (not appended): El Torito load sizes stay valid past 32 MiB.
  await run('xorriso', ['-as', 'mkisofs', '-quiet', '-iso-level', '3', '-V', inputs.volumeId, '-J', '-joliet-long', '-R',
    '-isohybrid-mbr', '/usr/lib/ISOLINUX/isohdpfx.bin',
    '-eltorito-boot', 'isolinux/isolinux.bin', '-eltorito-catalog', 'isolinux/boot.cat',
    '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table',
    '-eltorito-alt-boot', '-e', 'boot/efiboot.img', '-no-emul-boot', '-isohybrid-gpt-basdat',
    '-o', inputs.out, tree]);
  return inputs.out;
}

export interface FixtureBootSet {
  dir: string;
  iso: string;
  keys: SecureBootKeys;
  signedSystemdBoot: string;
  /** On the ISO's ESP as EFI/Linux/fixture-live.efi (the default entry). */
  signedLiveUki: string;
  /** On the ISO as /boot/uki/fixture-system-b.efi; its cmdline adds root=LABEL=system-b. */
  signedSystemBUki: string;
  kernelRelease: string;
}

export const FIXTURE_CONSOLE = 'console=ttyS0,115200 panic=-1';
export const FIXTURE_LIVE_UKI = 'fixture-live.efi';
export const FIXTURE_SYSTEM_B_UKI = 'fixture-system-b.efi';
export const FIXTURE_ROOT_IMAGE = '/live/filesystem.squashfs';

/**
 * The fixture hybrid ISO with everything the scenarios need (test keys, signed systemd-boot and
 * UKIs), built once per kernel release under out/fixtures/qemu.
 */
export async function fixtureBootSet(): Promise<FixtureBootSet> {
  const kernel = await debianKernel();
  const dir = await buildOnceIn(join(qemuFixturesDir(), `boot-set-${kernel.release}-v1`), async (into) => {
    const { bootloader, stub } = await systemdBootEfi();
    const initrd = await buildInitramfs(SHELL_INIT, join(into, 'initrd.cpio'), kernel.virtioModules);
    const keys = await generateSecureBootKeys(join(into, 'keys'));
    const signedSystemdBoot = await sbsign(keys.db, bootloader, join(into, 'systemd-bootx64.signed.efi'));
    const uki = async (name: string, cmdline: string) => {
      const unsigned = await buildUki({ stub, vmlinuz: kernel.vmlinuz, initrd, cmdline, out: join(into, `${name}.efi`) });
      return sbsign(keys.db, unsigned, join(into, `${name}.signed.efi`));
    };
    const liveUki = await uki('live', FIXTURE_CONSOLE);
    const systemBUki = await uki('system-b', `${FIXTURE_CONSOLE} root=LABEL=system-b`);
    const rootDir = join(into, 'rootfs');
    await mkdir(join(rootDir, 'etc'), { recursive: true });
    await writeFile(join(rootDir, 'etc', 'hostname'), 'fixture\n');
    await run('mksquashfs', [rootDir, join(into, 'filesystem.squashfs'), '-quiet', '-noappend']);
    const tmp = join(into, 'iso-build');
    await mkdir(tmp);
    await buildFixtureIso({
      vmlinuz: kernel.vmlinuz,
      initrd,
      biosAppend: FIXTURE_CONSOLE,
      systemdBoot: signedSystemdBoot,
      liveUki,
      liveUkiName: FIXTURE_LIVE_UKI,
      extras: [
        { pathInIso: `/boot/uki/${FIXTURE_SYSTEM_B_UKI}`, source: systemBUki },
        { pathInIso: FIXTURE_ROOT_IMAGE, source: join(into, 'filesystem.squashfs') },
      ],
      volumeId: 'PIPELINE_FIXTURE',
      out: join(into, 'fixture.iso'),
      tmp,
    });
    await rm(tmp, { recursive: true, force: true });
  });
  const pair = (name: string): KeyPair => ({ key: join(dir, 'keys', `${name}.key`), crt: join(dir, 'keys', `${name}.crt`), auth: join(dir, 'keys', `${name}.auth`) });
  return {
    dir,
    iso: join(dir, 'fixture.iso'),
    keys: { PK: pair('PK'), KEK: pair('KEK'), db: pair('db') },
    signedSystemdBoot: join(dir, 'systemd-bootx64.signed.efi'),
    signedLiveUki: join(dir, 'live.signed.efi'),
    signedSystemBUki: join(dir, 'system-b.signed.efi'),
    kernelRelease: kernel.release,
  };
}
