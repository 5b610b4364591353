// The real variants, IuppiterOS and AcornOS: their graphs without network, keys or lock; the
// Alpine keys they trust; what a build says when the mirror or the keys are missing.
import { cp, mkdtemp, readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readApkIndexPath } from '../../stages/sources/apk/index-file.js';
import { loadTrustedKeys } from '../../stages/sources/apk/trust.js';
import { cli } from '../engine/helpers.js';
import { projectRoot } from '../../fixtures/paths.js';

const CORPUS = join(projectRoot(), '..', 'shared', 'corpus', 'alpine-3.16-main-x86_64');

async function copyOfVariants(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pipeline-variants-'));
  await cp(join(projectRoot(), 'variants'), join(dir, 'variants'), { recursive: true, filter: (src) => !src.endsWith('.lock.yaml') });
  return dir;
}

describe('the real variants', () => {
  for (const name of ['iuppiter', 'acorn']) {
    it(`pipeline graph ${name} works offline, with no lock and no keys`, async () => {
      const root = await copyOfVariants();
      const r = await cli(['graph', name, '--format', 'json'], root);
      expect(r.code, r.stderr).toBe(0);
      const nodes = JSON.parse(r.stdout).nodes as Array<{ id: string; deps: Record<string, string>; problem: string | null }>;
      const ids = nodes.map((n) => n.id);
      for (const id of [`apk-index:alpine/v3.23/main/x86_64`, `apk-index:alpine/v3.23/community/x86_64`, `apk-resolve:${name}`, `rootfs:${name}`, `squashfs:${name}`, `initramfs:${name}`, `uki:${name}:system-a`, `uki:${name}:system-b`, `esp:${name}`, `iso:${name}`, `sbom:${name}`]) {
        expect(ids).toContain(id);
      }
      // Until a lock exists, the resolve node stands for the package nodes.
      expect(Object.values(nodes.find((n) => n.id === `rootfs:${name}`)!.deps)).toEqual([`apk-resolve:${name}`]);
      expect(nodes.find((n) => n.id === `sign:${name}:uki-live`)!.problem).toContain('variants/keys/secureboot/db.crt');
    });
  }

  it('IuppiterOS is the headless appliance: serial console on every UKI, its tools, no wifi, sound or LVM', async () => {
    const r = await cli(['graph', 'iuppiter', '--format', 'json'], await copyOfVariants());
    const nodes = JSON.parse(r.stdout).nodes as Array<{ id: string; description: string }>;
    for (const slot of ['live', 'system-a', 'system-b']) {
      expect(nodes.find((n) => n.id === `uki:iuppiter:${slot}`)!.description).toContain('console=ttyS0,115200');
    }
    expect(nodes.find((n) => n.id === 'uki:iuppiter:system-b')!.description).toContain('root=LABEL=system-b');
    const variant = parse(await readFile(join(projectRoot(), 'variants/iuppiter.yaml'), 'utf8'));
    expect(variant.packages).toEqual(expect.arrayContaining(['smartmontools', 'hdparm', 'sg3_utils', 'sdparm', 'nvme-cli', 'lsscsi']));
    for (const absent of ['iwd', 'sof-firmware', 'cryptsetup', 'lvm2', 'btrfs-progs']) expect(variant.packages).not.toContain(absent);
    expect(variant.system.console.serial_only).toBe(true);
    expect(variant.system.users.map((u: { name: string }) => u.name)).toEqual(['operator']);
    const rule = await readFile(join(projectRoot(), 'variants/overlays/iuppiter/etc/udev/rules.d/60-mq-deadline.rules'), 'utf8');
    expect(rule).toContain('ATTR{queue/rotational}=="1", ATTR{queue/scheduler}="mq-deadline"');
  });

  it('building without keys or a mirror says what to do (exit 2) before any work', async () => {
    const root = await copyOfVariants();
    const noKeys = await cli(['build', 'iuppiter'], root);
    expect(noKeys.code).toBe(2);
    expect(noKeys.stderr).toContain('pipeline keys init variants/keys/secureboot');
    expect((await cli(['keys', 'init', 'variants/keys/secureboot'], root)).code).toBe(0);
    const noMirror = await cli(['build', 'iuppiter'], root, { PIPELINE_SECUREBOOT_KEY: join(root, 'variants/keys/secureboot/db.key') });
    expect(noMirror.code).toBe(2);
    expect(noMirror.stderr).toContain("mirror 'alpine' has no location: pass --mirror alpine=<url>");
    expect(existsSync(join(root, 'out/cache/ac'))).toBe(true);
    expect(existsSync(join(root, 'variants/iuppiter.lock.yaml'))).toBe(false);
  });

  it.skipIf(!existsSync(CORPUS))('the shipped Alpine keys verify the real Alpine 3.16 index (needs ../shared/corpus)', async () => {
    const keys = await loadTrustedKeys(join(projectRoot(), 'variants/keys/alpine'));
    const index = await readApkIndexPath(join(CORPUS, 'APKINDEX.tar.gz'), keys);
    expect(index.signedBy.keyName).toBe('alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub');
    expect(index.text).toContain('\nP:smartmontools\n');
  });
});
