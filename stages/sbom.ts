// sbom.spdx.json: an SPDX 2.3 JSON document of what went into a variant's image: every package
// (name, version, SHA-256 of the .apk, the index's C: checksum, license, origin, repository
// URL without credentials, supplier) and every custom step (its command and output digest),
// with DOCUMENT DESCRIBES image and image CONTAINS each of them.
// Deterministic: created = SOURCE_DATE_EPOCH, lists sorted, and the namespace is a UUID URN
// derived from the document's own content, so equal inputs give equal bytes.
import { sha256File } from '../graph/hash.js';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeSpec } from '../graph/node.js';
import { digestTree } from '../graph/tree-digest.js';
import { uuidFromContent } from './rootfs/content-uuid.js';
import type { PkgInfo } from './sources/apk/package.js';
import type { RpmInfo } from './sources/rpm/package.js';
import { epochEnv, parseSourceDateEpoch, type StampsTime } from './shared/source-date-epoch.js';
import type { StageKind } from './kind.js';

export const SBOM_FILE = 'sbom.spdx.json';
export const SBOM_KIND_VERSION = 1;
export const SBOM_TOOL = 'Tool: pipeline-0.1.0';

export interface SbomPackageInput {
  /** Default apk. */
  format?: 'apk' | 'rpm';
  name: string;
  version: string;
  arch?: string;
  /** APKINDEX `C:` (Q1 + base64 SHA-1 of the control segment). */
  indexChecksum: string;
  /** SHA-256 (hex) of the .apk file. */
  sha256: string;
  /** Repository the package comes from (credentials are removed). */
  repositoryUrl: string;
  fileName: string;
  /** The package's .PKGINFO (license, origin, maintainer, url, pkgdesc). */
  pkginfo: Pick<PkgInfo, 'license' | 'origin' | 'maintainer' | 'url' | 'pkgdesc' | 'arch'>;
}

export interface SbomStepInput {
  /** Step name in the variant. */
  name: string;
  /** Node id (`step:<variant>:<name>`). */
  id: string;
  run: string[];
  /** SHA-256 over the step's output tree (graph/tree-digest), when known. */
  outputDigest?: string;
}

/** A recipe built from source: what recipe.json of its node says. */
export interface SbomRecipeInput {
  name: string;
  version: string;
  license?: string;
  description?: string;
  /** recipes/<name>.rhai */
  file: string;
  sources: { url: string; sha256: string }[];
  /** SHA-256 over the recipe's output tree. */
  outputDigest?: string;
}

export interface SbomInput {
  variant: string;
  recipes?: readonly SbomRecipeInput[];
  /** The image's version (os-release VERSION_ID). */
  version?: string;
  packages: readonly SbomPackageInput[];
  steps?: readonly SbomStepInput[];
  sourceDateEpoch: number;
}

type Json = Record<string, unknown>;

export class SbomError extends Error {
  override name = 'SbomError';
}

/** A URL without user, password, query or fragment (tokens live there). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    parsed.hash = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    // Not absolute (a placeholder or a path): drop anything before an '@' in the authority.
    return url.replace(/^([a-z]+:\/\/)?[^/@]*@/i, '$1').replace(/[?#].*$/, '');
  }
}

/** SPDX ids allow letters, digits, '.' and '-'. */
function spdxId(kind: string, ...parts: string[]): string {
  return `SPDXRef-${kind}-${parts.map((p) => p.replace(/[^A-Za-z0-9.-]/g, '-')).join('-')}`;
}

const LICENSE_ID = /^(DocumentRef-[A-Za-z0-9.-]+:)?(LicenseRef-[A-Za-z0-9.-]+|[A-Za-z0-9][A-Za-z0-9.-]*\+?)$/;

/** Whether a license text is a syntactically valid SPDX license expression. */
export function isSpdxExpression(text: string): boolean {
  const tokens = text.replace(/([()])/g, ' $1 ').trim().split(/\s+/).filter(Boolean);
  let at = 0;
  const id = (): boolean => at < tokens.length && !['AND', 'OR', 'WITH', '(', ')'].includes(tokens[at]) && LICENSE_ID.test(tokens[at]) && ++at > 0;
  const atom = (): boolean => {
    if (tokens[at] === '(') {
      at++;
      if (!expr() || tokens[at] !== ')') return false;
      at++;
      return true;
    }
    return id();
  };
  const term = (): boolean => {
    if (!atom()) return false;
    if (tokens[at] === 'WITH') {
      at++;
      return id();
    }
    return true;
  };
  const expr = (): boolean => {
    if (!term()) return false;
    while (tokens[at] === 'AND' || tokens[at] === 'OR') {
      at++;
      if (!term()) return false;
    }
    return true;
  };
  return tokens.length > 0 && expr() && at === tokens.length;
}

/** `Name <mail>` -> `Person: Name (mail)`, the SPDX supplier form. */
function supplierOf(maintainer: string | undefined): string {
  if (!maintainer) return 'NOASSERTION';
  const match = /^\s*(.*?)\s*<([^>]+)>\s*$/.exec(maintainer);
  return match ? `Person: ${match[1]} (${match[2]})` : `Person: ${maintainer.trim()}`;
}

export function buildSbomDocument(input: SbomInput): Json {
  const imageId = spdxId('Image', input.variant);
  const extracted = new Map<string, string>();
  const license = (text: string | undefined): string => {
    if (!text) return 'NOASSERTION';
    if (isSpdxExpression(text)) return text;
    const ref = `LicenseRef-${text.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-|-$/g, '')}`;
    extracted.set(ref, text);
    return ref;
  };
  const packages = [...input.packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const steps = [...(input.steps ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const packageEntries = packages.map((pkg) => {
    if (!/^[0-9a-f]{64}$/.test(pkg.sha256)) throw new SbomError(`package ${pkg.name} ${pkg.version}: sha256 ${pkg.sha256} is not a hex SHA-256`);
    const arch = pkg.arch ?? pkg.pkginfo.arch ?? 'x86_64';
    const origin = pkg.pkginfo.origin ?? pkg.name;
    const format = pkg.format ?? 'apk';
    const purl =
      format === 'rpm'
        ? `pkg:rpm/${encodeURIComponent(pkg.name)}@${encodeURIComponent(pkg.version)}?arch=${arch}&upstream=${encodeURIComponent(origin)}`
        : `pkg:apk/alpine/${encodeURIComponent(pkg.name)}@${encodeURIComponent(pkg.version)}?arch=${arch}&origin=${encodeURIComponent(origin)}`;
    const entry: Json = {
      name: pkg.name,
      SPDXID: spdxId(format === 'rpm' ? 'Package-rpm' : 'Package-apk', pkg.name, pkg.version),
      versionInfo: pkg.version,
      supplier: supplierOf(pkg.pkginfo.maintainer),
      downloadLocation: `${redactUrl(pkg.repositoryUrl)}/${pkg.fileName}`,
      filesAnalyzed: false,
      checksums: [{ algorithm: 'SHA256', checksumValue: pkg.sha256 }],
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: license(pkg.pkginfo.license),
      copyrightText: 'NOASSERTION',
      sourceInfo: `built from the ${origin} source package`,
      externalRefs: [
        { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl },
        { referenceCategory: 'OTHER', referenceType: format === 'rpm' ? 'rpm-repodata-checksum' : 'apk-index-checksum', referenceLocator: pkg.indexChecksum },
      ],
    };
    if (pkg.pkginfo.url) entry.homepage = pkg.pkginfo.url;
    if (pkg.pkginfo.pkgdesc) entry.summary = pkg.pkginfo.pkgdesc;
    return entry;
  });
  const stepEntries = steps.map((step) => {
    const entry: Json = {
      name: step.name,
      SPDXID: spdxId('Step', step.name),
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      comment: `custom step ${step.id}: ${step.run.join(' ')}`,
    };
    if (step.outputDigest) entry.checksums = [{ algorithm: 'SHA256', checksumValue: step.outputDigest }];
    return entry;
  });
  const recipes = [...(input.recipes ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const recipeEntries = recipes.map((recipe) => {
    const entry: Json = {
      name: recipe.name,
      SPDXID: spdxId('Recipe', recipe.name, recipe.version),
      versionInfo: recipe.version,
      // The first pinned source is where it comes from; every source is listed with its sha256.
      downloadLocation: recipe.sources[0] ? redactUrl(recipe.sources[0].url) : 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: license(recipe.license),
      copyrightText: 'NOASSERTION',
      sourceInfo: `built from source by ${recipe.file}; sources: ${recipe.sources.map((s) => `${redactUrl(s.url)} sha256:${s.sha256}`).join(', ') || 'none'}`,
      externalRefs: recipe.sources.map((s) => ({ referenceCategory: 'OTHER', referenceType: 'source-sha256', referenceLocator: `${s.sha256}` })),
    };
    if (recipe.description) entry.summary = recipe.description;
    if (recipe.outputDigest) entry.checksums = [{ algorithm: 'SHA256', checksumValue: recipe.outputDigest }];
    return entry;
  });
  const image: Json = {
    name: input.variant,
    SPDXID: imageId,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: 'OPERATING-SYSTEM',
  };
  if (input.version) image.versionInfo = input.version;
  const contained = [...packageEntries, ...recipeEntries, ...stepEntries];
  const body: Json = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${input.variant}${input.version ? `-${input.version}` : ''} image`,
    documentNamespace: '',
    creationInfo: { created: new Date(input.sourceDateEpoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'), creators: [SBOM_TOOL] },
    packages: [image, ...contained],
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId },
      ...contained.map((p) => ({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: p.SPDXID })),
    ],
  };
  if (extracted.size > 0) {
    body.hasExtractedLicensingInfos = [...extracted.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([licenseId, text]) => ({ licenseId, extractedText: text, name: text }));
  }
  body.documentNamespace = `urn:uuid:${uuidFromContent(JSON.stringify(body))}`;
  return body;
}

export function serializeSbom(document: Json): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}


export interface SbomNodeOptions extends StampsTime {
  variant: string;
  version?: string;
  /** Every package in the image, with its fetch (the .apk or .rpm) and unpack (pkginfo.json or rpminfo.json) nodes. */
  packages: ReadonlyArray<{ name: string; version: string; indexChecksum: string; repositoryUrl: string; fetchNode: string; unpackNode: string }>;
  /** Custom steps in the image, with their node ids. */
  steps?: ReadonlyArray<{ name: string; id: string; run: string[] }>;
  /** Recipes in the image, with their node ids (recipe.json in each output). */
  recipes?: ReadonlyArray<{ name: string; id: string }>;
}

/** An SPDX 2.3 SBOM of the packages and steps that made the image. */
export const SBOM_STAGE: StageKind = { kind: 'sbom', version: SBOM_KIND_VERSION, summary: 'SPDX SBOM', tools: [] };

/** `sbom:<variant>`: sbom.spdx.json. */
export function sbomNode(options: SbomNodeOptions): NodeSpec {
  const deps: Record<string, string> = {};
  const packages = options.packages.map((pkg) => {
    deps[`fetch:${pkg.name}`] = pkg.fetchNode;
    deps[`unpack:${pkg.name}`] = pkg.unpackNode;
    return { name: pkg.name, version: pkg.version, indexChecksum: pkg.indexChecksum, repositoryUrl: redactUrl(pkg.repositoryUrl) };
  });
  const steps = (options.steps ?? []).map((step) => {
    deps[`step:${step.name}`] = step.id;
    return { name: step.name, id: step.id, run: step.run };
  });
  const recipes = (options.recipes ?? []).map((recipe) => {
    deps[`recipe:${recipe.name}`] = recipe.id;
    return recipe.name;
  });
  return {
    id: `sbom:${options.variant}`,
    kind: SBOM_STAGE.kind,
    version: SBOM_KIND_VERSION,
    deps,
    params: { variant: options.variant, version: options.version ?? null, packages, steps, ...(recipes.length ? { recipes } : {}) },
    env: epochEnv(options),
    description: `SPDX 2.3 SBOM of ${options.variant}: ${packages.length} packages, ${recipes.length} recipes, ${steps.length} steps`,
    async run(ctx) {
      const inputs: SbomPackageInput[] = [];
      for (const pkg of packages) {
        const unpacked = ctx.dep(`unpack:${pkg.name}`);
        const rpminfo = await readFile(join(unpacked, 'rpminfo.json'), 'utf8').then((t) => JSON.parse(t) as RpmInfo, () => undefined);
        if (rpminfo) {
          const fileName = (await readdir(ctx.dep(`fetch:${pkg.name}`))).find((f) => f.endsWith('.rpm'))!;
          const pkginfo = { license: rpminfo.license, origin: rpminfo.sourceRpm.replace(/-[^-]+-[^-]+\.src\.rpm$/, '') || undefined, pkgdesc: rpminfo.summary, arch: rpminfo.arch };
          inputs.push({ ...pkg, format: 'rpm', arch: rpminfo.arch, fileName, pkginfo, sha256: await sha256File(join(ctx.dep(`fetch:${pkg.name}`), fileName)) });
          continue;
        }
        const fileName = `${pkg.name}-${pkg.version}.apk`;
        const pkginfo = JSON.parse(await readFile(join(unpacked, 'pkginfo.json'), 'utf8')) as PkgInfo;
        inputs.push({ ...pkg, fileName, pkginfo, sha256: await sha256File(join(ctx.dep(`fetch:${pkg.name}`), fileName)) });
      }
      const stepInputs: SbomStepInput[] = [];
      for (const step of steps) stepInputs.push({ ...step, outputDigest: (await digestTree(ctx.dep(`step:${step.name}`))).digest });
      const recipeInputs: SbomRecipeInput[] = [];
      for (const name of recipes) {
        const dir = ctx.dep(`recipe:${name}`);
        const info = JSON.parse(await readFile(join(dir, 'recipe.json'), 'utf8')) as SbomRecipeInput;
        recipeInputs.push({ ...info, outputDigest: (await digestTree(join(dir, 'root'))).digest });
      }
      const document = buildSbomDocument({
        variant: options.variant,
        recipes: recipeInputs,
        version: options.version,
        packages: inputs,
        steps: stepInputs,
        sourceDateEpoch: parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH, ctx.id),
      });
      await writeFile(join(ctx.out, SBOM_FILE), serializeSbom(document));
    },
  };
}
