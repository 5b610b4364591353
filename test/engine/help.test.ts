// `--help` tells the truth: every flag it lists is accepted, and `doctor` names missing packages.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../fixtures/paths.js';
import { cli, tempProject } from './helpers.js';

async function commandNames(root: string): Promise<string[]> {
  const main = await cli(['--help'], root);
  expect(main.code).toBe(0);
  const section = main.stdout.split('Commands:\n')[1].split('\n\n')[0];
  return section.split('\n').map((l) => l.trim().split(/\s{2,}/)[0]);
}

describe('help', () => {
  it('every command has help, and every flag it lists parses', async () => {
    const root = await tempProject();
    const names = await commandNames(root);
    expect(names).toEqual(expect.arrayContaining(['build', 'graph', 'explain', 'cache stats', 'cache gc', 'cache verify', 'doctor']));
    for (const name of names) {
      const help = await cli([...name.split(' '), '--help'], root);
      expect([name, help.code]).toEqual([name, 0]);
      expect(help.stdout).toContain(`Usage: pipeline ${name}`);
      const flags = [...help.stdout.matchAll(/^ {2}--([a-z-]+)( [A-Z=]+)?/gm)];
      for (const [, flag, value] of flags) {
        const args = [...name.split(' '), `--${flag}`, ...(value ? ['1'] : []), '--help'];
        const r = await cli(args, root);
        expect([name, flag, r.code, r.stderr]).toEqual([name, flag, 0, '']);
      }
    }
  });

  it('help, version and usage errors say exactly what they said before (golden file)', async () => {
    // Help is generated from the command table while implementations load lazily: this pins the
    // text, so moving definitions around cannot change a word. Update on purpose with
    // `npx vitest run test/engine/help.test.ts -u` and review the diff.
    const root = await tempProject();
    const names = await commandNames(root);
    const cases = [
      ['--help'], ['-h'], ['help'], ['help', 'cache', 'gc'], ['--version'], [],
      ...names.map((n) => [...n.split(' '), '--help']),
      ['nope'], ['buidl'], ['cache'], ['build'], ['build', '--bogus', 'x'], ['build', 'a', '--all'], ['graph'], ['explain', 'a', 'b', 'c'], ['explain', '--json'],
    ];
    const version = JSON.parse(await readFile(join(projectRoot(), 'package.json'), 'utf8')).version as string;
    const record: string[] = [];
    for (const args of cases) {
      const r = await cli(args, root);
      // Machine-dependent bits: the core count in --jobs, the version.
      const norm = (s: string) => s.replace(/here \d+\)/g, 'here <cores>)').replaceAll(version, '<version>');
      record.push(`$ pipeline ${args.join(' ')}\n[exit ${r.code}]\n--- stdout\n${norm(r.stdout)}--- stderr\n${norm(r.stderr)}`);
    }
    await expect(record.join('\n')).toMatchFileSnapshot('./__snapshots__/help.golden.txt');
  });

  it('no arguments prints the overview and exits 2', async () => {
    const r = await cli([], await tempProject());
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('Usage: pipeline <command>');
  });
});

describe('doctor', () => {
  it('lists tools with versions, and the Debian package of each missing one', async () => {
    const root = await tempProject();
    const r = await cli(['doctor', '--json'], root);
    const report = JSON.parse(r.stdout);
    const mksquashfs = report.tools.find((t: { name: string }) => t.name === 'mksquashfs');
    expect(mksquashfs.found).toMatch(/mksquashfs$/);
    expect(mksquashfs.version).toMatch(/^\d+\.\d+/);
    expect(r.code).toBe(report.missingPackages.length ? 1 : 0);

    // With nothing on PATH (and the sbin directories it adds holding none of them), the user is
    // told which packages to install.
    const bare = await cli(['doctor'], root, { PATH: '/nonexistent' });
    expect(bare.stdout).toMatch(/✗ xorriso +missing/);
    expect(bare.stdout).toContain('(Debian package xorriso)');
    expect(bare.stdout).toMatch(/Missing; install with: apt-get install .*xorriso/);
    expect(bare.code).toBe(1);
  });
});
