// The image part of a variant's graph, from unpacked packages to the ISO:
//   rootfs -> squashfs|erofs ---------------------------------------------\
//   kernel + busybox -> initramfs -> uki (live, system-a, system-b) -> sign -> esp -> iso
//   systemd-boot -> sign ------------------------------------------------^
//   rootfs -> sbom
// Bootloaders, the EFI stub, the kernel and busybox all come from the variant's own packages.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../graph/errors.js';
import type { NodeSpec } from '../graph/node.js';
import { erofsNode } from '../stages/erofs.js';
import { liveEspNode } from '../stages/esp.js';
import { initramfsNode, INITRAMFS_IMAGE } from '../stages/initramfs.js';
import { isoNode } from '../stages/iso.js';
import { liveKernelCommandLine } from '../stages/iso/volume-label.js';
import { rootfsNode, type ServiceConfig, type UserConfig } from '../stages/rootfs.js';
import { osReleaseText } from '../stages/rootfs/etc-files.js';
import { sbomNode } from '../stages/sbom.js';
import { certificateFingerprint, SIGNING_KEY_ENV, signNode } from '../stages/sign.js';
import { squashfsNode } from '../stages/squashfs.js';
import { stepId } from '../stages/step.js';
import { ukiNode } from '../stages/uki.js';
import type { AlpineSource } from './alpine.js';
import type { Artifact } from './index.js';
import type { LoadedVariant, Variant } from './variant.js';

export type Slot = 'live' | 'system-a' | 'system-b';
export const SLOTS: Slot[] = ['live', 'system-a', 'system-b'];

export interface SystemGraph {
  nodes: NodeSpec[];
  artifacts: Artifact[];
  /** Ids the boot tests need. */
  ids: {
    iso: string;
    isoFile: string;
    signedSystemdBoot: string;
    rootImageInIso: string;
    ukiInIso: (slot: 'system-a' | 'system-b') => string;
  };
}

/** The fields a whole-system variant must have, checked with positions. */
const REQUIRED = ['epoch', 'os', 'hostname', 'iso_label', 'alpine', 'packages', 'kernel', 'boot', 'initramfs', 'signing'] as const;

export function checkSystemVariant(loaded: LoadedVariant): void {
  const { variant, source } = loaded;
  const missing = REQUIRED.filter((key) => variant[key] === undefined);
  if (missing.length > 0) {
    throw new ConfigError(`${source.where([])}: variant ${variant.name} lists packages but lacks ${missing.map((m) => `'${m}'`).join(', ')} (see variants/variant.schema.json)`);
  }
}

export function osRelease(variant: Variant): Record<string, string> {
  const os = variant.os!;
  const fields: Record<string, string> = { ID: os.id, NAME: os.name };
  fields.PRETTY_NAME = os.pretty_name ?? [os.name, os.version_id].filter(Boolean).join(' ');
  if (os.version_id) fields.VERSION_ID = os.version_id;
  if (os.home_url) fields.HOME_URL = os.home_url;
  for (const [k, v] of Object.entries(os.extra ?? {})) fields[k] = v;
  return fields;
}

export function slotCommandLine(variant: Variant, slot: Slot): string {
  const base = (variant.kernel!.cmdline ?? []).join(' ');
  if (slot === 'live') return liveKernelCommandLine(variant.iso_label!, base);
  return [`root=LABEL=${slot}`, base].filter(Boolean).join(' ');
}

function overlayDirs(loaded: LoadedVariant): string[] {
  const given = loaded.variant.system?.overlays;
  if (given) {
    given.forEach((dir, i) => {
      if (!existsSync(join(loaded.root, dir))) throw new ConfigError(`${loaded.source.where(['system', 'overlays', i])}: overlay directory ${dir} does not exist`);
    });
    return given;
  }
  const conventional = `variants/overlays/${loaded.variant.name}`;
  return existsSync(join(loaded.root, conventional)) ? [conventional] : [];
}

function services(variant: Variant): ServiceConfig[] {
  const out: ServiceConfig[] = [];
  for (const [runlevel, names] of Object.entries(variant.system?.services ?? {})) for (const name of names) out.push({ name, runlevel });
  return out;
}

function users(variant: Variant): UserConfig[] {
  return (variant.system?.users ?? []).map((u, i) => ({
    name: u.name,
    uid: u.uid ?? 1000 + i,
    groups: u.groups,
    shell: u.shell,
    home: u.home,
    password: 'locked',
  }));
}

export interface SystemOptions {
  env: NodeJS.ProcessEnv;
  /** Building: signing keys must exist now (graph and explain show a variant without them). */
  strict: boolean;
}

export function systemGraph(loaded: LoadedVariant, alpine: AlpineSource, options: SystemOptions): SystemGraph {
  const { env } = options;
  const { variant, source, root } = loaded;
  const name = variant.name;
  const os = variant.os!.id;
  const pkg = (packageName: string, where: (string | number)[]) => {
    try {
      return alpine.packageNode(packageName);
    } catch (err) {
      throw new ConfigError(`${source.where(where)}: ${(err as Error).message}`);
    }
  };
  const nodes: NodeSpec[] = [];

  // Root filesystem and its image.
  const overlays = overlayDirs(loaded);
  if (overlays.length > 1) throw new ConfigError(`${source.where(['system', 'overlays'])}: one overlay directory is supported per variant`);
  const console = variant.system?.console ?? {};
  const rootfs = rootfsNode({
    variant: name,
    packages: alpine.lock ? alpine.installOrder().map((p) => ({ name: p, node: alpine.packageNode(p) })) : [{ name: 'packages', node: alpine.resolveId }],
    overlayDir: overlays[0],
    config: {
      osRelease: osRelease(variant),
      hostname: variant.hostname!,
      init: variant.system?.init ?? 'openrc',
      services: services(variant),
      console: { device: console.serial ?? 'ttyS0', baud: console.baud ?? 115200, autologin: 'root', serialOnly: console.serial_only ?? false },
      rootPassword: 'empty',
      users: users(variant),
    },
  });
  nodes.push(rootfs);
  const format = variant.root_image?.format ?? 'squashfs';
  const rootImage =
    format === 'erofs'
      ? erofsNode({ variant: name, rootfs: rootfs.id, level: variant.root_image?.level })
      : squashfsNode({ variant: name, rootfs: rootfs.id, level: variant.root_image?.level });
  nodes.push(rootImage);
  const rootImageFile = format === 'erofs' ? 'filesystem.erofs' : 'filesystem.squashfs';

  // The live initramfs: kernel modules and busybox only, never the rootfs.
  const kernel = variant.kernel!;
  const kernelNode = pkg(kernel.package, ['kernel', 'package']);
  const busybox = variant.initramfs!.busybox;
  const initramfs = initramfsNode({
    id: `initramfs:${name}`,
    deps: { kernel: kernelNode, busybox: pkg(busybox.package, ['initramfs', 'busybox', 'package']) },
    paths: { kernelRoot: 'root', busybox: `root/${busybox.path}` },
    modules: variant.initramfs!.modules ? parseModules(variant.initramfs!.modules) : undefined,
    compression: { format: variant.initramfs!.compression ?? 'zstd', level: variant.initramfs!.level ?? (variant.initramfs!.compression === 'gzip' ? 9 : 19) },
  });
  nodes.push(initramfs);

  // Signing: the certificate is public (declared as a file and keyed by fingerprint); the private
  // key is a secret. Both are only required when building: `graph` shows a variant without keys.
  const signing = variant.signing!;
  const certPath = join(root, signing.certificate);
  const keyHint = `make a test key set with \`pipeline keys init ${signing.certificate.replace(/\/[^/]*$/, '')}\` or point signing at your own`;
  let fingerprint = 'missing-certificate';
  if (existsSync(certPath)) {
    try {
      fingerprint = certificateFingerprint(readFileSync(certPath));
    } catch (err) {
      throw new ConfigError(`${source.where(['signing', 'certificate'])}: ${signing.certificate} is not a certificate: ${(err as Error).message}`);
    }
  } else if (options.strict) {
    throw new ConfigError(`${source.where(['signing', 'certificate'])}: the db certificate ${signing.certificate} does not exist; ${keyHint}`);
  }
  const keyPath = env[SIGNING_KEY_ENV] || (signing.key ? join(root, signing.key) : '');
  if (options.strict && !keyPath) {
    throw new ConfigError(`${source.where(['signing'])}: no Secure Boot signing key: set ${SIGNING_KEY_ENV} or signing.key; ${keyHint}`);
  }
  if (options.strict && !existsSync(keyPath)) {
    throw new ConfigError(`${source.where(['signing'])}: the signing key ${env[SIGNING_KEY_ENV] ? `in ${SIGNING_KEY_ENV}` : signing.key} does not exist; ${keyHint}`);
  }
  const sign = (id: string, unsigned: string, input: string, output: string) => {
    const node = signNode({ id, unsigned, input, output, certFingerprint: fingerprint, keyPath, certPath });
    return { ...node, files: [...(node.files ?? []), signing.certificate] };
  };

  // UKIs for the live system and both slots, each signed.
  const stub = variant.boot!.efi_stub;
  const stubNode = pkg(stub.package, ['boot', 'efi_stub', 'package']);
  const osrel = osReleaseText(osRelease(variant));
  const signedUki: Record<Slot, string> = { live: '', 'system-a': '', 'system-b': '' };
  for (const slot of SLOTS) {
    const uki = ukiNode({
      id: `uki:${name}:${slot}`,
      deps: { stub: stubNode, kernel: kernelNode, initramfs: initramfs.id },
      paths: { stub: `root/${stub.path}`, kernel: `root/${kernel.image}`, initramfs: [INITRAMFS_IMAGE] },
      cmdline: slotCommandLine(variant, slot),
      osRelease: osrel,
      output: 'uki.efi',
    });
    const signed = sign(`sign:${name}:uki-${slot}`, uki.id, 'uki.efi', 'uki.efi');
    nodes.push(uki, signed);
    signedUki[slot] = signed.id;
  }
  const sdboot = variant.boot!.systemd_boot;
  const signedSdboot = sign(`sign:${name}:systemd-boot`, pkg(sdboot.package, ['boot', 'systemd_boot', 'package']), `root/${sdboot.path}`, 'systemd-bootx64.efi');
  nodes.push(signedSdboot);

  const timeout = variant.boot!.timeout;
  const esp = liveEspNode({
    id: `esp:${name}`,
    os,
    deps: { systemdBoot: signedSdboot.id, liveUki: signedUki.live },
    timeoutSeconds: timeout,
  });
  nodes.push(esp);

  const syslinux = variant.boot!.syslinux;
  const syslinuxDir = `root/${syslinux.dir.replace(/\/+$/, '')}`;
  const iso = isoNode({
    id: `iso:${name}`,
    os,
    name,
    label: variant.iso_label!,
    cmdline: (kernel.cmdline ?? []).join(' '),
    timeoutSeconds: timeout,
    deps: {
      esp: esp.id,
      syslinux: pkg(syslinux.package, ['boot', 'syslinux', 'package']),
      kernel: kernelNode,
      initramfs: initramfs.id,
      rootImage: rootImage.id,
      systemA: signedUki['system-a'],
      systemB: signedUki['system-b'],
    },
    paths: {
      isolinuxBin: `${syslinuxDir}/isolinux.bin`,
      ldlinuxC32: `${syslinuxDir}/ldlinux.c32`,
      isohdpfxBin: `${syslinuxDir}/isohdpfx.bin`,
      kernel: `root/${kernel.image}`,
      rootImage: rootImageFile,
    },
  });
  nodes.push(iso);

  const sbom = sbomNode({
    variant: name,
    version: variant.os!.version_id,
    packages: (alpine.lock?.packages ?? []).map((p) => ({
      name: p.name,
      version: p.version,
      indexChecksum: p.checksum,
      repositoryUrl: repositoryOf(alpine, p.repository),
      fetchNode: alpine.fetchNode(p.name),
      unpackNode: alpine.packageNode(p.name),
    })),
    steps: Object.entries(variant.steps ?? {}).map(([step, def]) => ({ name: step, id: stepId(name, step), run: def.run })),
  });
  nodes.push(sbom);

  return {
    nodes,
    artifacts: [
      { node: iso.id, from: `${name}.iso`, to: `${name}.iso` },
      { node: iso.id, from: `${name}.iso.sha256`, to: `${name}.iso.sha256` },
      { node: rootImage.id, from: rootImageFile, to: rootImageFile },
      { node: initramfs.id, from: INITRAMFS_IMAGE, to: INITRAMFS_IMAGE },
      { node: sbom.id, from: 'sbom.spdx.json', to: 'sbom.spdx.json' },
    ],
    ids: {
      iso: iso.id,
      isoFile: `${name}.iso`,
      signedSystemdBoot: signedSdboot.id,
      rootImageInIso: `/live/${rootImageFile}`,
      ukiInIso: (slot) => `/boot/uki/${os}-${slot}.efi`,
    },
  };
}

function repositoryOf(alpine: AlpineSource, name: string): string {
  return alpine.lock?.repositories.find((r) => r.name === name)?.url ?? name;
}

function parseModules(list: string[]): { required: string[]; optional: string[] } {
  const required: string[] = [];
  const optional: string[] = [];
  for (const m of list) (m.endsWith('?') ? optional : required).push(m.replace(/\?$/, ''));
  return { required, optional };
}
