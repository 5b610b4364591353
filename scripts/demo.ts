// `npm run demo`: everything on a fresh Debian 12 machine, offline but for Debian's packages.
// Installs the host tools the build and the boot tests need (apt-get, as root), builds the demo
// Alpine mirror from Debian binaries, builds the demo ISO and boots it in every scenario.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FileDigester, ToolResolver } from '../graph/file-digests.js';
import { stageHostFiles, stageTools } from '../stages/index.js';
import { ensureDemoMirror } from '../fixtures/build-mirror.js';
import { projectRoot } from '../fixtures/paths.js';

const run = promisify(execFile);

async function missingPackages(): Promise<string[]> {
  const resolver = new ToolResolver(new FileDigester());
  const missing = new Set<string>();
  for (const tool of stageTools()) {
    try {
      await resolver.resolve(tool.name);
    } catch {
      missing.add(tool.debianPackage);
    }
  }
  for (const f of stageHostFiles()) if (!f.candidates.some((c) => existsSync(c))) missing.add(f.debianPackage);
  // The demo mirror is made from .debs fetched with apt-get download, unpacked with dpkg-deb.
  return [...missing].sort();
}

async function installHostTools(): Promise<void> {
  const missing = await missingPackages();
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.error(`missing host tools; as root, run:\n  apt-get update && apt-get install -y ${missing.join(' ')}\nthen npm run demo again.`);
    process.exit(2);
  }
  console.log(`installing ${missing.join(' ')} (apt-get)`);
  await run('apt-get', ['update', '-q'], { maxBuffer: 64 << 20 });
  await run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 64 << 20 });
}

async function main(): Promise<void> {
  await installHostTools();
  console.log('building the demo Alpine mirror from Debian binaries (out/fixtures/alpine)…');
  const mirror = await ensureDemoMirror((line) => console.log(`  ${line}`));
  console.log(`mirror ready: ${mirror.packages.length} packages`);
  // The demo variant's mirror defaults to out/fixtures/alpine: no network from here on.
  const root = projectRoot();
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin/pipeline.js'), 'test', 'demo'], { cwd: root, stdio: 'inherit' });
    child.on('exit', (c) => resolve(c ?? 1));
  });
  process.exit(code);
}

await main();
