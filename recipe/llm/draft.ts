// A recipe drafted from a sentence: a model fills the skeleton (skeleton.ts), the tool checks the
// answer, asks once more with the problems when it is not usable, and renders recipes/<name>.rhai
// from a template of its own. Nothing the model writes is code: each of its values lands in a
// Rhai string literal, escaped, and the commands run through the same `shell_in(ctx.src, ...)`
// the scaffold uses. The sha256 is the tool's: computed from a download of the URL when it can be,
// else the TODO marker that `pipeline recipe check` reports as unpinned.
//
// The backend is a function (a local GGUF model in-process, an OpenAI-compatible server, or a
// test's own), so this module loads no model and touches no network.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRhai, type Node } from '../../rhai/index.js';
import { children } from '../../rhai/walk.js';
import { RECIPES_DIR } from '../api.js';
import { recipeNames } from '../check.js';
import { loadRecipe, type Recipe } from '../load.js';
import { ARCHIVE_SUFFIXES, archiveFile, BUILD_SYSTEMS, skeletonSchema, SKELETON_LIMITS, validateSkeleton, type BuildSystem, type RecipeSkeleton } from './skeleton.js';

/** What a backend is asked: one chat turn whose answer is JSON matching `schema`. */
export interface DraftPrompt {
  system: string;
  user: string;
  /** The skeleton's schema, patterns included (skeleton.ts skeletonSchema). */
  schema: Record<string, unknown>;
  maxTokens: number;
  /** 1, or 2 for the retry. */
  attempt: number;
}

export interface BackendAnswer {
  /** The answer parsed (undefined: `text` is parsed here). */
  json: unknown;
  text: string;
  tokens: number;
  ms: number;
}

export type DraftBackend = (prompt: DraftPrompt) => Promise<BackendAnswer>;

export interface DraftOptions {
  /** What to package, in the user's words. */
  request: string;
  /** The recipe's name, fixed by the caller (`recipe draft NAME`); else the model names it. */
  name?: string;
  backend: DraftBackend;
  /** The source's sha256 from a download of its URL; undefined or a throw leaves the TODO marker. */
  fetchSha256?: (url: string) => Promise<string | undefined>;
  /** The project: its recipes are the prompt's examples, its recipes/base.rhai the autotools base. */
  root?: string;
  /** Examples instead of the project's. */
  examples?: RecipeSkeleton[];
  /** Most tokens per answer (default 1024). */
  maxTokens?: number;
}

export interface Draft {
  name: string;
  skeleton: RecipeSkeleton;
  /** The rendered recipes/<name>.rhai. */
  text: string;
  /** The digest the tool computed; undefined when the recipe carries the TODO. */
  sha256?: string;
  /** Why there is no digest, when there is none. */
  sha256Note?: string;
  /** What a person must check before building, one line each. */
  review: string[];
  attempts: number;
  tokens: number;
  ms: number;
}

export class DraftError extends Error {
  override name = 'DraftError';
  constructor(
    message: string,
    readonly problems: string[],
    readonly attempts: number,
  ) {
    super(message);
  }
}

/** The marker a draft leaves in ctx.sha256 when it could not download the source. */
export const SHA256_TODO = 'TODO: the sha256 of the file at url (sha256sum FILE)';

// ---------------------------------------------------------------------------------------------
// Rendering

/**
 * A Rhai string literal holding exactly `value`: `"` and `\` escaped, everything outside printable
 * ASCII as \uXXXX (\UXXXXXXXX beyond the BMP). Also valid JSON for BMP text. Double-quoted Rhai
 * strings do not interpolate, so `${...}` and backticks are plain characters.
 */
export function rhaiString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c <= 0xffff) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += '\\U' + c.toString(16).padStart(8, '0');
  }
  return out + '"';
}

interface BuildSystemTemplate {
  build: (name: string) => string[];
  install: (name: string) => string[];
  /** Packages of the variant's repositories the build needs besides build-base. */
  deps: string[];
}

/** The usual commands of each build system: what an empty command list stands for. */
export const BUILD_SYSTEM_DEFAULTS: Record<BuildSystem, BuildSystemTemplate> = {
  autotools: { build: () => ['./configure --prefix=/usr', 'make'], install: () => ['make install DESTDIR=$OUT'], deps: [] },
  cmake: {
    build: () => ['cmake -S . -B build -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=Release', 'cmake --build build'],
    install: () => ['DESTDIR=$OUT cmake --install build'],
    deps: ['cmake'],
  },
  meson: {
    build: () => ['meson setup build --prefix=/usr --buildtype=release', 'meson compile -C build'],
    install: () => ['DESTDIR=$OUT meson install -C build'],
    deps: ['meson'],
  },
  make: { build: () => ['make'], install: () => ['make install DESTDIR=$OUT PREFIX=/usr'], deps: [] },
  cargo: {
    build: () => ['cargo build --release --frozen'],
    install: (name) => [`install -Dm755 target/release/${name} $OUT/usr/bin/${name}`],
    deps: ['cargo'],
  },
  go: { build: (name) => [`go build -trimpath -o ${name} .`], install: (name) => [`install -Dm755 ${name} $OUT/usr/bin/${name}`], deps: ['go'] },
  python: { build: () => [], install: () => ['pip3 install . --root=$OUT --prefix=/usr --no-deps --no-index --no-build-isolation'], deps: ['python3', 'py3-pip'] },
  custom: { build: () => [], install: () => [], deps: [] },
};

/** The skeleton's commands, the build system's usual ones standing in for an empty list. */
export function effectiveCommands(s: RecipeSkeleton): { build: string[]; install: string[]; defaulted: string[] } {
  const d = BUILD_SYSTEM_DEFAULTS[s.build_system];
  const defaulted: string[] = [];
  const pick = (given: string[], usual: string[], what: string) => {
    if (given.length || !usual.length) return given;
    defaulted.push(what);
    return usual;
  };
  return { build: pick(s.build_commands, d.build(s.name), 'build'), install: pick(s.install_commands, d.install(s.name), 'install'), defaulted };
}

/** The directory the archive presumably unpacks to: its file name without the suffix when that names the package, else name-version. */
export function sourceDir(s: RecipeSkeleton): string {
  const file = archiveFile(s.source_url);
  const suffix = file && ARCHIVE_SUFFIXES.find((x) => file.toLowerCase().endsWith(x));
  const stem = file && suffix ? file.slice(0, -suffix.length) : '';
  return stem && stem.toLowerCase().startsWith(s.name.toLowerCase()) && /^[\w.+-]+$/.test(stem) ? stem : `${s.name}-${s.version}`;
}

export interface RenderOptions {
  /** The digest, or undefined for the TODO marker. */
  sha256?: string;
  /** Extend recipes/base.rhai (its acquire: download, verify, unpack, patches) for autotools. */
  base?: boolean;
}

const indent = (lines: string[], n: number) => lines.map((l) => ' '.repeat(n) + l);
const listLiteral = (items: string[], at: number): string =>
  items.length ? ['[', ...indent(items.map((i) => rhaiString(i) + ','), at + 4), ' '.repeat(at) + ']'].join('\n') : '[]';

/** recipes/<name>.rhai for a skeleton. Every value the skeleton carries is a string literal. */
export function renderRecipe(s: RecipeSkeleton, options: RenderOptions = {}): string {
  if (!(BUILD_SYSTEMS as readonly string[]).includes(s.build_system)) throw new Error(`renderRecipe: unknown build system ${String(s.build_system)}`);
  const { build, install, defaulted } = effectiveCommands(s);
  const useBase = s.build_system === 'autotools' && options.base === true;
  const deps = ['build-base', ...BUILD_SYSTEM_DEFAULTS[s.build_system].deps];
  const header = [
    ...(useBase ? ['//! extends: base.rhai'] : []),
    `// Drafted by \`pipeline recipe llm\` from a model's answer (build system: ${s.build_system}): review it before`,
    '// building. Check the license and the URL against the project, read every command, and replace',
    '// a TODO sha256 by the sha256 of the file at url. Build and install run in a sandbox with no',
    '// network: commands run in the unpacked source (ctx.src) and install into $OUT.',
    ...(defaulted.length ? [`// The ${defaulted.join(' and ')} commands are the build system's usual ones.`] : []),
    ...(useBase ? ['// acquire(ctx) is the base\'s: download, verify the sha256, unpack, apply ctx.patches.'] : []),
  ];
  const ctx = [
    'let ctx = #{',
    `    name: ${rhaiString(s.name)},`,
    `    version: ${rhaiString(s.version)},`,
    `    description: ${rhaiString(s.description)},`,
    `    license: ${rhaiString(s.license)},`,
    `    url: ${rhaiString(s.source_url)},`,
    `    sha256: ${rhaiString(options.sha256 ?? SHA256_TODO)},`,
    '    // The directory the archive unpacks to (a guess from the URL): check it.',
    `    dir: ${rhaiString(sourceDir(s))},`,
    `    build_commands: ${listLiteral(build, 4)},`,
    `    install_commands: ${listLiteral(install, 4)},`,
    '};',
  ];
  const acquire = useBase
    ? []
    : [
        'fn acquire(ctx) {',
        '    let archive = download(ctx.url);',
        '    verify_sha256(archive, ctx.sha256);',
        '    extract(archive, BUILD_DIR);',
        '    ctx.src = join_path(BUILD_DIR, ctx.dir);',
        '    ctx',
        '}',
        '',
      ];
  const phase = (fn: string, list: string) => [`fn ${fn}(ctx) {`, `    for command in ctx.${list} {`, '        shell_in(ctx.src, command);', '    }', '    ctx', '}'];
  return [
    ...header,
    '',
    ...ctx,
    '',
    "// Packages of the variant's repositories the build needs (Alpine: build-base is gcc, make, libc headers).",
    `let build_deps = [${deps.map(rhaiString).join(', ')}];`,
    '// Other recipes this one builds against.',
    'let deps = [];',
    '',
    ...acquire,
    ...phase('build', 'build_commands'),
    '',
    ...phase('install', 'install_commands'),
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Examples: the project's own recipes, summarised as filled skeletons

/** An example for when the project has none that fits the skeleton. */
export const BUILTIN_EXAMPLE: RecipeSkeleton = {
  name: 'zstd',
  version: '1.5.6',
  description: 'Zstandard: a fast lossless compression algorithm and its command-line tool',
  license: 'BSD-3-Clause OR GPL-2.0-only',
  source_url: 'https://example.org/releases/zstd-1.5.6.tar.gz',
  build_system: 'make',
  build_commands: ['make -j4'],
  install_commands: ['make install DESTDIR=$OUT PREFIX=/usr'],
};

/** Literal commands of `shell_in(_, "...")` / `shell("...")` calls in a function body (NPROC as $(nproc)). */
function shellLiterals(node: Node, out: string[] = []): string[] {
  if (node.k === 'call' && (node.name === 'shell_in' || node.name === 'shell')) {
    const arg = node.args[node.name === 'shell_in' ? 1 : 0];
    if (arg?.k === 'lit' && typeof arg.value === 'string') out.push(arg.value);
    else if (arg?.k === 'tmpl') {
      const parts = arg.parts.map((p) => (typeof p === 'string' ? p : p.k === 'var' && p.name === 'NPROC' ? '$(nproc)' : undefined));
      if (parts.every((p) => p !== undefined)) out.push(parts.join(''));
    }
  }
  for (const c of children(node)) shellLiterals(c, out);
  return out;
}

function guessBuildSystem(commands: string[]): BuildSystem {
  const all = commands.join('\n');
  if (/\.\/configure\b/.test(all)) return 'autotools';
  if (/\bcmake\b/.test(all)) return 'cmake';
  if (/\bmeson\b/.test(all)) return 'meson';
  if (/\bcargo\b/.test(all)) return 'cargo';
  if (/\bgo build\b/.test(all)) return 'go';
  if (/\bpip3?\b|setup\.py/.test(all)) return 'python';
  if (/\bmake\b/.test(all)) return 'make';
  return 'custom';
}

/** One recipe as the skeleton that would have produced it, or undefined when it does not fit one (no source archive, say). */
export function summariseRecipe(recipe: Recipe): RecipeSkeleton | undefined {
  const ctx = recipe.ctx;
  const url = typeof ctx.url === 'string' ? ctx.url : recipe.sources[0]?.url;
  const fn = (name: string) => recipe.files.flatMap((f) => f.program.functions.filter((d) => d.name === name)).at(-1);
  const own = (name: string) => recipe.files.at(-1)!.program.functions.some((d) => d.name === name);
  const extendsBase = recipe.files.length > 1;
  let build: string[];
  let install: string[];
  let buildSystem: BuildSystem;
  const literals = (name: string) => {
    const def = fn(name);
    return def ? shellLiterals(def.body) : [];
  };
  if (extendsBase && !own('build')) {
    // The base's build: ctx.prepare, configure with ctx.configure_flags, make.
    const prepare = Array.isArray(ctx.prepare) ? ctx.prepare.filter((c): c is string => typeof c === 'string') : [];
    const flags = typeof ctx.configure_flags === 'string' && ctx.configure_flags ? ` ${ctx.configure_flags}` : '';
    build = [...prepare, `./configure --prefix=/usr${flags}`, 'make'];
    buildSystem = 'autotools';
  } else {
    build = literals('build');
    buildSystem = guessBuildSystem(build);
  }
  install = literals('install');
  if (!install.length && buildSystem === 'autotools') install = ['make install DESTDIR=$OUT'];
  const { skeleton } = validateSkeleton({
    name: recipe.name,
    version: recipe.version,
    description: recipe.description ?? '',
    license: recipe.license ?? '',
    source_url: url ?? '',
    build_system: buildSystem,
    build_commands: build.slice(0, SKELETON_LIMITS.commands),
    install_commands: install.slice(0, SKELETON_LIMITS.commands),
  });
  return skeleton;
}

/** The project's recipes that fit the skeleton (at most `max`), summarised. */
export async function projectExamples(root: string, max = 3): Promise<RecipeSkeleton[]> {
  const out: RecipeSkeleton[] = [];
  for (const name of recipeNames(root)) {
    if (out.length >= max) break;
    try {
      const text = await readFile(join(root, RECIPES_DIR, `${name}.rhai`), 'utf8');
      if (!/^\s*let\s+ctx\s*=/m.test(text)) continue; // a base
      const s = summariseRecipe(await loadRecipe(root, name));
      if (s) out.push(s);
    } catch {
      // A recipe that does not load is no example.
    }
  }
  return out;
}

/** Whether recipes/base.rhai is there and provides acquire(ctx), so an autotools draft can extend it. */
export async function hasAutotoolsBase(root: string): Promise<boolean> {
  const file = join(root, RECIPES_DIR, 'base.rhai');
  if (!existsSync(file)) return false;
  try {
    const program = parseRhai(await readFile(file, 'utf8'), `${RECIPES_DIR}/base.rhai`);
    return program.functions.some((f) => f.name === 'acquire' && f.params.length === 1);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// The prompt

const exampleRequest = (s: RecipeSkeleton) => `${s.name} ${s.version}: ${s.description}`;

export function draftPrompt(request: string, examples: RecipeSkeleton[], name?: string): { system: string; user: string } {
  const usual = (['autotools', 'cmake', 'meson'] as const)
    .map((b) => `${b}: ${[...BUILD_SYSTEM_DEFAULTS[b].build(''), ...BUILD_SYSTEM_DEFAULTS[b].install('')].join('; ')}`)
    .join('\n');
  const system = [
    'You describe how to build one software package from its release archive, as a JSON object with exactly these fields:',
    `- name: the package name: lower-case letters, digits and -, starting with a letter (at most ${SKELETON_LIMITS.name} characters)`,
    `- version: the upstream release version, starting with a digit, e.g. 2.10 (at most ${SKELETON_LIMITS.version})`,
    `- description: one line saying what it is (at most ${SKELETON_LIMITS.description})`,
    `- license: its SPDX license expression, e.g. MIT, GPL-3.0-or-later, MIT OR Apache-2.0 (at most ${SKELETON_LIMITS.license})`,
    `- source_url: the URL of that version's release archive (${ARCHIVE_SUFFIXES.slice(0, 4).join(', ')}, .zip...): https://... or mirror://<mirror>/<path> (at most ${SKELETON_LIMITS.source_url})`,
    `- build_system: one of ${BUILD_SYSTEMS.join(', ')}`,
    `- build_commands: up to ${SKELETON_LIMITS.commands} shell commands that build it, or [] for the build system's usual ones`,
    `- install_commands: up to ${SKELETON_LIMITS.commands} shell commands that install it into $OUT, or [] for the usual ones`,
    'Each command is one line for sh, at most 120 characters. Commands run one after the other in the unpacked source',
    'directory, with no network and no sudo. $OUT is the root of what gets installed: install under $OUT/usr (make install',
    'DESTDIR=$OUT). Do not write a recipe or a checksum: the tool renders the recipe and computes the sha256 itself.',
    'The usual commands:',
    usual,
    '',
    'Examples:',
    ...examples.flatMap((e) => [`Request: ${exampleRequest(e)}`, `Answer: ${JSON.stringify(e)}`]),
  ].join('\n');
  const user = [`Request: ${request}`, ...(name ? [`The name is ${JSON.stringify(name)}.`] : []), 'Answer with the JSON object only.'].join('\n');
  return { system, user };
}

function retryUser(user: string, answer: string, problems: string[]): string {
  return [
    user,
    '',
    'Your previous answer was:',
    answer.slice(0, 2000),
    'It has these problems:',
    ...problems.map((p) => `- ${p}`),
    'Answer again with the same fields, every problem fixed.',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Drafting

export async function draftRecipe(options: DraftOptions): Promise<Draft> {
  const examples = options.examples ?? (options.root ? await projectExamples(options.root) : []);
  if (examples.length < 2 && !examples.some((e) => e.name === BUILTIN_EXAMPLE.name)) examples.push(BUILTIN_EXAMPLE);
  const { system, user } = draftPrompt(options.request, examples, options.name);
  const schema = skeletonSchema(options.name);
  // The longest skeleton the schema allows is about 1,700 characters: a model that spells it a
  // byte per token (a small one may) still finishes.
  const maxTokens = options.maxTokens ?? 2048;
  let tokens = 0;
  let ms = 0;
  let problems: string[] = [];
  let skeleton: RecipeSkeleton | undefined;
  let attempts = 0;
  let prompt = user;
  while (attempts < 2 && !skeleton) {
    attempts++;
    const answer = await options.backend({ system, user: prompt, schema, maxTokens, attempt: attempts });
    tokens += answer.tokens;
    ms += answer.ms;
    let json = answer.json;
    if (json === undefined) {
      try {
        json = JSON.parse(answer.text);
      } catch {
        json = undefined;
      }
    }
    ({ skeleton, problems } = json === undefined ? { skeleton: undefined, problems: ['the answer is not JSON'] } : validateSkeleton(json, { name: options.name }));
    if (!skeleton) prompt = retryUser(user, answer.text, problems);
  }
  if (!skeleton) {
    throw new DraftError(
      `the model's answer is not a usable recipe skeleton (${attempts} attempts):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      problems,
      attempts,
    );
  }
  let sha256: string | undefined;
  let sha256Note: string | undefined;
  if (!options.fetchSha256) sha256Note = 'not downloaded';
  else {
    try {
      sha256 = await options.fetchSha256(skeleton.source_url);
      if (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
      if (sha256 === undefined) sha256Note = 'the source could not be downloaded';
    } catch (err) {
      sha256 = undefined;
      sha256Note = (err as Error).message;
    }
  }
  const base = options.root ? await hasAutotoolsBase(options.root) : false;
  const text = renderRecipe(skeleton, { sha256, base });
  const { build, install, defaulted } = effectiveCommands(skeleton);
  const review = [
    `license: ${skeleton.license}: check it against the project's own license files`,
    `url: ${skeleton.source_url}: check it is the project's release archive of ${skeleton.version}`,
    `dir: ${sourceDir(skeleton)}: the directory the archive unpacks to is a guess from the URL`,
    `commands: ${build.length} build, ${install.length} install${defaulted.length ? ` (${defaulted.join(' and ')}: the build system's usual ones)` : ''}: read each one`,
    sha256
      ? `sha256: ${sha256}, computed from a download of the url: compare it with the checksum the project publishes`
      : `sha256: a TODO (${sha256Note}): put the sha256 of the file at the url in ctx.sha256`,
  ];
  return { name: skeleton.name, skeleton, text, sha256, sha256Note, review, attempts, tokens, ms };
}

// ---------------------------------------------------------------------------------------------
// The source's sha256

export interface Sha256Options {
  /** Give up on a larger file (default 512 MiB). */
  maxBytes?: number;
  /** For the whole download (default 120 s). */
  timeoutMs?: number;
}

/**
 * The sha256 of the file at `url`, streamed (never held whole). Only http(s) and file URLs; only
 * the URL given is requested: a redirect is not followed (its target is named in the error), so
 * the tool never contacts a host the answer did not name.
 */
export async function sha256OfUrl(url: string, options: Sha256Options = {}): Promise<string> {
  const maxBytes = options.maxBytes ?? 512 << 20;
  const timeoutMs = options.timeoutMs ?? 120_000;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${url} is not a URL`);
  }
  const hash = createHash('sha256');
  let size = 0;
  const add = (chunk: Uint8Array) => {
    size += chunk.byteLength;
    if (size > maxBytes) throw new Error(`${url} is larger than ${maxBytes} bytes: not downloaded`);
    hash.update(chunk);
  };
  if (parsed.protocol === 'file:') {
    for await (const chunk of createReadStream(fileURLToPath(parsed))) add(chunk as Buffer);
    return hash.digest('hex');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`${url}: only http(s) URLs are downloaded`);
  const signal = AbortSignal.timeout(timeoutMs);
  let response: Response;
  try {
    response = await fetch(parsed, { redirect: 'manual', signal });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError') throw new Error(`${url}: no answer within ${timeoutMs / 1000} s`);
    throw new Error(`${url}: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
  }
  try {
    if (response.status >= 300 && response.status < 400) {
      throw new Error(`${url} redirects to ${response.headers.get('location') ?? '(nowhere)'}: not followed; download it yourself`);
    }
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    const length = Number(response.headers.get('content-length') ?? NaN);
    if (length > maxBytes) throw new Error(`${url} is larger than ${maxBytes} bytes: not downloaded`);
    if (!response.body) throw new Error(`${url}: empty response`);
    for await (const chunk of response.body) add(chunk);
  } catch (err) {
    await response.body?.cancel().catch(() => {});
    if ((err as Error).name === 'TimeoutError') throw new Error(`${url}: not downloaded within ${timeoutMs / 1000} s`);
    throw err;
  }
  return hash.digest('hex');
}
