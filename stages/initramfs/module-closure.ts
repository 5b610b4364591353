// The modules an initramfs must carry: the requested ones closed over hard dependencies
// (modules.dep) and soft dependencies (modules.softdep, resolved through modules.alias), in an
// order where every module comes after what it needs, as modprobe would load them.
import { normalizeAlias, type ModuleIndex } from './module-index.js';
import { normalizeModuleName, type ModuleList } from './module-list.js';

export interface ResolvedModule {
  name: string;
  /** Path relative to the module tree (`kernel/drivers/cdrom/cdrom.ko`). */
  path: string;
}

export interface ModuleClosure {
  /** Load order: dependencies first. */
  load: ResolvedModule[];
  /** Requested or needed modules that the kernel has built in (nothing to load). */
  builtin: string[];
  /** Optional modules this kernel does not have. */
  absentOptional: string[];
  /** Soft dependencies that match no module (modprobe ignores them too). */
  unresolvedSoftdeps: string[];
}

export class ModuleNotFoundError extends Error {
  override name = 'ModuleNotFoundError';
}

function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) {
        source += '\\[';
        continue;
      }
      const body = pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
      source += `[${body}]`;
      i = end;
    } else source += ch.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Modules a soft dependency names: the module of that name, else every alias match. */
function resolveSoftdep(index: ModuleIndex, name: string): string[] {
  const normalized = normalizeModuleName(name);
  if (index.paths.has(normalized) || index.builtin.has(normalized)) return [normalized];
  const alias = normalizeAlias(name);
  const matches: string[] = [];
  for (const entry of index.aliases) {
    const wildcard = entry.pattern.search(/[*?[]/);
    // The literal head rules out almost every device alias (pci:v*, usb:v*) before a regex is built.
    const hit =
      wildcard < 0
        ? entry.pattern === alias
        : alias.startsWith(entry.pattern.slice(0, wildcard)) && globToRegExp(entry.pattern).test(alias);
    if (hit && !matches.includes(entry.module)) matches.push(entry.module);
  }
  return matches;
}

/**
 * Closes `list` over dependencies. A required module that is neither a .ko in the tree nor
 * built in throws ModuleNotFoundError; an absent optional one is reported and skipped.
 */
export function closeModuleList(index: ModuleIndex, list: ModuleList): ModuleClosure {
  const closure: ModuleClosure = { load: [], builtin: [], absentOptional: [], unresolvedSoftdeps: [] };
  const visited = new Set<string>();
  const where = `${index.tree.dir}/modules.dep`;

  const visit = (name: string, neededBy: string | undefined) => {
    if (visited.has(name)) return;
    visited.add(name);
    if (index.builtin.has(name) && !index.paths.has(name)) {
      closure.builtin.push(name);
      return;
    }
    const path = index.paths.get(name);
    if (path === undefined) {
      throw new ModuleNotFoundError(
        neededBy
          ? `module ${name}, needed by ${neededBy}, is missing from ${where}; the module tree is incomplete (rerun depmod?)`
          : `module ${name} from the module list is neither in ${where} nor built into kernel ${index.tree.kernelRelease}; remove it from the list or mark it optional (${name}?)`,
      );
    }
    const soft = index.softdeps.get(name) ?? { pre: [], post: [] };
    const visitSoft = (softName: string) => {
      const modules = resolveSoftdep(index, softName);
      if (modules.length === 0) closure.unresolvedSoftdeps.push(`${name} -> ${softName}`);
      for (const module of modules) visit(module, `${name} (soft dependency ${softName})`);
    };
    soft.pre.forEach(visitSoft);
    for (const dependency of index.dependencies.get(name) ?? []) visit(dependency, name);
    closure.load.push({ name, path });
    soft.post.forEach(visitSoft);
  };

  for (const name of list.required) visit(normalizeModuleName(name), undefined);
  for (const raw of list.optional) {
    const name = normalizeModuleName(raw);
    if (!index.paths.has(name) && !index.builtin.has(name)) closure.absentOptional.push(name);
    else visit(name, undefined);
  }
  return closure;
}
