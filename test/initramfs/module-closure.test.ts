// Module closure against Debian's real kernel: modules.dep made by depmod, softdeps, aliases.
import { pipelineFile } from '../../stages/shared/pipeline-files.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeModuleList, ModuleNotFoundError } from '../../stages/initramfs/module-closure.js';
import { findModuleTree, loadModuleIndex, ModuleTreeError } from '../../stages/initramfs/module-index.js';
import type { ModuleIndex } from '../../stages/initramfs/module-index.js';
import { DEFAULT_MODULE_LIST_FILE, parseModuleList, readModuleList } from '../../stages/initramfs/module-list.js';
import { hostRunner } from '../../stages/shared/host-runner.js';
import { debianKernel } from './debian-inputs.js';

describe('module closure (Debian kernel)', () => {
  let scratch: string;
  let index: ModuleIndex;
  let ranDepmod: boolean;

  beforeAll(async () => {
    const kernel = await debianKernel();
    scratch = await mkdtemp(join(tmpdir(), 'initramfs-modules-'));
    const tree = await findModuleTree(kernel.root);
    expect(tree.kernelRelease).toBe(kernel.release);
    ({ index, ranDepmod } = await loadModuleIndex(tree, scratch, (args) => hostRunner().exec('depmod', args)));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  const order = (names: string[], optional: string[] = []) => closeModuleList(index, { required: names, optional }).load.map((m) => m.name);

  it('runs depmod on a shadow tree, since the .deb ships no modules.dep', () => {
    expect(ranDepmod).toBe(true);
    expect(index.paths.get('isofs')).toBe('kernel/fs/isofs/isofs.ko');
    expect(index.paths.size).toBeGreaterThan(3000);
  });

  it('isofs pulls cdrom, loaded first', () => {
    expect(order(['isofs'])).toEqual(['cdrom', 'isofs']);
  });

  it('sr_mod pulls scsi_common, scsi_mod and cdrom before itself', () => {
    const load = order(['sr_mod']);
    expect([...load].sort()).toEqual(['cdrom', 'scsi_common', 'scsi_mod', 'sr_mod']);
    expect(load.at(-1)).toBe('sr_mod');
    expect(load.indexOf('scsi_common')).toBeLessThan(load.indexOf('scsi_mod'));
  });

  it('follows soft dependencies through aliases: libcrc32c wants a crc32c implementation first', () => {
    const load = order(['erofs']);
    expect(load.indexOf('crc32c_generic')).toBeGreaterThanOrEqual(0);
    expect(load.indexOf('crc32c_generic')).toBeLessThan(load.indexOf('libcrc32c'));
    expect(load.indexOf('libcrc32c')).toBeLessThan(load.indexOf('erofs'));
  });

  it('loads every module of the default list after all of its modules.dep dependencies', async () => {
    const list = await readModuleList(pipelineFile(DEFAULT_MODULE_LIST_FILE));
    const closure = closeModuleList(index, list);
    const names = closure.load.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const [position, name] of names.entries()) {
      for (const dependency of index.dependencies.get(name) ?? []) {
        expect(names.indexOf(dependency), `${dependency} before ${name}`).toBeGreaterThanOrEqual(0);
        expect(names.indexOf(dependency), `${dependency} before ${name}`).toBeLessThan(position);
      }
    }
    for (const wanted of [...list.required, 'virtio', 'virtio_ring', 'nvme_core', 'usb_storage']) expect(names).toContain(wanted);
    expect(closure.absentOptional).toEqual([]);
  });

  it('treats built-in modules as loaded and names a missing one with the way out', () => {
    // Built into Debian's kernel (modules.builtin).
    const closure = closeModuleList(index, { required: ['zstd_decompress', 'isofs'], optional: ['no_such_module'] });
    expect(closure.builtin).toEqual(['zstd_decompress']);
    expect(closure.absentOptional).toEqual(['no_such_module']);
    expect(() => closeModuleList(index, { required: ['no_such_module'], optional: [] })).toThrow(ModuleNotFoundError);
    expect(() => closeModuleList(index, { required: ['no_such_module'], optional: [] })).toThrow(/mark it optional \(no_such_module\?\)/);
  });

  it('uses a shipped modules.dep as is, without depmod', async () => {
    const kernel = await debianKernel();
    const shipped = join(scratch, 'depmod-base', 'lib', 'modules', kernel.release);
    const tree = { dir: shipped, kernelRelease: kernel.release };
    const { index: again, ranDepmod: ranAgain } = await loadModuleIndex(tree, join(scratch, 'unused'), () => {
      throw new Error('depmod must not run when modules.dep exists');
    });
    expect(ranAgain).toBe(false);
    expect(again.dependencies.get('sr_mod')).toEqual(index.dependencies.get('sr_mod'));
  });

  it('rejects a package without a module tree', async () => {
    await expect(findModuleTree(scratch + '/nowhere')).rejects.toThrow(ModuleTreeError);
  });
});

describe('module list format', () => {
  it('parses names, comments and optional marks, normalizing - to _', () => {
    expect(parseModuleList('# c\nusb-storage\n  nvme? # later\n\n', 'x.list')).toEqual({ required: ['usb_storage'], optional: ['nvme'] });
  });
  it('locates errors by file and line', () => {
    expect(() => parseModuleList('loop\nsquash fs\n', 'x.list')).toThrow(/^x\.list:2: 'squash fs' is not a module name/);
    expect(() => parseModuleList('loop\nloop?\n', 'x.list')).toThrow(/x\.list:2: module loop is already listed on line 1/);
  });
  it('the default list parses', async () => {
    const text = await readFile(pipelineFile(DEFAULT_MODULE_LIST_FILE), 'utf8');
    expect(parseModuleList(text, DEFAULT_MODULE_LIST_FILE).required).toContain('squashfs');
  });
});
