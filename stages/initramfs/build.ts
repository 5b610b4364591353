// Builds initramfs-live.img: a static busybox, the /init script, the closed module set (copied
// byte for byte: the .ko files carry the signatures a locked-down kernel checks) and the two
// device nodes the kernel needs before devtmpfs, as one reproducible newc cpio, compressed.
import type { Runner } from '../shared/host-runner.js';
import { rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { cpioNewcStream } from '../../formats/cpio.js';
import type { CpioEntry } from '../../formats/cpio.js';
import { compressorCommand } from './compression.js';
import type { Compression } from './compression.js';
import { closeModuleList } from './module-closure.js';
import type { ModuleClosure } from './module-closure.js';
import { findModuleTree, loadModuleIndex } from './module-index.js';
import type { ModuleTree } from './module-index.js';
import type { ModuleList } from './module-list.js';
import { assertStaticElf } from './static-binary.js';

/** Host tools the build runs. */
export type InitramfsTool = 'depmod' | 'zstd' | 'gzip';


export interface InitramfsInputs {
  /** Root of the unpacked kernel package (holds lib/modules/<release>/). */
  kernelPackageRoot: string;
  /** Needed only when the package holds module trees for several releases. */
  kernelRelease?: string;
  /** A statically linked busybox binary. */
  busybox: string;
  /** The /init script (stages/initramfs/init). */
  initScript: string;
  modules: ModuleList;
  compression: Compression;
  /** Every mtime in the archive is this value. */
  sourceDateEpoch: number;
  /** Scratch directory (depmod writes its index here when the package has none). */
  scratch: string;
  /** Path of the image to write. */
  output: string;
  /** Runs depmod and the compressor: the node's context, or hostRunner() outside the engine. */
  runner: Runner;
}

export interface InitramfsResult {
  kernelRelease: string;
  closure: ModuleClosure;
  /** True when the package had no modules.dep and depmod made one. */
  ranDepmod: boolean;
  cpioBytes: number;
  imageBytes: number;
}

/** Where the init script finds its configuration, shared with stages/initramfs/init. */
export const MODULE_ORDER_FILE = 'etc/initramfs/modules';
export const KERNEL_RELEASE_FILE = 'etc/initramfs/kernel-release';

/** The archive's contents (the writer adds parent directories and sorts). */
export function initramfsEntries(busybox: string, initScript: string, tree: ModuleTree, closure: ModuleClosure): CpioEntry[] {
  const moduleDir = `lib/modules/${tree.kernelRelease}`;
  const entries: CpioEntry[] = [
    { kind: 'file', path: 'init', mode: 0o755, source: { path: initScript } },
    { kind: 'file', path: 'bin/busybox', mode: 0o755, source: { path: busybox } },
    // The kernel runs /init through its #! line; the other applet links /init makes itself.
    { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
    // The kernel opens /dev/console for /init before anything is mounted.
    { kind: 'char-device', path: 'dev/console', mode: 0o600, major: 5, minor: 1 },
    { kind: 'char-device', path: 'dev/null', mode: 0o666, major: 1, minor: 3 },
    { kind: 'file', path: MODULE_ORDER_FILE, source: { data: closure.load.map((m) => `/${moduleDir}/${m.path}\n`).join('') } },
    { kind: 'file', path: KERNEL_RELEASE_FILE, source: { data: tree.kernelRelease + '\n' } },
  ];
  for (const dir of ['proc', 'sys', 'run', 'tmp', 'newroot', 'sbin', 'usr/bin', 'usr/sbin']) {
    entries.push({ kind: 'directory', path: dir });
  }
  for (const module of closure.load) {
    entries.push({ kind: 'file', path: `${moduleDir}/${module.path}`, mode: 0o644, source: { path: `${tree.dir}/${module.path}` } });
  }
  return entries;
}

/**
 * Counts the bytes passing through (the uncompressed size) and turns a failure into a clean
 * end of stream plus a recorded error: a piped stream that errors never closes the
 * compressor's stdin, and the build would hang instead of failing.
 */
async function* counted(chunks: AsyncIterable<Buffer>, state: { bytes: number; error?: unknown }): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of chunks) {
      state.bytes += chunk.length;
      yield chunk;
    }
  } catch (err) {
    state.error = err;
  }
}

export async function buildInitramfs(inputs: InitramfsInputs): Promise<InitramfsResult> {
  await assertStaticElf(inputs.busybox, 'busybox');
  const tree = await findModuleTree(inputs.kernelPackageRoot, inputs.kernelRelease);
  const { index, ranDepmod } = await loadModuleIndex(tree, inputs.scratch, (args) => inputs.runner.exec('depmod', args));
  const closure = closeModuleList(index, inputs.modules);
  const entries = initramfsEntries(inputs.busybox, inputs.initScript, tree, closure);

  const state: { bytes: number; error?: unknown } = { bytes: 0 };
  const archive = Readable.from(counted(cpioNewcStream(entries, { sourceDateEpoch: inputs.sourceDateEpoch }), state));
  const { tool, args } = compressorCommand(inputs.compression);
  try {
    await inputs.runner.exec(tool, args, { input: archive, stdoutFile: inputs.output });
    // A source that failed mid-stream ended the archive early: that image must not stay.
    if (state.error !== undefined) throw state.error;
  } catch (err) {
    await rm(inputs.output, { force: true });
    throw state.error ?? err;
  }
  return { kernelRelease: tree.kernelRelease, closure, ranDepmod, cpioBytes: state.bytes, imageBytes: (await stat(inputs.output)).size };
}
