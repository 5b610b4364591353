// The initramfs node in the real engine, fed by nodes that unpack Debian's packages the way
// package nodes lay out their outputs (`<output>/root/...`).
import { PIPELINE_FILE_ROOTS } from '../../stages/shared/pipeline-files.js';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../graph/build.js';
import type { NodeSpec } from '../../graph/node.js';
import { Session } from '../../graph/session.js';
import { INITRAMFS_IMAGE, initramfsNode } from '../../stages/initramfs.js';
import { fetchDeb, kernelPackageName } from '../../fixtures/debs.js';
import { fixturesDir, projectRoot } from '../../fixtures/paths.js';
import { buildTestInitramfs, TEST_EPOCH } from './build-image.js';

/** Stands in for an unpack node: the .deb's files under <output>/root. */
function unpackedDebNode(id: string, deb: string): NodeSpec {
  const file = relative(projectRoot(), deb);
  return {
    id,
    kind: 'test-unpack-deb',
    version: 1,
    files: [file],
    tools: ['dpkg-deb'],
    description: `dpkg-deb -x ${basename(deb)}`,
    async run(ctx) {
      await ctx.exec('dpkg-deb', ['-x', ctx.file(file), join(ctx.out, 'root')]);
    },
  };
}

describe('initramfs node', () => {
  let cache: string;
  let session: Session;
  let nodes: NodeSpec[];

  beforeAll(async () => {
    cache = await mkdtemp(join(fixturesDir(), 'initramfs', 'node-cache-'));
    session = await Session.open({ root: projectRoot(), fileRoots: PIPELINE_FILE_ROOTS, cacheDir: join(cache, 'cache'), logDir: join(cache, 'logs'), callerEnv: { ...process.env, SOURCE_DATE_EPOCH: String(TEST_EPOCH) } });
    nodes = [
      unpackedDebNode('deb:kernel', await fetchDeb(await kernelPackageName())),
      unpackedDebNode('deb:busybox-static', await fetchDeb('busybox-static')),
      initramfsNode({ id: 'initramfs:test', deps: { kernel: 'deb:kernel', busybox: 'deb:busybox-static' } }),
    ];
  });
  afterAll(async () => {
    await session?.close();
    await rm(cache, { recursive: true, force: true });
  });

  it('builds the same image as the plain function, then comes from the cache', async () => {
    const first = await build(session, nodes, { jobs: 2 });
    const outcome = first.outcomes.get('initramfs:test')!;
    expect(outcome.error).toBeUndefined();
    expect(outcome.status).toBe('built');
    const image = await readFile(join(outcome.path!, INITRAMFS_IMAGE));

    const reference = join(cache, 'reference.img');
    await buildTestInitramfs(reference);
    expect(image.equals(await readFile(reference))).toBe(true);

    const logName = (await readdir(join(cache, 'logs'))).find((f) => f.includes('initramfs'))!;
    const log = await readFile(join(cache, 'logs', logName), 'utf8');
    expect(log).toContain('modules.dep made by depmod');
    expect(log).toMatch(/load order \(\d+\): loop squashfs overlay .* ext4 fat vfat cdrom isofs/);

    const second = await build(session, nodes, { jobs: 2 });
    expect(second.outcomes.get('initramfs:test')!.status).toBe('cached');
  }, 300_000);

  it('rejects bad parameters when the graph is made, not when it runs', () => {
    expect(() => initramfsNode({ id: 'initramfs:x', deps: { kernel: 'k', busybox: 'b' }, compression: { format: 'zstd', level: 22 } })).toThrow(/initramfs:x: zstd level must be a whole number from 1 to 19/);
    expect(() => initramfsNode({ id: 'initramfs:x', deps: { kernel: 'k', busybox: 'b' }, modules: { required: ['bad name'], optional: [] } })).toThrow(/initramfs:x: a module list/);
  });
});
