// Drafting a recipe from a model's answer: the skeleton's checks, the template for every build
// system (each draft passes `recipe check`), model values that try to break out of their string
// literals, the one retry, the sha256 the tool computes from a download on 127.0.0.1, and the TODO
// `recipe check` reports when it cannot.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../fixtures/paths.js';
import { parseRhai, type Node } from '../../rhai/index.js';
import { children } from '../../rhai/walk.js';
import { checkRecipes } from '../../recipe/check.js';
import {
  BUILTIN_EXAMPLE,
  draftPrompt,
  draftRecipe,
  DraftError,
  projectExamples,
  renderRecipe,
  rhaiString,
  SHA256_TODO,
  sha256OfUrl,
  type DraftPrompt,
} from '../../recipe/llm/draft.js';
import { checkSchema } from '../../recipe/llm/schema-check.js';
import { BUILD_SYSTEMS, RECIPE_SKELETON_SCHEMA, skeletonSchema, validateSkeleton, type RecipeSkeleton } from '../../recipe/llm/skeleton.js';
import { loadRecipe } from '../../recipe/load.js';
import { recipeScaffold } from '../../recipe/scaffold.js';

const base = mkdtempSync(join(tmpdir(), 'pipeline-draft-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let projects = 0;

/** A project with the real recipes/base.rhai (or none). */
function project(withBase = true): string {
  const root = join(base, `p${projects++}`);
  mkdirSync(join(root, 'recipes'), { recursive: true });
  mkdirSync(join(root, 'variants'));
  if (withBase) copyFileSync(join(projectRoot(), 'recipes/base.rhai'), join(root, 'recipes/base.rhai'));
  return root;
}

const SHA = 'a'.repeat(64);

const GOOD: RecipeSkeleton = {
  name: 'htop',
  version: '3.3.0',
  description: 'An interactive process viewer',
  license: 'GPL-2.0-or-later',
  source_url: 'https://example.org/htop/releases/htop-3.3.0.tar.xz',
  build_system: 'autotools',
  build_commands: ['./configure --prefix=/usr --disable-unicode', 'make'],
  install_commands: ['make install DESTDIR=$OUT'],
};

async function check(root: string, name: string): Promise<string[]> {
  const [r] = await checkRecipes(root, [name]);
  return r.problems;
}

function calls(node: Node, name: string, out: Node[] = []): Node[] {
  if (node.k === 'call' && node.name === name) out.push(node);
  for (const c of children(node)) calls(c, name, out);
  return out;
}

describe('validateSkeleton', () => {
  it('accepts a filled skeleton, which the generic schema check accepts too', () => {
    expect(validateSkeleton(GOOD)).toEqual({ skeleton: GOOD, problems: [] });
    expect(checkSchema(RECIPE_SKELETON_SCHEMA, GOOD)).toEqual([]);
    expect(validateSkeleton({ ...GOOD, build_system: 'custom', build_commands: [], install_commands: ['install -Dm755 htop ${OUT}/usr/bin/htop'] }).problems).toEqual([]);
    expect(validateSkeleton({ ...GOOD, license: 'MIT OR Apache-2.0', source_url: 'mirror://demo/sources/htop-3.3.0.zip' }).problems).toEqual([]);
  });

  it('names every problem, including what the schema cannot say', () => {
    const { skeleton, problems } = validateSkeleton({
      ...GOOD,
      name: 'Htop',
      version: 'v3.3',
      license: 'GPL v2 or later!',
      source_url: 'https://example.org/htop',
      build_commands: ['make\nrm -rf /', 'curl -O https://example.org/x', 'a\u0000b'],
      install_commands: ['make install'],
      homepage: 'https://example.org',
    });
    expect(skeleton).toBeUndefined();
    expect(problems).toEqual([
      'homepage: not a field of the skeleton',
      'name: "Htop" must be lower-case letters, digits and -, starting with a letter',
      'version: "v3.3" must be a version starting with a digit (1.2.3, no leading v)',
      'license: "GPL v2 or later!" must be an SPDX expression (MIT, GPL-3.0-or-later, MIT OR Apache-2.0)',
      'source_url: "https://example.org/htop" is not a release archive (the file must end in .tar.gz, .tgz, .tar.xz, .txz, .tar.zst, .tar.bz2, .tbz2, .tar, .zip)',
      'build_commands[0]: contains a newline: give each command as its own string',
      'build_commands[1]: "curl -O https://example.org/x" downloads: the build has no network (the tool fetches source_url)',
      'build_commands[2]: contains a NUL character',
      'install_commands: each must install into $OUT (e.g. make install DESTDIR=$OUT): nothing else reaches the system',
    ]);
  });

  it('wants every field, a custom build that installs, no sudo, and no name of a base', () => {
    expect(validateSkeleton({ name: 'x' }).problems).toEqual([
      'version: missing',
      'description: missing',
      'license: missing',
      'source_url: missing',
      'build_system: missing',
      'build_commands: missing',
      'install_commands: missing',
    ]);
    expect(validateSkeleton({ ...GOOD, build_system: 'custom', install_commands: [] }).problems).toEqual([
      'install_commands: a custom build must say how it installs (into $OUT)',
    ]);
    expect(validateSkeleton({ ...GOOD, name: 'base' }).problems).toEqual(['name: "base" is reserved (recipes/base.rhai is the common base)']);
    expect(validateSkeleton({ ...GOOD, install_commands: ['sudo make install DESTDIR=$OUT'] }).problems[0]).toMatch(/uses sudo/);
    expect(validateSkeleton({ ...GOOD, build_commands: ['a', 'b', 'c', 'd', 'e'] }).problems).toEqual(['build_commands: at most 4 commands']);
    expect(validateSkeleton({ ...GOOD, description: 'x'.repeat(101) }).problems).toEqual(['description: longer than 100 characters']);
    expect(validateSkeleton({ ...GOOD, source_url: 'file:///etc/passwd.tar.gz' }).problems[0]).toMatch(/^source_url: .* must be an https:\/\/ or mirror/);
    expect(validateSkeleton({ ...GOOD, source_url: 'https://user:pw@example.org/a-1.tar.gz' }).problems).toEqual(['source_url: "https://user:pw@example.org/a-1.tar.gz" carries credentials']);
    expect(validateSkeleton([1, 2]).problems).toEqual(["the answer must be a JSON object with the skeleton's fields"]);
  });

  it('holds the name to the one the caller fixed, and the generation schema says so', () => {
    expect(validateSkeleton({ ...GOOD, name: 'top' }, { name: 'htop' }).problems).toEqual(['name: must be "htop"']);
    expect(validateSkeleton({ ...GOOD, name: 'lib.x' }, { name: 'lib.x' }).problems).toEqual([]);
    const schema = skeletonSchema('htop') as { properties: Record<string, unknown> };
    expect(schema.properties.name).toEqual({ const: 'htop' });
    expect(RECIPE_SKELETON_SCHEMA.properties.name).toHaveProperty('pattern'); // not mutated
  });
});

describe('renderRecipe', () => {
  for (const buildSystem of BUILD_SYSTEMS) {
    it(`renders a ${buildSystem} recipe that recipe check accepts, its ctx the skeleton's values`, async () => {
      const root = project();
      const name = `pkg-${buildSystem}`;
      const skeleton: RecipeSkeleton = {
        ...GOOD,
        name,
        source_url: `https://example.org/dl/${name}-1.0.tar.gz`,
        version: '1.0',
        build_system: buildSystem,
        build_commands: buildSystem === 'custom' ? ['sh ./build.sh'] : [],
        install_commands: buildSystem === 'custom' ? ['install -Dm755 tool $OUT/usr/bin/tool'] : [],
      };
      const text = renderRecipe(skeleton, { sha256: SHA, base: true });
      writeFileSync(join(root, `recipes/${name}.rhai`), text);
      expect(await check(root, name)).toEqual([]);
      const recipe = await loadRecipe(root, name);
      expect(recipe.sources).toEqual([{ url: skeleton.source_url, sha256: SHA, file: `${name}-1.0.tar.gz` }]);
      expect([recipe.name, recipe.version, recipe.license, recipe.description]).toEqual([name, '1.0', skeleton.license, skeleton.description]);
      expect(recipe.ctx.dir).toBe(`${name}-1.0`);
      expect(recipe.buildDeps[0]).toBe('build-base');
      // An empty list stands for the build system's usual commands, written out; each install writes into $OUT.
      const install = recipe.ctx.install_commands as string[];
      expect(install.length).toBeGreaterThan(0);
      expect(install.some((c) => c.includes('$OUT'))).toBe(true);
      expect(text.startsWith('//! extends: base.rhai')).toBe(buildSystem === 'autotools');
      expect(recipe.files.map((f) => f.path)).toEqual(buildSystem === 'autotools' ? ['recipes/base.rhai', `recipes/${name}.rhai`] : [`recipes/${name}.rhai`]);
      expect([...recipe.functions.keys()].sort()).toEqual(['acquire', 'build', 'install']);
    });
  }

  it('writes its own acquire for autotools when the project has no base', async () => {
    const root = project(false);
    writeFileSync(join(root, 'recipes/htop.rhai'), renderRecipe(GOOD, { sha256: SHA, base: false }));
    expect(await check(root, 'htop')).toEqual([]);
    expect((await loadRecipe(root, 'htop')).files).toHaveLength(1);
  });

  it('keeps every model value inside its string literal: quotes, backslashes, backticks, ${}, newlines', async () => {
    const root = project();
    const nasty = [
      '"; shell("rm -rf /"); let x = "',
      '\\"); shell(`id`); //',
      '`${shell_output("id")}` ${OUT} $(id)',
      'a\nfn build(ctx) { shell("id"); ctx }\n//',
      '\\',
      'tab\tcr\rnul\u0000bell\u0007bs\bff\f esc\u001b del\u007f',
      'line\u2028para\u2029 é ü 漢字 😀',
      '*/ /* // #{ } ] [',
    ];
    const skeleton = {
      name: 'evil',
      version: nasty[0],
      description: nasty[2],
      license: nasty[3],
      source_url: nasty[1],
      build_system: 'custom',
      build_commands: nasty.slice(4),
      install_commands: nasty.slice(0, 4),
    } as RecipeSkeleton;
    const text = renderRecipe(skeleton, { sha256: SHA });
    // Nothing the values hold became code: the same statements and calls as any draft.
    const program = parseRhai(text, 'recipes/evil.rhai');
    expect(program.functions.map((f) => f.name)).toEqual(['acquire', 'build', 'install']);
    expect(program.statements.map((s) => (s.k === 'let' ? s.name : s.k))).toEqual(['ctx', 'build_deps', 'deps']);
    const all = { k: 'block', stmts: [...program.statements, ...program.functions.map((f) => f.body)], valueLast: false, line: 1, col: 1 } as Node;
    expect(calls(all, 'shell').length + calls(all, 'shell_output').length).toBe(0);
    expect(calls(all, 'shell_in')).toHaveLength(2);
    // And each value reads back exactly.
    writeFileSync(join(root, 'recipes/evil.rhai'), text);
    const recipe = await loadRecipe(root, 'evil');
    expect(recipe.ctx).toMatchObject({
      url: nasty[1],
      version: nasty[0],
      description: nasty[2],
      license: nasty[3],
      build_commands: nasty.slice(4),
      install_commands: nasty.slice(0, 4),
    });
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u2028\u2029]/);
  });

  it('rhaiString round-trips any text through the Rhai parser', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pool = ['"', '\\', '`', '$', '{', '}', '\n', '\r', '\t', '\0', '\b', '\f', 'a', ' ', 'é', '😀', '\u2028', '\\u0041', '\\n', "'"];
    for (let i = 0; i < 200; i++) {
      const s = Array.from({ length: Math.floor(rand() * 12) }, () => pool[Math.floor(rand() * pool.length)]).join('');
      const program = parseRhai(`let v = ${rhaiString(s)};`, 't.rhai');
      const stmt = program.statements[0] as Extract<Node, { k: 'let' }>;
      expect(stmt.value).toMatchObject({ k: 'lit', value: s });
    }
  });
});

describe('recipe check and the sha256 TODO', () => {
  it('reports a draft without a digest as unpinned, naming the URL', async () => {
    const root = project();
    writeFileSync(join(root, 'recipes/htop.rhai'), renderRecipe(GOOD));
    expect(renderRecipe(GOOD)).toContain(`sha256: ${JSON.stringify(SHA256_TODO)}`);
    expect(await check(root, 'htop')).toEqual([
      `recipes/htop.rhai: ${GOOD.source_url} is unpinned: ctx.sha256 is a TODO (put the sha256 of the file at the url there: sha256sum FILE)`,
    ]);
  });

  it('reports the scaffold of `recipe new`, and any sha256 that is not 64 hex digits', async () => {
    const root = project();
    writeFileSync(join(root, 'recipes/foo.rhai'), recipeScaffold('foo'));
    expect(await check(root, 'foo')).toEqual([
      'recipes/foo.rhai: TODO: https://example.org/foo-0.1.0.tar.gz is unpinned: ctx.sha256 is a TODO (put the sha256 of the file at the url there: sha256sum FILE)',
    ]);
    writeFileSync(join(root, 'recipes/bar.rhai'), renderRecipe({ ...GOOD, name: 'bar' }, { sha256: 'abc123' }));
    expect(await check(root, 'bar')).toEqual([
      `recipes/bar.rhai: ${GOOD.source_url} is unpinned: ctx.sha256 is a TODO: "abc123" is not 64 hex digits (put the sha256 of the file at the url there: sha256sum FILE)`,
    ]);
  });
});

/** A backend that answers from a list, recording each prompt. */
function scripted(answers: unknown[]): { backend: (p: DraftPrompt) => Promise<{ json: unknown; text: string; tokens: number; ms: number }>; prompts: DraftPrompt[] } {
  const prompts: DraftPrompt[] = [];
  return {
    prompts,
    backend: async (p) => {
      prompts.push(p);
      const a = answers[prompts.length - 1];
      if (a === undefined) throw new Error('asked too often');
      return typeof a === 'string' ? { json: undefined, text: a, tokens: 5, ms: 2 } : { json: a, text: JSON.stringify(a), tokens: 10, ms: 3 };
    },
  };
}

describe('draftRecipe', () => {
  it('shows the project\'s own recipes as filled skeletons in the prompt', async () => {
    const examples = await projectExamples(projectRoot());
    // hello (extends the base) fits the skeleton; welcome has no source archive and base.rhai is a base.
    expect(examples).toEqual([
      {
        name: 'hello',
        version: '2.10',
        description: 'GNU hello: prints a friendly greeting',
        license: 'GPL-3.0-or-later',
        source_url: 'mirror://demo/sources/hello-2.10.tar.gz',
        build_system: 'autotools',
        build_commands: ['touch man/hello.1', './configure --prefix=/usr --disable-nls --disable-dependency-tracking', 'make'],
        install_commands: ['make install DESTDIR=$OUT'],
      },
    ]);
    const { system, user } = draftPrompt('htop 3.3.0', examples);
    expect(system).toContain(`Answer: ${JSON.stringify(examples[0])}`);
    expect(system).toContain('in the unpacked source\ndirectory');
    expect(system).toContain('$OUT is the root of what gets installed');
    expect(user).toBe('Request: htop 3.3.0\nAnswer with the JSON object only.');
    expect(draftPrompt('x', [], 'htop').user).toContain('The name is "htop".');
  });

  it('asks the backend, validates, and renders; the prompt carries the schema and the examples', async () => {
    const root = project();
    const { backend, prompts } = scripted([GOOD]);
    const draft = await draftRecipe({ request: 'htop, the process viewer', backend, root, fetchSha256: async () => SHA });
    expect(prompts).toHaveLength(1);
    expect(prompts[0].schema).toEqual(skeletonSchema());
    expect(prompts[0].system).toContain(`Answer: ${JSON.stringify(BUILTIN_EXAMPLE)}`); // the project has no recipe to show
    expect(draft).toMatchObject({ name: 'htop', skeleton: GOOD, sha256: SHA, attempts: 1, tokens: 10, ms: 3 });
    expect(draft.review).toEqual([
      `license: GPL-2.0-or-later: check it against the project's own license files`,
      `url: ${GOOD.source_url}: check it is the project's release archive of 3.3.0`,
      'dir: htop-3.3.0: the directory the archive unpacks to is a guess from the URL',
      'commands: 2 build, 1 install: read each one',
      `sha256: ${SHA}, computed from a download of the url: compare it with the checksum the project publishes`,
    ]);
    writeFileSync(join(root, 'recipes/htop.rhai'), draft.text);
    expect(await check(root, 'htop')).toEqual([]);
  });

  it('retries once with the problems, then succeeds', async () => {
    const bad = { ...GOOD, name: 'HTop', install_commands: ['make install'] };
    const { backend, prompts } = scripted([bad, GOOD]);
    const draft = await draftRecipe({ request: 'htop', backend });
    expect(prompts.map((p) => p.attempt)).toEqual([1, 2]);
    expect(prompts[1].system).toBe(prompts[0].system);
    expect(prompts[1].user).toBe(
      [
        prompts[0].user,
        '',
        'Your previous answer was:',
        JSON.stringify(bad),
        'It has these problems:',
        '- name: "HTop" must be lower-case letters, digits and -, starting with a letter',
        '- install_commands: each must install into $OUT (e.g. make install DESTDIR=$OUT): nothing else reaches the system',
        'Answer again with the same fields, every problem fixed.',
      ].join('\n'),
    );
    expect(draft).toMatchObject({ name: 'htop', attempts: 2, tokens: 20, sha256: undefined, sha256Note: 'not downloaded' });
    expect(draft.text).toContain(JSON.stringify(SHA256_TODO));
    expect(draft.review.at(-1)).toBe('sha256: a TODO (not downloaded): put the sha256 of the file at the url in ctx.sha256');
  });

  it('gives up after the retry with a clear error listing the problems', async () => {
    const { backend, prompts } = scripted(['{"name": "x"', { ...GOOD, version: 'latest' }, GOOD]);
    const err = (await draftRecipe({ request: 'htop', backend }).catch((e) => e)) as DraftError;
    expect(err).toBeInstanceOf(DraftError);
    expect(prompts).toHaveLength(2);
    expect(prompts[1].user).toContain('- the answer is not JSON');
    expect(err.attempts).toBe(2);
    expect(err.problems).toEqual(['version: "latest" must be a version starting with a digit (1.2.3, no leading v)']);
    expect(err.message).toBe(
      "the model's answer is not a usable recipe skeleton (2 attempts):\n  - version: \"latest\" must be a version starting with a digit (1.2.3, no leading v)",
    );
  });

  it('fixes the name for `recipe draft NAME`', async () => {
    const { backend, prompts } = scripted([{ ...GOOD, name: 'top' }, { ...GOOD, name: 'my-htop' }]);
    const draft = await draftRecipe({ request: 'htop', name: 'my-htop', backend });
    expect((prompts[0].schema as { properties: { name: unknown } }).properties.name).toEqual({ const: 'my-htop' });
    expect(prompts[1].user).toContain('- name: must be "my-htop"');
    expect(draft.name).toBe('my-htop');
  });

  it('leaves the TODO, saying why, when the download fails', async () => {
    const { backend } = scripted([GOOD]);
    const draft = await draftRecipe({
      request: 'htop',
      backend,
      fetchSha256: async (url) => {
        throw new Error(`${url}: HTTP 404`);
      },
    });
    expect(draft.sha256).toBeUndefined();
    expect(draft.review.at(-1)).toBe(`sha256: a TODO (${GOOD.source_url}: HTTP 404): put the sha256 of the file at the url in ctx.sha256`);
  });

  it('does not retry on a backend error: it is the caller\'s', async () => {
    let calls = 0;
    const backend = async () => {
      calls++;
      throw new Error('local model: the answer was cut at maxTokens (1024)');
    };
    await expect(draftRecipe({ request: 'htop', backend })).rejects.toThrow('cut at maxTokens');
    expect(calls).toBe(1);
  });
});

describe('the source sha256, from a server on 127.0.0.1', () => {
  const archive = Buffer.alloc(300_000, 7);
  archive.write('a tarball, or as good as one');
  const digest = createHash('sha256').update(archive).digest('hex');
  let server: Server;
  let url: string;
  const requests: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req.url!);
      if (req.url === '/dl/htop-3.3.0.tar.xz') {
        res.writeHead(200, { 'content-length': archive.length });
        res.end(archive);
      } else if (req.url === '/moved.tar.gz') {
        res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere.tar.gz' }).end();
      } else if (req.url === '/hang.tar.gz') {
        res.writeHead(200);
        res.write('x'); // and nothing more
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('is computed by streaming the download, and the draft then checks clean', async () => {
    expect(await sha256OfUrl(`${url}/dl/htop-3.3.0.tar.xz`)).toBe(digest);
    const root = project();
    const { backend } = scripted([{ ...GOOD, source_url: `${url}/dl/htop-3.3.0.tar.xz` }]);
    const draft = await draftRecipe({ request: 'htop', backend, root, fetchSha256: (u) => sha256OfUrl(u) });
    expect(draft.sha256).toBe(digest);
    writeFileSync(join(root, 'recipes/htop.rhai'), draft.text);
    expect(await check(root, 'htop')).toEqual([]);
    expect((await loadRecipe(root, 'htop')).sources[0]).toEqual({ url: `${url}/dl/htop-3.3.0.tar.xz`, sha256: digest, file: 'htop-3.3.0.tar.xz' });
  });

  it('refuses what it should not fetch: too large, redirected, missing, silent, not http', async () => {
    await expect(sha256OfUrl(`${url}/dl/htop-3.3.0.tar.xz`, { maxBytes: 1000 })).rejects.toThrow(`${url}/dl/htop-3.3.0.tar.xz is larger than 1000 bytes: not downloaded`);
    const before = requests.length;
    await expect(sha256OfUrl(`${url}/moved.tar.gz`)).rejects.toThrow(`${url}/moved.tar.gz redirects to http://127.0.0.1:1/elsewhere.tar.gz: not followed`);
    expect(requests.slice(before)).toEqual(['/moved.tar.gz']);
    await expect(sha256OfUrl(`${url}/nope.tar.gz`)).rejects.toThrow(`${url}/nope.tar.gz: HTTP 404`);
    await expect(sha256OfUrl(`${url}/hang.tar.gz`, { timeoutMs: 300 })).rejects.toThrow(`${url}/hang.tar.gz: not downloaded within 0.3 s`);
    await expect(sha256OfUrl('ftp://127.0.0.1/x.tar.gz')).rejects.toThrow('only http(s) URLs are downloaded');
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(sha256OfUrl(`http://127.0.0.1:${port}/x.tar.gz`)).rejects.toThrow(`http://127.0.0.1:${port}/x.tar.gz: ECONNREFUSED`);
  });

  it('reads a file:// URL (tests, local mirrors)', async () => {
    const file = join(base, 'local.tar.gz');
    writeFileSync(file, archive);
    expect(await sha256OfUrl(pathToFileURL(file).href)).toBe(digest);
  });
});
