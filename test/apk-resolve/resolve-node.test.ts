// The apk-resolve node run by the real engine (Session + build). The index nodes here write a
// real-format APKINDEX from their parameters; in the pipeline they are the index-file nodes
// (download + signature check).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { build } from '../../graph/build.js';
import type { NodeSpec } from '../../graph/node.js';
import { Session } from '../../graph/session.js';
import { parseLock } from '../../stages/sources/apk/lock.js';
import { apkResolveNode } from '../../stages/sources/apk/resolve-node.js';
import { type PackageSpec, indexText } from './index-builder.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function indexNode(name: string, specs: PackageSpec[]): NodeSpec {
  const text = indexText(specs, name);
  return {
    id: `apk-index:${name}`,
    kind: 'test-apk-index',
    version: 1,
    params: { text },
    async run(ctx) {
      await writeFile(join(ctx.out, 'APKINDEX'), text);
    },
  };
}

const INPUT = {
  variant: 'iuppiter',
  arch: 'x86_64',
  requested: ['doas', 'busybox'],
  repositories: [
    { name: 'main', url: 'http://127.0.0.1:9/main/x86_64', indexNode: 'apk-index:main' },
    { name: 'community', url: 'http://127.0.0.1:9/community/x86_64', indexNode: 'apk-index:community' },
  ],
};

async function withSession<T>(fn: (session: Session) => Promise<T>): Promise<T> {
  const root = await mkdtemp(join(tmpdir(), 'apk-resolve-node-'));
  dirs.push(root);
  const session = await Session.open({ root, callerEnv: { PATH: process.env.PATH } });
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

describe('apkResolveNode', () => {
  it('declares its index nodes and parameters', () => {
    const node = apkResolveNode(INPUT);
    expect(node.id).toBe('apk-resolve:iuppiter');
    expect(node.kind).toBe('apk-resolve');
    expect(node.deps).toEqual({ 'index-main': 'apk-index:main', 'index-community': 'apk-index:community' });
    expect(node.params).toMatchObject({ variant: 'iuppiter', arch: 'x86_64', requested: ['doas', 'busybox'] });
  });

  it('writes the lock and the resolution; caches; reruns when an index changes', async () => {
    await withSession(async (session) => {
      const graph = (doasVersion: string): NodeSpec[] => [
        indexNode('main', [{ nv: 'busybox-1.35.0-r17', p: '/bin/sh' }]),
        indexNode('community', [{ nv: `doas-${doasVersion}`, D: '/bin/sh' }]),
        apkResolveNode(INPUT),
      ];
      const first = await build(session, graph('6.8.2-r2'), { jobs: 2 });
      const failures = [...first.outcomes.values()].filter((o) => o.error).map((o) => `${o.id}: ${o.error?.message}`);
      expect(first.ok, failures.join('\n')).toBe(true);
      const out = first.outcomes.get('apk-resolve:iuppiter')!.path!;
      const lock = parseLock(await readFile(join(out, 'lock.yaml'), 'utf8'), 'lock.yaml');
      expect(lock.packages.map((p) => `${p.name}-${p.version}@${p.repository}`)).toEqual(['busybox-1.35.0-r17@main', 'doas-6.8.2-r2@community']);
      const resolution = JSON.parse(await readFile(join(out, 'resolution.json'), 'utf8'));
      expect(resolution.providers).toEqual([expect.objectContaining({ name: '/bin/sh', package: 'busybox', rule: 'already-selected' })]);

      const second = await build(session, graph('6.8.2-r2'), { jobs: 2 });
      expect([...second.outcomes.values()].map((o) => o.status)).toEqual(['cached', 'cached', 'cached']);

      const third = await build(session, graph('6.8.3-r0'), { jobs: 2 });
      expect(third.outcomes.get('apk-resolve:iuppiter')!.status).toBe('built');
      const relock = parseLock(await readFile(join(third.outcomes.get('apk-resolve:iuppiter')!.path!, 'lock.yaml'), 'utf8'), 'lock.yaml');
      expect(relock.packages.find((p) => p.name === 'doas')!.version).toBe('6.8.3-r0');
    });
  }, 60_000);

  it('fails with the resolver error, naming the chain', async () => {
    await withSession(async (session) => {
      const result = await build(
        session,
        [
          indexNode('main', [{ nv: 'busybox-1.35.0-r17' }]),
          indexNode('community', [{ nv: 'doas-6.8.2-r2', D: 'so:libcrypto.so.3' }]),
          apkResolveNode(INPUT),
        ],
        { jobs: 2, keepGoing: true },
      );
      const outcome = result.outcomes.get('apk-resolve:iuppiter')!;
      expect(outcome.status).toBe('failed');
      expect(outcome.error?.message).toContain('iuppiter -> doas -> so:libcrypto.so.3: no provider');
    });
  }, 60_000);
});
