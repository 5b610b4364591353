// Two builds of the RPM mirror are byte-identical: every .rpm (signatures included), the
// repodata and repomd.xml.asc. The second build goes to a temporary directory and is compared
// with the cached one (out/fixtures/rpm).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRpmMirror, ensureRpmMirror } from '../../fixtures/rpm/build-mirror.js';
import { listFiles, tempDir } from './helpers.js';

describe('RPM fixture mirror reproducibility', () => {
  it('builds byte-identical packages, repodata and signatures twice', async () => {
    const cached = await ensureRpmMirror((line) => console.log(`[rpm mirror] ${line}`));
    const started = Date.now();
    const second = await buildRpmMirror({ outDir: join(await tempDir('rpm-mirror-'), 'rpm') });
    console.log(`[rpm mirror] rebuilt in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const files = await listFiles(cached.root);
    expect(await listFiles(second.root)).toEqual(files);
    expect(files.filter((f) => f.endsWith('.rpm'))).toHaveLength(cached.packages.length);
    for (const file of files) {
      const [a, b] = [await readFile(join(cached.root, file)), await readFile(join(second.root, file))];
      expect(a.equals(b), `${file} differs between two builds`).toBe(true);
    }
    expect(second.packages).toEqual(cached.packages);
  }, 600_000);
});
