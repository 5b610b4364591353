// The bound a package's data may unpack to, and `alpine.max_unpacked_size` from a variant file
// to the index and unpack nodes (through the real variant loader and schema check).
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { alpineSource } from '../../compile/alpine.js';
import { loadCompileInputs } from '../../compile/load.js';
import { Problems } from '../../compile/problems.js';
import { loadVariant } from '../../compile/variant.js';
import { ConfigError } from '../../graph/errors.js';
import { writeLockFile, type ApkLock } from '../../stages/sources/apk/lock.js';
import { dataMemberLimit, DEFAULT_MAX_UNPACKED_BYTES } from '../../stages/sources/apk/unpack-limits.js';
import { DEMO_KEYS_DIR } from '../../fixtures/alpine/signer.js';
import { projectRoot } from '../../fixtures/paths.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('the data member bound', () => {
  it('is the declared size with room for headers per entry, within the ceiling', () => {
    const limit = dataMemberLimit(1024, 1 << 30);
    expect(limit(0)).toBe(1536 + 65536);
    expect(limit(10)).toBe(1536 + 65536 + 10 * 4096);
    expect(dataMemberLimit(1 << 30, 1 << 30)(5)).toBe(1 << 30);
    expect(dataMemberLimit(undefined, 123456)(1000)).toBe(123456);
  });
});

/** A project holding one variant with the given `alpine:` extra lines, and a lock for it. */
function project(alpineExtra: string): string {
  const root = mkdtempSync(join(tmpdir(), 'unpack-limits-'));
  dirs.push(root);
  mkdirSync(join(root, 'variants'), { recursive: true });
  cpSync(join(projectRoot(), DEMO_KEYS_DIR), join(root, DEMO_KEYS_DIR), { recursive: true });
  writeFileSync(
    join(root, 'variants', 'small.yaml'),
    [
      'name: small',
      'mirrors:',
      '  demo: out/fixtures/alpine',
      'alpine:',
      '  arch: x86_64',
      `  keys: ${DEMO_KEYS_DIR}`,
      '  repositories:',
      '    - { name: main, mirror: demo, path: v3.23/main }',
      alpineExtra,
      'packages:',
      '  - busybox',
      '',
    ].join('\n'),
  );
  return root;
}

async function lock(root: string): Promise<void> {
  const locked: ApkLock = {
    lockVersion: 1,
    variant: 'small',
    arch: 'x86_64',
    requested: ['busybox'],
    repositories: [{ name: 'main', url: 'mirror://demo/v3.23/main/x86_64' }],
    packages: [
      {
        name: 'busybox',
        version: '1.35.0-r4',
        arch: 'x86_64',
        repository: 'main',
        size: 1000,
        checksum: 'Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=',
        file: 'busybox-1.35.0-r4.apk',
        depends: [],
      },
    ],
  };
  await writeLockFile(join(root, 'variants', 'small.lock.yaml'), locked);
}

describe('alpine.max_unpacked_size', () => {
  it('reaches the index and unpack nodes of the variant', async () => {
    const root = project('  max_unpacked_size: 4294967296   # 4 GiB: this variant carries huge firmware');
    await lock(root);
    const source = alpineSource(await loadCompileInputs('small', { cwd: root }), new Problems());
    const params = (id: string) => source.nodes.find((n) => n.id === id)!.params as { maxUnpackedBytes: number };
    expect(params('apk-index:demo/v3.23/main/x86_64').maxUnpackedBytes).toBe(4 * 1024 ** 3);
    expect(params('apk:busybox@1.35.0-r4').maxUnpackedBytes).toBe(4 * 1024 ** 3);
  });

  it('defaults to the 2 GiB ceiling, and is checked like every other key', async () => {
    const root = project('');
    await lock(root);
    const source = alpineSource(await loadCompileInputs('small', { cwd: root }), new Problems());
    expect((source.nodes.find((n) => n.id === 'apk:busybox@1.35.0-r4')!.params as { maxUnpackedBytes: number }).maxUnpackedBytes).toBe(
      DEFAULT_MAX_UNPACKED_BYTES,
    );
    const bad = project('  max_unpacked_size: 1000');
    await expect(loadVariant('small', bad)).rejects.toBeInstanceOf(ConfigError);
    await expect(loadVariant('small', bad)).rejects.toThrow(/variants\/small\.yaml:9:\d+: alpine\.max_unpacked_size must be at least 1048576, got 1000/);
  });
});
