// Strings and small objects kept from a streaming parse must not pin the parser's input. saxes
// hands out slices of the chunk it is reading, and V8 keeps a slice of 13 characters or more as a
// view into that chunk: keeping a 40-character provide name would keep its 64 KiB chunk alive, and
// memory would grow with the document instead of with what is kept. detach() copies such strings.
// MetaPool also shares what repeats: strings (dependency names, versions, licenses), EVRs (all of
// a package's `= EVR` provides) and unversioned dependency entries (`libc.so.6(GLIBC_2.34)(64bit)`
// in most packages). Shared objects are frozen: a consumer that tries to change one fails loudly
// instead of changing every package that shares it.
import type { DepFlag, RpmDep } from '../model.js';

/** V8 copies slices shorter than this (SlicedString::kMinLength); longer ones are views. */
const SLICE_MIN_LENGTH = 13;

/** `s` as a string of its own, sharing no memory with the text it was cut from. */
export function detach(s: string): string {
  return s.length < SLICE_MIN_LENGTH ? s : Buffer.from(s, 'utf8').toString('utf8');
}

export type DepEvr = NonNullable<RpmDep['evr']>;

export class MetaPool {
  private readonly strings = new Map<string, string>();
  private readonly evrs = new Map<string, DepEvr>();
  /** Unversioned entries (most requires: sonames, paths), by name; `pre` ones apart. */
  private readonly plainDeps = new Map<string, RpmDep>();
  private readonly plainPreDeps = new Map<string, RpmDep>();
  private readonly versionedDeps = new Map<string, RpmDep>();

  /** The pool's copy of `s` (detached), added on first sight. */
  string(s: string): string {
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    const own = detach(s);
    this.strings.set(own, own);
    return own;
  }

  /** A shared, frozen EVR (`release` absent stays absent). */
  evr(epoch: number, version: string, release: string | undefined): DepEvr {
    const key = release === undefined ? `${epoch}:${version}` : `${epoch}:${version}-${release}\u0000`;
    let evr = this.evrs.get(key);
    if (!evr) {
      evr = Object.freeze(release === undefined ? { epoch, version: this.string(version) } : { epoch, version: this.string(version), release: this.string(release) });
      this.evrs.set(key, evr);
    }
    return evr;
  }

  /** A dependency entry, shared and frozen. */
  dep(name: string, flags: DepFlag | undefined, evr: DepEvr | undefined, pre: boolean): RpmDep {
    if (flags === undefined) {
      const shared = pre ? this.plainPreDeps : this.plainDeps;
      let dep = shared.get(name);
      if (!dep) {
        const own = this.string(name);
        dep = Object.freeze(pre ? { name: own, pre: true } : { name: own });
        shared.set(own, dep);
      }
      return dep;
    }
    const key = `${pre ? '1' : '0'}${flags}${evr!.epoch}:${evr!.version}-${evr!.release ?? '\u0000'}\u0000${name}`;
    let dep = this.versionedDeps.get(key);
    if (!dep) {
      const own: RpmDep = { name: this.string(name), flags, evr };
      if (pre) own.pre = true;
      dep = Object.freeze(own);
      this.versionedDeps.set(key, dep);
    }
    return dep;
  }
}
