#!/usr/bin/env node
// `npm ci` / `npm run build` (the prepare script) compile the command into dist/ (tsc) and bundle
// it into dist/bundle/ (scripts/bundle.ts), which starts several times faster than dist/'s
// hundreds of modules. The bundle runs only while every file it was made from is unchanged
// (dist/bundle/inputs.json: path -> mtime); after a plain `tsc` it would be stale, so
// dist/cli/main.js runs instead: the same behaviour, a slower start.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function bundleIsCurrent() {
  try {
    const root = fileURLToPath(new URL('../', import.meta.url));
    const { inputs } = JSON.parse(readFileSync(root + 'dist/bundle/inputs.json', 'utf8'));
    for (const path in inputs) {
      if (statSync(root + path).mtimeMs !== inputs[path]) return false;
    }
    return true;
  } catch {
    return false;
  }
}

await import(bundleIsCurrent() ? '../dist/bundle/main.js' : '../dist/cli/main.js');
