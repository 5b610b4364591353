// The README documents every command and every flag the command line accepts.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tempProject } from '../engine/helpers.js';
import { projectRoot } from '../../fixtures/paths.js';

describe('README', () => {
  it('names every command and every option that --help lists', async () => {
    const readme = await readFile(join(projectRoot(), 'README.md'), 'utf8');
    const root = await tempProject();
    const main = await cli(['--help'], root);
    const commands = main.stdout.split('Commands:\n')[1].split('\n\n')[0].split('\n').map((l) => l.trim().split(/\s{2,}/)[0]);
    expect(commands.length).toBeGreaterThanOrEqual(10);
    for (const name of commands) {
      expect(readme, `README lacks \`pipeline ${name}\``).toContain(`pipeline ${name}`);
      const help = await cli([...name.split(' '), '--help'], root);
      for (const [, flag] of help.stdout.matchAll(/^ {2}--([a-z-]+)/gm)) {
        if (flag === 'help') continue;
        expect(readme, `README lacks --${flag} (of ${name})`).toContain(`--${flag}`);
      }
    }
    for (const variable of ['PIPELINE_CACHE', 'PIPELINE_CONFIG', 'PIPELINE_SECUREBOOT_KEY', 'PIPELINE_QEMU_ACCEL', 'PIPELINE_BOOT_TIME_SCALE']) {
      expect(main.stdout).toContain(variable);
      expect(readme).toContain(variable);
    }
  });
});
