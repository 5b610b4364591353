// `pipeline recipe new NAME` and `pipeline recipe check [NAME...]`. Their arguments, options and
// help are in ../definitions.ts.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findProjectRoot } from '../../compile/variant.js';
import { RECIPES_DIR } from '../../recipe/api.js';
import { checkRecipes, recipeNames } from '../../recipe/check.js';
import { RecipeError } from '../../recipe/load.js';
import { recipeScaffold } from '../../recipe/scaffold.js';
import { EXIT, UsageError, type Command } from '../command.js';

const NAME = /^[a-z0-9][a-z0-9+._-]*$/;

export const recipeNewCommand: Command = {
  async run(args) {
    const name = args.positionals[0];
    if (!NAME.test(name)) throw new UsageError(`recipe name '${name}' must be lower-case letters, digits and + . _ - (it names recipes/<name>.rhai)`);
    const root = findProjectRoot(process.cwd());
    const file = `${RECIPES_DIR}/${name}.rhai`;
    if (existsSync(join(root, file)) && args.values.force !== true) throw new UsageError(`${file} exists: pass --force to replace it`);
    await mkdir(join(root, RECIPES_DIR), { recursive: true });
    await writeFile(join(root, file), recipeScaffold(name));
    process.stdout.write(`wrote ${file}: fill in the TODOs (version, url, sha256, license), then \`pipeline recipe check ${name}\`\n`);
    return EXIT.ok;
  },
};

export const recipeCheckCommand: Command = {
  async run(args) {
    const root = findProjectRoot(process.cwd());
    const names = args.positionals.length ? args.positionals : recipeNames(root);
    if (names.length === 0) {
      process.stderr.write(`no recipes in ${RECIPES_DIR}/: make one with \`pipeline recipe new NAME\`\n`);
      return EXIT.ok;
    }
    let results;
    try {
      results = await checkRecipes(root, names);
    } catch (err) {
      if (err instanceof RecipeError) throw new UsageError(err.message);
      throw err;
    }
    if (args.values.json) {
      process.stdout.write(
        JSON.stringify(results.map((r) => ({ file: r.file, ok: r.problems.length === 0, name: r.recipe?.name, version: r.recipe?.version, problems: r.problems }))) + '\n',
      );
    } else {
      for (const r of results) {
        if (r.problems.length) {
          for (const p of r.problems) process.stdout.write(`${p}\n`);
        } else if (r.recipe) {
          const sources = r.recipe.sources.length + r.recipe.releaseCalls.length;
          const base = r.recipe.files.length > 1 ? `, extends ${r.recipe.files.slice(0, -1).map((f) => f.path).join(', ')}` : '';
          process.stdout.write(`${r.file}: ok (${r.recipe.name} ${r.recipe.version}, ${sources} source${sources === 1 ? '' : 's'} pinned${base})\n`);
        } else {
          process.stdout.write(`${r.file}: ok (a base: no ctx of its own)\n`);
        }
      }
      const bad = results.filter((r) => r.problems.length).length;
      process.stderr.write(`${results.length} recipe file${results.length === 1 ? '' : 's'} checked, ${bad} with problems\n`);
    }
    return results.some((r) => r.problems.length) ? EXIT.failed : EXIT.ok;
  },
};
