// `npm run bench [-- name...]`: runs the benchmarks (all by default) and writes
// bench/results/<name>.json for each.
import { benchApk } from './apk.js';
import { benchBoot } from './boot.js';
import { benchDemo } from './demo.js';
import { benchEngine } from './engine.js';
import { benchLlm } from './llm.js';
import { benchRecipes } from './recipes.js';
import { benchRemote } from './remote.js';
import { benchRpm } from './rpm.js';

const BENCHES: Record<string, () => Promise<object>> = {
  engine: () => benchEngine(),
  apk: () => benchApk(),
  demo: () => benchDemo(),
  boot: () => benchBoot(),
  recipes: () => benchRecipes(),
  rpm: () => benchRpm(),
  remote: () => benchRemote(),
  llm: () => benchLlm(),
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(w in BENCHES));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
for (const name of wanted.length ? wanted : Object.keys(BENCHES)) {
  console.log(`== ${name}`);
  await BENCHES[name]();
}
