// Small synthetic RPM repositories for resolver tests, written compactly:
//   pkg('foo-1.0-1.x86_64', { R: ['bar >= 2', '(baz or qux)'], P: ['libfoo.so.1()(64bit)'] })
// NEVRA `name-[epoch:]version-release.arch`; dependencies as rpm writes them (`name op evr`, or
// a rich expression in parentheses, kept whole as primary.xml keeps it).
import type { DepFlag, RpmDep, RpmPackageMeta, RpmRepository } from '../../stages/sources/rpm/model.js';
import { parseDepEvr } from '../../stages/sources/rpm/rich-deps.js';

export interface PackageSpec {
  /** requires */
  R?: string[];
  /** Requires(pre) */
  Rpre?: string[];
  P?: string[];
  C?: string[];
  O?: string[];
  Rec?: string[];
  Sug?: string[];
  Sup?: string[];
  Enh?: string[];
  /** files primary.xml lists */
  F?: string[];
}

const FLAGS: Record<string, DepFlag> = { '=': 'EQ', '<': 'LT', '<=': 'LE', '>': 'GT', '>=': 'GE' };

export function dep(text: string, pre = false): RpmDep {
  if (text.startsWith('(')) return { name: text };
  const words = text.split(/\s+/);
  const base: RpmDep =
    words.length === 3
      ? {
          name: words[0]!,
          flags: FLAGS[words[1]!]!,
          evr: parseDepEvr(words[2]!, (reason) => {
            throw new Error(reason);
          }),
        }
      : { name: words[0]! };
  return pre ? { ...base, pre: true } : base;
}

export function pkg(nevra: string, spec: PackageSpec = {}): RpmPackageMeta {
  const m = /^(.+)-(?:(\d+):)?([^-]+)-([^-]+)\.([^.]+)$/.exec(nevra);
  if (!m) throw new Error(`bad NEVRA ${nevra}`);
  const [, name, epoch, version, release, arch] = m as unknown as [string, string, string | undefined, string, string, string];
  const evr = { epoch: epoch ? Number(epoch) : 0, version, release };
  return {
    name,
    arch,
    evr,
    checksum: { type: 'sha256', hex: nevra.padEnd(64, '0').slice(0, 64) },
    size: 1000,
    installedSize: 2000,
    location: `Packages/${name[0]}/${nevra}.rpm`,
    summary: name,
    license: 'MIT',
    sourceRpm: `${name}-${version}-${release}.src.rpm`,
    // rpm packages provide their own name = EVR; primary.xml lists it.
    provides: [{ name, flags: 'EQ', evr }, ...(spec.P ?? []).map((t) => dep(t))],
    requires: [...(spec.R ?? []).map((t) => dep(t)), ...(spec.Rpre ?? []).map((t) => dep(t, true))],
    conflicts: (spec.C ?? []).map((t) => dep(t)),
    obsoletes: (spec.O ?? []).map((t) => dep(t)),
    recommends: (spec.Rec ?? []).map((t) => dep(t)),
    suggests: (spec.Sug ?? []).map((t) => dep(t)),
    supplements: (spec.Sup ?? []).map((t) => dep(t)),
    enhances: (spec.Enh ?? []).map((t) => dep(t)),
    files: spec.F ?? [],
  };
}

export function repo(name: string, packages: RpmPackageMeta[], priority = 99): RpmRepository {
  return { name, priority, packages };
}
