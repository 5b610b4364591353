// Part of the bundle, not run on its own (scripts/bundle.ts builds it into dist/bundle/main.cjs):
// what `import('./commands/<name>.js')` becomes there. The first command to run loads
// dist/bundle/engine.cjs, which holds every command's implementation and all the code behind
// them, with a V8 code cache: compiling that megabyte of JavaScript, and the functions a run
// compiles lazily, is most of what a no-op build spends before it starts, and Node 20 has no
// compile cache of its own (module.enableCompileCache is Node 22).
//
// engine.cjs.v8cache is written when the first run that loads the engine exits, with every
// function compiled so far; later runs deserialize it instead of compiling. V8 rejects a cache
// made by another V8 version or with other flags, and then it is written anew. V8 checks only
// the source's length, not its content, so the cache must never outlive the engine.cjs it was
// made from: scripts/bundle.ts removes dist/bundle/ before every bundle. An installation that
// cannot be written to simply runs without the cache.
'use strict';
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { join } = require('node:path');
const { Script } = require('node:vm');

let engine;

function loadEngine() {
  if (engine) return engine;
  // The engine is a vm.Script, where import() has no loader: scripts/bundle.ts turns its
  // import(specifier) calls (node-llama-cpp) into this, which runs in main.cjs, a module Node loaded.
  globalThis[Symbol.for('pipeline.importModule')] = (specifier) => import(specifier);
  const file = join(__dirname, 'engine.cjs');
  // Node maps stack traces only for modules its own loader compiled: under --enable-source-maps
  // (debugging), a plain require, without the cache.
  if (process.sourceMapsEnabled) return (engine = require(file));
  const cacheFile = file + '.v8cache';
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {}
  // The wrapper Node's own CommonJS loader puts around a module.
  // engine.cjs is ASCII (bundle.ts checks), so latin1 reads it without UTF-8 decoding.
  const wrapper = `(function (exports, require, module, __filename, __dirname) { ${readFileSync(file, 'latin1')}\n});`;
  const script = new Script(wrapper, { filename: file, cachedData });
  // A module like any other: required by its path, it is this same instance.
  const mod = new Module(file);
  mod.filename = file;
  Module._cache[file] = mod;
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, __dirname);
  mod.loaded = true;
  if (cachedData === undefined || script.cachedDataRejected) {
    process.once('exit', () => {
      try {
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch {}
    });
  }
  engine = mod.exports;
  return engine;
}

module.exports = { loadEngine };
