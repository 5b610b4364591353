// The recipe skeleton a model fills for `pipeline recipe llm` / `pipeline recipe draft`: a fixed,
// flat JSON object (name, version, description, license, source URL, build system, a few
// commands). The model never writes Rhai and never chooses a sha256: the tool renders the recipe
// from a template (draft.ts) and computes the digest itself.
//
// RECIPE_SKELETON_SCHEMA is what generation is constrained by (a grammar can enforce types,
// lengths, enums and the shape, not regular expressions); validateSkeleton checks everything,
// patterns and what no grammar can say included, and names each problem so that one retry can
// show the model what to fix.

export const BUILD_SYSTEMS = ['autotools', 'cmake', 'meson', 'make', 'cargo', 'go', 'python', 'custom'] as const;
export type BuildSystem = (typeof BUILD_SYSTEMS)[number];

export interface RecipeSkeleton {
  name: string;
  version: string;
  description: string;
  license: string;
  source_url: string;
  build_system: BuildSystem;
  build_commands: string[];
  install_commands: string[];
}

export const SKELETON_LIMITS = { name: 40, version: 20, description: 100, license: 40, source_url: 200, commands: 4, command: 120 } as const;

// The schema's patterns: bounded (a grammar made from them must not allow more than maxLength).
export const SKELETON_PATTERNS = {
  name: '^[a-z][a-z0-9-]{0,39}$',
  version: '^[0-9][0-9A-Za-z.+~_-]{0,19}$',
  // One SPDX identifier, or two joined by AND or OR (validateSkeleton checks SPDX_EXPRESSION too).
  license: '^[A-Za-z0-9][A-Za-z0-9.+-]{0,18}( (AND|OR) [A-Za-z0-9][A-Za-z0-9.+-]{0,14})?$',
  // A host, a path, and an archive's file name: what a grammar holds a model to, so that even a
  // small model's answer names something `download` and `extract` can take.
  source_url:
    '^(https?://[a-z0-9][a-z0-9-]{0,19}(\\.[a-z0-9][a-z0-9-]{0,19}){0,3}(:[0-9]{1,5})?|mirror://[a-z0-9][a-z0-9-]{0,19})(/[A-Za-z0-9._~+-]{1,30}){0,2}/[A-Za-z0-9_~+-][A-Za-z0-9._~+-]{0,29}\\.(tar\\.gz|tgz|tar\\.xz|txz|tar\\.zst|tar\\.bz2|tbz2|tar|zip)$',
  // An install command writes into $OUT (a name on its own: $OUTPUT is not $OUT).
  install_command: '^[ -~]{0,50}\\$OUT([^A-Za-z0-9_][ -~]{0,60})?$',
} as const;

/** An SPDX expression: identifiers (GPL-3.0-or-later, MIT, LicenseRef-x) joined by AND, OR, WITH, maybe in parentheses. */
export const SPDX_EXPRESSION = /^\(?[A-Za-z0-9][A-Za-z0-9.+-]*\)?( (AND|OR|WITH) \(?[A-Za-z0-9][A-Za-z0-9.+-]*\)?)*$/;

const commands = (what: string, more: { pattern?: string; minItems?: number } = {}) =>
  ({
    type: 'array',
    description: `${what}: shell commands run one by one in the unpacked source directory${more.minItems ? '' : "; empty for the build system's usual ones"}`,
    items: { type: 'string', minLength: 1, maxLength: SKELETON_LIMITS.command, ...(more.pattern ? { pattern: more.pattern } : {}) },
    maxItems: SKELETON_LIMITS.commands,
    ...(more.minItems ? { minItems: more.minItems } : {}),
  }) as const;

/** The skeleton as a JSON schema: every property required, nothing else allowed. */
export const RECIPE_SKELETON_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'version', 'description', 'license', 'source_url', 'build_system', 'build_commands', 'install_commands'],
  properties: {
    name: { type: 'string', description: 'package name, lower case', minLength: 1, maxLength: SKELETON_LIMITS.name, pattern: SKELETON_PATTERNS.name },
    version: { type: 'string', description: 'upstream version, e.g. 1.2.3', minLength: 1, maxLength: SKELETON_LIMITS.version, pattern: SKELETON_PATTERNS.version },
    description: { type: 'string', description: 'one line', minLength: 1, maxLength: SKELETON_LIMITS.description },
    license: { type: 'string', description: 'SPDX expression, e.g. MIT', minLength: 1, maxLength: SKELETON_LIMITS.license, pattern: SKELETON_PATTERNS.license },
    source_url: {
      type: 'string',
      description: 'the release archive (.tar.gz, .tar.xz, .zip...), https:// or mirror://<name>/<path>',
      minLength: 1,
      maxLength: SKELETON_LIMITS.source_url,
      pattern: SKELETON_PATTERNS.source_url,
    },
    build_system: { enum: BUILD_SYSTEMS },
    build_commands: commands('build'),
    install_commands: commands('install into $OUT', { pattern: SKELETON_PATTERNS.install_command, minItems: 1 }),
  },
} as const;

/**
 * The schema a model is run under: RECIPE_SKELETON_SCHEMA, with `name` fixed to the caller's
 * (`const`) when one is given. A local model's grammar (schema-grammar.ts) enforces its patterns.
 */
export function skeletonSchema(name?: string): Record<string, unknown> {
  const schema = structuredClone(RECIPE_SKELETON_SCHEMA) as unknown as { properties: Record<string, unknown> };
  if (name !== undefined) schema.properties.name = { const: name };
  return schema as unknown as Record<string, unknown>;
}

/** File name endings extract() unpacks. */
export const ARCHIVE_SUFFIXES = ['.tar.gz', '.tgz', '.tar.xz', '.txz', '.tar.zst', '.tar.bz2', '.tbz2', '.tar', '.zip'];

/** Names a recipe cannot take: recipes/base.rhai is the common base. */
const RESERVED_NAMES = new Set(['base']);

// Any control character (newline, NUL, escape...) and the Unicode line/paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const NETWORK = /(^|[\s;&|(])(curl|wget|git\s+clone|git\s+fetch|pip3?\s+download)\b/;
const WRITES_OUT = /\$OUT\b|\$\{OUT\}/;

export interface SkeletonOptions {
  /** The name the caller fixed (`recipe draft NAME`): the answer's name must be it; its pattern is the caller's to check. */
  name?: string;
}

/** Checks an answer against the skeleton: the skeleton when it is usable, and every problem otherwise. */
export function validateSkeleton(value: unknown, options: SkeletonOptions = {}): { skeleton?: RecipeSkeleton; problems: string[] } {
  const problems: string[] = [];
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { problems: ['the answer must be a JSON object with the skeleton\'s fields'] };
  const v = value as Record<string, unknown>;
  const props = RECIPE_SKELETON_SCHEMA.properties;
  for (const key of Object.keys(v)) if (!(key in props)) problems.push(`${key}: not a field of the skeleton`);

  const str = (key: 'name' | 'version' | 'description' | 'license' | 'source_url', max: number, pattern?: string, hint?: string): string | undefined => {
    const s = v[key];
    if (s === undefined) return void problems.push(`${key}: missing`);
    if (typeof s !== 'string') return void problems.push(`${key}: must be a string`);
    if (s.trim() === '') return void problems.push(`${key}: empty`);
    if (s.length > max) return void problems.push(`${key}: longer than ${max} characters`);
    if (CONTROL.test(s)) return void problems.push(`${key}: contains a control character (newline, tab, NUL...)`);
    if (s !== s.trim()) return void problems.push(`${key}: starts or ends with a space`);
    if (pattern && !new RegExp(pattern, 'u').test(s)) return void problems.push(`${key}: ${JSON.stringify(s)} ${hint ?? `does not match ${pattern}`}`);
    return s;
  };

  let name: string | undefined;
  if (options.name !== undefined) {
    if (v.name !== options.name) problems.push(`name: must be ${JSON.stringify(options.name)}`);
    else name = options.name;
  } else {
    name = str('name', SKELETON_LIMITS.name, SKELETON_PATTERNS.name, 'must be lower-case letters, digits and -, starting with a letter');
    if (name && RESERVED_NAMES.has(name)) {
      problems.push(`name: "${name}" is reserved (recipes/${name}.rhai is the common base)`);
      name = undefined;
    }
  }
  const version = str('version', SKELETON_LIMITS.version, SKELETON_PATTERNS.version, 'must be a version starting with a digit (1.2.3, no leading v)');
  const description = str('description', SKELETON_LIMITS.description);
  let license = str('license', SKELETON_LIMITS.license, SKELETON_PATTERNS.license, 'must be an SPDX expression (MIT, GPL-3.0-or-later, MIT OR Apache-2.0)');
  if (license && !SPDX_EXPRESSION.test(license)) {
    problems.push(`license: ${JSON.stringify(license)} must be an SPDX expression (MIT, GPL-3.0-or-later, MIT OR Apache-2.0)`);
    license = undefined;
  }
  // The specific reason first (not an archive, credentials...), then the pattern's general one.
  let url = str('source_url', SKELETON_LIMITS.source_url);
  if (url) {
    const problem = urlProblem(url) ?? (new RegExp(SKELETON_PATTERNS.source_url, 'u').test(url) ? undefined : 'must be an https:// or mirror://<name>/<path> URL of the release archive');
    if (problem) {
      problems.push(`source_url: ${JSON.stringify(url)} ${problem}`);
      url = undefined;
    }
  }

  let buildSystem: BuildSystem | undefined;
  if (v.build_system === undefined) problems.push('build_system: missing');
  else if (!(BUILD_SYSTEMS as readonly unknown[]).includes(v.build_system)) problems.push(`build_system: must be one of ${BUILD_SYSTEMS.join(', ')}`);
  else buildSystem = v.build_system as BuildSystem;

  const list = (key: 'build_commands' | 'install_commands'): string[] | undefined => {
    const a = v[key];
    if (a === undefined) return void problems.push(`${key}: missing`);
    if (!Array.isArray(a)) return void problems.push(`${key}: must be an array of strings`);
    if (a.length > SKELETON_LIMITS.commands) problems.push(`${key}: at most ${SKELETON_LIMITS.commands} commands`);
    let ok = a.length <= SKELETON_LIMITS.commands;
    a.forEach((c, i) => {
      const where = `${key}[${i}]`;
      const bad = (p: string) => {
        problems.push(`${where}: ${p}`);
        ok = false;
      };
      if (typeof c !== 'string') return bad('must be a string');
      if (c.trim() === '') return bad('empty');
      if (c.length > SKELETON_LIMITS.command) return bad(`longer than ${SKELETON_LIMITS.command} characters`);
      if (c.includes('\n') || c.includes('\r')) return bad('contains a newline: give each command as its own string');
      if (c.includes('\0')) return bad('contains a NUL character');
      if (CONTROL.test(c)) return bad('contains a control character');
      if (NETWORK.test(c)) return bad(`${JSON.stringify(c)} downloads: the build has no network (the tool fetches source_url)`);
      if (/(^|[\s;&|])sudo\b/.test(c)) return bad(`${JSON.stringify(c)} uses sudo: commands already run as the build's user, install into $OUT`);
    });
    return ok ? (a as string[]) : undefined;
  };
  const build = list('build_commands');
  const install = list('install_commands');
  if (install && buildSystem) {
    if (buildSystem === 'custom' && install.length === 0) problems.push('install_commands: a custom build must say how it installs (into $OUT)');
    else if (install.length > 0 && !install.every((c) => WRITES_OUT.test(c))) {
      problems.push('install_commands: each must install into $OUT (e.g. make install DESTDIR=$OUT): nothing else reaches the system');
    }
  }
  if (buildSystem === 'custom' && build && build.length === 0 && install && install.length === 0) problems.push('build_commands: a custom build needs commands');

  if (problems.length || !name || !version || !description || !license || !url || !buildSystem || !build || !install) {
    return { problems: problems.length ? problems : ['the answer is not a usable skeleton'] };
  }
  return { skeleton: { name, version, description, license, source_url: url, build_system: buildSystem, build_commands: build, install_commands: install }, problems };
}

/** What is wrong with a source URL beyond its pattern, or undefined. */
function urlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (!['http:', 'https:', 'mirror:'].includes(parsed.protocol)) return 'must be an https:// or mirror://<name>/<path> URL of the release archive';
  if (parsed.protocol === 'mirror:') {
    if (!/^[a-z0-9-]+$/.test(parsed.host)) return 'names no mirror (mirror://<name>/<path>)';
  } else if (!parsed.hostname) return 'has no host';
  if (parsed.username || parsed.password) return 'carries credentials';
  const file = archiveFile(url);
  if (!file) return `is not a release archive (the file must end in ${ARCHIVE_SUFFIXES.join(', ')})`;
  return undefined;
}

/** The URL's file name when it is an archive extract() unpacks. */
export function archiveFile(url: string): string | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined;
  }
  let file: string;
  try {
    file = decodeURIComponent(path.split('/').pop() ?? '');
  } catch {
    return undefined;
  }
  return ARCHIVE_SUFFIXES.some((s) => file.toLowerCase().endsWith(s) && file.length > s.length) ? file : undefined;
}
