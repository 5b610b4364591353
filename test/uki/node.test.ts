// The uki node factory: what enters the node key (no machine paths), and a run through the node
// contract giving the same bytes as buildUki.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunContext } from '../../graph/node.js';
import { buildUki, STUB_PATH_IN_PACKAGE, ukiNode } from '../../stages/uki.js';
import { backportsSystemdBoot, busyboxStatic, debianKernel, scratchDir } from './fixtures.js';
import { writeCmdlineInitrd } from './initrd.js';

let dir: string;
let deps: Record<string, string>;
let stubRel: string;
let kernelRel: string;

beforeAll(async () => {
  dir = await scratchDir('uki-node');
  const stub = (await backportsSystemdBoot()).stub;
  const kernel = (await debianKernel()).vmlinuz;
  // Dependency outputs as the engine hands them over: one directory per dependency node.
  expect(stub.endsWith('/' + STUB_PATH_IN_PACKAGE)).toBe(true);
  deps = { stub: stub.slice(0, -STUB_PATH_IN_PACKAGE.length - 1), kernel: dirname(dirname(kernel)), initramfs: join(dir, 'initramfs-out') };
  stubRel = STUB_PATH_IN_PACKAGE;
  kernelRel = kernel.slice(deps.kernel.length + 1);
  await mkdir(deps.initramfs, { recursive: true });
  await writeCmdlineInitrd(await busyboxStatic(), join(deps.initramfs, 'initramfs.img'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function context(out: string, env: Record<string, string>): RunContext {
  return {
    id: 'uki:test:system-a', out, tmp: join(dir, 'tmp'), root: dir, params: null, secrets: {}, signal: new AbortController().signal, env,
    dep: (name) => {
      if (!(name in deps)) throw new Error(`unknown dep ${name}`);
      return deps[name];
    },
    file: () => { throw new Error('no files'); },
    tool: () => { throw new Error('no tools'); },
    exec: () => { throw new Error('no tools'); },
    log: () => undefined,
  };
}

test('uki node: key material is relative paths and text; the run matches buildUki byte for byte', async () => {
  const spec = ukiNode({
    id: 'uki:test:system-a',
    deps: { stub: 'unpack:systemd-efistub', kernel: 'unpack:linux-lts', initramfs: 'initramfs:test' },
    paths: { stub: stubRel, kernel: kernelRel, initramfs: ['initramfs.img'] },
    cmdline: 'root=LABEL=system-a console=ttyS0',
    osRelease: 'ID=test\n',
  });
  expect(spec.kind).toBe('uki');
  expect(spec.deps).toEqual({ stub: 'unpack:systemd-efistub', kernel: 'unpack:linux-lts', initramfs: 'initramfs:test' });
  expect(spec.env).toEqual({ SOURCE_DATE_EPOCH: true });
  // Nothing machine-specific enters the key: no absolute paths among the parameters.
  expect(JSON.stringify(spec.params)).not.toMatch(/"\//);
  expect(spec.params).toMatchObject({ stub: stubRel, kernel: kernelRel, initramfs: ['initramfs.img'], cmdline: 'root=LABEL=system-a console=ttyS0' });

  const out = join(dir, 'out');
  await mkdir(out, { recursive: true });
  await spec.run(context(out, { SOURCE_DATE_EPOCH: '1700000000' }));
  const direct = join(dir, 'direct.efi');
  await buildUki({
    stub: join(deps.stub, stubRel), kernel: join(deps.kernel, kernelRel), initrds: [join(deps.initramfs, 'initramfs.img')],
    cmdline: 'root=LABEL=system-a console=ttyS0', osRelease: 'ID=test\n', sourceDateEpoch: 1700000000, output: direct,
  });
  expect((await readFile(join(out, 'uki.efi'))).equals(await readFile(direct))).toBe(true);

  await expect(spec.run(context(join(dir, 'out2'), {}))).rejects.toThrow(/uki:test:system-a: SOURCE_DATE_EPOCH must be set/);
});
