// `extract(archive, dest)` of the recipe API: tar (plain, gz, xz, zst, bz2) and zip, into a
// directory of the sandbox, with the same rules as package unpacking: no absolute or `..` member,
// nothing written through a symlink, hardlinks only to members already extracted, and a bound on
// what the archive may expand to. Runs as its own process (`node extract.js ARCHIVE DEST MAX`)
// because the interpreter's host functions are synchronous and the tar reader streams.
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync } from 'node:fs';
import { link, lutimes, mkdir, open, symlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { readTar } from '../formats/tar.js';

export const EXTRACT_MAX_BYTES = 4 * 2 ** 30;

type Kind = 'tar' | 'gz' | 'xz' | 'zst' | 'bz2' | 'zip';

/** The archive's kind, from its magic number (a name can lie). */
export function archiveKind(head: Buffer): Kind | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gz';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.readUInt32LE(0) === 0xfd2fb528) return 'zst';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bz2';
  if (head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) return 'zip';
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  return undefined;
}

function memberPath(raw: string): string {
  const path = raw.replace(/^\.\/+/, '').replace(/\/+$/, '');
  if (path.startsWith('/')) throw new Error(`member ${raw} has an absolute path`);
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new Error(`member ${raw} leaves the destination ('..')`);
  return parts.join('/');
}

/** Creates the parents of `path` in `dest`, refusing any that is a symlink or not a directory. */
function parents(dest: string, path: string): void {
  const parts = path.split('/').slice(0, -1);
  let at = dest;
  for (const part of parts) {
    at = join(at, part);
    let st;
    try {
      st = lstatSync(at);
    } catch {
      mkdirSync(at, { mode: 0o755 });
      continue;
    }
    if (st.isSymbolicLink()) throw new Error(`member ${path} would be written through the symlink ${posix.relative(dest, at) || at}`);
    if (!st.isDirectory()) throw new Error(`member ${path}: ${part} is not a directory`);
  }
}

function decompressor(kind: Kind, file: string): Readable {
  const input = createReadStream(file);
  if (kind === 'tar') return input;
  if (kind === 'gz') return input.pipe(createGunzip());
  const tool = { xz: 'xz', zst: 'zstd', bz2: 'bzip2' }[kind as 'xz' | 'zst' | 'bz2'];
  const child = spawn(tool, ['-dc'], { stdio: ['pipe', 'pipe', 'inherit'] });
  input.pipe(child.stdin);
  return child.stdout;
}

export async function extractTar(kind: Kind, archive: string, dest: string, maxBytes: number): Promise<number> {
  let count = 0;
  // Times as the archive has them: build systems compare them (configure against aclocal.m4).
  // Directories last, since extracting into one changes its time.
  const dirTimes: [string, number][] = [];
  for await (const entry of readTar(decompressor(kind, archive), { label: archive, maxBytes })) {
    if (entry.pax.path === undefined && /^(pax_global_header|\.\/?)$/.test(entry.path)) continue;
    const path = memberPath(entry.path);
    if (path === '') continue;
    parents(dest, path);
    const target = join(dest, path);
    const mode = entry.mode & 0o777;
    if (entry.type === 'dir') {
      await mkdir(target, { recursive: true, mode: mode | 0o700 });
      dirTimes.push([target, entry.mtime]);
    } else if (entry.type === 'file') {
      rmSync(target, { force: true });
      const handle = await open(target, 'wx', mode | 0o600);
      try {
        for await (const chunk of entry.body) await handle.write(chunk);
      } finally {
        await handle.close();
      }
      await lutimes(target, entry.mtime, entry.mtime);
    } else if (entry.type === 'symlink') {
      rmSync(target, { force: true });
      await symlink(entry.linkTarget!, target);
      await lutimes(target, entry.mtime, entry.mtime);
    } else if (entry.type === 'hardlink') {
      const from = memberPath(entry.linkTarget!);
      const st = lstatSync(join(dest, from), { throwIfNoEntry: false });
      if (!st?.isFile()) throw new Error(`member ${path} is a hardlink to ${from}, which is not a file extracted before it`);
      parents(dest, from);
      rmSync(target, { force: true });
      await link(join(dest, from), target);
    }
    // Devices and fifos are not what a source archive is for: skipped.
    count++;
  }
  for (const [dir, mtime] of dirTimes.reverse()) await lutimes(dir, mtime, mtime);
  return count;
}

/** unzip into a fresh directory beside the destination, checked, then moved in. */
function extractZip(archive: string, dest: string): number {
  const staging = `${dest}/.pipeline-unzip-${process.pid}`;
  mkdirSync(staging);
  try {
    const result = spawnSync('unzip', ['-qq', '-o', archive, '-d', staging], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`unzip failed (${result.status}): ${(result.stderr || result.stdout).trim()}`);
    let count = 0;
    const check = (dir: string, rel: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = rel ? `${rel}/${entry.name}` : entry.name;
        count++;
        if (entry.isSymbolicLink()) {
          const target = readlinkSync(join(dir, entry.name));
          const resolved = posix.normalize(posix.join(posix.dirname(path), target));
          if (target.startsWith('/') || resolved.startsWith('..')) throw new Error(`member ${path} is a symlink leaving the destination (${target})`);
        } else if (entry.isDirectory()) check(join(dir, entry.name), path);
      }
    };
    check(staging, '');
    for (const name of readdirSync(staging)) {
      rmSync(join(dest, name), { recursive: true, force: true });
      renameSync(join(staging, name), join(dest, name));
    }
    return count;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export async function extractArchive(archive: string, dest: string, maxBytes = EXTRACT_MAX_BYTES): Promise<number> {
  const handle = await open(archive, 'r');
  const head = Buffer.alloc(512);
  try {
    await handle.read(head, 0, 512, 0);
  } finally {
    await handle.close();
  }
  const kind = archiveKind(head);
  if (!kind) throw new Error(`${posix.basename(archive)} is not a tar (plain, gz, xz, zst, bz2) or zip archive`);
  await mkdir(dest, { recursive: true });
  return kind === 'zip' ? extractZip(archive, dest) : extractTar(kind, archive, dest, maxBytes);
}

/** Path of this module as a script (for the synchronous host function). */
export const EXTRACT_SCRIPT = fileURLToPath(import.meta.url);

if (process.argv[1] === EXTRACT_SCRIPT) {
  const [archive, dest, max] = process.argv.slice(2);
  extractArchive(archive, dest, Number(max) || EXTRACT_MAX_BYTES).then(
    (count) => process.stdout.write(`${count}\n`),
    (err: Error) => {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    },
  );
}
