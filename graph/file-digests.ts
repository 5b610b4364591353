// Content digests of project files and host tools, with a stat cache so an unchanged file is not
// re-read on every build. The stat cache only saves time: keys hold content digests, never
// stats, so a stale or lost stat cache can cost a re-read but never a wrong key.
import { constants as fsConstants, lstatSync, statSync } from 'node:fs';
import { access, mkdir, readdir, readFile, readlink, realpath, rename, stat, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join, relative, sep } from 'node:path';
import { ConfigError, MissingInputError } from './errors.js';
import { sha256File } from './hash.js';

interface StatEntry {
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: number;
  digest: string;
}

export class FileDigester {
  private stats = new Map<string, StatEntry>();
  private pending = new Map<string, Promise<string>>();
  private dirty = false;

  constructor(private readonly statCachePath?: string) {}

  async load(): Promise<void> {
    if (!this.statCachePath) return;
    try {
      const data = JSON.parse(await readFile(this.statCachePath, 'utf8')) as Record<string, StatEntry>;
      this.stats = new Map(Object.entries(data));
    } catch {
      this.stats = new Map();
    }
  }

  /** Writes the stat cache back (atomically) if it changed. */
  async save(): Promise<void> {
    if (!this.statCachePath || !this.dirty) return;
    await mkdir(dirname(this.statCachePath), { recursive: true });
    const tmp = `${this.statCachePath}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(Object.fromEntries(this.stats)));
    await rename(tmp, this.statCachePath);
    this.dirty = false;
  }

  /** Forgets what this process hashed, so the next build sees files edited since. */
  forget(): void {
    this.pending.clear();
  }

  /** SHA-256 of a regular file's content (absolute path). */
  digest(absPath: string): Promise<string> {
    let p = this.pending.get(absPath);
    if (!p) {
      p = this.compute(absPath);
      this.pending.set(absPath, p);
    }
    return p;
  }

  private async compute(absPath: string): Promise<string> {
    const st = statSync(absPath, { bigint: true });
    const known = this.stats.get(absPath);
    const mtimeNs = st.mtimeNs.toString();
    const ctimeNs = st.ctimeNs.toString();
    if (known && known.size === Number(st.size) && known.mtimeNs === mtimeNs && known.ctimeNs === ctimeNs && known.ino === Number(st.ino)) {
      return known.digest;
    }
    const digest = await sha256File(absPath);
    // A file modified in the same clock tick as it was hashed could change without its stamp
    // moving ("racy git"): only remember stamps that are safely in the past.
    if (Date.now() * 1e6 - Number(st.mtimeNs) > 2e9) {
      this.stats.set(absPath, { size: Number(st.size), mtimeNs, ctimeNs, ino: Number(st.ino), digest });
      this.dirty = true;
    }
    return digest;
  }

  /**
   * Key entries for declared files: a directory expands to every file below it. A path is
   * relative to the project root, or `<name>:<path>` relative to a named root (`pipeline:` for
   * files shipped with the tool itself). Returns declared-style path (with '/') -> `sha256`,
   * `sha256+x` or `link:<target>`.
   */
  async projectFiles(roots: FileRoots, declared: string[], nodeId: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const entry of declared) {
      const { base, rel, prefix } = resolveDeclared(roots, entry, nodeId);
      await this.addPath(base, join(base, rel), out, nodeId, entry, prefix);
    }
    return out;
  }

  private async addPath(root: string, abs: string, out: Record<string, string>, nodeId: string, declared: string, prefix: string): Promise<void> {
    let st;
    try {
      st = lstatSync(abs);
    } catch {
      throw new MissingInputError(`file '${declared}' does not exist`);
    }
    const rel = prefix + relative(root, abs).split(sep).join('/');
    if (st.isSymbolicLink()) {
      out[rel] = 'link:' + (await readlink(abs));
    } else if (st.isDirectory()) {
      const names = (await readdir(abs)).sort();
      for (const name of names) await this.addPath(root, join(abs, name), out, nodeId, declared, prefix);
    } else if (st.isFile()) {
      out[rel] = (await this.digest(abs)) + (st.mode & 0o111 ? '+x' : '');
    } else {
      throw new ConfigError(`node ${nodeId} declares '${rel}', which is neither a file, a directory nor a symlink`);
    }
  }
}

/** The project root, and named roots such as `pipeline` (the tool's own files). */
export interface FileRoots {
  project: string;
  named?: Readonly<Record<string, string>>;
}

/** Where a declared file is: its base directory, its path below it, and its key prefix. */
export function resolveDeclared(roots: FileRoots, entry: string, nodeId: string): { base: string; rel: string; prefix: string; abs: string } {
  const m = /^([a-z][a-z0-9-]*):(.*)$/.exec(entry);
  const name = m?.[1];
  const rel = m ? m[2] : entry;
  const base = name === undefined ? roots.project : roots.named?.[name];
  if (base === undefined) throw new ConfigError(`node ${nodeId} declares file '${entry}', but no file root is named '${name}'`);
  if (rel.startsWith('/') || rel.split(/[\\/]/).includes('..')) {
    throw new ConfigError(`node ${nodeId} declares file '${entry}': files must be relative paths inside their root`);
  }
  return { base, rel, prefix: name === undefined ? '' : `${name}:`, abs: join(base, rel) };
}

/** A host tool found on PATH: where it is and the digest of the binary that will run. */
export interface ToolIdentity {
  name: string;
  /** Where it was found on PATH, and the binary that path resolves to. */
  foundAt: string;
  path: string;
  digest: string;
}

export class ToolResolver {
  private cache = new Map<string, Promise<ToolIdentity>>();

  constructor(
    private readonly digester: FileDigester,
    private readonly searchPath = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    /** Tool name -> hint for a missing tool (e.g. the Debian package that provides it). */
    private readonly hints: Record<string, string> = {},
  ) {}

  forget(): void {
    this.cache.clear();
  }

  resolve(name: string): Promise<ToolIdentity> {
    let p = this.cache.get(name);
    if (!p) {
      p = this.find(name);
      this.cache.set(name, p);
    }
    return p;
  }

  private async find(name: string): Promise<ToolIdentity> {
    const dirs = this.searchPath.split(delimiter).filter(Boolean);
    // sbin directories hold tools such as depmod and mkfs.fat that a non-root PATH may lack.
    for (const extra of ['/usr/local/sbin', '/usr/sbin', '/sbin']) if (!dirs.includes(extra)) dirs.push(extra);
    for (const dir of dirs) {
      const candidate = join(dir, name);
      try {
        await access(candidate, fsConstants.X_OK);
        const st = await stat(candidate);
        if (!st.isFile()) continue;
        const path = await realpath(candidate);
        return { name, foundAt: candidate, path, digest: await this.digester.digest(path) };
      } catch {
        continue;
      }
    }
    const hint = this.hints[name];
    throw new MissingInputError(`host tool '${name}' was not found on PATH${hint ? ` (${hint})` : ''}; \`pipeline doctor\` lists what is missing`);
  }
}
