// One unpacked package as the apk-unpack or rpm-unpack node left it: root/, manifest.json,
// scripts/, and pkginfo.json (APK) or rpminfo.json (RPM).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readManifest, type TreeManifest } from '../shared/manifest.js';
import type { PkgInfo } from '../sources/apk/package.js';
import type { RpmInfo } from '../sources/rpm/package.js';
import { RootfsError } from './errors.js';

export interface UnpackedPackage {
  format: 'apk' | 'rpm';
  name: string;
  version: string;
  /** The unpack output directory. */
  dir: string;
  manifest: TreeManifest;
  /** APK: .PKGINFO. */
  pkginfo?: PkgInfo;
  /** RPM: the header's facts (scriptlets recorded, never run). */
  rpminfo?: RpmInfo;
  /** Install script name (`post-install`) -> absolute path of the script file. */
  scripts: Map<string, string>;
}

export async function readUnpackedPackage(dir: string, expectedName?: string): Promise<UnpackedPackage> {
  let info: { format: 'apk'; pkginfo: PkgInfo; name: string; version: string } | { format: 'rpm'; rpminfo: RpmInfo; name: string; version: string };
  try {
    const pkginfo = JSON.parse(await readFile(join(dir, 'pkginfo.json'), 'utf8')) as PkgInfo;
    info = { format: 'apk', pkginfo, name: pkginfo.pkgname, version: pkginfo.pkgver };
  } catch (apkErr) {
    try {
      const rpminfo = JSON.parse(await readFile(join(dir, 'rpminfo.json'), 'utf8')) as RpmInfo;
      const evr = `${rpminfo.epoch ? `${rpminfo.epoch}:` : ''}${rpminfo.version}-${rpminfo.release}`;
      info = { format: 'rpm', rpminfo, name: rpminfo.name, version: evr };
    } catch {
      throw new RootfsError(`${dir}: not an unpacked package (pkginfo.json: ${(apkErr as Error).message}); the rootfs node takes apk-unpack and rpm-unpack outputs`);
    }
  }
  if (expectedName !== undefined && info.name !== expectedName) {
    throw new RootfsError(`${dir}: holds package ${info.name}, but the rootfs node lists it as ${expectedName}`);
  }
  const manifest = await readManifest(join(dir, 'manifest.json'));
  const scripts = new Map<string, string>();
  let names: string[] = [];
  try {
    names = await readdir(join(dir, 'scripts'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const name of names.sort()) scripts.set(name, join(dir, 'scripts', name));
  return { ...info, dir, manifest, scripts };
}

/** Package names a package replaces (`replaces = foo<2` -> `foo`). */
export function replacedNames(pkg: UnpackedPackage): Set<string> {
  const names = new Set<string>();
  for (const item of pkg.pkginfo?.replaces ?? []) {
    const name = /^!?([^<>=~]+)/.exec(item)?.[1];
    if (name) names.add(name);
  }
  return names;
}
