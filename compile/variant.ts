// A variant file: found by name or path, parsed with positions, checked against the schema.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { ConfigError } from '../graph/errors.js';
import { closest } from '../util/did-you-mean.js';
import { checkAgainstSchema } from './schema-check.js';
import { VARIANT_SCHEMA, type Variant } from './variant-schema.js';
import { YamlSource } from './yaml-source.js';

/** A variant file, as variants/variant.schema.json describes it (snake_case as written): the type is derived from the schema. */
export type { Variant };
export type StepDefinition = NonNullable<Variant['steps']>[string];
export type PackageFile = NonNullable<Variant['boot']>['efi_stub'];
export type Repository = NonNullable<Variant['alpine']>['repositories'][number];
export type UserDefinition = NonNullable<NonNullable<Variant['system']>['users']>[number];
export type TestCommand = NonNullable<NonNullable<Variant['tests']>['commands']>[number];
export type Scenario = NonNullable<NonNullable<Variant['tests']>['scenarios']>[number];

export interface LoadedVariant {
  variant: Variant;
  /** Absolute path of the variant file. */
  file: string;
  /** Project root: the directory holding variants/ (declared files are relative to it). */
  root: string;
  source: YamlSource;
}

/** The project root for a start directory: the nearest ancestor holding a variants/ directory. */
export function findProjectRoot(start: string): string {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'variants')) && statSync(join(dir, 'variants')).isDirectory()) return dir;
    const parent = dirname(dir);
    if (parent === dir) return resolve(start);
    dir = parent;
  }
}

/** A target is a variant name (variants/<name>.yaml under the project root) or a file path. */
export function locateVariant(target: string, cwd: string): { file: string; root: string } {
  const looksLikePath = target.includes('/') || target.endsWith('.yaml') || target.endsWith('.yml');
  if (looksLikePath) {
    const file = resolve(cwd, target);
    if (!existsSync(file)) throw new ConfigError(`variant file ${target} does not exist`);
    return { file, root: findProjectRoot(dirname(file)) };
  }
  if (!/^[a-z][a-z0-9-]*$/.test(target)) throw new ConfigError(`'${target}' is neither a variant name (lowercase letters, digits, -) nor a path to a variant file`);
  const root = findProjectRoot(cwd);
  const file = join(root, 'variants', `${target}.yaml`);
  if (!existsSync(file)) throw new ConfigError(unknownVariantMessage(target, root, cwd));
  return { file, root };
}

/** Names the variants there are, and the near one when the name looks like a typo of it. */
function unknownVariantMessage(target: string, root: string, cwd: string): string {
  const dir = join(root, 'variants');
  const names = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.yaml') && !f.endsWith('.lock.yaml')).map((f) => f.slice(0, -'.yaml'.length)).sort() : [];
  const shown = relative(cwd, dir) || '.';
  const near = closest(target, names);
  return (
    `no variant '${target}' in ${shown}/${near ? `; did you mean '${near}'?` : ''}` +
    (names.length ? ` (variants: ${names.join(', ')})` : ` (it holds no <name>.yaml; run pipeline in a project with variants/)`)
  );
}

export async function loadVariant(target: string, cwd = process.cwd()): Promise<LoadedVariant> {
  const { file, root } = locateVariant(target, cwd);
  const display = file.startsWith(root + '/') ? file.slice(root.length + 1) : file;
  const source = await YamlSource.read(file, display);
  const value = source.value();
  checkAgainstSchema(value, VARIANT_SCHEMA, source);
  const variant = value as Variant;
  const expected = basename(file).replace(/\.ya?ml$/, '');
  if (variant.name !== expected && basename(dirname(file)) === 'variants') {
    throw new ConfigError(`${source.where(['name'])}: name '${variant.name}' differs from the file name '${expected}'; make them equal`);
  }
  return { variant, file, root, source };
}
