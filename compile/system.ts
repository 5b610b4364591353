// The image part of a variant's graph, from unpacked packages to the ISO:
//   rootfs -> squashfs|erofs (base) ----------------------------------------\
//   rootfs manifest + overlay + recipe trees -> layer -> squashfs|erofs (upper)
//   kernel + busybox -> initramfs -> uki (live, system-a, system-b) -> sign -> esp -> iso
//   systemd-boot -> sign ------------------------------------------------^
//   rootfs -> sbom
// Bootloaders, the EFI stub, the kernel and busybox all come from the variant's own packages.
import { join, relative } from 'node:path';
import type { NodeSpec } from '../graph/node.js';
import { EROFS_FILE, EROFS_UPPER_FILE, erofsNode } from '../stages/erofs.js';
import { liveEspNode } from '../stages/esp.js';
import { initramfsNode, INITRAMFS_IMAGE } from '../stages/initramfs.js';
import { installerToolsNode } from '../stages/installer.js';
import { isoNode } from '../stages/iso.js';
import { layerNode, type LayerTree } from '../stages/layer.js';
import { liveKernelCommandLine } from '../stages/iso/volume-label.js';
import { rootfsNode, type ServiceConfig, type UserConfig } from '../stages/rootfs.js';
import { osReleaseText } from '../stages/rootfs/etc-files.js';
import { sbomNode } from '../stages/sbom.js';
import { SIGNING_KEY_ENV, signNode } from '../stages/sign.js';
import { SQUASHFS_FILE, SQUASHFS_UPPER_FILE, squashfsNode } from '../stages/squashfs.js';
import { stepId } from '../stages/step.js';
import { ukiNode } from '../stages/uki.js';
import { updateBundleFileName, updateBundleNode, type ExtraLayer } from '../stages/update-bundle.js';
import type { PackageSource } from './package-source.js';
import { lockClosure, recipeBuildPackages, recipeGraph } from './recipes.js';
import type { Artifact } from './index.js';
import type { CompileInputs } from './load.js';
import type { Problems } from './problems.js';
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
    /** The base layer on the medium: `/live/filesystem.squashfs`. */
    rootImageInIso: string;
    /** Every layer on the medium, base first (the base alone when there is no upper layer). */
    layersInIso: string[];
    ukiInIso: (slot: 'system-a' | 'system-b') => string;
    /** The variant's update bundle: `<variant>-<version>.update` in this node's output. */
    bundle: { node: string; file: string };
  };
  /** The version the bundles carry: the os `version_id` (0 without one). */
  version: string;
  /**
   * Another bundle of this system, signed with the same key: another version, or another
   * variant's name in its manifest, with one more layer of files on top (the update tests').
   */
  derivedBundle(options: { id: string; variant?: string; version: string; extraLayer?: ExtraLayer }): { node: NodeSpec; file: string };
}

/** The fields a whole-system variant must have, checked with positions. */
const REQUIRED = ['epoch', 'os', 'hostname', 'iso_label', 'packages', 'kernel', 'boot', 'initramfs', 'signing'] as const;

export function checkSystemVariant(loaded: LoadedVariant, problems: Problems): boolean {
  const { variant, source } = loaded;
  const missing: string[] = REQUIRED.filter((key) => variant[key] === undefined);
  if (!variant.alpine && !variant.rpm) missing.push('alpine (or rpm)');
  if (missing.length > 0) {
    problems.add(`${source.where([])}: variant ${variant.name} lists packages but lacks ${missing.map((m) => `'${m}'`).join(', ')} (see variants/variant.schema.json)`);
  }
  if (variant.alpine && variant.rpm) {
    problems.add(`${source.where(['rpm'])}: variant ${variant.name} has both an alpine and an rpm package source; a system is built from one`);
    return false;
  }
  return missing.length === 0;
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

/**
 * An installed slot's command line carries `panic=` (unless the variant sets one): a trial boot
 * that crashes, or whose initramfs fails, reboots into the committed slot unattended.
 */
export const SLOT_PANIC_SECONDS = 5;

export function slotCommandLine(variant: Variant, slot: Slot): string {
  if (slot === 'live') return liveKernelCommandLine(variant.iso_label!, liveBaseCommandLine(variant));
  const cmdline = variant.kernel!.cmdline ?? [];
  const panic = cmdline.some((arg) => arg.startsWith('panic=')) ? [] : [`panic=${SLOT_PANIC_SECONDS}`];
  return [`root=LABEL=${slot}`, ...cmdline, ...panic].join(' ');
}

/**
 * The variant's command line for the live system. Under systemd, `fstab=no`: the image's fstab
 * describes the installed A/B disk (ESP, var), and systemd would wait 90 s for partitions a live
 * medium does not have (busybox init's `mount -a` just skips them: nofail).
 */
export function liveBaseCommandLine(variant: Variant): string {
  const extra = variant.system?.init === 'systemd' ? ['fstab=no'] : [];
  return [...(variant.kernel!.cmdline ?? []), ...extra].join(' ');
}

/** The variant's overlays as declared, else the conventional directory when the project has it. */
function overlayDirs(inputs: CompileInputs, problems: Problems): string[] {
  const given = inputs.loaded.variant.system?.overlays;
  if (!given) return inputs.conventionalOverlay ? [inputs.conventionalOverlay] : [];
  if (given.length > 1) problems.add(`${inputs.loaded.source.where(['system', 'overlays'])}: one overlay directory is supported per variant`);
  return given;
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

/**
 * The locked packages the system installs: all of them, less those only recipes' build roots
 * reach (a compiler is resolved with the system's packages, from the same repositories, but does
 * not ship in it).
 */
export function systemPackages(inputs: CompileInputs, packageSource: PackageSource): string[] {
  const order = packageSource.installOrder();
  const build = recipeBuildPackages(inputs);
  if (build.length === 0) return order;
  const system = new Set(lockClosure(packageSource, (inputs.loaded.variant.packages ?? []).map((p) => /^[^<>=~!]+/.exec(p)?.[0] ?? p)));
  const buildOnly = new Set(lockClosure(packageSource, build).filter((p) => !system.has(p)));
  return order.filter((p) => !buildOnly.has(p));
}

export interface SystemGraphOptions {
  /**
   * Trees for the upper layer besides the overlay (recipes): each a node whose output holds
   * root/ + manifest.json. Collisions with the base or between trees are build errors of the
   * layer node (stages/layer/build.ts).
   */
  layers?: readonly LayerTree[];
}

export function systemGraph(inputs: CompileInputs, packageSource: PackageSource, problems: Problems, options: SystemGraphOptions = {}): SystemGraph {
  const { variant, source, root } = inputs.loaded;
  const name = variant.name;
  const os = variant.os!.id;
  const sourceDateEpoch = variant.epoch!;
  const lockName = relative(root, packageSource.lockFile);
  const pkg = (packageName: string, where: (string | number)[]): string => {
    const id = packageSource.packageNode(packageName);
    if (id) return id;
    problems.add(
      `${source.where(where)}: package '${packageName}' is not in ${lockName}: add it to packages (or to what they depend on) and run \`pipeline lock ${name}\``,
    );
    return `missing-package:${packageName}`;
  };
  const nodes: NodeSpec[] = [];
  const installed = new Set(systemPackages(inputs, packageSource));

  // Recipes, built from source in their sandboxes; their outputs are trees above the packages.
  const recipes = recipeGraph(inputs, packageSource, problems);
  nodes.push(...recipes.nodes);

  // The base root filesystem (packages and generated config) and its image; the overlay and the
  // recipe trees make the upper layer and its own image, so changing them rebuilds neither.
  const overlays = overlayDirs(inputs, problems);
  const console = variant.system?.console ?? {};
  const rootfs = rootfsNode({
    variant: name,
    postInstall: packageSource.format === 'rpm' ? 'rpm-actions' : 'scripts',
    rpmActions: variant.rpm?.post_install,
    packages: packageSource.lock ? systemPackages(inputs, packageSource).map((p) => ({ name: p, node: packageSource.packageNode(p)! })) : [{ name: 'packages', node: packageSource.resolveId }],
    sourceDateEpoch,
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
  const image = (tree: string, id: string | undefined, file: string, weight?: number) =>
    format === 'erofs'
      ? erofsNode({ variant: name, rootfs: tree, id, file, level: variant.root_image?.level, sourceDateEpoch })
      : squashfsNode({ variant: name, rootfs: tree, id, file, level: variant.root_image?.level, sourceDateEpoch, weight });
  const rootImageFile = format === 'erofs' ? EROFS_FILE : SQUASHFS_FILE;
  const rootImage = image(rootfs.id, undefined, rootImageFile);
  nodes.push(rootImage);
  const upperImageFile = format === 'erofs' ? EROFS_UPPER_FILE : SQUASHFS_UPPER_FILE;
  // Every system carries the installer and update tools (recstrap, recfstab, recchroot, recab).
  const installer = installerToolsNode({
    variant: name,
    certificate: variant.signing!.certificate,
    hints: { [variant.signing!.certificate]: `${source.where(['signing', 'certificate'])}: the db certificate; its key verifies update bundles` },
  });
  nodes.push(installer);
  const trees = [...(options.layers ?? []), ...recipes.trees, { name: 'installer', node: installer.id }];
  const layer = layerNode({ variant: name, base: rootfs.id, overlayDir: overlays[0], trees, sourceDateEpoch });
  nodes.push(overlays[0] ? { ...layer, hints: { [overlays[0]]: `${source.where(variant.system?.overlays ? ['system', 'overlays', 0] : [])}: the overlay directory` } } : layer);
  // The upper layer is small (an overlay, recipe trees, the tools): one job slot, so a
  // one-recipe rebuild does not wait for every slot to free up on its way to the ISO.
  const upperImage = image(layer.id, `${rootImage.id}:upper`, upperImageFile, 1);
  nodes.push(upperImage);

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
    sourceDateEpoch,
  });
  nodes.push(initramfs);

  // Signing: the certificate is public (a declared file: its content keys the sign nodes); the
  // private key is a secret file. Both must exist only to build: the engine checks them before
  // anything runs, and `graph` shows the nodes that cannot build without them.
  const signing = variant.signing!;
  const keyDir = signing.certificate.includes('/') ? signing.certificate.replace(/\/[^/]*$/, '') : '.';
  const keyHint = `make a test key set with \`pipeline keys init ${keyDir}\` or point signing at your own`;
  const keyFromEnv = inputs.env[SIGNING_KEY_ENV];
  const keyPath = keyFromEnv || (signing.key ? join(root, signing.key) : '');
  const hints = {
    certificate: `${source.where(['signing', 'certificate'])}: the db certificate; ${keyHint}`,
    key: keyFromEnv
      ? `${SIGNING_KEY_ENV} names it; ${keyHint}`
      : `${source.where(['signing', signing.key ? 'key' : 'certificate'])}: ${signing.key ? 'the signing key' : `no signing key: set ${SIGNING_KEY_ENV} or signing.key`}; ${keyHint}`,
  };
  const sign = (id: string, unsigned: string, input: string, output: string) =>
    signNode({ id, unsigned, input, output, certificate: signing.certificate, keyPath, hints, sourceDateEpoch });

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
      sourceDateEpoch,
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
    sourceDateEpoch,
  });
  nodes.push(esp);

  const syslinux = variant.boot!.syslinux;
  const syslinuxDir = `root/${syslinux.dir.replace(/\/+$/, '')}`;
  const iso = isoNode({
    id: `iso:${name}`,
    os,
    name,
    label: variant.iso_label!,
    cmdline: liveBaseCommandLine(variant),
    timeoutSeconds: timeout,
    deps: {
      esp: esp.id,
      syslinux: pkg(syslinux.package, ['boot', 'syslinux', 'package']),
      kernel: kernelNode,
      initramfs: initramfs.id,
      rootImage: rootImage.id,
      upperImage: upperImage.id,
      systemA: signedUki['system-a'],
      systemB: signedUki['system-b'],
    },
    paths: {
      isolinuxBin: `${syslinuxDir}/isolinux.bin`,
      ldlinuxC32: `${syslinuxDir}/ldlinux.c32`,
      isohdpfxBin: `${syslinuxDir}/isohdpfx.bin`,
      kernel: `root/${kernel.image}`,
      rootImage: rootImageFile,
      upperImage: upperImageFile,
    },
    sourceDateEpoch,
  });
  nodes.push(iso);

  // The update bundle: the root's layers as one slot image and both slot UKIs, signed with the db key.
  const version = variant.os!.version_id ?? '0';
  const bundleOf = (options: { id: string; variant?: string; version: string; extraLayer?: ExtraLayer }) => {
    const node = updateBundleNode({
      id: options.id,
      variant: options.variant ?? name,
      os,
      version: options.version,
      epoch: sourceDateEpoch,
      layers: [{ node: rootImage.id, file: rootImageFile }, { node: upperImage.id, file: upperImageFile }],
      systemA: { node: signedUki['system-a'], file: 'uki.efi' },
      systemB: { node: signedUki['system-b'], file: 'uki.efi' },
      certificate: signing.certificate,
      keyPath,
      hints: { certificate: hints.certificate, key: hints.key },
      extraLayer: options.extraLayer,
    });
    return { node, file: updateBundleFileName(options.variant ?? name, options.version) };
  };
  const bundle = bundleOf({ id: `bundle:${name}`, version });
  nodes.push(bundle.node);

  const sbom = sbomNode({
    variant: name,
    version: variant.os!.version_id,
    packages: (packageSource.lock?.packages ?? []).filter((p) => installed.has(p.name)).map((p) => ({
      name: p.name,
      version: p.version,
      indexChecksum: p.checksum,
      repositoryUrl: repositoryOf(packageSource, p.repository),
      fetchNode: packageSource.fetchNode(p.name),
      unpackNode: packageSource.packageNode(p.name)!,
    })),
    steps: Object.entries(variant.steps ?? {}).map(([step, def]) => ({ name: step, id: stepId(name, step), run: def.run })),
    recipes: recipes.recipes.map((r) => ({ name: r.recipe.name, id: r.node })),
    sourceDateEpoch,
  });
  nodes.push(sbom);

  return {
    nodes,
    artifacts: [
      { node: iso.id, from: `${name}.iso`, to: `${name}.iso` },
      { node: iso.id, from: `${name}.iso.sha256`, to: `${name}.iso.sha256` },
      { node: rootImage.id, from: rootImageFile, to: rootImageFile },
      { node: upperImage.id, from: upperImageFile, to: upperImageFile },
      { node: initramfs.id, from: INITRAMFS_IMAGE, to: INITRAMFS_IMAGE },
      { node: sbom.id, from: 'sbom.spdx.json', to: 'sbom.spdx.json' },
      { node: bundle.node.id, from: bundle.file, to: bundle.file },
    ],
    ids: {
      iso: iso.id,
      isoFile: `${name}.iso`,
      signedSystemdBoot: signedSdboot.id,
      rootImageInIso: `/live/${rootImageFile}`,
      layersInIso: [`/live/${rootImageFile}`, `/live/${upperImageFile}`],
      ukiInIso: (slot) => `/boot/uki/${os}-${slot}.efi`,
      bundle: { node: bundle.node.id, file: bundle.file },
    },
    version,
    derivedBundle: bundleOf,
  };
}

function repositoryOf(packageSource: PackageSource, name: string): string {
  return packageSource.lock?.repositories.find((r) => r.name === name)?.url ?? name;
}

function parseModules(list: string[]): { required: string[]; optional: string[] } {
  const required: string[] = [];
  const optional: string[] = [];
  for (const m of list) (m.endsWith('?') ? optional : required).push(m.replace(/\?$/, ''));
  return { required, optional };
}
