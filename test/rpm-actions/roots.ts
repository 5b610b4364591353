// Small image roots in temporary directories, built from real files of this machine (Debian's
// systemd units, presets and sysusers.d) laid out as an EL root is (/lib -> usr/lib).
import { createHash } from 'node:crypto';
import { copyFile, lstat, mkdir, mkdtemp, readdir, readFile, readlink, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { hostRunner } from '../../stages/shared/host-runner.js';
import type { RpmActionContext } from '../../stages/rootfs/rpm-actions/index.js';

export const EPOCH = 1_700_000_000;

export async function emptyRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'rpm-root-'));
  await mkdir(join(root, 'etc'));
  await mkdir(join(root, 'usr', 'lib'), { recursive: true });
  await symlink('usr/lib', join(root, 'lib'));
  return root;
}

export async function copyInto(root: string, from: string, to: string): Promise<void> {
  await mkdir(dirname(join(root, to)), { recursive: true });
  await copyFile(from, join(root, to));
}

export function context(log: string[] = [], extra: Partial<RpmActionContext> = {}): RpmActionContext {
  return { runner: hostRunner({ log: (line) => log.push(line) }), sourceDateEpoch: EPOCH, ...extra };
}

/** Every path under the root with its type, mode, and content digest or link target: two equal listings are two equal trees. */
export async function treeListing(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(root, path));
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out.push(`${path} -> ${await readlink(join(root, path))}`);
      else if (st.isDirectory()) {
        out.push(`${path}/ ${mode}`);
        await walk(path);
      } else out.push(`${path} ${mode} ${createHash('sha256').update(await readFile(join(root, path))).digest('hex')}`);
    }
  };
  await walk('');
  return out;
}
