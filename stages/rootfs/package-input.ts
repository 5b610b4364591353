// One unpacked package as the apk-unpack node left it: root/, manifest.json, scripts/, pkginfo.json.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readManifest, type TreeManifest } from '../shared/manifest.js';
import type { PkgInfo } from '../sources/apk/package.js';
import { RootfsError } from './errors.js';

export interface UnpackedPackage {
  name: string;
  version: string;
  /** The unpack output directory. */
  dir: string;
  manifest: TreeManifest;
  pkginfo: PkgInfo;
  /** Install script name (`post-install`) -> absolute path of the script file. */
  scripts: Map<string, string>;
}

export async function readUnpackedPackage(dir: string, expectedName?: string): Promise<UnpackedPackage> {
  let pkginfo: PkgInfo;
  try {
    pkginfo = JSON.parse(await readFile(join(dir, 'pkginfo.json'), 'utf8')) as PkgInfo;
  } catch (err) {
    throw new RootfsError(`${dir}: not an unpacked package (pkginfo.json: ${(err as Error).message}); the rootfs node takes apk-unpack outputs`);
  }
  if (expectedName !== undefined && pkginfo.pkgname !== expectedName) {
    throw new RootfsError(`${dir}: holds package ${pkginfo.pkgname}, but the rootfs node lists it as ${expectedName}`);
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
  return { name: pkginfo.pkgname, version: pkginfo.pkgver, dir, manifest, pkginfo, scripts };
}

/** Package names a package replaces (`replaces = foo<2` -> `foo`). */
export function replacedNames(pkg: UnpackedPackage): Set<string> {
  const names = new Set<string>();
  for (const item of pkg.pkginfo.replaces ?? []) {
    const name = /^!?([^<>=~]+)/.exec(item)?.[1];
    if (name) names.add(name);
  }
  return names;
}
