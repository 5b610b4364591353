// Unpacked packages for the rootfs, squashfs and sbom suites: real APK v2 files built with the
// fixture abuild (fixtures/alpine), verified and unpacked by the apk-unpack code, exactly
// what the rootfs node gets from apk-unpack nodes. The demo set is built once into
// out/fixtures/rootfs/ and shared by the suites; small custom packages are built per test.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { loadTrustedKeys, type TrustedKeys } from '../../stages/sources/apk/trust.js';
import { unpackApk } from '../../stages/sources/apk/package.js';
import { buildApk, type ApkBuildOptions, type ApkFileSpec, type ApkSpec, type BuiltApk } from '../../fixtures/alpine/abuild.js';
import { DEMO_EPOCH, demoPackageSpecs, fetchDemoDebs } from '../../fixtures/alpine/demo-packages.js';
import { DEMO_KEYS_DIR } from '../../fixtures/alpine/signer.js';
import { fixturesDir, projectRoot } from '../../fixtures/paths.js';

export { DEMO_EPOCH };

/** Bump when what this file builds changes. */
const FIXTURE_VERSION = 1;

export interface UnpackedFixture {
  name: string;
  version: string;
  /** apk-unpack output directory. */
  dir: string;
  /** The .apk file (for SBOM checksums). */
  apk: string;
  /** APKINDEX `C:`. */
  checksum: string;
}

let keys: Promise<TrustedKeys> | undefined;
function demoKeys(): Promise<TrustedKeys> {
  keys ??= loadTrustedKeys(join(projectRoot(), DEMO_KEYS_DIR));
  return keys;
}

/** Builds one package (abuild options: keepOrder for unsorted trees) and unpacks it under `parent/<name>/` (the .apk beside it). */
export async function buildAndUnpack(spec: ApkSpec, parent: string, options: ApkBuildOptions = {}): Promise<UnpackedFixture> {
  const built: BuiltApk = await buildApk(spec, options);
  await mkdir(parent, { recursive: true });
  const apk = join(parent, built.fileName);
  await writeFile(apk, built.bytes);
  const dir = join(parent, spec.name);
  await mkdir(dir);
  await unpackApk({
    apkPath: apk,
    expected: { name: built.name, version: built.version, size: built.bytes.length, checksum: built.checksum },
    keys: await demoKeys(),
    outDir: dir,
  });
  return { name: built.name, version: built.version, dir, apk, checksum: built.checksum };
}

/** A small package for conflict, replaces and script tests. */
export function customSpec(name: string, files: ApkFileSpec[], extra: Partial<ApkSpec> = {}): ApkSpec {
  return {
    name,
    version: '1.0-r0',
    description: `test package ${name}`,
    url: 'https://pipeline.invalid/',
    license: 'MIT',
    epoch: DEMO_EPOCH,
    files,
    ...extra,
  };
}

/** Package order of the demo rootfs (dependencies first, as the resolver orders them). */
export const DEMO_ORDER = [
  'alpine-baselayout',
  'busybox',
  'alpine-base',
  'linux-firmware-none',
  'linux-lts',
  'syslinux',
  'systemd-boot',
  'systemd-efistub',
];

/** The demo repository's packages, unpacked (built on first use, then reused). */
export async function demoPackages(): Promise<Map<string, UnpackedFixture>> {
  const debs = await fetchDemoDebs();
  const stamp = createHash('sha256')
    .update(JSON.stringify({ FIXTURE_VERSION, debs: Object.values(debs).map((p) => basename(p)).sort() }))
    .digest('hex')
    .slice(0, 12);
  const parent = join(fixturesDir(), 'rootfs');
  const final = join(parent, `demo-${stamp}`);
  if (!existsSync(join(final, 'index.json'))) {
    await mkdir(parent, { recursive: true });
    const work = await mkdtemp(join(parent, '.build-'));
    try {
      const specs = await demoPackageSpecs(debs, join(work, 'scratch'));
      const index: UnpackedFixture[] = [];
      for (const spec of specs) {
        const unpacked = await buildAndUnpack(spec, join(work, 'packages'));
        index.push({ ...unpacked, dir: spec.name, apk: basename(unpacked.apk) });
      }
      await rm(join(work, 'scratch'), { recursive: true, force: true });
      await writeFile(join(work, 'index.json'), JSON.stringify(index, null, 2));
      // Another suite may have finished first: then its copy is used and this one dropped.
      await rename(work, final).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
        await rm(work, { recursive: true, force: true });
      });
    } catch (err) {
      await rm(work, { recursive: true, force: true });
      throw err;
    }
  }
  const index = JSON.parse(await readFile(join(final, 'index.json'), 'utf8')) as UnpackedFixture[];
  return new Map(
    index.map((entry) => [entry.name, { ...entry, dir: join(final, 'packages', entry.dir), apk: join(final, 'packages', entry.apk) }]),
  );
}
