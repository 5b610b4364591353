// What the stages' plain functions need from their caller to run host tools: the
// node's RunContext satisfies it, and hostRunner() gives tests and benchmarks the same shape
// without an engine (tools found on PATH, output to a callback).
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { ExecOptions, ExecResult } from '../../graph/node.js';

export interface Runner {
  /** Runs a host tool by name; non-zero exit throws unless listed in okExitCodes. */
  exec(tool: string, args: string[], options?: ExecOptions): Promise<ExecResult>;
  /** Absolute path of a host tool. */
  tool(name: string): string;
  log(line: string): void;
  /** SHA-256 of a file; the engine's remembers digests of output files so the store need not reread them. */
  sha256File?(path: string): Promise<string>;
  readonly signal?: AbortSignal;
  /** Environment the tools get (the engine's hermetic environment for a node). */
  readonly env?: Readonly<Record<string, string>>;
}

/** A host tool was not found (hostRunner only: the engine reports missing tools itself). */
export class HostToolMissingError extends Error {
  override name = 'HostToolMissingError';
}

/** A tool run by hostRunner failed. */
export class HostCommandError extends Error {
  override name = 'HostCommandError';
  constructor(
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly output: string,
  ) {
    super(`${command} failed (exit code ${exitCode ?? 'none: killed by a signal'})${output ? `: ${output.trim().split('\n').slice(-5).join(' | ')}` : ''}`);
  }
}

const EXTRA_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export interface HostRunnerOptions {
  log?: (line: string) => void;
  env?: Record<string, string>;
  signal?: AbortSignal;
}

/** Runs tools from the host's PATH (plus the sbin directories) in a small fixed environment. */
export function hostRunner(options: HostRunnerOptions = {}): Runner {
  const log = options.log ?? (() => {});
  const env: Record<string, string> = {
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    LC_ALL: 'C.UTF-8',
    TZ: 'UTC',
    ...options.env,
  };
  const tool = (name: string): string => {
    if (name.includes('/')) return name;
    const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_PATH];
    for (const dir of dirs) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {}
    }
    throw new HostToolMissingError(`host tool '${name}' is not installed (searched ${dirs.join(':')})`);
  };
  return {
    tool,
    log,
    signal: options.signal,
    env,
    async exec(name: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
      const input = opts.input;
      const isFile = typeof input === 'object' && input !== null && 'file' in input;
      // Loaded with the first process, not with the stages (a no-op build starts none).
      const { execa } = await import('execa');
      const child = execa(tool(name), args, {
        cwd: opts.cwd,
        env: { ...env, ...(opts.env ?? {}) },
        extendEnv: false,
        reject: false,
        stripFinalNewline: false,
        cancelSignal: options.signal,
        stdin: input === undefined ? 'ignore' : isFile ? { file: (input as { file: string }).file } : 'pipe',
        stdout: opts.stdoutFile ? { file: opts.stdoutFile } : 'pipe',
        stderr: 'pipe',
        maxBuffer: 256 * 1024 * 1024,
      });
      if (input !== undefined && !isFile) {
        if (typeof input === 'string' || input instanceof Uint8Array) child.stdin!.end(input);
        else (input as NodeJS.ReadableStream).pipe(child.stdin!);
      }
      const result = await child;
      const stdout = typeof result.stdout === 'string' ? result.stdout : '';
      const stderr = typeof result.stderr === 'string' ? result.stderr : '';
      if (stderr) log(stderr.trimEnd());
      if (!opts.captureStdout && stdout) log(stdout.trimEnd());
      const ok = opts.okExitCodes ?? [0];
      if (result.exitCode === undefined || !ok.includes(result.exitCode)) {
        throw new HostCommandError([name, ...args].join(' '), result.exitCode, stderr || stdout);
      }
      return { exitCode: result.exitCode, stdout: opts.captureStdout ? stdout : '' };
    },
  };
}
