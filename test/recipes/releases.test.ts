// The seed's ripgrep recipe, verbatim: accepted by `recipe check` except for its unpinned
// github_download_release, which `pipeline lock`'s resolver pins against a local server that
// answers like GitHub's releases API (tag v<version> or <version>, one asset matching the pattern).
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinReleases, readReleasesLock, RELEASES_LOCK } from '../../recipe/releases.js';
import { loadRecipe } from '../../recipe/load.js';
import { cli } from '../engine/helpers.js';

const ASSET = Buffer.from('not really a tarball, but bytes with a digest\n');
let server: Server;
let api: string;
let project: string;
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url!);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (req.url === '/repos/BurntSushi/ripgrep/releases/tags/14.1.0') {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          tag_name: '14.1.0',
          assets: [
            { name: 'ripgrep-14.1.0-x86_64-unknown-linux-musl.tar.gz', size: ASSET.length, browser_download_url: `${base}/download/rg.tar.gz` },
            { name: 'ripgrep_14.1.0-1_amd64.deb', size: 3, browser_download_url: `${base}/download/rg.deb` },
          ],
        }),
      );
    } else if (req.url === '/download/rg.tar.gz') {
      res.end(ASSET);
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ message: 'Not Found' }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  project = await mkdtemp(join(tmpdir(), 'pipeline-releases-'));
  await mkdir(join(project, 'variants'), { recursive: true });
  await mkdir(join(project, 'recipes'), { recursive: true });
  await copyFile(join(import.meta.dirname, '../fixtures/recipes/ripgrep.rhai'), join(project, 'recipes/ripgrep.rhai'));
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  if (project) await rm(project, { recursive: true, force: true });
});

describe('github_download_release', () => {
  it('the seed recipe parses and passes every check but pinning', async () => {
    const r = await cli(['recipe', 'check', 'ripgrep'], project);
    expect(r.code).toBe(1);
    expect(r.stdout.trim()).toBe(
      `recipes/ripgrep.rhai: github_download_release(BurntSushi/ripgrep, 14.1.0, *.tar.gz) is unpinned: \`pipeline lock\` records its URL and sha256 in ${RELEASES_LOCK}`,
    );
  });

  it('is pinned by the lock from the releases API, and then checks clean', async () => {
    const recipe = await loadRecipe(project, 'ripgrep');
    expect(recipe.releaseCalls).toEqual([{ repo: 'BurntSushi/ripgrep', version: '14.1.0', pattern: '*.tar.gz' }]);
    const pinned = await pinReleases(project, recipe.releaseCalls, { env: { PIPELINE_GITHUB_API: api } });
    expect(pinned).toHaveLength(1);
    expect(requests).toEqual(['/repos/BurntSushi/ripgrep/releases/tags/v14.1.0', '/repos/BurntSushi/ripgrep/releases/tags/14.1.0', '/download/rg.tar.gz']);
    const lock = await readReleasesLock(project);
    expect(lock).toEqual([
      {
        repo: 'BurntSushi/ripgrep',
        version: '14.1.0',
        pattern: '*.tar.gz',
        url: `${api}/download/rg.tar.gz`,
        sha256: createHash('sha256').update(ASSET).digest('hex'),
        size: ASSET.length,
        name: 'ripgrep-14.1.0-x86_64-unknown-linux-musl.tar.gz',
      },
    ]);
    expect(await readFile(join(project, RELEASES_LOCK), 'utf8')).toContain('BurntSushi/ripgrep@14.1.0:*.tar.gz');
    const r = await cli(['recipe', 'check'], project);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain('recipes/ripgrep.rhai: ok (ripgrep 14.1.0, 1 source pinned)');
    // Pinned once: a second lock without renewal asks nothing.
    const before = requests.length;
    await pinReleases(project, recipe.releaseCalls, { env: { PIPELINE_GITHUB_API: api } });
    expect(requests.length).toBe(before);
  });

  it('names what the release has when no asset or several match', async () => {
    await expect(pinReleases(project, [{ repo: 'BurntSushi/ripgrep', version: '14.1.0', pattern: '*.zip' }], { env: { PIPELINE_GITHUB_API: api } })).rejects.toThrow(
      /no asset matches; the release has: ripgrep-14\.1\.0-x86_64-unknown-linux-musl\.tar\.gz, ripgrep_14\.1\.0-1_amd64\.deb/,
    );
    await expect(pinReleases(project, [{ repo: 'BurntSushi/ripgrep', version: '9.9.9', pattern: '*' }], { env: { PIPELINE_GITHUB_API: api } })).rejects.toThrow(
      /has no release tagged v9\.9\.9 or 9\.9\.9/,
    );
  });
});

describe('recipe new and check', () => {
  it('writes a scaffold that check reports with locations until it is filled in, and refuses to overwrite', async () => {
    const made = await cli(['recipe', 'new', 'htop'], project);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toContain('wrote recipes/htop.rhai');
    expect((await cli(['recipe', 'new', 'htop'], project)).stderr).toContain('recipes/htop.rhai exists: pass --force');
    const checked = await cli(['recipe', 'check', 'htop'], project);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toContain('recipes/htop.rhai: TODO: https://example.org/htop-0.1.0.tar.gz is unpinned: ctx.sha256 is a TODO');
    await writeFile(join(project, 'recipes/typo.rhai'), 'let ctx = #{ name: "typo", version: "1" };\nfn install(ctx) {\n    shel("make install");\n    ctx\n}\n');
    const typo = await cli(['recipe', 'check', 'typo'], project);
    expect(typo.code).toBe(1);
    expect(typo.stdout).toMatch(/recipes\/typo\.rhai:3:5: .*shel.*shell/);
  });
});
