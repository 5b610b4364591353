// Recipe paths stay inside the sandbox: no '..', no symlink that leads out, no write into RECIPE_DIR.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readablePath, sandboxPath, writablePath } from '../../recipe/confine.js';

const base = mkdtempSync(join(tmpdir(), 'pipeline-confine-'));
const dirs = { build: join(base, 'build'), out: join(base, 'out'), recipe: join(base, 'recipe') };
for (const d of Object.values(dirs)) mkdirSync(d);
mkdirSync(join(dirs.build, 'src'));
symlinkSync('/etc', join(dirs.build, 'etc-link'));
symlinkSync('../../..', join(dirs.build, 'src', 'up'));
symlinkSync('/build/src', join(dirs.build, 'inside'));
symlinkSync('/out/usr', join(dirs.build, 'to-out'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('recipe path confinement', () => {
  it('maps sandbox paths and relative paths to the host directories', () => {
    expect(readablePath(dirs, '/build/src/a.c')).toBe(join(dirs.build, 'src/a.c'));
    expect(readablePath(dirs, 'src/a.c')).toBe(join(dirs.build, 'src/a.c'));
    expect(writablePath(dirs, '/out/usr/bin/hello')).toBe(join(dirs.out, 'usr/bin/hello'));
    expect(readablePath(dirs, '/recipe/x.patch')).toBe(join(dirs.recipe, 'x.patch'));
    expect(sandboxPath(dirs, join(dirs.out, 'usr/bin'))).toBe('/out/usr/bin');
  });

  it('follows symlinks that stay inside their area', () => {
    expect(readablePath(dirs, '/build/inside/a.c')).toBe(join(dirs.build, 'src/a.c'));
  });

  it('refuses .., paths outside the areas, escaping symlinks and writes into RECIPE_DIR', () => {
    expect(() => readablePath(dirs, '/build/../etc/passwd')).toThrow(/'\.\.' is not allowed/);
    expect(() => readablePath(dirs, '/etc/passwd')).toThrow(/outside BUILD_DIR/);
    expect(() => readablePath(dirs, '/build/etc-link/passwd')).toThrow(/symlink leads out of \/build/);
    expect(() => readablePath(dirs, '/build/src/up/x')).toThrow(/'\.\.' is not allowed|outside|leads out/);
    expect(() => writablePath(dirs, '/build/to-out/x')).toThrow(/leads out of \/build/);
    expect(() => writablePath(dirs, '/recipe/x')).toThrow(/read-only/);
    expect(() => writablePath(dirs, '/out')).toThrow(/cannot replace \/out itself/);
  });
});
