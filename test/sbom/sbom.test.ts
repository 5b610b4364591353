// The SBOM: SPDX 2.3 structure (required fields checked here, as the SPDX 2.3 spec lists them),
// determinism, credentials kept out; and the rootfs, squashfs, erofs and sbom nodes run by the
// real engine on packages fetched from the demo mirror over 127.0.0.1.
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../graph/build.js';
import type { NodeSpec } from '../../graph/node.js';
import { Session } from '../../graph/session.js';
import { erofsNode, EROFS_FILE } from '../../stages/erofs.js';
import { readManifest } from '../../stages/shared/manifest.js';
import { rootfsNode } from '../../stages/rootfs.js';
import { buildSbomDocument, isSpdxExpression, redactUrl, sbomNode, SBOM_FILE, serializeSbom, type SbomPackageInput } from '../../stages/sbom.js';
import { apkFetchNode, apkUnpackNode, type PkgInfo } from '../../stages/sources/apk/package.js';
import { squashfsNode, SQUASHFS_FILE } from '../../stages/squashfs.js';
import { DEMO_KEYS_DIR } from '../../fixtures/alpine/signer.js';
import { ensureDemoMirror, type DemoMirror } from '../../fixtures/build-mirror.js';
import { StaticHttpServer } from '../../fixtures/http-server.js';
import { fixturesDir, projectRoot } from '../../fixtures/paths.js';
import { DEMO_EPOCH, demoPackages, type UnpackedFixture } from '../rootfs/packages.js';

type Json = Record<string, any>;

const REPO = 'https://mirror.example/alpine/v3.23/main/x86_64';
let demo: Map<string, UnpackedFixture>;

function sbomInputs(names: string[], repositoryUrl = REPO): SbomPackageInput[] {
  return names.map((name) => {
    const pkg = demo.get(name)!;
    const pkginfo = JSON.parse(readFileSync(join(pkg.dir, 'pkginfo.json'), 'utf8')) as PkgInfo;
    return {
      name,
      version: pkg.version,
      indexChecksum: pkg.checksum,
      sha256: createHash('sha256').update(readFileSync(pkg.apk)).digest('hex'),
      repositoryUrl,
      fileName: `${name}-${pkg.version}.apk`,
      pkginfo,
    };
  });
}

const SPDX_ID = /^SPDXRef-[A-Za-z0-9.-]+$/;
const RELATIONSHIP_TYPES = new Set(['DESCRIBES', 'DESCRIBED_BY', 'CONTAINS', 'CONTAINED_BY', 'DEPENDS_ON', 'GENERATED_FROM', 'BUILD_TOOL_OF']);
const CHECKSUM_LENGTH: Record<string, number> = { SHA1: 40, SHA256: 64, SHA512: 128, MD5: 32 };

/** The SPDX 2.3 rules a consumer relies on: required fields, formats, and references that resolve. */
function spdx23Problems(doc: Json): string[] {
  const problems: string[] = [];
  const need = (cond: boolean, what: string) => {
    if (!cond) problems.push(what);
  };
  need(doc.spdxVersion === 'SPDX-2.3', 'spdxVersion is SPDX-2.3');
  need(doc.dataLicense === 'CC0-1.0', 'dataLicense is CC0-1.0');
  need(doc.SPDXID === 'SPDXRef-DOCUMENT', 'document SPDXID');
  need(typeof doc.name === 'string' && doc.name.length > 0, 'document name');
  need(typeof doc.documentNamespace === 'string' && /^[a-z][a-z0-9+.-]*:/.test(doc.documentNamespace) && !doc.documentNamespace.includes('#'), 'documentNamespace is a URI without #');
  need(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(doc.creationInfo?.created ?? ''), 'creationInfo.created is YYYY-MM-DDThh:mm:ssZ');
  need(Array.isArray(doc.creationInfo?.creators) && doc.creationInfo.creators.length > 0 && doc.creationInfo.creators.every((c: string) => /^(Tool|Organization|Person): \S/.test(c)), 'creators');
  const ids = new Set<string>(['SPDXRef-DOCUMENT']);
  const licenseRefs = new Set<string>((doc.hasExtractedLicensingInfos ?? []).map((l: Json) => l.licenseId));
  for (const info of doc.hasExtractedLicensingInfos ?? []) need(/^LicenseRef-[A-Za-z0-9.-]+$/.test(info.licenseId) && typeof info.extractedText === 'string', `extracted license ${info.licenseId}`);
  for (const pkg of doc.packages ?? []) {
    const where = `package ${pkg.name}`;
    need(typeof pkg.name === 'string' && pkg.name.length > 0, `${where}: name`);
    need(SPDX_ID.test(pkg.SPDXID ?? ''), `${where}: SPDXID form`);
    need(!ids.has(pkg.SPDXID), `${where}: SPDXID unique`);
    ids.add(pkg.SPDXID);
    need(typeof pkg.downloadLocation === 'string' && pkg.downloadLocation.length > 0, `${where}: downloadLocation`);
    need(pkg.filesAnalyzed === false ? pkg.packageVerificationCode === undefined : pkg.packageVerificationCode !== undefined, `${where}: verification code iff files analyzed`);
    for (const c of pkg.checksums ?? []) need(CHECKSUM_LENGTH[c.algorithm] === c.checksumValue?.length && /^[0-9a-f]+$/.test(c.checksumValue), `${where}: checksum ${c.algorithm}`);
    for (const field of ['licenseConcluded', 'licenseDeclared']) {
      const value = pkg[field];
      need(value === 'NOASSERTION' || value === 'NONE' || isSpdxExpression(value), `${where}: ${field} is an SPDX expression`);
      for (const ref of String(value).match(/LicenseRef-[A-Za-z0-9.-]+/g) ?? []) need(licenseRefs.has(ref), `${where}: ${ref} declared`);
    }
    need(typeof pkg.copyrightText === 'string', `${where}: copyrightText`);
    if (pkg.supplier !== undefined) need(/^(NOASSERTION|(Person|Organization): .+)$/.test(pkg.supplier), `${where}: supplier form`);
    for (const ref of pkg.externalRefs ?? []) need(['SECURITY', 'PACKAGE-MANAGER', 'PERSISTENT-ID', 'OTHER'].includes(ref.referenceCategory) && !/\s/.test(ref.referenceLocator), `${where}: externalRef`);
  }
  for (const rel of doc.relationships ?? []) {
    need(RELATIONSHIP_TYPES.has(rel.relationshipType), `relationship type ${rel.relationshipType}`);
    need(ids.has(rel.spdxElementId) && ids.has(rel.relatedSpdxElement), `relationship ${rel.spdxElementId} -> ${rel.relatedSpdxElement} resolves`);
  }
  need((doc.relationships ?? []).some((r: Json) => r.spdxElementId === 'SPDXRef-DOCUMENT' && r.relationshipType === 'DESCRIBES'), 'the document DESCRIBES something');
  return problems;
}

beforeAll(async () => {
  demo = await demoPackages();
}, 600_000);

describe('SPDX document', () => {
  const names = ['alpine-baselayout', 'busybox', 'linux-firmware-none', 'syslinux'];
  const steps = [{ name: 'motd', id: 'step:demo:motd', run: ['sh', '-c', 'echo hi > $OUT/motd'], outputDigest: 'a'.repeat(64) }];

  it('has every package and step with SPDX 2.3 required fields, DESCRIBES and CONTAINS', () => {
    const doc: Json = buildSbomDocument({ variant: 'demo', version: '1.0', packages: sbomInputs(names), steps, sourceDateEpoch: DEMO_EPOCH });
    expect(spdx23Problems(doc)).toEqual([]);
    expect(doc.creationInfo).toEqual({ created: '2026-01-01T00:00:00Z', creators: ['Tool: pipeline-0.1.0'] });
    const busybox = doc.packages.find((p: Json) => p.name === 'busybox');
    const fixture = demo.get('busybox')!;
    expect(busybox).toMatchObject({
      versionInfo: fixture.version,
      supplier: 'Person: Pipeline Demo (demo@pipeline.invalid)',
      downloadLocation: `${REPO}/busybox-${fixture.version}.apk`,
      licenseDeclared: 'GPL-2.0-only',
      sourceInfo: 'built from the busybox source package',
      checksums: [{ algorithm: 'SHA256', checksumValue: createHash('sha256').update(readFileSync(fixture.apk)).digest('hex') }],
    });
    expect(busybox.externalRefs).toContainEqual({ referenceCategory: 'OTHER', referenceType: 'apk-index-checksum', referenceLocator: fixture.checksum });
    expect(busybox.externalRefs[0].referenceLocator).toBe(`pkg:apk/alpine/busybox@${fixture.version}?arch=x86_64&origin=busybox`);
    // linux-firmware-none comes from the linux-firmware source package; its license is no SPDX expression.
    const firmware = doc.packages.find((p: Json) => p.name === 'linux-firmware-none');
    expect(firmware.sourceInfo).toBe('built from the linux-firmware source package');
    expect(firmware.licenseDeclared).toBe('LicenseRef-custom-multiple');
    expect(doc.hasExtractedLicensingInfos).toEqual([{ licenseId: 'LicenseRef-custom-multiple', extractedText: 'custom:multiple', name: 'custom:multiple' }]);
    const step = doc.packages.find((p: Json) => p.name === 'motd');
    expect(step.comment).toBe('custom step step:demo:motd: sh -c echo hi > $OUT/motd');
    const image = doc.packages[0];
    expect(image).toMatchObject({ name: 'demo', versionInfo: '1.0', primaryPackagePurpose: 'OPERATING-SYSTEM' });
    const contains = doc.relationships.filter((r: Json) => r.relationshipType === 'CONTAINS').map((r: Json) => r.relatedSpdxElement);
    expect(contains.length).toBe(names.length + steps.length);
    expect(doc.relationships[0]).toEqual({ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: image.SPDXID });
  });

  it('is deterministic; the namespace follows the content', () => {
    const a = serializeSbom(buildSbomDocument({ variant: 'demo', packages: sbomInputs(names), steps, sourceDateEpoch: DEMO_EPOCH }));
    const b = serializeSbom(buildSbomDocument({ variant: 'demo', packages: sbomInputs([...names].reverse()), steps, sourceDateEpoch: DEMO_EPOCH }));
    expect(a).toBe(b);
    const c = buildSbomDocument({ variant: 'demo', packages: sbomInputs(names.slice(1)), steps, sourceDateEpoch: DEMO_EPOCH });
    expect(c.documentNamespace).not.toBe(JSON.parse(a).documentNamespace);
    expect(JSON.parse(a).documentNamespace).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('keeps credentials and tokens out of repository URLs', () => {
    const secretUrl = 'https://builder:s3cret@mirror.example/alpine/v3.23/main/x86_64?token=abc#frag';
    expect(redactUrl(secretUrl)).toBe(REPO);
    const doc = serializeSbom(buildSbomDocument({ variant: 'demo', packages: sbomInputs(['busybox'], secretUrl), sourceDateEpoch: DEMO_EPOCH }));
    expect(doc).not.toMatch(/s3cret|builder|token|abc/);
    expect(redactUrl('<alpine-mirror>/v3.23/main')).toBe('<alpine-mirror>/v3.23/main');
  });

  it('tells SPDX license expressions from free text', () => {
    for (const ok of ['MIT', 'GPL-2.0-only', 'GPL-2.0-or-later AND LGPL-2.1-or-later', '(MIT OR Apache-2.0) AND BSD-3-Clause', 'GPL-2.0-or-later WITH Classpath-exception-2.0', 'LicenseRef-x', 'GPL-2.0+']) {
      expect(isSpdxExpression(ok), ok).toBe(true);
    }
    for (const bad of ['custom:multiple', 'MIT BSD', 'MIT AND', '(MIT', '', 'AND']) expect(isSpdxExpression(bad), bad).toBe(false);
  });
});

describe('the image nodes through the engine', () => {
  let mirror: DemoMirror;
  let server: StaticHttpServer;
  let project: string;

  beforeAll(async () => {
    mirror = await ensureDemoMirror();
    server = await StaticHttpServer.start(mirror.root);
    project = mkdtempSync(join(fixturesDir(), '.image-nodes-'));
    mkdirSync(join(project, DEMO_KEYS_DIR), { recursive: true });
    cpSync(join(projectRoot(), DEMO_KEYS_DIR), join(project, DEMO_KEYS_DIR), { recursive: true });
    mkdirSync(join(project, 'variants/overlays/demo/etc'), { recursive: true });
    cpSync(join(projectRoot(), 'package.json'), join(project, 'package.json'));
    writeFileSync(join(project, 'variants/overlays/demo/etc/motd'), 'from the overlay\n');
  }, 600_000);

  afterAll(async () => {
    await server?.stop();
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('rootfs, squashfs, erofs and sbom build from fetched packages, then come from the cache', async () => {
    const url = `${server.url}/v3.23/main/x86_64`;
    const names = ['alpine-baselayout', 'busybox', 'alpine-base'];
    const nodes: NodeSpec[] = [];
    const refs = names.map((name) => {
      const p = mirror.packages.find((q) => q.name === name)!;
      const expected = { name, version: p.version, size: p.size, checksum: p.checksum };
      const fetch = apkFetchNode({ ...expected, repositoryUrl: url, keysDir: DEMO_KEYS_DIR });
      const unpack = apkUnpackNode({ ...expected, fetchNode: fetch.id, keysDir: DEMO_KEYS_DIR });
      nodes.push(fetch, unpack);
      return { name, version: p.version, checksum: p.checksum, fetch: fetch.id, unpack: unpack.id };
    });
    const rootfs = rootfsNode({
      variant: 'demo',
      packages: refs.map((r) => ({ name: r.name, node: r.unpack })),
      overlayDir: 'variants/overlays/demo',
      config: { osRelease: { ID: 'demo', NAME: 'Demo', VERSION_ID: '1.0' }, hostname: 'demo', init: 'busybox', rootPassword: 'empty', console: { autologin: 'root' } },
    });
    const squashfs = squashfsNode({ variant: 'demo', rootfs: rootfs.id });
    const erofs = erofsNode({ variant: 'demo', rootfs: rootfs.id });
    const sbom = sbomNode({
      variant: 'demo',
      version: '1.0',
      packages: refs.map((r) => ({ name: r.name, version: r.version, indexChecksum: r.checksum, repositoryUrl: 'https://user:pw@mirror.example/alpine/v3.23/main/x86_64', fetchNode: r.fetch, unpackNode: r.unpack })),
    });
    nodes.push(rootfs, squashfs, erofs, sbom);
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', SOURCE_DATE_EPOCH: String(DEMO_EPOCH) };
    const session = await Session.open({ root: project, callerEnv: env });
    try {
      const first = await build(session, nodes, { jobs: 2 });
      const failures = [...first.outcomes.values()].filter((o) => o.error).map((o) => `${o.id}: ${o.error?.message}`);
      expect(first.ok, failures.join('\n')).toBe(true);
      const rootfsOut = first.outcomes.get(rootfs.id)!.path!;
      const manifest = await readManifest(join(rootfsOut, 'manifest.json'));
      expect(manifest.entries.find((e) => e.path === 'etc/motd')).toMatchObject({ package: 'pipeline:overlay:demo', mode: 0o644 });
      expect(manifest.entries.find((e) => e.path === 'bin/ls')).toMatchObject({ type: 'symlink', package: 'busybox' });
      expect(readFileSync(join(first.outcomes.get(squashfs.id)!.path!, SQUASHFS_FILE)).subarray(0, 4).toString('latin1')).toBe('hsqs');
      expect(readFileSync(join(first.outcomes.get(erofs.id)!.path!, EROFS_FILE)).readUInt32LE(1024)).toBe(0xe0f5e1e2);
      const doc = JSON.parse(readFileSync(join(first.outcomes.get(sbom.id)!.path!, SBOM_FILE), 'utf8'));
      expect(spdx23Problems(doc)).toEqual([]);
      expect(doc.packages.map((p: Json) => p.name)).toEqual(['demo', ...names.sort()]);
      expect(JSON.stringify(doc)).not.toContain('pw@');

      const second = await build(session, nodes, { jobs: 2 });
      expect(second.ok).toBe(true);
      const ran = [...second.outcomes.values()].filter((o) => o.status === 'built').map((o) => o.id);
      expect(ran).toEqual([]);
    } finally {
      await session.close();
    }
  }, 600_000);
});
