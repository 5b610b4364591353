import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunContext } from '../../graph/node.js';
import { parseLock } from '../../stages/sources/apk/lock.js';
import { MissingPackageError } from '../../stages/sources/apk/resolve-errors.js';
import { apkResolveNode } from '../../stages/sources/apk/resolve-node.js';
import { indexText } from './index-builder.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The parts of the engine's run context this node uses, backed by real directories. */
async function context(deps: Record<string, string>): Promise<RunContext & { lines: string[] }> {
  const root = await mkdtemp(join(tmpdir(), 'apk-resolve-node-'));
  dirs.push(root);
  const out = join(root, 'out');
  await mkdir(out);
  const lines: string[] = [];
  return {
    id: 'apk-resolve:iuppiter',
    out,
    tmp: join(root, 'tmp'),
    root,
    params: null,
    unkeyed: null,
    secrets: {},
    signal: new AbortController().signal,
    env: {},
    dep: (name) => {
      const dir = deps[name];
      if (!dir) throw new Error(`no dependency ${name}`);
      return dir;
    },
    file: (p) => join(root, p),
    tool: () => {
      throw new Error('no tools');
    },
    exec: () => Promise.reject(new Error('no tools')),
    log: (line) => {
      lines.push(line);
    },
    lines,
  };
}

async function indexDir(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'apk-index-'));
  dirs.push(dir);
  await writeFile(join(dir, 'APKINDEX'), text);
  return dir;
}

describe('apkResolveNode', () => {
  const input = {
    variant: 'iuppiter',
    arch: 'x86_64',
    requested: ['doas', 'busybox'],
    repositories: [
      { name: 'main', url: 'http://127.0.0.1:9/main/x86_64', indexNode: 'apk-index:main' },
      { name: 'community', url: 'http://127.0.0.1:9/community/x86_64', indexNode: 'apk-index:community' },
    ],
  };

  it('declares its index nodes and parameters', () => {
    const node = apkResolveNode(input);
    expect(node.id).toBe('apk-resolve:iuppiter');
    expect(node.kind).toBe('apk-resolve');
    expect(node.deps).toEqual({ 'index-main': 'apk-index:main', 'index-community': 'apk-index:community' });
    expect(node.params).toMatchObject({ variant: 'iuppiter', arch: 'x86_64', requested: ['doas', 'busybox'] });
  });

  it('writes the lock and the resolution from the index outputs', async () => {
    const main = await indexDir(indexText([{ nv: 'busybox-1.35.0-r17', p: '/bin/sh' }], 'main'));
    const community = await indexDir(indexText([{ nv: 'doas-6.8.2-r2', D: '/bin/sh' }], 'community'));
    const ctx = await context({ 'index-main': main, 'index-community': community });
    await apkResolveNode(input).run(ctx);
    const lock = parseLock(await readFile(join(ctx.out, 'lock.yaml'), 'utf8'), 'lock.yaml');
    expect(lock.packages.map((p) => `${p.name}@${p.repository}`)).toEqual(['busybox@main', 'doas@community']);
    const resolution = JSON.parse(await readFile(join(ctx.out, 'resolution.json'), 'utf8'));
    expect(resolution.providers).toEqual([
      expect.objectContaining({ name: '/bin/sh', package: 'busybox', rule: 'already-selected' }),
    ]);
    expect(ctx.lines).toContain('resolved 2 packages for iuppiter');
  });

  it('fails with the resolver error, naming the variant', async () => {
    const main = await indexDir(indexText([{ nv: 'busybox-1.35.0-r17' }], 'main'));
    const community = await indexDir(indexText([{ nv: 'doas-6.8.2-r2', D: 'so:libcrypto.so.3' }], 'community'));
    const ctx = await context({ 'index-main': main, 'index-community': community });
    const run = apkResolveNode(input).run(ctx);
    await expect(run).rejects.toBeInstanceOf(MissingPackageError);
    await expect(run).rejects.toThrow('iuppiter -> doas -> so:libcrypto.so.3: no provider');
  });
});
