// The RunContext a node's run() receives: its directories, declared inputs, and `exec`, which
// runs declared tools in a clean environment, logs the command and its output, and kills the
// whole process group when the build is interrupted.
import { dirname, isAbsolute, normalize } from 'node:path';
import { CommandError } from './errors.js';
import { shellQuote } from '../util/shell-quote.js';
import type { ExecOptions, ExecResult, Json, NodeSpec, RunContext } from './node.js';
import type { HostFileIdentity } from './host-files.js';
import type { NodeLog } from './node-log.js';
import type { OutputDigests } from './output-digests.js';
import { resolveDeclared, type FileRoots, type ToolIdentity } from './file-digests.js';

export interface RunContextInputs {
  node: NodeSpec;
  root: string;
  fileRoots: FileRoots;
  out: string;
  tmp: string;
  depPaths: Record<string, string>;
  tools: Map<string, ToolIdentity>;
  /** Declared host files, resolved. */
  hostFiles: Map<string, HostFileIdentity>;
  /** Declared environment, already resolved to values. */
  env: Record<string, string | null>;
  log: NodeLog;
  signal: AbortSignal;
  /** Where ctx.sha256File remembers digests of output files, for the store. */
  digests: OutputDigests;
}

export function createRunContext(inputs: RunContextInputs): RunContext {
  const { node, root, out, tmp, depPaths, tools, log, signal } = inputs;
  const declaredFiles = node.files ?? [];
  const env = hermeticEnv(inputs);

  return {
    id: node.id,
    out,
    tmp,
    root,
    params: (node.params ?? null) as Json,
    unkeyed: (node.unkeyed ?? null) as Json,
    secrets: Object.freeze({ ...(node.secrets ?? {}) }),
    signal,
    env,
    dep(name) {
      const path = depPaths[name];
      if (!path) throw new Error(`node ${node.id} asked for dependency '${name}', which it did not declare`);
      return path;
    },
    file(declared) {
      const wanted = normalize(declared);
      const covered = declaredFiles.some((f) => {
        const d = normalize(f);
        return wanted === d || wanted.startsWith(d.endsWith('/') ? d : d + '/');
      });
      if (isAbsolute(wanted) || !covered) throw new Error(`node ${node.id} read '${declared}', which it did not declare in files`);
      return resolveDeclared(inputs.fileRoots, wanted, node.id).abs;
    },
    hostFile(name) {
      const file = inputs.hostFiles.get(name);
      if (!file) throw new Error(`node ${node.id} asked for host file '${name}', which it did not declare in hostFiles`);
      return file.path;
    },
    tool(name) {
      const tool = tools.get(name);
      if (!tool) throw new Error(`node ${node.id} used tool '${name}', which it did not declare in tools`);
      return tool.path;
    },
    exec(tool, args, options) {
      return runTool(this.tool(tool), tool, args, options ?? {}, env, tmp, log, signal);
    },
    log(line) {
      log.line(line);
    },
    sha256File(path) {
      return inputs.digests.sha256File(path);
    },
  };
}

/** PATH from the declared tools only; fixed locale, zone and umask-friendly HOME. */
function hermeticEnv(inputs: RunContextInputs): Record<string, string> {
  const dirs: string[] = [];
  for (const tool of inputs.tools.values()) {
    for (const dir of [dirname(tool.foundAt), dirname(tool.path)]) if (!dirs.includes(dir)) dirs.push(dir);
  }
  const env: Record<string, string> = {
    PATH: dirs.join(':') || '/usr/bin:/bin',
    LC_ALL: 'C.UTF-8',
    LANG: 'C.UTF-8',
    TZ: 'UTC',
    HOME: inputs.tmp,
    TMPDIR: inputs.tmp,
  };
  for (const [name, value] of Object.entries(inputs.env)) if (value !== null) env[name] = value;
  return env;
}


async function runTool(
  path: string,
  name: string,
  args: string[],
  options: ExecOptions,
  env: Record<string, string>,
  tmp: string,
  log: NodeLog,
  signal: AbortSignal,
): Promise<ExecResult> {
  const command = shellQuote([name, ...args]);
  log.line(`$ ${command}`);
  if (signal.aborted) throw new CommandError(log.redact(command), undefined, 'SIGTERM');
  // execa (a hundred modules) loads with the first process a build starts: a no-op build starts none.
  const { execa } = await import('execa');
  const input = options.input;
  const child = execa(path, args, {
    argv0: name,
    cwd: options.cwd ?? tmp,
    env: { ...env, ...(options.env ?? {}) },
    extendEnv: false,
    // Its own process group, so an interrupt can kill everything the tool started.
    detached: true,
    reject: false,
    stripFinalNewline: false,
    encoding: 'utf8',
    stdin: input === undefined ? 'ignore' : isFileInput(input) ? { file: input.file } : 'pipe',
    stdout: options.stdoutFile ? { file: options.stdoutFile } : 'pipe',
    stderr: 'pipe',
    buffer: { stdout: options.captureStdout === true, stderr: false },
    maxBuffer: 256 * 1024 * 1024,
  });
  if (input !== undefined && !isFileInput(input)) {
    if (typeof input === 'string' || input instanceof Uint8Array) child.stdin!.end(input);
    else (input as NodeJS.ReadableStream).pipe(child.stdin!);
  }
  if (!options.stdoutFile && !options.captureStdout) child.stdout?.on('data', (d: Buffer) => log.chunk(d));
  child.stderr?.on('data', (d: Buffer) => log.chunk(d));

  const kill = () => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {}
    setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    }, 3000).unref();
  };
  signal.addEventListener('abort', kill, { once: true });
  const started = performance.now();
  try {
    const result = await child;
    // Per-command times let benchmarks set a build against the sum of its tools' own work.
    log.line(`# ${name} took ${Math.round(performance.now() - started)} ms`);
    const ok = options.okExitCodes ?? [0];
    if (result.signal || result.exitCode === undefined || !ok.includes(result.exitCode)) {
      const reason = result.exitCode === undefined && !result.signal ? result.shortMessage : undefined;
      throw new CommandError(log.redact(command), result.exitCode, result.signal, reason && log.redact(reason));
    }
    return { exitCode: result.exitCode, stdout: options.captureStdout ? String(result.stdout) : '' };
  } finally {
    signal.removeEventListener('abort', kill);
  }
}

function isFileInput(input: ExecOptions['input']): input is { file: string } {
  return typeof input === 'object' && input !== null && 'file' in input && typeof (input as { file: unknown }).file === 'string';
}
