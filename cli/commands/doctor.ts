// `pipeline doctor`: which host tools and firmware files the stages need, which are here (with
// their versions), and the Debian package that provides each missing one. Its options and help are
// in ../definitions.ts.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { FileDigester, ToolResolver } from '../../graph/file-digests.js';
import { FIRMWARE_FILES, HOST_TOOLS } from '../../stages/host-tools.js';
import { EXIT, type Command } from '../command.js';

const run = promisify(execFile);

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
      HOST_TOOLS.map(async (t) => {
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
    const firmware = FIRMWARE_FILES.map((f) => ({ ...f, found: existsSync(f.path) }));
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
      for (const f of firmware) lines.push(`  ${f.found ? '✓' : '✗'} ${f.path}  ${f.usedBy}${f.found ? '' : `  (Debian package ${f.debianPackage})`}`);
      lines.push('', missing.length ? `Missing; install with: apt-get install ${missing.join(' ')}` : 'Everything is here.');
      process.stdout.write(lines.join('\n') + '\n');
    }
    return missingForBuild ? EXIT.failed : EXIT.ok;
  },
};
