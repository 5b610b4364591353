// Unpinned downloads made pinned: `github_download_release(repo, version, pattern)` is resolved by
// `pipeline lock` against a releases API that answers like GitHub's (GET
// /repos/<owner>/<repo>/releases/tags/<tag>), the asset downloaded once and hashed, and the URL and
// sha256 recorded in recipes/releases.lock.yaml. Builds read the lock and never ask the API.
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { releaseKey } from './host-functions.js';
import { RECIPES_DIR } from './api.js';

export const RELEASES_LOCK = `${RECIPES_DIR}/releases.lock.yaml`;
/** Where releases are looked up unless `PIPELINE_GITHUB_API` says otherwise. */
export const DEFAULT_RELEASES_API = 'https://api.github.com';

export interface LockedRelease {
  repo: string;
  version: string;
  pattern: string;
  url: string;
  sha256: string;
  size: number;
  /** The asset's file name. */
  name: string;
}

export async function readReleasesLock(root: string): Promise<LockedRelease[]> {
  let text: string;
  try {
    text = await readFile(join(root, RELEASES_LOCK), 'utf8');
  } catch {
    return [];
  }
  const doc = (parse(text) ?? {}) as { releases?: Record<string, Omit<LockedRelease, 'repo' | 'version' | 'pattern'>> };
  return Object.entries(doc.releases ?? {}).map(([key, v]) => {
    const m = /^(.+?)@(.+?):(.+)$/.exec(key);
    if (!m || typeof v?.url !== 'string' || !/^[0-9a-f]{64}$/.test(String(v.sha256))) throw new Error(`${RELEASES_LOCK}: entry ${key} is not <repo>@<version>:<pattern> with url and sha256`);
    return { repo: m[1], version: m[2], pattern: m[3], url: v.url, sha256: v.sha256, size: Number(v.size), name: v.name };
  });
}

export async function writeReleasesLock(root: string, releases: LockedRelease[]): Promise<void> {
  const sorted = [...releases].sort((a, b) => releaseKey(a.repo, a.version, a.pattern).localeCompare(releaseKey(b.repo, b.version, b.pattern)));
  const doc = {
    releases: Object.fromEntries(sorted.map((r) => [releaseKey(r.repo, r.version, r.pattern), { url: r.url, sha256: r.sha256, size: r.size, name: r.name }])),
  };
  const file = join(root, RELEASES_LOCK);
  await writeFile(`${file}.tmp`, `# Written by \`pipeline lock\`: the release assets recipes download, pinned.\n${stringify(doc)}`);
  await rename(`${file}.tmp`, file);
}

function getBytes(url: string, headers: Record<string, string>, redirects = 5): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const request = get(url, { headers: { 'user-agent': 'pipeline', ...headers }, timeout: 30_000 }, (res) => {
      if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && res.headers.location && redirects > 0) {
        res.resume();
        resolve(getBytes(new URL(res.headers.location, url).href, headers, redirects - 1));
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`${url}: no answer in 30 s`)));
    request.on('error', reject);
  });
}

function globMatcher(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

/** Finds the release (tag `v<version>` or `<version>`), the one asset matching the pattern, and hashes it. */
export async function resolveRelease(api: string, repo: string, version: string, pattern: string, token?: string): Promise<LockedRelease> {
  const headers: Record<string, string> = { accept: 'application/vnd.github+json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  const subject = `github_download_release(${repo}, ${version}, ${pattern})`;
  let release: { assets?: { name: string; browser_download_url: string; size: number }[] } | undefined;
  const tried: string[] = [];
  for (const tag of [`v${version}`, version]) {
    const url = `${api.replace(/\/+$/, '')}/repos/${repo}/releases/tags/${encodeURIComponent(tag)}`;
    tried.push(tag);
    const res = await getBytes(url, headers);
    if (res.status === 404) continue;
    if (res.status !== 200) throw new Error(`${subject}: ${url} answered HTTP ${res.status}`);
    release = JSON.parse(res.body.toString('utf8'));
    break;
  }
  if (!release) throw new Error(`${subject}: ${repo} has no release tagged ${tried.join(' or ')}`);
  const matcher = globMatcher(pattern);
  const assets = (release.assets ?? []).filter((a) => matcher.test(a.name));
  if (assets.length !== 1) {
    const names = (release.assets ?? []).map((a) => a.name);
    throw new Error(`${subject}: ${assets.length === 0 ? 'no asset matches' : `${assets.length} assets match (${assets.map((a) => a.name).join(', ')})`}; the release has: ${names.join(', ') || 'no assets'}`);
  }
  const asset = assets[0];
  const res = await getBytes(asset.browser_download_url, { 'user-agent': 'pipeline' });
  if (res.status !== 200) throw new Error(`${subject}: ${asset.browser_download_url} answered HTTP ${res.status}`);
  if (asset.size !== undefined && res.body.length !== asset.size) throw new Error(`${subject}: ${asset.name} is ${res.body.length} bytes, the release says ${asset.size}`);
  return { repo, version, pattern, url: asset.browser_download_url, sha256: createHash('sha256').update(res.body).digest('hex'), size: res.body.length, name: asset.name };
}

/**
 * Pins every release the recipes download that the lock lacks (or all of them, with `renew`), and
 * rewrites the lock when anything changed. The API is PIPELINE_GITHUB_API's, else GitHub's; a
 * token in GITHUB_TOKEN is sent, never logged.
 */
export async function pinReleases(
  root: string,
  calls: { repo: string; version: string; pattern: string }[],
  options: { env: NodeJS.ProcessEnv; renew?: boolean; log?: (line: string) => void },
): Promise<LockedRelease[]> {
  const existing = await readReleasesLock(root);
  const byKey = new Map(existing.map((r) => [releaseKey(r.repo, r.version, r.pattern), r]));
  const api = options.env.PIPELINE_GITHUB_API || DEFAULT_RELEASES_API;
  const added: LockedRelease[] = [];
  for (const call of calls) {
    const key = releaseKey(call.repo, call.version, call.pattern);
    if (byKey.has(key) && !options.renew) continue;
    const release = await resolveRelease(api, call.repo, call.version, call.pattern, options.env.GITHUB_TOKEN);
    options.log?.(`pinned ${key}: ${release.name} sha256 ${release.sha256}`);
    byKey.set(key, release);
    added.push(release);
  }
  if (added.length) await writeReleasesLock(root, [...byKey.values()]);
  return added;
}
