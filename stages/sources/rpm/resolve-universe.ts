// The resolver's view of the repositories (libsolv's "pool"): every installable package once,
// numbered in load order (repositories in the order given, packages in primary.xml order, as
// libsolv numbers solvables), with indexes from a capability name to its providers.
//
// Architecture policy: only `arch` and `noarch` packages enter the pool. libsolv would also
// accept i686 packages on x86_64 (multilib); we never install them, so they are kept aside
// only to explain a dependency that nothing else provides.
import type { RpmDep, RpmPackageMeta, RpmRepository } from './model.js';
import { comparePackageEvr, rangeOf, rangesOverlap } from './version.js';

export interface PoolPackage {
  /** Position in the pool: libsolv's solvable id order, which its rules and ties follow. */
  id: number;
  meta: RpmPackageMeta;
  repository: RpmRepository;
  /** `name-epoch:version-release.arch` (the key filelists lookups answer with). */
  key: string;
  /** dnf's installonly packages (kernels): several versions may coexist (libsolv "multiversion"). */
  installOnly: boolean;
}

/**
 * Every provide of the pool, as slots in flat arrays chained per capability name: indexing
 * allocates nothing per provide and looks each name up once. A name's chain starts at its first
 * slot, then runs from the newest back to the second (a new slot goes in right after the first).
 */
class ProvideSlots {
  /** The first slot of each name. */
  readonly head = new Map<string, number>();
  ids: Int32Array;
  next: Int32Array;
  /** The provide entry; null for the implicit `name = EVR` of a package that does not list it. */
  readonly deps: (RpmDep | null)[] = [];

  constructor(capacity: number) {
    this.ids = new Int32Array(Math.max(capacity, 16));
    this.next = new Int32Array(this.ids.length);
  }

  add(name: string, id: number, dep: RpmDep | null): void {
    const slot = this.deps.length;
    if (slot === this.ids.length) {
      const ids = new Int32Array(slot * 2);
      ids.set(this.ids);
      const next = new Int32Array(slot * 2);
      next.set(this.next);
      this.ids = ids;
      this.next = next;
    }
    this.ids[slot] = id;
    this.deps.push(dep);
    const first = this.head.get(name);
    if (first === undefined) {
      this.head.set(name, slot);
      this.next[slot] = -1;
    } else {
      this.next[slot] = this.next[first]!;
      this.next[first] = slot;
    }
  }

  /** The slots of `name`, in the order they were added. */
  slotsOf(name: string): number[] {
    const first = this.head.get(name);
    if (first === undefined) return [];
    const slots = [first];
    for (let slot = this.next[first]!; slot >= 0; slot = this.next[slot]!) slots.push(slot);
    // [first, newest, ..., second] -> [first, second, ..., newest]
    if (slots.length > 2) slots.push(...slots.splice(1).reverse());
    return slots;
  }
}

/** libdnf's default installonlypkgs: a package providing one of these is multiversion. */
const INSTALL_ONLY = new Set([
  'kernel',
  'kernel-PAE',
  'installonlypkg(kernel)',
  'installonlypkg(kernel-module)',
  'installonlypkg(vm)',
  'multiversion(kernel)',
]);

export function packageKey(p: Pick<RpmPackageMeta, 'name' | 'arch' | 'evr'>): string {
  return `${p.name}-${p.evr.epoch}:${p.evr.version}-${p.evr.release}.${p.arch}`;
}

/** `bash-5.1.8-2.el9.x86_64` (epoch written only when not 0), as dnf prints a NEVRA. */
export function nevra(p: Pick<RpmPackageMeta, 'name' | 'arch' | 'evr'>): string {
  const e = p.evr.epoch > 0 ? `${p.evr.epoch}:` : '';
  return `${p.name}-${e}${p.evr.version}-${p.evr.release}.${p.arch}`;
}

export class PackagePool {
  readonly packages: PoolPackage[] = [];
  /** Packages of other architectures: never installed, named in error messages. */
  readonly foreign: { meta: RpmPackageMeta; repository: RpmRepository }[] = [];
  private readonly byName = new Map<string, PoolPackage[]>();
  private readonly provideIndex: ProvideSlots;
  private readonly fileIndex = new Map<string, number[]>();
  private readonly byKey = new Map<string, PoolPackage>();
  /** File paths whose providers the caller's filelists lookup has answered. */
  private readonly filesAsked = new Set<string>();
  private readonly cache = new Map<string, number[]>();
  private readonly cacheByDep = new Map<object, number[]>();

  constructor(
    repositories: readonly RpmRepository[],
    readonly arch: string,
  ) {
    let provides = 0;
    for (const repository of repositories) for (const meta of repository.packages) provides += meta.provides.length + 1;
    this.provideIndex = new ProvideSlots(provides);
    for (const repository of repositories) {
      for (const meta of repository.packages) {
        if (meta.arch !== arch && meta.arch !== 'noarch') {
          this.foreign.push({ meta, repository });
          continue;
        }
        const key = packageKey(meta);
        const same = this.byKey.get(key);
        if (same) {
          // The same package in several repositories: one candidate, from the best (lowest) priority.
          if (repository.priority < same.repository.priority) same.repository = repository;
          continue;
        }
        const id = this.packages.length;
        let installOnly = INSTALL_ONLY.has(meta.name);
        // rpm packages provide their own name = EVR; primary.xml lists it, libsolv adds it if not.
        let selfProvided = false;
        for (const p of meta.provides) {
          this.provideIndex.add(p.name, id, p);
          if (p.name === meta.name) selfProvided = true;
          else if (!installOnly && INSTALL_ONLY.has(p.name)) installOnly = true;
        }
        if (!selfProvided) this.provideIndex.add(meta.name, id, null);
        const pkg: PoolPackage = { id, meta, repository, key, installOnly };
        this.packages.push(pkg);
        this.byKey.set(key, pkg);
        push(this.byName, meta.name, pkg);
        for (const f of meta.files) {
          const list = this.fileIndex.get(f);
          if (!list) this.fileIndex.set(f, [id]);
          else if (list[list.length - 1] !== id) list.push(id);
        }
      }
    }
  }

  get size(): number {
    return this.packages.length;
  }

  pkg(id: number): PoolPackage {
    return this.packages[id]!;
  }

  /** Packages called `name` (every version), in pool order. */
  named(name: string): readonly PoolPackage[] {
    return this.byName.get(name) ?? [];
  }

  byPackageKey(key: string): PoolPackage | undefined {
    return this.byKey.get(key);
  }

  /** Package names of the pool (for did-you-mean). */
  names(): string[] {
    return [...this.byName.keys()];
  }

  /**
   * The packages meeting a simple (non-rich) dependency, ascending ids. A file path is met by a
   * package listing the file (primary.xml, or filelists through addFileProviders) or providing
   * the path as a capability.
   */
  whatProvides(dep: Pick<RpmDep, 'name' | 'flags' | 'evr'>): number[] {
    // Dependency entries are shared objects (the parser pools them): most lookups end here,
    // without building a key.
    const known = this.cacheByDep.get(dep);
    if (known) return known;
    const cacheKey = dep.flags && dep.evr ? `${dep.name}\0${dep.flags}\0${dep.evr.epoch}:${dep.evr.version}-${dep.evr.release ?? ''}` : dep.name;
    let list = this.cache.get(cacheKey);
    if (!list) this.cache.set(cacheKey, (list = this.providersOf(dep)));
    this.cacheByDep.set(dep, list);
    return list;
  }

  private providersOf(dep: Pick<RpmDep, 'name' | 'flags' | 'evr'>): number[] {
    const required = rangeOf(dep);
    // Slots come in pool order, a package's together (it may list the name twice): ids ascending.
    const out: number[] = [];
    const { ids, deps } = this.provideIndex;
    for (const slot of this.provideIndex.slotsOf(dep.name)) {
      const id = ids[slot]!;
      if (out.length > 0 && out[out.length - 1] === id) continue;
      const provided = deps[slot]!;
      const range = provided === null ? { flags: 'EQ' as const, evr: this.packages[id]!.meta.evr } : rangeOf(provided);
      if (rangesOverlap(range, required)) out.push(id);
    }
    const files = dep.name.startsWith('/') ? this.fileIndex.get(dep.name) : undefined;
    if (!files || files.length === 0) return out;
    return [...new Set([...out, ...files])].sort((a, b) => a - b);
  }

  /** Foreign-architecture packages that would meet a dependency (for messages). */
  foreignProviders(dep: Pick<RpmDep, 'name' | 'flags' | 'evr'>): RpmPackageMeta[] {
    const required = rangeOf(dep);
    return this.foreign
      .filter(({ meta }) =>
        (meta.name === dep.name && rangesOverlap({ flags: 'EQ', evr: meta.evr }, required)) ||
        meta.provides.some((p) => p.name === dep.name && rangesOverlap(rangeOf(p), required)) ||
        meta.files.includes(dep.name),
      )
      .map((f) => f.meta);
  }

  /** Does the pool already know every provider of this path (primary.xml's own file lists)? */
  fileAnswered(path: string): boolean {
    return this.filesAsked.has(path) || this.fileIndex.has(path) || this.provideIndex.head.has(path);
  }

  /** Records a filelists lookup: path -> package keys. Paths asked but absent have no provider. */
  addFileProviders(asked: Iterable<string>, found: ReadonlyMap<string, readonly string[]>): void {
    for (const path of asked) this.filesAsked.add(path);
    for (const [path, keys] of found) {
      this.filesAsked.add(path);
      for (const key of keys) {
        const pkg = this.byKey.get(key);
        if (pkg) pushUnique(this.fileIndex, path, pkg.id);
      }
      const list = this.fileIndex.get(path);
      if (list) list.sort((a, b) => a - b);
    }
    this.cache.clear();
    this.cacheByDep.clear();
  }

  /** Is `a` newer than `b` (same name)? */
  newer(a: PoolPackage, b: PoolPackage): boolean {
    return comparePackageEvr(a.meta.evr, b.meta.evr) > 0;
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function pushUnique<K>(map: Map<K, number[]>, key: K, value: number): void {
  const list = map.get(key);
  if (!list) map.set(key, [value]);
  else if (!list.includes(value)) list.push(value);
}
