// Shared helpers for the engine suites: throwaway projects, graphs of real shell processes, and
// running the real `pipeline` command.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { NodeSpec } from '../../graph/node.js';
import { projectRoot } from '../../fixtures/paths.js';
import { hostRunner } from '../../stages/shared/host-runner.js';
import { diesWithParent } from '../../util/process.js';

const exec = promisify(execFile);

export async function tempProject(files: Record<string, string> = {}): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'pipeline-test-'));
  await mkdir(join(root, 'variants'), { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

/** A node that runs a shell script: $OUT is its output, $D_<name> each dependency's output. */
export function shNode(id: string, script: string, opts: Partial<NodeSpec> = {}): NodeSpec {
  return {
    id,
    kind: opts.kind ?? 'sh',
    version: opts.version ?? 1,
    tools: ['sh'],
    ...opts,
    params: { script, ...((opts.params as object) ?? {}) },
    async run(ctx) {
      const env: Record<string, string> = { OUT: ctx.out, ROOT: ctx.root };
      for (const name of Object.keys(opts.deps ?? {})) env[`D_${name}`] = ctx.dep(name);
      await ctx.exec('sh', ['-c', script], { env, cwd: ctx.root });
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const PIPELINE = join(projectRoot(), 'bin', 'pipeline.js');

/**
 * `pipeline` as a child that dies with the test process (setpriv --pdeathsig): a test that times
 * out must not leave a build running on the machine (one once spun for an hour after its test).
 */
const SETPRIV = hostRunner().tool('setpriv'); // absolute: some tests run pipeline with an empty PATH
const pipelineCommand = (args: string[]) => diesWithParent(SETPRIV, process.execPath, [PIPELINE, ...args]);

export async function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await exec(...pipelineCommand(args), { cwd, env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export function spawnCli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(...pipelineCommand(args), { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function jsonEvents(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Status of every node in a --json event stream. */
export function statuses(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of jsonEvents(stdout)) if (e.event === 'node') out[e.id as string] = e.status as string;
  return out;
}
