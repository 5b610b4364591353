// Builds an initramfs from Debian's kernel and busybox-static with the default module list,
// as the tests' image under test.
import { pipelineFile } from '../../stages/shared/pipeline-files.js';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { buildInitramfs } from '../../stages/initramfs/build.js';
import type { InitramfsResult } from '../../stages/initramfs/build.js';
import { DEFAULT_COMPRESSION } from '../../stages/initramfs/compression.js';
import type { Compression } from '../../stages/initramfs/compression.js';
import { hostRunner } from '../../stages/shared/host-runner.js';
import { DEFAULT_MODULE_LIST_FILE, readModuleList } from '../../stages/initramfs/module-list.js';
import { projectRoot } from '../../fixtures/paths.js';
import { debianBusybox, debianKernel } from './debian-inputs.js';

export const TEST_EPOCH = 1_700_000_000;

export async function buildTestInitramfs(output: string, compression: Compression = DEFAULT_COMPRESSION): Promise<InitramfsResult> {
  const kernel = await debianKernel();
  await mkdir(join(output, '..'), { recursive: true });
  const scratch = await mkdtemp(`${output}.scratch-`);
  try {
    return await buildInitramfs({
      kernelPackageRoot: kernel.root,
      busybox: await debianBusybox(),
      initScript: join(projectRoot(), 'stages/initramfs/init'),
      modules: await readModuleList(pipelineFile(DEFAULT_MODULE_LIST_FILE)),
      compression,
      sourceDateEpoch: TEST_EPOCH,
      scratch,
      output,
      runner: hostRunner(),
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
