// Small APKINDEX texts for resolver tests, in the real format (checksums are Q1 + base64 SHA1).
import { createHash } from 'node:crypto';
import { type ApkIndex, type ApkRepositoryRef, parseApkIndex } from '../../stages/sources/apk/apkindex.js';

export interface PackageSpec {
  /** `name-version`, e.g. `busybox-1.35.0-r17`. */
  nv: string;
  D?: string;
  p?: string;
  i?: string;
  k?: number;
  A?: string;
  /** Extra raw lines (`Z:new-field`). */
  extra?: string[];
}

/** Splits `name-version` at the last dash followed by a digit (as apk_pkg_parse_name). */
export function splitNameVersion(nv: string): [string, string] {
  const m = /^(.*?)-(\d[^-]*-r\d+)$/.exec(nv) ?? /^(.*)-(\d[^-]*)$/.exec(nv);
  if (!m) throw new Error(`test package "${nv}" is not name-version`);
  return [m[1]!, m[2]!];
}

export function record(spec: PackageSpec, salt = ''): string {
  const [name, version] = splitNameVersion(spec.nv);
  const checksum = 'Q1' + createHash('sha1').update(`${salt}${name}-${version}`).digest('base64');
  const lines = [`C:${checksum}`, `P:${name}`, `V:${version}`, `A:${spec.A ?? 'x86_64'}`, 'S:1024', 'I:4096', `T:test package ${name}`];
  if (spec.k !== undefined) lines.push(`k:${spec.k}`);
  if (spec.D) lines.push(`D:${spec.D}`);
  if (spec.p) lines.push(`p:${spec.p}`);
  if (spec.i) lines.push(`i:${spec.i}`);
  lines.push(...(spec.extra ?? []));
  return lines.join('\n') + '\n';
}

export function indexText(specs: PackageSpec[], salt = ''): string {
  return specs.map((s) => record(s, salt)).join('\n');
}

export function repo(name: string, specs: PackageSpec[], extra: Partial<ApkRepositoryRef> = {}): ApkIndex {
  const ref: ApkRepositoryRef = { name, url: `http://127.0.0.1:9/${name}/x86_64`, ...extra };
  return parseApkIndex(indexText(specs, name), ref);
}
