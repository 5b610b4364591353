// A variant file: found by name or path, parsed with positions, checked against the schema.
import { readFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../graph/errors.js';
import { checkAgainstSchema, type Schema } from './schema-check.js';
import { YamlSource } from './yaml-source.js';

export interface StepDefinition {
  run: string[];
  inputs?: string[];
  after?: string[];
  env?: Record<string, string>;
  weight?: number;
  publish?: boolean;
}

export interface PackageFile {
  package: string;
  path: string;
}

export interface Repository {
  name: string;
  mirror: string;
  path: string;
}

export interface UserDefinition {
  name: string;
  uid?: number;
  groups?: string[];
  shell?: string;
  home?: string;
  password?: string;
}

export interface TestCommand {
  run: string;
  expect?: string;
}

export type Scenario = 'uefi' | 'bios' | 'uefi-disk' | 'bios-disk' | 'secure-boot' | 'slot-b';

/** A variant file, as variants/variant.schema.json describes it (snake_case as written). */
export interface Variant {
  name: string;
  description?: string;
  epoch?: number;
  os?: { id: string; name: string; pretty_name?: string; version_id?: string; home_url?: string; extra?: Record<string, string> };
  hostname?: string;
  iso_label?: string;
  mirrors?: Record<string, string>;
  alpine?: { arch: string; keys: string; repositories: Repository[]; max_unpacked_size?: number };
  packages?: string[];
  kernel?: { package: string; image: string; cmdline?: string[] };
  boot?: { efi_stub: PackageFile; systemd_boot: PackageFile; syslinux: { package: string; dir: string }; timeout?: number };
  initramfs?: { busybox: PackageFile; compression?: 'zstd' | 'gzip'; level?: number; modules?: string[] };
  root_image?: { format?: 'squashfs' | 'erofs'; level?: number };
  system?: {
    init?: 'openrc' | 'busybox';
    services?: Record<string, string[]>;
    users?: UserDefinition[];
    console?: { serial?: string; baud?: number; serial_only?: boolean };
    overlays?: string[];
  };
  signing?: { certificate: string; key?: string; enroll?: string };
  tests?: { scenarios?: Scenario[]; commands?: TestCommand[] };
  steps?: Record<string, StepDefinition>;
}

export interface LoadedVariant {
  variant: Variant;
  /** Absolute path of the variant file. */
  file: string;
  /** Project root: the directory holding variants/ (declared files are relative to it). */
  root: string;
  source: YamlSource;
}

const SCHEMA_PATH = fileURLToPath(new URL('../../variants/variant.schema.json', import.meta.url));
let schema: Schema | undefined;

async function variantSchema(): Promise<Schema> {
  // From dist/compile/ the schema is two levels up; from compile/ (tests) one.
  if (!schema) {
    const path = existsSync(SCHEMA_PATH) ? SCHEMA_PATH : fileURLToPath(new URL('../variants/variant.schema.json', import.meta.url));
    schema = JSON.parse(await readFile(path, 'utf8')) as Schema;
  }
  return schema;
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
  if (!existsSync(file)) {
    throw new ConfigError(`no variant '${target}': ${join('variants', `${target}.yaml`)} does not exist under ${root}`);
  }
  return { file, root };
}

export async function loadVariant(target: string, cwd = process.cwd()): Promise<LoadedVariant> {
  const { file, root } = locateVariant(target, cwd);
  const display = file.startsWith(root + '/') ? file.slice(root.length + 1) : file;
  const source = await YamlSource.read(file, display);
  const value = source.value();
  checkAgainstSchema(value, await variantSchema(), source);
  const variant = value as Variant;
  const expected = basename(file).replace(/\.ya?ml$/, '');
  if (variant.name !== expected && basename(dirname(file)) === 'variants') {
    throw new ConfigError(`${source.where(['name'])}: name '${variant.name}' differs from the file name '${expected}'; make them equal`);
  }
  return { variant, file, root, source };
}
