// Strings and small objects kept from a streaming parse must not pin the parser's input. The
// scanner hands out slices of the chunk it is reading, and V8 keeps a slice of 13 characters or
// more as a view into that chunk: keeping a 40-character provide name would keep its 64 KiB chunk
// alive, and memory would grow with the document instead of with what is kept. detach() copies
// such strings.
// MetaPool also shares what repeats: strings (names, arches, licenses), EVRs (a package's own, and
// the `= EVR` entries beside it) and dependency entries (`libc.so.6(GLIBC_2.34)(64bit)` in most
// packages). Lookups go through maps keyed by the parts themselves (a versioned entry by its
// name, then compared by value), so no key string is built per entry. Shared objects are
// frozen: a consumer that tries to change one fails loudly instead of changing every package
// that shares it.
import type { DepFlag, RpmDep } from '../model.js';

/** V8 copies slices shorter than this (SlicedString::kMinLength); longer ones are views. */
const SLICE_MIN_LENGTH = 13;

/** Where detach() copies through: one buffer reused, instead of a new Buffer per string. */
const scratch = Buffer.allocUnsafe(16 << 10);
/** Longest string copied through `scratch` (a UTF-16 unit takes at most 3 UTF-8 bytes). */
const SCRATCH_CHARS = scratch.length / 3;

/** `s` as a string of its own, sharing no memory with the text it was cut from. */
export function detach(s: string): string {
  if (s.length < SLICE_MIN_LENGTH) return s;
  if (s.length > SCRATCH_CHARS) return Buffer.from(s, 'utf8').toString('utf8');
  return scratch.toString('utf8', 0, scratch.write(s, 0, 'utf8'));
}

export type DepEvr = NonNullable<RpmDep['evr']>;

/** The EVRs of one epoch: by version, then by release (absent release apart). */
interface EpochEvrs {
  withRelease: Map<string, Map<string, DepEvr>>;
  versionOnly: Map<string, DepEvr>;
}

/**
 * Entries of one name beyond this many are not shared (still correct, just not deduplicated): a
 * hostile document cannot make each lookup walk a long list.
 */
const MAX_ENTRIES_PER_NAME = 32;

export class MetaPool {
  private readonly strings = new Map<string, string>();
  private readonly epochs = new Map<number, EpochEvrs>();
  private readonly epoch0: EpochEvrs = MetaPool.newEpoch();
  /** Unversioned entries (most requires: sonames, paths), by name; `pre` ones apart. */
  private readonly plainDeps = new Map<string, RpmDep>();
  private readonly plainPreDeps = new Map<string, RpmDep>();
  /**
   * Versioned entries by name: the one entry of that name, or the few sharing it (`glibc >= x`
   * and `glibc = y`). Each map holds one shape of object, which keeps V8's lookups monomorphic.
   */
  private readonly versionedDeps = new Map<string, RpmDep | RpmDep[]>();

  private static newEpoch(): EpochEvrs {
    return { withRelease: new Map(), versionOnly: new Map() };
  }

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
    let evrs = epoch === 0 ? this.epoch0 : this.epochs.get(epoch);
    if (!evrs) this.epochs.set(epoch, (evrs = MetaPool.newEpoch()));
    if (release === undefined) {
      let evr = evrs.versionOnly.get(version);
      if (!evr) {
        evr = Object.freeze({ epoch, version: detach(version) });
        evrs.versionOnly.set(evr.version, evr);
      }
      return evr;
    }
    let releases = evrs.withRelease.get(version);
    if (!releases) evrs.withRelease.set(detach(version), (releases = new Map()));
    let evr = releases.get(release);
    if (!evr) {
      evr = Object.freeze({ epoch, version: detach(version), release: detach(release) });
      releases.set(evr.release!, evr);
    }
    return evr;
  }

  /** A dependency entry, shared and frozen. */
  dep(name: string, flags: DepFlag | undefined, evr: DepEvr | undefined, pre: boolean): RpmDep {
    if (flags === undefined) return this.plainDep(name, pre);
    return this.versionedDep(name, flags, evr!.epoch, evr!.version, evr!.release, pre, evr);
  }

  /** An unversioned entry (`libc.so.6(GLIBC_2.34)(64bit)`, `/bin/sh`, a rich dependency). */
  plainDep(name: string, pre: boolean): RpmDep {
    const shared = pre ? this.plainPreDeps : this.plainDeps;
    let dep = shared.get(name);
    if (dep === undefined) {
      const own = detach(name);
      dep = Object.freeze(pre ? { name: own, pre: true } : { name: own });
      shared.set(own, dep);
    }
    return dep;
  }

  /**
   * A versioned entry, found by name and then by value: no EVR is looked up when the entry is
   * known. A new entry takes `evrHint` (frozen, shared) when it has the same EVR (the parser
   * passes the EVR of the entry before: a package's `= EVR` provides share one), else a new one.
   * Most versioned EVRs occur once (kernel symbol hashes), so they are not pooled on their own.
   */
  versionedDep(name: string, flags: DepFlag, epoch: number, version: string, release: string | undefined, pre: boolean, evrHint?: DepEvr): RpmDep {
    const known = this.versionedDeps.get(name);
    if (known !== undefined) {
      if (!Array.isArray(known)) {
        if (sameEntry(known, flags, epoch, version, release, pre)) return known;
      } else {
        for (const d of known) if (sameEntry(d, flags, epoch, version, release, pre)) return d;
      }
    }
    const ownName = known === undefined ? detach(name) : Array.isArray(known) ? known[0]!.name : known.name;
    const evr =
      evrHint !== undefined && evrHint.epoch === epoch && evrHint.version === version && evrHint.release === release
        ? evrHint
        : Object.freeze(release === undefined ? { epoch, version: detach(version) } : { epoch, version: detach(version), release: detach(release) });
    const own: RpmDep = { name: ownName, flags, evr };
    if (pre) own.pre = true;
    const dep = Object.freeze(own);
    if (known === undefined) this.versionedDeps.set(ownName, dep);
    else if (!Array.isArray(known)) this.versionedDeps.set(ownName, [known, dep]);
    else if (known.length < MAX_ENTRIES_PER_NAME) known.push(dep);
    return dep;
  }
}

function sameEntry(d: RpmDep, flags: DepFlag, epoch: number, version: string, release: string | undefined, pre: boolean): boolean {
  const evr = d.evr!;
  return d.flags === flags && evr.version === version && evr.release === release && evr.epoch === epoch && (d.pre === true) === pre;
}
