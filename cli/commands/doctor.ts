// `pipeline doctor`: which host tools and firmware files the stages need, which are here (with
// their versions), and the Debian package that provides each missing one. Its options and help are
// in ../definitions.ts.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { FileDigester, ToolResolver } from '../../graph/file-digests.js';
import { KEYS_INIT_TOOLS } from '../../keys/secureboot.js';
import { stageHostFiles, stageTools, type ToolUse } from '../../stages/index.js';
import { EXIT, type Command } from '../command.js';

const run = promisify(execFile);

/** What the test suite runs besides the stages' tools: readers that check what the stages write. */
export const TEST_TOOLS: ToolUse[] = [
  { name: 'sbverify', debianPackage: 'sbsigntool', versionArgs: ['--version'], usedBy: 'tests: signature checks' },
  { name: 'unsquashfs', debianPackage: 'squashfs-tools', versionArgs: ['-version'], usedBy: 'tests: root image listing' },
  { name: 'cpio', debianPackage: 'cpio', versionArgs: ['--version'], usedBy: 'tests: initramfs listing' },
  { name: 'objdump', debianPackage: 'binutils', versionArgs: ['--version'], usedBy: 'tests: UKI section layout' },
  { name: 'isoinfo', debianPackage: 'genisoimage', versionArgs: ['-version'], usedBy: 'tests: ISO listing' },
  { name: 'nginx', debianPackage: 'nginx-light', versionArgs: ['-v'], usedBy: 'tests: remote cache (WebDAV)' },
];

/** Every tool `doctor` looks for: the stages', `keys init`'s, then the test suite's. */
export function doctorTools(): (ToolUse & { testOnly?: boolean })[] {
  return [
    ...stageTools(),
    ...KEYS_INIT_TOOLS.map((t) => ({ ...t, usedBy: 'keys init' })),
    ...TEST_TOOLS.map((t) => ({ ...t, testOnly: true })),
  ];
}

async function versionOf(path: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(path, args, { timeout: 5000 });
    return firstVersion(stdout + '\n' + stderr);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return firstVersion(`${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

function firstVersion(text: string): string {
  return /\d+\.\d+(?:[.-]\d+)*/.exec(text)?.[0] ?? /version\s+(\d+)/i.exec(text)?.[1] ?? '?';
}

/** For tools that print no version: the version of the Debian package that installed them. */
async function packageVersion(debianPackage: string): Promise<string> {
  try {
    const { stdout } = await run('dpkg-query', ['-W', '-f', '${Version}', debianPackage.split(' ')[0]], { timeout: 5000 });
    return stdout.trim() ? `${stdout.trim()} (package)` : '?';
  } catch {
    return '?';
  }
}

export const doctorCommand: Command = {
  async run(args) {
    const resolver = new ToolResolver(new FileDigester());
    const tools = await Promise.all(
      doctorTools().map(async (t) => {
        try {
          const found = await resolver.resolve(t.name);
          let version = await versionOf(found.foundAt, t.versionArgs);
          if (version === '?') version = await packageVersion(t.debianPackage);
          return { ...t, found: found.foundAt, version };
        } catch {
          return { ...t, found: undefined, version: undefined };
        }
      }),
    );
    const firmware = stageHostFiles().map((f) => ({ name: f.name, path: f.candidates.find((c) => existsSync(c)) ?? f.candidates[0], debianPackage: f.debianPackage, usedBy: f.usedBy, found: f.candidates.some((c) => existsSync(c)) }));
    const missing = [...new Set([...tools.filter((t) => !t.found).map((t) => t.debianPackage), ...firmware.filter((f) => !f.found).map((f) => f.debianPackage)])];
    const missingForBuild = tools.some((t) => !t.found && !t.testOnly) || firmware.some((f) => !f.found);
    if (args.values.json) {
      process.stdout.write(JSON.stringify({ node: process.version, tools, firmware, missingPackages: missing }) + '\n');
    } else {
      const w = Math.max(...tools.map((t) => t.name.length));
      const lines = [`node ${process.version}`, '', 'Host tools:'];
      for (const t of tools) {
        lines.push(
          `  ${t.found ? '✓' : '✗'} ${t.name.padEnd(w)}  ${(t.found ? `${t.version}`.padEnd(16) : 'missing'.padEnd(16))}  ${t.usedBy}${t.found ? '' : `  (Debian package ${t.debianPackage})`}`,
        );
      }
      lines.push('', 'Firmware:');
      const fw = Math.max(...firmware.map((f) => f.path.length));
      for (const f of firmware) lines.push(`  ${f.found ? '✓' : '✗'} ${f.path.padEnd(fw)}  ${f.usedBy}${f.found ? '' : `  (Debian package ${f.debianPackage})`}`);
      lines.push('', missing.length ? `Missing; install with: apt-get install ${missing.join(' ')}` : 'Everything is here.');
      process.stdout.write(lines.join('\n') + '\n');
    }
    return missingForBuild ? EXIT.failed : EXIT.ok;
  },
};
