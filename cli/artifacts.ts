// Copies a build's artifacts out of the store into out/<variant>/, where users look for them.
// Each is copied to a temporary name and renamed into place, so a reader never sees half a
// file; an artifact already there from the same output is left alone (no-op builds stay fast).
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, readdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { NodeOutcome } from '../graph/build.js';
import type { Artifact } from '../compile/index.js';

const MANIFEST = '.artifacts.json';

export async function publishArtifacts(outDir: string, artifacts: Artifact[], outcomes: Map<string, NodeOutcome>): Promise<Record<string, string>> {
  const published: Record<string, string> = {};
  if (artifacts.length === 0) return published;
  await mkdir(outDir, { recursive: true });
  let previous: Record<string, string> = {};
  try {
    previous = JSON.parse(await readFile(join(outDir, MANIFEST), 'utf8'));
  } catch {}
  const now: Record<string, string> = {};
  for (const a of artifacts) {
    const outcome = outcomes.get(a.node);
    if (!outcome?.path || !outcome.output) continue;
    const target = join(outDir, a.to);
    const stamp = `${outcome.output}:${a.from}`;
    now[a.to] = stamp;
    published[a.to] = target;
    if (previous[a.to] === stamp && (await exists(target))) continue;
    const tmp = join(dirname(target), `.${a.to.replace(/\//g, '_')}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(dirname(target), { recursive: true });
    await copyTree(join(outcome.path, a.from), tmp);
    await replace(tmp, target);
  }
  const manifestTmp = join(outDir, `${MANIFEST}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await writeFile(manifestTmp, JSON.stringify({ ...previous, ...now }, null, 1));
  await rename(manifestTmp, join(outDir, MANIFEST));
  return published;
}

/**
 * Renames `tmp` over `target`. A directory cannot be renamed over a non-empty one, and another
 * build publishing the same artifact may put its copy there between our remove and our rename:
 * then remove again and retry (both copies come from the same output).
 */
async function replace(tmp: string, target: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    await rm(target, { recursive: true, force: true });
    try {
      await rename(tmp, target);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (attempt >= 5 || (code !== 'ENOTEMPTY' && code !== 'EEXIST')) throw err;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function copyTree(from: string, to: string): Promise<void> {
  const st = await lstat(from);
  if (st.isDirectory()) {
    await mkdir(to, { recursive: true });
    for (const name of await readdir(from)) await copyTree(join(from, name), join(to, name));
  } else if (st.isSymbolicLink()) {
    await symlink(await readlink(from), to);
  } else {
    // A reflink where the file system offers one, else a plain copy.
    await copyFile(from, to, constants.COPYFILE_FICLONE);
  }
}
