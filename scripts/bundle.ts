// Bundles the command for a fast start (`npm run build`, and so `npm ci` and `npm test`, run it
// after tsc). Loading dist/cli/main.js means resolving, reading, compiling and linking some 140
// ES modules one by one, most of a no-op build's time. This joins tsc's output (the code the
// tests check, not the TypeScript again) into two CommonJS files in dist/bundle/:
//
//   main.cjs    cli/main.js and what it imports: the command table, help, parsing, the usage and
//               configuration errors. All that --help, --version and usage errors load.
//   engine.cjs  every command's implementation and everything behind them (compiler, engine,
//               stages, packages). A command's `import('./commands/<name>.js')` becomes
//               "load the engine" (bundle-engine-loader.cjs: with a V8 code cache) and take
//               its <name> part.
//
// CommonJS, not ES modules, because Node's ES module loader costs about 15 ms to start however
// little it loads, and because only a script (vm.Script) can use a V8 code cache on Node 20.
// Every module is in one file only: the engine takes the modules main.cjs holds (UsageError,
// ConfigError, the options) from main.cjs, so `instanceof` holds across the two.
//
// bin/pipeline.js runs main.cjs only while inputs.json says every file it was made from is
// unchanged, and dist/cli/main.js otherwise. meta.json is esbuild's account of which modules each
// file holds (test/engine/startup.test.ts reads it).
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import { projectRoot } from '../fixtures/paths.js';

// Two levels below the root, like dist/cli/, so that paths relative to import.meta.url
// (package.json, variants/variant.schema.json) hold.
const OUT = 'dist/bundle';
const COMMANDS = 'dist/cli/commands';
const LOADER = './scripts/bundle-engine-loader.cjs';

const common: BuildOptions = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // import.meta.url is each file's own URL, as in dist/.
  define: { 'import.meta.url': '__pipelineModuleUrl' },
  banner: { js: "var __pipelineModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  // Whitespace and syntax only, which saves a tenth of a no-op build (less to read and to
  // deserialize); names are kept, so stack traces still name the functions, and with
  // `node --enable-source-maps` (see the loader) they point into the TypeScript: the linked maps
  // chain through tsc's.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
  charset: 'ascii',
};

/** main.cjs's side: `./commands/<name>.js` is the <name> part of the engine. */
const commandsFromEngine: Plugin = {
  name: 'commands-from-engine',
  setup(b) {
    b.onResolve({ filter: /^\.\/commands\/[a-z-]+\.js$/ }, (args) => ({ path: args.path.slice('./commands/'.length, -'.js'.length), namespace: 'engine-command' }));
    b.onLoad({ filter: /.*/, namespace: 'engine-command' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(LOADER)}).loadEngine()[${JSON.stringify(args.path)}];`,
      resolveDir: projectRoot(),
      loader: 'js',
    }));
  },
};

/** `import(specifier)` with a computed specifier: left for run time by esbuild. */
const RUNTIME_IMPORT = /\bimport\((?=\s*[A-Za-z_$])/g;

/**
 * engine.cjs's side: an `import(specifier)` left for run time (node-llama-cpp, an optional ES
 * module local-model.ts loads only when a local model runs) would fail in the vm.Script, which
 * has no module loader; it goes through the loader's importModule (main.cjs, which Node's own
 * loader compiled) instead.
 */
const importThroughMain: Plugin = {
  name: 'import-through-main',
  setup(b) {
    b.onLoad({ filter: /\/dist\/.*\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!RUNTIME_IMPORT.test(text)) return undefined;
      RUNTIME_IMPORT.lastIndex = 0;
      return { contents: text.replace(RUNTIME_IMPORT, 'globalThis[Symbol.for("pipeline.importModule")]('), loader: 'js' };
    });
  },
};

/** engine.cjs's side: a module main.cjs holds is taken from main.cjs (exported there as `shared[path]`). */
function sharedFromMain(root: string, shared: Map<string, string>): Plugin {
  return {
    name: 'shared-from-main',
    setup(b) {
      b.onResolve({ filter: /^\./ }, async (args) => {
        if (args.namespace === 'from-main') return { path: args.path, external: true };
        if (args.pluginData === 'inner') return undefined;
        const r = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'inner' });
        const rel = r.path.startsWith(root + '/') ? r.path.slice(root.length + 1) : undefined;
        return rel && shared.has(rel) ? { path: rel, namespace: 'from-main' } : r;
      });
      b.onLoad({ filter: /.*/, namespace: 'from-main' }, (args) => ({
        contents: `module.exports = require('./main.cjs').${shared.get(args.path)};`,
        loader: 'js',
      }));
    },
  };
}

async function bundle(root: string): Promise<{ files: string[]; modules: number; ms: number }> {
  const started = performance.now();
  await rm(join(root, OUT), { recursive: true, force: true });

  // Which modules main.cjs holds: cli/main.js's graph, with the commands left to the engine.
  const probe = await build({ ...common, absWorkingDir: root, entryPoints: ['dist/cli/main.js'], outfile: `${OUT}/main.cjs`, write: false, plugins: [commandsFromEngine] });
  const sharedPaths = Object.keys(probe.metafile!.inputs).filter((p) => p.startsWith('dist/') && p !== 'dist/cli/main.js');
  const shared = new Map(sharedPaths.map((p, i) => [p, `shared${i}`]));

  // main.cjs: cli/main.js, exporting the modules it holds for the engine.
  const mainEntry = [...[...shared].map(([p, name]) => `export * as ${name} from './${p}';`), "import './dist/cli/main.js';"].join('\n');
  const main = await build({
    ...common,
    absWorkingDir: root,
    stdin: { contents: mainEntry, resolveDir: root, sourcefile: 'bundle-main-entry.js' },
    outfile: `${OUT}/main.cjs`,
    plugins: [commandsFromEngine],
  });

  // engine.cjs: every command module, each under its file's name.
  const commands = (await readdir(join(root, COMMANDS))).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3));
  const engineEntry = commands.map((c) => `export * as ${JSON.stringify(c)} from './${COMMANDS}/${c}.js';`).join('\n');
  const engine = await build({
    ...common,
    absWorkingDir: root,
    stdin: { contents: engineEntry, resolveDir: root, sourcefile: 'bundle-engine-entry.js' },
    outfile: `${OUT}/engine.cjs`,
    plugins: [sharedFromMain(root, shared), importThroughMain],
  });

  const meta: Metafile = { inputs: { ...main.metafile!.inputs, ...engine.metafile!.inputs }, outputs: { ...main.metafile!.outputs, ...engine.metafile!.outputs } };
  const inputsOf = (m: Metafile, file: string) => Object.keys(m.outputs[file].inputs).filter((p) => p.startsWith('dist/'));
  const twice = inputsOf(engine.metafile!, `${OUT}/engine.cjs`).filter((p) => inputsOf(main.metafile!, `${OUT}/main.cjs`).includes(p));
  if (twice.length) throw new Error(`modules in both main.cjs and engine.cjs (two instances of each): ${twice.join(', ')}`);
  // The engine runs as a vm.Script, where import() has no loader: everything must be bundled.
  // The loader reads it as latin1, which is only right for ASCII (esbuild escapes the rest).
  if ((await readFile(join(root, OUT, 'engine.cjs'))).some((byte) => byte > 0x7f)) throw new Error('engine.cjs is not ASCII');
  const dynamic = meta.outputs[`${OUT}/engine.cjs`].imports.filter((i) => i.kind === 'dynamic-import');
  if (dynamic.length) throw new Error(`engine.cjs would import() at run time: ${dynamic.map((i) => i.path).join(', ')}`);
  if (RUNTIME_IMPORT.test(await readFile(join(root, OUT, 'engine.cjs'), 'latin1'))) throw new Error('engine.cjs calls import() with a computed specifier (importThroughMain missed it)');

  // The files it was made from (not packages: those change only through npm ci or npm install,
  // which run the prepare script), with their modification times: tsc rewrites what it compiles,
  // so a changed time means the bundle is stale.
  const inputs: Record<string, number> = {};
  for (const path of Object.keys(meta.inputs).sort()) {
    if (path.startsWith('dist/') || path.startsWith('scripts/')) inputs[path] = (await stat(join(root, path))).mtimeMs;
  }
  await writeFile(join(root, OUT, 'inputs.json'), JSON.stringify({ inputs }) + '\n');
  await writeFile(join(root, OUT, 'meta.json'), JSON.stringify(meta) + '\n');
  return { files: [`${OUT}/main.cjs`, `${OUT}/engine.cjs`], modules: Object.keys(meta.inputs).length, ms: performance.now() - started };
}

/** Is the bundle made from exactly the files now in dist/ (tsc, incremental, rewrites only what changed)? */
async function bundleIsCurrent(root: string): Promise<boolean> {
  try {
    const { inputs } = JSON.parse(await readFile(join(root, OUT, 'inputs.json'), 'utf8')) as { inputs: Record<string, number> };
    for (const [path, mtime] of Object.entries(inputs)) if ((await stat(join(root, path))).mtimeMs !== mtime) return false;
    return true;
  } catch {
    return false;
  }
}

const root = projectRoot();
if (!process.argv.includes('--force') && (await bundleIsCurrent(root))) {
  console.log(`${OUT} is current (nothing it is made from changed)`);
} else {
  const r = await bundle(root);
  console.log(`bundled ${r.modules} modules into ${r.files.join(' and ')} (${Math.round(r.ms)} ms)`);
}
