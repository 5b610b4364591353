import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolvePackagePath } from '../../stages/shared/package-path.js';

describe('a file in a package named by a pattern', () => {
  it('finds the one kernel whose release is in its path, and names every match when there are several', async () => {
    const root = await mkdtemp(join(tmpdir(), 'pkgpath-'));
    await mkdir(join(root, 'usr/lib/modules/6.12.0-55.el10.x86_64'), { recursive: true });
    await writeFile(join(root, 'usr/lib/modules/6.12.0-55.el10.x86_64/vmlinuz'), 'k');
    expect(await resolvePackagePath(root, 'usr/lib/modules/*/vmlinuz')).toBe(join(root, 'usr/lib/modules/6.12.0-55.el10.x86_64/vmlinuz'));
    expect(await resolvePackagePath(root, 'boot/vmlinuz-lts')).toBe(join(root, 'boot/vmlinuz-lts'));
    await expect(resolvePackagePath(root, 'usr/lib/modules/*/bzImage')).rejects.toThrow(/usr\/lib\/modules\/\*\/bzImage: no file in the package matches/);
    await mkdir(join(root, 'usr/lib/modules/6.13.0-1.el10.x86_64'), { recursive: true });
    await writeFile(join(root, 'usr/lib/modules/6.13.0-1.el10.x86_64/vmlinuz'), 'k');
    await expect(resolvePackagePath(root, 'usr/lib/modules/*/vmlinuz')).rejects.toThrow(/matches 2 files \(usr\/lib\/modules\/6.12.0-55.el10.x86_64\/vmlinuz, usr\/lib\/modules\/6.13.0-1.el10.x86_64\/vmlinuz\); name one/);
  });
});
