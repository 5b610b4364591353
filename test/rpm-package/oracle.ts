// rpm as an oracle (tests only): what `rpm -qp --dump` / `--qf` report about a package, and the
// tree `rpm2cpio | cpio -idm` (or rpm2archive, for stripped payloads) unpacks it to.
import { execFileSync, execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import { readManifest } from '../../stages/shared/manifest.js';
import type { RpmInfo, UnpackRpmResult } from '../../stages/sources/rpm/package.js';

export interface DumpedFile {
  path: string;
  size: number;
  mtime: number;
  digest: string;
  mode: number;
  owner: string;
  group: string;
  config: boolean;
  rdev: number;
  /** Symlink target ('' for none). */
  target: string;
  flags: number;
  caps: string;
}

export function rpmQuery(rpmPath: string, format: string): string {
  return execFileSync('rpm', ['-qp', '--nosignature', '--nodigest', '--qf', format, rpmPath], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
}

export function rpmDump(rpmPath: string): DumpedFile[] {
  const dump = execFileSync('rpm', ['-qp', '--nosignature', '--nodigest', '--dump', rpmPath], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  const extra = rpmQuery(rpmPath, '[%{FILEFLAGS}\t%{FILECAPS}\n]').split('\n');
  return dump
    .split('\n')
    .filter((line) => line.startsWith('/'))
    .map((line, i) => {
      const f = line.split(' ');
      const [flags, caps] = extra[i].split('\t');
      return {
        path: f[0],
        size: Number(f[1]),
        mtime: Number(f[2]),
        digest: f[3],
        mode: parseInt(f[4], 8),
        owner: f[5],
        group: f[6],
        config: f[7] === '1',
        rdev: parseInt(f[9], 16),
        target: f[10] === 'X' ? '' : f[10],
        flags: Number(flags),
        caps: caps === '(none)' ? '' : caps,
      };
    });
}

export type TreeNode = { type: 'file'; sha256: string; ino: number } | { type: 'dir' } | { type: 'symlink'; target: string };

/** Every path below `dir` (relative), with content digests and link targets. */
export function readTree(dir: string): Map<string, TreeNode> {
  const out = new Map<string, TreeNode>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const full = join(entry.parentPath, entry.name);
    const path = relative(dir, full);
    const st = lstatSync(full);
    if (st.isSymbolicLink()) out.set(path, { type: 'symlink', target: readlinkSync(full) });
    else if (st.isDirectory()) out.set(path, { type: 'dir' });
    else out.set(path, { type: 'file', sha256: createHash('sha256').update(readFileSync(full)).digest('hex'), ino: st.ino });
  }
  return out;
}

/** The tree rpm's own tools unpack the payload to. */
export function referenceTree(rpmPath: string): Map<string, TreeNode> {
  const dir = mkdtempSync(join(tmpdir(), 'rpm2cpio-'));
  try {
    execSync(`rpm2cpio '${rpmPath}' | cpio -idm --quiet --no-absolute-filenames -D '${dir}'`, { stdio: 'ignore' });
  } catch {
    // rpm2cpio refuses stripped (07070X) payloads: rpm2archive reads them.
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    execSync(`rpm2archive -n < '${rpmPath}' | tar -xf - -C '${dir}'`);
  }
  return readTree(dir);
}

/** Drops inode numbers (they differ between trees) for comparison. */
export function comparable(tree: Map<string, TreeNode>): Record<string, unknown> {
  return Object.fromEntries([...tree].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, node]) => [path, node.type === 'file' ? { type: 'file', sha256: node.sha256 } : node]));
}

/** Everything rpm says about the package, checked against our output directory. */
export async function expectAsRpmSays(rpmPath: string, out: string, result: UnpackRpmResult): Promise<void> {
  const manifest = await readManifest(join(out, 'manifest.json'));
  expect(manifest.entries).toEqual(result.manifest.entries);
  const byPath = new Map(manifest.entries.map((e) => [e.path, e]));
  const info = JSON.parse(readFileSync(join(out, 'rpminfo.json'), 'utf8')) as RpmInfo;
  const dump = rpmDump(rpmPath);
  for (const d of dump) {
    const path = d.path.slice(1);
    if (d.flags & 64) {
      expect(byPath.has(path), `${path} is a %ghost`).toBe(false);
      expect(info.ghosts).toContain(d.path);
      continue;
    }
    const entry = byPath.get(path);
    expect(entry, path).toBeDefined();
    expect(entry!.mode, path).toBe(d.mode & 0o7777);
    expect([entry!.uname, entry!.gname, entry!.uid, entry!.gid], path).toEqual([d.owner, d.group, 0, 0]);
    const kind = d.mode & 0o170000;
    if (kind === 0o100000) {
      const data = entry!.type === 'hardlink' ? byPath.get(entry!.link!)! : entry!;
      expect(data.type, path).toBe('file');
      expect(data.size, path).toBe(d.size);
      expect(data.packageDigest, path).toBe(`sha256:${d.digest}`);
      expect(statSync(join(out, 'root', path)).mtimeMs / 1000, path).toBe(d.mtime);
    } else if (kind === 0o120000) {
      expect([entry!.type, entry!.target], path).toEqual(['symlink', d.target]);
    } else if (kind === 0o040000) {
      expect(entry!.type, path).toBe('dir');
      expect(statSync(join(out, 'root', path)).mtimeMs / 1000, path).toBe(d.mtime);
    }
    expect(entry!.xattrs?.['security.capability'] !== undefined, `${path} capabilities`).toBe(d.caps !== '');
  }
  expect(info.configFiles).toEqual(dump.filter((d) => d.config).map((d) => d.path));
  expect(manifest.entries.length).toBe(dump.filter((d) => !(d.flags & 64)).length);

  // The same files, bytes and link targets as rpm's own unpacking.
  expect(comparable(readTree(join(out, 'root')))).toEqual(comparable(referenceTree(rpmPath)));

  const [name, epoch, version, release, arch, license, summary] = rpmQuery(rpmPath, '%{NAME}\n%{EPOCHNUM}\n%{VERSION}\n%{RELEASE}\n%{ARCH}\n%{LICENSE}\n%{SUMMARY}').split('\n');
  expect(info).toMatchObject({ name, epoch: Number(epoch), version, release, arch, license, summary });
  const deps = (n: string, f: string, v: string): string[] => lines(rpmQuery(rpmPath, `[%{${n}} %{${f}:depflags} %{${v}}\n]`));
  expect(info.provides).toEqual(deps('PROVIDENAME', 'PROVIDEFLAGS', 'PROVIDEVERSION'));
  expect(info.requires).toEqual(deps('REQUIRENAME', 'REQUIREFLAGS', 'REQUIREVERSION'));
  for (const [script, tag] of [
    ['prein', 'PREIN'],
    ['postin', 'POSTIN'],
    ['preun', 'PREUN'],
    ['postun', 'POSTUN'],
    ['pretrans', 'PRETRANS'],
    ['posttrans', 'POSTTRANS'],
  ]) {
    const prog = rpmQuery(rpmPath, `%{${tag}PROG}`);
    const ours = info.scriptlets.find((s) => s.name === script);
    if (prog === '(none)') {
      expect(ours, script).toBeUndefined();
      continue;
    }
    expect(ours?.interpreter, script).toBe(prog);
    const body = rpmQuery(rpmPath, `%{${tag}}`);
    if (body !== '(none)') expect(readFileSync(join(out, 'scripts', script), 'utf8')).toBe(body);
  }
}


function lines(text: string): string[] {
  return text.split('\n').filter(Boolean).map((l) => l.replace(/\s+$/, ''));
}
