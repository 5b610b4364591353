// Publishing artifacts into out/<variant>/: two builds of one project at once both publish, and a
// directory artifact cannot be renamed over the copy the other build just put in place.
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publishArtifacts } from '../../cli/artifacts.js';
import type { NodeOutcome } from '../../graph/build.js';

describe('publishing artifacts', () => {
  it('two builds publishing one directory and one file at once both succeed, leaving one whole copy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'artifacts-'));
    const output = join(dir, 'cas', 'abc');
    await mkdir(join(output, 'tree', 'sub'), { recursive: true });
    for (let i = 0; i < 20; i++) await writeFile(join(output, 'tree', 'sub', `f${i}`), `file ${i}\n`);
    await writeFile(join(output, 'image.iso'), 'iso bytes');
    const outcomes = new Map([['n', { status: 'built', path: output, output: 'abc' } as unknown as NodeOutcome]]);
    const artifacts = [
      { node: 'n', from: 'tree', to: 'tree' },
      { node: 'n', from: 'image.iso', to: 'image.iso' },
    ];
    for (let round = 0; round < 10; round++) {
      const outDir = join(dir, `out-${round}`);
      await Promise.all([publishArtifacts(outDir, artifacts, outcomes), publishArtifacts(outDir, artifacts, outcomes)]);
      expect((await readdir(join(outDir, 'tree', 'sub'))).length).toBe(20);
      expect(await readFile(join(outDir, 'image.iso'), 'utf8')).toBe('iso bytes');
      expect((await readdir(outDir)).sort()).toEqual(['.artifacts.json', 'image.iso', 'tree']);
      expect(JSON.parse(await readFile(join(outDir, '.artifacts.json'), 'utf8'))).toEqual({ tree: 'abc:tree', 'image.iso': 'abc:image.iso' });
    }
  });
});
