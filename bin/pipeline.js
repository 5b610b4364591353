#!/usr/bin/env node
// `npm ci` / `npm run build` (the prepare script) compile the command into dist/ (tsc) and bundle
// it into dist/bundle/ (scripts/bundle.ts), which starts several times faster than dist/'s
// hundred-odd ES modules. The bundle runs only while every file it was made from is unchanged
// (dist/bundle/inputs.json: path -> mtime); after a plain `tsc` it would be stale, so
// dist/cli/main.js runs instead: the same behaviour, a slower start.
// CommonJS (bin/package.json), so that --help never starts Node's ES module loader.
'use strict';
const { readFileSync, statSync } = require('node:fs');
const { join } = require('node:path');

function bundleIsCurrent(root) {
  try {
    const { inputs } = JSON.parse(readFileSync(`${root}/dist/bundle/inputs.json`, 'utf8'));
    // Concatenation, not path.join: 140 joins cost more than the 140 stats (cold code).
    for (const path in inputs) {
      if (statSync(`${root}/${path}`).mtimeMs !== inputs[path]) return false;
    }
    return true;
  } catch {
    return false;
  }
}

const root = join(__dirname, '..');
if (bundleIsCurrent(root)) require(`${root}/dist/bundle/main.cjs`);
else import('../dist/cli/main.js');
