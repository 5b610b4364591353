// Start-up: `pipeline --help`, `--version` and usage errors load the command table and nothing
// else; a command's implementation (and the compiler, engine and stages behind it) is imported
// only when it runs. Checked on the real process: a module loader hook records every module the
// command loads, from tsc's output (dist/cli/) and from the bundle bin/pipeline.js runs
// (dist/bundle/, whose meta.json says which modules each file holds).
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../compile/tests.js';
import { GRAPH_FORMATS } from '../../graph/render.js';
import { COMMANDS, GRAPH_FORMAT_NAMES, SCENARIO_NAMES } from '../../cli/definitions.js';
import { projectRoot } from '../fixtures/paths.js';
import { tempProject } from './helpers.js';

const exec = promisify(execFile);

const HOOKS = `
import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.PIPELINE_MODULE_TRACE, url + '\\n');
  return next(url, context);
}
`;

let register: string;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pipeline-module-trace-'));
  await writeFile(join(dir, 'hooks.mjs'), HOOKS);
  await writeFile(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
  register = join(dir, 'register.mjs');
});

/** Runs a script with the loader hook; returns the project-relative paths of the modules it loaded. */
async function modulesLoaded(script: string, args: string[]): Promise<string[]> {
  const cwd = await tempProject();
  const trace = join(cwd, 'modules.txt');
  await writeFile(trace, '');
  try {
    await exec(process.execPath, ['--import', register, script, ...args], { cwd, env: { ...process.env, PIPELINE_MODULE_TRACE: trace } });
  } catch (err) {
    // Usage errors exit 2; what matters here is what they loaded.
    if ((err as { code?: number }).code !== 2) throw err;
  }
  const root = projectRoot() + '/';
  return (await readFile(trace, 'utf8'))
    .split('\n')
    .filter((u) => u.startsWith('file:'))
    .map((u) => fileURLToPath(u).replace(root, ''));
}

const HEAVY = /^(dist\/)?(graph|compile|stages|qemu|formats)\/|node_modules\//;

describe('the command table', () => {
  it('lists the same scenarios and graph formats the implementations accept', () => {
    expect(SCENARIO_NAMES).toEqual(SCENARIOS);
    expect(GRAPH_FORMAT_NAMES).toEqual(GRAPH_FORMATS);
  });

  it('names an implementation for every command', async () => {
    for (const def of COMMANDS) {
      const command = await def.load();
      expect([def.name, typeof command.run]).toEqual([def.name, 'function']);
    }
  });
});

describe('what a command loads', () => {
  const main = join(projectRoot(), 'dist', 'cli', 'main.js');

  it('--help, --version and a command\'s --help load no engine, compiler, stage or package module', async () => {
    for (const args of [['--help'], ['--version'], ['help', 'build'], ['build', '--help'], ['cache', 'gc', '--help'], ['build']]) {
      const loaded = await modulesLoaded(main, args);
      expect(loaded, args.join(' ')).toContain('dist/cli/definitions.js');
      expect([args.join(' '), loaded.filter((m) => HEAVY.test(m))]).toEqual([args.join(' '), []]);
    }
  });

  it('an unknown command loads the table and the word matcher only', async () => {
    const loaded = await modulesLoaded(main, ['buidl']);
    expect(loaded.filter((m) => HEAVY.test(m))).toEqual(['dist/graph/validate.js', 'dist/graph/errors.js']);
  });

  it('a command that runs loads its implementation', async () => {
    const loaded = await modulesLoaded(main, ['cache', 'stats', '--json']);
    expect(loaded).toContain('dist/cli/commands/cache.js');
    expect(loaded).not.toContain('dist/cli/commands/build.js');
  });
});

describe('the bundle', () => {
  const root = projectRoot();

  it('is what bin/pipeline.js runs, and --help loads no file holding engine, compiler, stage or package code', async () => {
    const meta = JSON.parse(await readFile(join(root, 'dist/bundle/meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
    for (const args of [['--help'], ['--version'], ['build', '--help'], ['build']]) {
      const loaded = await modulesLoaded(join(root, 'bin', 'pipeline.js'), args);
      expect(loaded, 'dist/bundle is missing or older than dist/: run npm run build').toContain('dist/bundle/main.js');
      expect(loaded.filter((m) => m.startsWith('dist/') && !m.startsWith('dist/bundle/'))).toEqual([]);
      const heavy = loaded.filter((m) => m.startsWith('dist/bundle/')).flatMap((m) => Object.keys(meta.outputs[m].inputs).filter((i) => HEAVY.test(i)));
      expect([args.join(' '), heavy]).toEqual([args.join(' '), []]);
    }
  });

  it('runs only while every file it was made from is unchanged; otherwise dist/cli/main.js runs', async () => {
    // A stand-in installation: the real bin/pipeline.js over a bundle and a tsc output that say
    // which one ran.
    const dir = await mkdtemp(join(tmpdir(), 'pipeline-bin-'));
    for (const d of ['bin', 'dist/bundle', 'dist/cli']) await mkdir(join(dir, d), { recursive: true });
    await copyFile(join(root, 'bin', 'pipeline.js'), join(dir, 'bin', 'pipeline.js'));
    await writeFile(join(dir, 'dist/bundle/main.js'), "console.log('bundle');\n");
    await writeFile(join(dir, 'dist/cli/main.js'), "console.log('tsc output');\n");
    const input = join(dir, 'dist/cli/main.js');
    const stamp = async () => writeFile(join(dir, 'dist/bundle/inputs.json'), JSON.stringify({ inputs: { 'dist/cli/main.js': (await stat(input)).mtimeMs } }));
    const ran = async () => (await exec(process.execPath, [join(dir, 'bin', 'pipeline.js')])).stdout.trim();

    expect(await ran()).toBe('tsc output'); // no inputs.json: no bundle
    await stamp();
    expect(await ran()).toBe('bundle');
    await utimes(input, new Date(), new Date(Date.now() + 5000)); // tsc wrote it again
    expect(await ran()).toBe('tsc output');
    await stamp();
    expect(await ran()).toBe('bundle');
  });
});
