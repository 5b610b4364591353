// A kernel's module tree (lib/modules/<release>) and the index depmod writes beside it:
// modules.dep (hard dependencies), modules.softdep, modules.alias and modules.builtin.
// Packages that ship no modules.dep (Debian's .deb, Rocky's kernel-core, where it is a %ghost
// file) get one from depmod, run on a shadow tree in scratch space so the package stays untouched.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizeModuleName } from './module-list.js';

export interface ModuleTree {
  /** Absolute path of lib/modules/<release> (the .ko files are read from here). */
  dir: string;
  kernelRelease: string;
}

export interface SoftDependencies {
  pre: string[];
  post: string[];
}

export interface ModuleIndex {
  tree: ModuleTree;
  /** Module name -> path relative to the tree (`kernel/fs/isofs/isofs.ko`). */
  paths: Map<string, string>;
  /** Module name -> names of the modules it needs, as modules.dep lists them. */
  dependencies: Map<string, string[]>;
  /** Names of modules compiled into the kernel. */
  builtin: Set<string>;
  /** Module name -> soft dependencies (names or aliases). */
  softdeps: Map<string, SoftDependencies>;
  /** Alias patterns (fnmatch, normalized) -> module names, in file order. */
  aliases: { pattern: string; module: string }[];
}

export class ModuleTreeError extends Error {
  override name = 'ModuleTreeError';
}

/** Runs `depmod` with these arguments (the caller decides how: ctx.exec or a plain child). */
export type DepmodRunner = (args: string[]) => Promise<unknown>;

const MODULE_DIRS = ['lib/modules', 'usr/lib/modules'];

/**
 * Finds lib/modules/<release> (or usr/lib/modules/<release>) in an unpacked kernel package.
 * With several releases, `kernelRelease` must pick one.
 */
export async function findModuleTree(packageRoot: string, kernelRelease?: string): Promise<ModuleTree> {
  const found: ModuleTree[] = [];
  for (const base of MODULE_DIRS) {
    const dir = join(packageRoot, base);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.sort()) {
      const candidate = join(dir, name);
      const isDirectory = await stat(candidate).then((s) => s.isDirectory(), () => false);
      if (!isDirectory) continue;
      if (!existsSync(join(candidate, 'modules.order')) && !existsSync(join(candidate, 'kernel'))) continue;
      // usr/lib/modules and a lib -> usr/lib symlink show the same tree twice.
      if (!found.some((tree) => tree.kernelRelease === name)) found.push({ dir: candidate, kernelRelease: name });
    }
  }
  if (kernelRelease !== undefined) {
    const tree = found.find((t) => t.kernelRelease === kernelRelease);
    if (!tree) {
      throw new ModuleTreeError(`kernel package at ${packageRoot} has no module tree for release ${kernelRelease} (found: ${found.map((t) => t.kernelRelease).join(', ') || 'none'})`);
    }
    return tree;
  }
  if (found.length === 0) {
    throw new ModuleTreeError(`kernel package at ${packageRoot} has no module tree (looked for ${MODULE_DIRS.map((d) => d + '/<release>/').join(' and ')}); is this the kernel package?`);
  }
  if (found.length > 1) {
    throw new ModuleTreeError(`kernel package at ${packageRoot} has module trees for several releases (${found.map((t) => t.kernelRelease).join(', ')}); name one as the kernel release`);
  }
  return found[0];
}

/** `kernel/fs/isofs/isofs.ko.xz` -> `isofs`; `usb-storage.ko` -> `usb_storage`. */
export function moduleNameOfPath(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const match = /^(.*)\.ko(\.(gz|xz|zst))?$/.exec(base);
  if (!match) throw new ModuleTreeError(`${path} is not a kernel module file name (*.ko, *.ko.gz, *.ko.xz, *.ko.zst)`);
  return normalizeModuleName(match[1]);
}

function relativeModulePath(path: string, tree: ModuleTree, source: string): string {
  if (!path.startsWith('/')) return path;
  // Old depmod wrote absolute paths; accept them when they point into this tree.
  const prefix = `/lib/modules/${tree.kernelRelease}/`;
  if (path.startsWith(prefix)) return path.slice(prefix.length);
  throw new ModuleTreeError(`${source}: path ${path} lies outside ${prefix}`);
}

export interface ModuleIndexFiles {
  dep: string;
  builtin?: string;
  softdep?: string;
  alias?: string;
}

/** Builds the index from the text of the modules.* files; `sourceDir` names them in errors. */
export function parseModuleIndex(files: ModuleIndexFiles, tree: ModuleTree, sourceDir: string): ModuleIndex {
  const index: ModuleIndex = { tree, paths: new Map(), dependencies: new Map(), builtin: new Set(), softdeps: new Map(), aliases: [] };
  const depFile = join(sourceDir, 'modules.dep');
  files.dep.split('\n').forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon < 0) throw new ModuleTreeError(`${depFile}:${i + 1}: expected '<module path>: <dependency paths>'`);
    const path = relativeModulePath(line.slice(0, colon).trim(), tree, depFile);
    const name = moduleNameOfPath(path);
    if (index.paths.has(name)) return; // depmod lists a module once; keep the first like modprobe
    index.paths.set(name, path);
    const deps = line.slice(colon + 1).trim().split(/\s+/).filter(Boolean);
    index.dependencies.set(name, deps.map((dep) => moduleNameOfPath(relativeModulePath(dep, tree, depFile))));
  });
  for (const line of (files.builtin ?? '').split('\n')) {
    if (line.trim() !== '') index.builtin.add(moduleNameOfPath(line.trim()));
  }
  for (const line of (files.softdep ?? '').split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== 'softdep' || words.length < 3) continue;
    const name = normalizeModuleName(words[1]);
    const entry = index.softdeps.get(name) ?? { pre: [], post: [] };
    // Like kmod: names count only after 'pre:' or 'post:'.
    let mode: 'pre' | 'post' | undefined;
    for (const word of words.slice(2)) {
      if (word === 'pre:') mode = 'pre';
      else if (word === 'post:') mode = 'post';
      else if (mode) entry[mode].push(word);
    }
    index.softdeps.set(name, entry);
  }
  for (const line of (files.alias ?? '').split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] === 'alias' && words.length === 3) {
      index.aliases.push({ pattern: normalizeAlias(words[1]), module: normalizeModuleName(words[2]) });
    }
  }
  return index;
}

/** kmod's alias normalization: '-' becomes '_' except inside [...] classes. */
export function normalizeAlias(alias: string): string {
  let inClass = false;
  let out = '';
  for (const ch of alias) {
    if (ch === '[') inClass = true;
    else if (ch === ']') inClass = false;
    out += ch === '-' && !inClass ? '_' : ch;
  }
  return out;
}

async function readOptional(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
}

/**
 * A shadow of the tree in `scratch`: symlinks to the tree's entries in a real directory, so
 * depmod can write its index there without touching the (read-only) package.
 */
async function runDepmodOnShadow(tree: ModuleTree, scratch: string, depmod: DepmodRunner): Promise<string> {
  const base = join(scratch, 'depmod-base');
  const shadow = join(base, 'lib', 'modules', tree.kernelRelease);
  await mkdir(shadow, { recursive: true });
  for (const name of (await readdir(tree.dir)).sort()) {
    if (!name.startsWith('modules.') || /^modules\.(order|builtin|builtin\.modinfo)$/.test(name)) {
      await symlink(join(tree.dir, name), join(shadow, name));
    }
  }
  // An empty configuration directory keeps the host's /etc/depmod.d out of the result.
  const config = join(scratch, 'depmod.d');
  await mkdir(config, { recursive: true });
  await depmod(['-b', base, '-C', config, tree.kernelRelease]);
  if (!existsSync(join(shadow, 'modules.dep'))) {
    throw new ModuleTreeError(`depmod -b ${base} ${tree.kernelRelease} wrote no modules.dep`);
  }
  return shadow;
}

/**
 * Loads the tree's index, running depmod (into `scratch`) when the tree ships no modules.dep.
 * Returns the index and whether depmod ran.
 */
export async function loadModuleIndex(tree: ModuleTree, scratch: string, depmod: DepmodRunner): Promise<{ index: ModuleIndex; ranDepmod: boolean }> {
  let sourceDir = tree.dir;
  let ranDepmod = false;
  if (!existsSync(join(tree.dir, 'modules.dep'))) {
    sourceDir = await runDepmodOnShadow(tree, scratch, depmod);
    ranDepmod = true;
  }
  const files: ModuleIndexFiles = {
    dep: (await readOptional(join(sourceDir, 'modules.dep')))!,
    builtin: await readOptional(join(sourceDir, 'modules.builtin')),
    softdep: await readOptional(join(sourceDir, 'modules.softdep')),
    alias: await readOptional(join(sourceDir, 'modules.alias')),
  };
  return { index: parseModuleIndex(files, tree, sourceDir), ranDepmod };
}
