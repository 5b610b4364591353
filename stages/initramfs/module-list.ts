// The list of kernel modules an initramfs loads: names the user asks for, before dependencies.
import { readFile } from 'node:fs/promises';

export interface ModuleList {
  /** Modules that must exist (as a .ko or built in); a missing one fails the build. */
  required: string[];
  /** Modules loaded when the kernel has them (hardware support that some kernels lack). */
  optional: string[];
}

/** The default list, relative to the project root (a data file, so it is a declared input). */
export const DEFAULT_MODULE_LIST_FILE = 'pipeline:stages/initramfs/modules.default';

export class ModuleListError extends Error {
  override name = 'ModuleListError';
}

/** Module names compare with '-' and '_' as the same character, as modprobe does. */
export function normalizeModuleName(name: string): string {
  return name.replace(/-/g, '_');
}

const MODULE_NAME = /^[A-Za-z0-9_-]+$/;

/**
 * Parses the list format: one name per line, `#` starts a comment, a trailing `?` marks the
 * module optional. `source` names the file in error messages.
 */
export function parseModuleList(text: string, source: string): ModuleList {
  const list: ModuleList = { required: [], optional: [] };
  const seen = new Map<string, number>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const optional = line.endsWith('?');
    const name = optional ? line.slice(0, -1) : line;
    if (!MODULE_NAME.test(name)) {
      throw new ModuleListError(`${source}:${index + 1}: '${line}' is not a module name (letters, digits, '-', '_', optionally ending in '?')`);
    }
    const normalized = normalizeModuleName(name);
    const earlier = seen.get(normalized);
    if (earlier !== undefined) throw new ModuleListError(`${source}:${index + 1}: module ${name} is already listed on line ${earlier}`);
    seen.set(normalized, index + 1);
    (optional ? list.optional : list.required).push(normalized);
  });
  return list;
}

export async function readModuleList(path: string): Promise<ModuleList> {
  const text = await readFile(path, 'utf8').catch((err: Error) => {
    throw new ModuleListError(`cannot read the module list ${path}: ${err.message}`);
  });
  return parseModuleList(text, path);
}

/** Checks a list that arrives as JSON (node parameters) and normalizes its names. */
export function validateModuleList(value: unknown, source: string): ModuleList {
  const isNames = (v: unknown): v is string[] => Array.isArray(v) && v.every((n) => typeof n === 'string' && MODULE_NAME.test(n));
  const candidate = value as Partial<ModuleList> | null;
  if (typeof candidate !== 'object' || candidate === null || !isNames(candidate.required) || !isNames(candidate.optional ?? [])) {
    throw new ModuleListError(`${source}: a module list is { required: string[], optional?: string[] } of module names; got ${JSON.stringify(value)}`);
  }
  return {
    required: candidate.required.map(normalizeModuleName),
    optional: (candidate.optional ?? []).map(normalizeModuleName),
  };
}
