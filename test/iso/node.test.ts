// The esp and iso nodes in the real engine: fed by stand-in nodes laid out the way the package,
// initramfs, root image and sign nodes lay out their outputs, they build the same bytes as the
// plain functions, their keys hold no machine paths, and a second build comes from the cache.
import { PIPELINE_FILE_ROOTS } from '../../stages/shared/pipeline-files.js';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../graph/build.js';
import type { NodeSpec } from '../../graph/node.js';
import { Session } from '../../graph/session.js';
import { buildEsp, ESP_IMAGE, espNode, liveEspEntries, liveEspNode } from '../../stages/esp.js';
import { buildIso, isoNode } from '../../stages/iso.js';
import { projectRoot } from '../../fixtures/paths.js';
import { buildBootPieces, hostTools, isolinuxTemplate, LIVE_LABEL, OS, scratchDir, TEST_EPOCH, VARIANT_CMDLINE, type BootPieces } from './fixtures.js';

/** Stands in for a producer node: copies project files (under out/fixtures) to paths in its output. */
function filesNode(id: string, files: Record<string, string>): NodeSpec {
  const rel = Object.fromEntries(Object.entries(files).map(([out, host]) => [out, relative(projectRoot(), host)]));
  return {
    id,
    kind: 'test-files',
    version: 1,
    files: Object.values(rel),
    params: rel,
    async run(ctx) {
      for (const [out, file] of Object.entries(rel)) {
        await mkdir(dirname(join(ctx.out, out)), { recursive: true });
        await copyFile(ctx.file(file), join(ctx.out, out));
      }
    },
  };
}

describe('esp and iso nodes', () => {
  let dir: string;
  let pieces: BootPieces;
  let session: Session;
  let nodes: NodeSpec[];

  beforeAll(async () => {
    dir = await scratchDir('iso-node');
    pieces = await buildBootPieces(dir);
    const cache = await mkdtemp(join(dir, 'engine-'));
    session = await Session.open({ root: projectRoot(), fileRoots: PIPELINE_FILE_ROOTS, cacheDir: join(cache, 'cache'), logDir: join(cache, 'logs'), callerEnv: { ...process.env, SOURCE_DATE_EPOCH: String(TEST_EPOCH) } });
    const s = pieces.syslinux;
    nodes = [
      filesNode('sign:systemd-boot', { 'systemd-bootx64.efi': pieces.systemdBoot }),
      filesNode('sign:pltest:uki-live', { 'uki.efi': pieces.liveUki }),
      filesNode('sign:pltest:uki-system-a', { 'uki.efi': pieces.systemA }),
      filesNode('sign:pltest:uki-system-b', { 'uki.efi': pieces.systemB }),
      // Alpine's layout, which the iso node's default paths expect.
      filesNode('unpack:syslinux', { 'root/usr/share/syslinux/isolinux.bin': s.isolinuxBin, 'root/usr/share/syslinux/ldlinux.c32': s.ldlinuxC32, 'root/usr/share/syslinux/isohdpfx.bin': s.isohdpfxBin }),
      filesNode('unpack:linux-lts', { 'root/boot/vmlinuz-lts': pieces.kernel }),
      filesNode('initramfs:pltest', { 'initramfs-live.img': pieces.initramfs }),
      filesNode('squashfs:pltest', { 'filesystem.squashfs': pieces.rootImage }),
      liveEspNode({ id: 'esp:pltest', os: OS, deps: { systemdBoot: 'sign:systemd-boot', liveUki: 'sign:pltest:uki-live' } }),
      isoNode({
        id: 'iso:pltest', os: OS, label: LIVE_LABEL, cmdline: VARIANT_CMDLINE,
        deps: {
          esp: 'esp:pltest', syslinux: 'unpack:syslinux', kernel: 'unpack:linux-lts', initramfs: 'initramfs:pltest',
          rootImage: 'squashfs:pltest', systemA: 'sign:pltest:uki-system-a', systemB: 'sign:pltest:uki-system-b',
        },
      }),
    ];
  }, 300_000);

  afterAll(async () => {
    await session?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('key material: relative paths, labels and text only; declared tools and SOURCE_DATE_EPOCH', () => {
    const esp = nodes.find((n) => n.id === 'esp:pltest')!;
    const iso = nodes.find((n) => n.id === 'iso:pltest')!;
    expect(esp.tools).toEqual(['mkfs.fat', 'mmd', 'mcopy']);
    expect(iso.tools).toEqual(['xorriso']);
    expect(iso.files).toEqual(['pipeline:stages/iso/isolinux.cfg']);
    for (const node of [esp, iso]) {
      expect(node.env).toEqual({ SOURCE_DATE_EPOCH: true });
      expect(JSON.stringify(node.params)).not.toMatch(/"\//);
    }
    expect(esp.params).toMatchObject({ label: 'EFIBOOT', files: [{ path: 'EFI/BOOT/BOOTX64.EFI', dep: 'systemd-boot' }, { path: `EFI/Linux/${OS}-live.efi`, dep: 'live-uki' }, { path: 'loader/loader.conf', text: `default ${OS}-live.efi\ntimeout 2\n` }] });
    expect(iso.params).toMatchObject({ os: OS, name: OS, label: LIVE_LABEL, cmdline: VARIANT_CMDLINE, timeoutSeconds: 2 });
  });

  it('builds the same ESP and ISO as the plain functions, then comes from the cache', async () => {
    const first = await build(session, nodes, { jobs: 2 });
    for (const outcome of first.outcomes.values()) expect(outcome.error, outcome.id).toBeUndefined();
    const espOut = first.outcomes.get('esp:pltest')!;
    const isoOut = first.outcomes.get('iso:pltest')!;
    expect([espOut.status, isoOut.status]).toEqual(['built', 'built']);
    expect((await readdir(isoOut.path!)).sort()).toEqual([`${OS}.iso`, `${OS}.iso.sha256`]);

    const reference = join(dir, 'reference');
    const esp = join(reference, ESP_IMAGE);
    await buildEsp({
      entries: liveEspEntries({ os: OS, systemdBoot: pieces.systemdBoot, liveUki: pieces.liveUki, loader: { timeoutSeconds: 2 } }),
      output: esp, sourceDateEpoch: TEST_EPOCH, scratch: join(reference, 'scratch'), runner: hostTools,
    });
    expect((await readFile(join(espOut.path!, ESP_IMAGE))).equals(await readFile(esp))).toBe(true);
    const iso = join(reference, `${OS}.iso`);
    await buildIso({
      output: iso, os: OS, volumeLabel: LIVE_LABEL, cmdline: VARIANT_CMDLINE, timeoutSeconds: 2, isolinuxTemplate: await isolinuxTemplate(),
      sourceDateEpoch: TEST_EPOCH, esp, syslinux: pieces.syslinux, kernel: pieces.kernel, initramfs: pieces.initramfs, rootImage: pieces.rootImage,
      systemA: pieces.systemA, systemB: pieces.systemB, scratch: join(reference, 'scratch'), runner: hostTools,
    });
    expect(await readFile(join(isoOut.path!, `${OS}.iso.sha256`), 'utf8')).toBe(await readFile(`${iso}.sha256`, 'utf8'));

    const logs = await readdir(join(session.logDir));
    const isoLog = await readFile(join(session.logDir, logs.find((f) => f.includes('iso'))!), 'utf8');
    expect(isoLog).toContain('$ xorriso -no_rc -as mkisofs');
    expect(isoLog).toContain('/live/filesystem.squashfs <- filesystem.squashfs');

    const second = await build(session, nodes, { jobs: 2 });
    expect([second.outcomes.get('esp:pltest')!.status, second.outcomes.get('iso:pltest')!.status]).toEqual(['cached', 'cached']);
  }, 300_000);

  it('rejects bad parameters when the graph is made', () => {
    const deps = { esp: 'e', syslinux: 's', kernel: 'k', initramfs: 'i', rootImage: 'r', systemA: 'a', systemB: 'b' };
    expect(() => isoNode({ id: 'iso:x', os: OS, label: 'lower', cmdline: '', deps })).toThrow(/iso:x: ISO volume label "lower"/);
    expect(() => isoNode({ id: 'iso:x', os: 'Bad OS', label: 'X', cmdline: '', deps })).toThrow(/iso:x: OS id "Bad OS"/);
    expect(() => liveEspNode({ id: 'esp:x', os: OS, deps: { systemdBoot: 'a', liveUki: 'b' }, label: 'far-too-long-label' })).toThrow(/esp:x: FAT label/);
    expect(() => espNode({ id: 'esp:x', deps: {}, files: [{ path: 'EFI/BOOT/BOOTX64.EFI', dep: 'missing', file: 'x.efi' }] })).toThrow(/comes from dependency 'missing', which is not among its deps/);
  });
});
