// Bundles the command for a fast start (`npm run build`, and so `npm ci` and `npm test`, run it
// after tsc). Loading dist/cli/main.js means resolving, reading and linking some 300 modules (the
// compiler, engine, stages and their packages) one by one, which took most of a no-op build's
// time; esbuild joins them into dist/bundle/: main.js (the command table, enough for --help and
// usage errors) and chunks each command's implementation pulls in, loaded by a dynamic import
// when it runs. The input is tsc's output (what the tests check), not the TypeScript, so the
// bundle is the same code. bin/pipeline.js runs the bundle only while inputs.json says it is
// newer than every file it was made from, and dist/cli/main.js otherwise.
import { readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { projectRoot } from '../test/fixtures/paths.js';

// Two levels below the root, like dist/cli/, so that paths relative to import.meta.url
// (package.json, variants/variant.schema.json) hold.
const BUNDLE_DIR = 'dist/bundle';

async function bundle(root: string): Promise<{ files: string[]; inputs: number; ms: number }> {
  const started = performance.now();
  const outdir = join(root, BUNDLE_DIR);
  await rm(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { main: 'dist/cli/main.js' },
    outdir: BUNDLE_DIR,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    chunkNames: 'chunk-[hash]',
    // Packages written as CommonJS (yaml, cross-spawn) call require(): give ESM output one.
    banner: { js: "import { createRequire as __pipelineCreateRequire } from 'node:module'; const require = __pipelineCreateRequire(import.meta.url);" },
    // Not minified: stack traces keep their names, and `node --enable-source-maps` maps them back
    // to the TypeScript through tsc's maps.
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  // The files of dist/ it was made from, with their modification times: tsc rewrites them, so a
  // changed time means the bundle is stale. (Packages change only through npm ci or npm install,
  // which run the prepare script, and checking them too would double the cost of the check.)
  const inputs: Record<string, number> = {};
  for (const path of Object.keys(result.metafile.inputs).sort()) {
    if (path.startsWith('dist/')) inputs[path] = (await stat(join(root, path))).mtimeMs;
  }
  await writeFile(join(outdir, 'inputs.json'), JSON.stringify({ inputs }) + '\n');
  await writeFile(join(outdir, 'meta.json'), JSON.stringify(result.metafile) + '\n');
  const files = (await readdir(outdir)).filter((f) => f.endsWith('.js')).map((f) => relative(root, join(outdir, f)));
  return { files, inputs: Object.keys(result.metafile.inputs).length, ms: performance.now() - started };
}

const r = await bundle(projectRoot());
console.log(`bundled ${r.inputs} modules into ${r.files.length} files in ${BUNDLE_DIR}/ (${Math.round(r.ms)} ms)`);
