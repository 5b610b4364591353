// Start-up: `pipeline --help`, `--version` and usage errors load the command table and nothing
// else; a command's implementation (and the compiler, engine and stages behind it) is loaded
// only when it runs. Checked on the real process, which records every module it loads (a module
// loader hook for ES modules, require.cache at exit for CommonJS), from tsc's output (dist/cli/)
// and from the bundle bin/pipeline.js runs (dist/bundle/: main.cjs and engine.cjs, whose
// meta.json says which modules each holds).
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
import { projectRoot } from '../../fixtures/paths.js';
import { tempProject } from './helpers.js';

const exec = promisify(execFile);

const HOOKS = `
import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.PIPELINE_MODULE_TRACE, url + '\\n');
  return next(url, context);
}
`;

// CommonJS modules (the bundle) at exit, and each vm.Script of the engine: given a code cache, and
// whether V8 took it.
const PRELOAD = `
const { appendFileSync } = require('node:fs');
const { pathToFileURL } = require('node:url');
const vm = require('node:vm');
const trace = process.env.PIPELINE_MODULE_TRACE;
const Script = vm.Script;
vm.Script = class extends Script {
  constructor(code, options) {
    super(code, options);
    if (options && String(options.filename).endsWith('engine.cjs')) {
      appendFileSync(trace, 'engine-script cached=' + (options.cachedData !== undefined) + ' rejected=' + this.cachedDataRejected + '\\n');
    }
  }
};
process.on('exit', () => {
  appendFileSync(trace, Object.keys(require.cache).map((f) => pathToFileURL(f).href).join('\\n') + '\\n');
});
`;

let register: string;
let preload: string;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pipeline-module-trace-'));
  await writeFile(join(dir, 'hooks.mjs'), HOOKS);
  await writeFile(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
  await writeFile(join(dir, 'preload.cjs'), PRELOAD);
  register = join(dir, 'register.mjs');
  preload = join(dir, 'preload.cjs');
});

/** Runs a script recording what it loads: project-relative module paths, and the engine scripts. */
async function traced(script: string, args: string[]): Promise<{ modules: string[]; engineScripts: string[] }> {
  const cwd = await tempProject();
  const trace = join(cwd, 'modules.txt');
  await writeFile(trace, '');
  try {
    await exec(process.execPath, ['--require', preload, '--import', register, script, ...args], { cwd, env: { ...process.env, PIPELINE_MODULE_TRACE: trace } });
  } catch (err) {
    // Usage errors exit 2; what matters here is what they loaded.
    if ((err as { code?: number }).code !== 2) throw err;
  }
  const root = projectRoot() + '/';
  const lines = (await readFile(trace, 'utf8')).split('\n');
  const modules = [...new Set(lines.filter((u) => u.startsWith('file:')).map((u) => fileURLToPath(u).replace(root, '')))];
  return { modules: modules.filter((m) => !m.startsWith('/')), engineScripts: lines.filter((l) => l.startsWith('engine-script ')) };
}

async function modulesLoaded(script: string, args: string[]): Promise<string[]> {
  return (await traced(script, args)).modules;
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

  it('an unknown command loads the table and the word matcher (util/did-you-mean) only', async () => {
    const loaded = await modulesLoaded(main, ['buidl']);
    expect(loaded).toContain('dist/util/did-you-mean.js');
    expect(loaded.filter((m) => HEAVY.test(m))).toEqual([]);
  });

  it('a command that runs loads its implementation', async () => {
    const loaded = await modulesLoaded(main, ['cache', 'stats', '--json']);
    expect(loaded).toContain('dist/cli/commands/cache.js');
    expect(loaded).not.toContain('dist/cli/commands/build.js');
  });
});

describe('the bundle', () => {
  const root = projectRoot();
  const bin = join(root, 'bin', 'pipeline.js');

  it('is what bin/pipeline.js runs; --help, --version and usage errors load main.cjs alone, which holds no engine, compiler, stage or package code', async () => {
    const meta = JSON.parse(await readFile(join(root, 'dist/bundle/meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
    // The table and the word matcher, as from dist/cli/ (above), and ConfigError, which main
    // tells from a bug.
    const heavy = Object.keys(meta.outputs['dist/bundle/main.cjs'].inputs).filter((i) => HEAVY.test(i));
    expect(heavy.sort()).toEqual(['dist/graph/errors.js']);
    for (const args of [['--help'], ['--version'], ['build', '--help'], ['build'], ['buidl']]) {
      const loaded = (await modulesLoaded(bin, args)).filter((m) => m.startsWith('dist/'));
      expect([args.join(' '), loaded], 'dist/bundle is missing or older than dist/: run npm run build').toEqual([args.join(' '), ['dist/bundle/main.cjs']]);
    }
  });

  it('a command that runs loads engine.cjs, with the code cache its first run wrote', async () => {
    const first = await traced(bin, ['cache', 'stats', '--json']);
    expect(first.modules.filter((m) => m.startsWith('dist/'))).toEqual(['dist/bundle/main.cjs', 'dist/bundle/engine.cjs']);
    expect(first.engineScripts).toHaveLength(1);
    const again = await traced(bin, ['cache', 'stats', '--json']);
    expect(again.engineScripts).toEqual(['engine-script cached=true rejected=false']);
  });

  it('runs only while every file it was made from is unchanged; otherwise dist/cli/main.js runs', async () => {
    // A stand-in installation: the real bin/pipeline.js over a bundle and a tsc output that say
    // which one ran.
    const dir = await mkdtemp(join(tmpdir(), 'pipeline-bin-'));
    for (const d of ['bin', 'dist/bundle', 'dist/cli']) await mkdir(join(dir, d), { recursive: true });
    for (const f of ['pipeline.js', 'package.json']) await copyFile(join(root, 'bin', f), join(dir, 'bin', f));
    await writeFile(join(dir, 'dist/bundle/main.cjs'), "console.log('bundle');\n");
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
