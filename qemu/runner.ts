// Starts QEMU for one run and guarantees it ends: on stop(), on abort, on the caller's exit
// (execa's cleanup) and, as a last resort, SIGKILL when SIGTERM is ignored.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable, Writable } from 'node:stream';
import type { ResultPromise, execa as Execa } from 'execa';
import { detectAccelerator, type Accelerator } from './accel.js';
import { writableVarsCopy } from './firmware.js';
import { buildQemuArgs, type QemuConfig } from './qemu-config.js';
import { diesWithParent } from '../util/process.js';
import { shellQuote } from '../util/shell-quote.js';

export const QEMU_BINARY = 'qemu-system-x86_64';
/** util-linux (essential on Debian): `setpriv --pdeathsig KILL` makes the kernel kill QEMU if we die. */
export const SETPRIV_BINARY = 'setpriv';

export interface QemuLaunchOptions {
  /** Scratch directory of this run (holds the OVMF variable store copy). */
  runDir: string;
  /** Path or command name of qemu-system-x86_64. */
  binary?: string;
  /** Default: detectAccelerator(). */
  accel?: Accelerator;
  /** Aborting kills QEMU. */
  signal?: AbortSignal;
  /** The whole environment QEMU gets (default: this process's). */
  env?: Record<string, string>;
  /**
   * Path or name of setpriv, which execs QEMU with a parent-death signal: even a SIGKILLed
   * caller leaves no QEMU behind. `false` starts QEMU directly. Default: setpriv from PATH.
   */
  setpriv?: string | false;
}

export interface QemuExit {
  exitCode?: number;
  signal?: string;
  /** Why it could not start or run (spawn failure), if so. */
  error?: string;
  /** QEMU's own messages (stderr). */
  stderr: string;
}

/** How long QEMU gets to exit after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 3000;

export class QemuInstance {
  /** QEMU's arguments (without the binary). */
  readonly args: string[];
  /** The exact command, shell-quoted: paste it into a terminal to rerun by hand. */
  readonly commandLine: string;
  /** performance.now() just before the spawn: markers count from here. */
  readonly startedAt: number;
  /** The serial console's output (QEMU stdout) and input (QEMU stdin). */
  readonly serialOut: Readable;
  readonly serialIn: Writable;
  /** Resolves (never rejects) when QEMU has exited. */
  readonly exited: Promise<QemuExit>;
  private readonly child: ResultPromise;
  private exitInfo?: QemuExit;

  constructor(
    readonly binary: string,
    args: string[],
    readonly accel: Accelerator,
    /** This run's writable OVMF variable store (OVMF only). */
    readonly varsPath: string | undefined,
    options: QemuLaunchOptions,
    execa: typeof Execa,
  ) {
    this.args = args;
    this.commandLine = shellQuote([binary, ...args]);
    this.startedAt = performance.now();
    const setpriv = options.setpriv ?? SETPRIV_BINARY;
    // setpriv execs QEMU in place: same pid, so stop() and the pid still mean QEMU itself.
    const [command, argv] = setpriv === false ? [binary, args] : diesWithParent(setpriv, binary, args);
    this.child = execa(command, argv, {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: { stdout: false, stderr: true },
      reject: false,
      cleanup: true,
      cancelSignal: options.signal,
      forceKillAfterDelay: KILL_GRACE_MS,
      ...(options.env ? { env: options.env, extendEnv: false } : {}),
    });
    this.serialOut = this.child.stdout!;
    this.serialIn = this.child.stdin!;
    this.exited = this.child.then((result) => {
      this.exitInfo = {
        exitCode: result.exitCode,
        signal: result.signal,
        error: result.failed && result.exitCode === undefined && !result.signal ? spawnFailure(result) : undefined,
        stderr: String(result.stderr ?? '').trim(),
      };
      return this.exitInfo;
    });
  }

  /** QEMU's process id (undefined if it could not be spawned). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** Ends QEMU (SIGTERM, SIGKILL after a grace period) and waits until it is gone. */
  async stop(): Promise<QemuExit> {
    if (this.running) this.child.kill('SIGTERM');
    return this.exited;
  }

  /** One line saying how QEMU ended, with its stderr: for "stream ended" failures. */
  async describeExit(): Promise<string> {
    const exit = await this.exited;
    // 127: setpriv could not exec QEMU (its message is on stderr).
    if (exit.exitCode === 127 && /failed to execute/.test(exit.stderr)) {
      return `QEMU could not run (${exit.stderr}): install the Debian package qemu-system-x86`;
    }
    const how = exit.error
      ? `QEMU could not run (${exit.error})`
      : exit.signal
        ? `QEMU was killed by ${exit.signal}`
        : `QEMU exited with code ${exit.exitCode}`;
    return exit.stderr ? `${how}; QEMU said: ${exit.stderr.split('\n').slice(-5).join(' / ')}` : how;
  }
}

/** Why QEMU did not start, with the fix when it is simply not installed. */
function spawnFailure(result: { originalMessage?: string; shortMessage?: string }): string {
  const message = result.originalMessage || result.shortMessage || 'unknown spawn failure';
  return message.includes('ENOENT') ? `${message}: install the Debian package qemu-system-x86` : message;
}

export async function startQemu(config: QemuConfig, options: QemuLaunchOptions): Promise<QemuInstance> {
  options.signal?.throwIfAborted();
  await mkdir(options.runDir, { recursive: true });
  const accel = options.accel ?? (await detectAccelerator());
  const varsPath =
    config.firmware.type === 'ovmf'
      ? await writableVarsCopy(config.firmware.varsTemplate, join(options.runDir, 'efivars.fd'))
      : undefined;
  const args = buildQemuArgs(config, { accel, varsPath });
  // execa loads with the first boot, not with the graph that merely declares the boot tests.
  const { execa } = await import('execa');
  return new QemuInstance(options.binary ?? QEMU_BINARY, args, accel, varsPath, options, execa);
}
