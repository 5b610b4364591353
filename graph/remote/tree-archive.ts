// One deterministic archive per output tree, the unit a remote cache stores under its SHA-256.
// GNU tar writes it (--sort=name, every time, owner and group fixed, GNU format: no pax headers
// with times), streamed and hashed on its way to the file, so equal trees give equal bytes
// wherever and whenever they were written. The tree's root directory itself is not a member (its
// mode is the work area's, which tree digests leave out too).
//
// Extraction trusts nothing in the file. Before tar extracts anything, two independent reads:
//   1. our own walk over the headers: every checksum, every entry type, data sizes that fit, and
//      the end-of-archive marker (GNU tar itself accepts an archive cut at a header boundary);
//   2. GNU tar's own listing (--absolute-names, so it shows names exactly as stored, unstripped):
//      no absolute name, no `..` component, no hard link to such a name, no name twice, no member
//      under a symlink member; and as many members as the walk counted.
// Then tar extracts with its defaults still guarding (it strips a leading `/`, skips `..` members
// and extracts a symlink whose target is absolute or has `..` as a placeholder file, made a link
// only once every other member is written, so nothing is written through it), into a fresh
// sibling directory that is renamed into place on success and removed on any failure.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeToFile } from '../../util/file-stream.js';

export interface ArchiveDigest {
  sha256: string;
  size: number;
}

/** Flags that make the bytes a function of the tree alone. */
const DETERMINISTIC = ['--format=gnu', '--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--no-xattrs', '--no-acls', '--no-selinux'];

/** Writes `dir`'s tree as a tar archive to `file`; returns the archive's SHA-256 and size. */
export async function archiveTree(dir: string, file: string): Promise<ArchiveDigest> {
  // Top-level names in byte order (what --sort=name does below them), given NUL-separated on
  // stdin and taken verbatim, so a name such as `-C` or one with a newline is just a name.
  const names = (await readdir(dir, { encoding: 'buffer' })).sort(Buffer.compare);
  const tar = startTar(['--create', '--file=-', ...DETERMINISTIC, '--directory', dir, '--null', '--verbatim-files-from', '--files-from=-']);
  tar.child.stdin.on('error', () => {}); // a tar that died early: its exit status tells why
  tar.child.stdin.end(Buffer.concat(names.flatMap((name) => [name, Buffer.alloc(1)])));
  const digest = new Digesting();
  try {
    await pipeToFile(file, tar.child.stdout, [digest]);
  } catch (err) {
    tar.child.kill('SIGKILL');
    await tar.done;
    throw new Error(`archiving ${dir} into ${file} failed: ${(err as Error).message}`);
  }
  const { code, stderr } = await tar.done;
  if (code !== 0) {
    await rm(file, { force: true });
    throw new Error(`archiving ${dir}: tar exited with ${code}: ${stderr}`);
  }
  return { sha256: digest.hash.digest('hex'), size: digest.size };
}

/**
 * Unpacks an archive made by archiveTree into `dir` (absent or empty), exactly: permission bits,
 * symlinks, hard links, empty directories, and fifos and devices when run as root. A damaged or
 * malicious archive throws and leaves nothing behind. `expected`: the SHA-256 the file must have.
 */
export async function extractArchive(file: string, dir: string, expected?: { sha256: string }): Promise<void> {
  const existing = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  if (existing.length > 0) throw new Error(`cannot extract ${file} into ${dir}: the directory is not empty`);

  const structure = await walkHeaders(file);
  if (expected && structure.sha256 !== expected.sha256) throw new Error(`${file}: sha256 is ${structure.sha256}, expected ${expected.sha256}`);
  const listed = await checkListing(file);
  if (listed !== structure.members) throw new Error(`${file}: tar lists ${listed} members where its headers hold ${structure.members}`);

  const staging = join(dirname(dir), `.${basename(dir)}.extract-${randomBytes(6).toString('hex')}`);
  await mkdir(staging, { mode: 0o755 });
  try {
    const tar = startTar(['--extract', `--file=${file}`, '--force-local', '--directory', staging, '--preserve-permissions', '--numeric-owner', '--no-xattrs', '--no-acls', '--no-selinux']);
    tar.child.stdin.end();
    tar.child.stdout.resume();
    const { code, stderr } = await tar.done;
    if (code !== 0) throw new Error(`extracting ${file}: tar exited with ${code}: ${stderr}`);
    // rename(2) replaces an empty directory: `dir` may exist (a fresh work area) or not.
    await rename(staging, dir);
  } catch (err) {
    await removeTree(staging);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Our walk over the headers

/** Entry types with data after the header: regular (old and new), GNU long name/link, pax headers. */
const WITH_DATA = new Set(['0', '\0', 'L', 'K', 'x', 'g']);
/** Members without data: hard link, symlink, char, block, directory, fifo. */
const WITHOUT_DATA = new Set(['1', '2', '3', '4', '5', '6']);
/** Headers that describe the next member rather than being one. */
const META = new Set(['L', 'K', 'x', 'g']);

interface Structure {
  sha256: string;
  members: number;
}

async function walkHeaders(file: string): Promise<Structure> {
  const hash = createHash('sha256');
  let at = 0; // offset of the next byte not yet examined
  let skip = 0; // data bytes still to pass over
  let zeroBlocks = 0;
  let ended = false;
  let members = 0;
  let partial: Buffer = Buffer.alloc(0);
  const fail = (offset: number, reason: string): never => {
    throw new Error(`${file}: not a well-formed archive: ${reason} at byte ${offset}`);
  };

  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    const buf = partial.length > 0 ? Buffer.concat([partial, chunk]) : chunk;
    let pos = 0;
    for (;;) {
      if (skip > 0) {
        const n = Math.min(skip, buf.length - pos);
        skip -= n;
        pos += n;
        if (skip > 0) break;
      }
      if (buf.length - pos < 512) break;
      const block = buf.subarray(pos, pos + 512);
      const offset = at + pos;
      pos += 512;
      if (block.every((b) => b === 0)) {
        zeroBlocks++;
        if (zeroBlocks >= 2) ended = true;
        continue;
      }
      if (ended) fail(offset, 'data after the end-of-archive marker');
      if (zeroBlocks > 0) fail(offset, 'a header after a lone zero block');
      if (block.toString('latin1', 257, 262) !== 'ustar') fail(offset, 'no ustar magic in a header');
      const stored = parseNumber(block.subarray(148, 156));
      let sum = 0;
      for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
      if (stored !== sum) fail(offset, `a header checksum of ${stored}, computed ${sum}`);
      const type = String.fromCharCode(block[156]!);
      const size = parseNumber(block.subarray(124, 136));
      if (size === undefined || size < 0) fail(offset, 'a header size that is not a number');
      if (WITH_DATA.has(type)) skip = Math.ceil(size! / 512) * 512;
      else if (!WITHOUT_DATA.has(type)) fail(offset, `an entry of type ${JSON.stringify(type)}, which is not allowed`);
      else if (size !== 0) fail(offset, `an entry of type ${type} with ${size} bytes of data`);
      if (!META.has(type)) members++;
    }
    at += pos;
    partial = Buffer.from(buf.subarray(pos));
  }
  if (skip > 0 || partial.length > 0) fail(at, 'the file ends inside an entry (truncated)');
  if (!ended) fail(at, 'no end-of-archive marker (truncated)');
  return { sha256: hash.digest('hex'), members };
}

/** A tar number field: octal digits (NUL- or space-terminated) or GNU base-256. */
function parseNumber(field: Buffer): number | undefined {
  if (field[0]! & 0x80) {
    if (field[0] === 0xff) return undefined; // negative
    let value = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return Number.isSafeInteger(value) ? value : undefined;
  }
  const text = field.toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (!/^[0-7]+$/.test(text)) return undefined;
  return parseInt(text, 8);
}

// ---------------------------------------------------------------------------------------------
// tar's listing

/** Entry kinds in `tar -tv`'s mode column: file, hard link, symlink, dir, fifo, char, block. */
const LISTED_TYPES = new Set(['-', 'h', 'l', 'd', 'p', 'c', 'b']);

/** Checks every name tar will use; returns the number of members. */
async function checkListing(file: string): Promise<number> {
  const tar = startTar(['--list', '--verbose', `--file=${file}`, '--force-local', '--absolute-names', '--quoting-style=c', '--numeric-owner']);
  tar.child.stdin.end();
  const seen = new Set<string>();
  const symlinks = new Set<string>();
  let count = 0;
  let problem: string | undefined;
  const lines = createInterface({ input: tar.child.stdout, crlfDelay: Infinity });
  for await (const line of lines) {
    if (problem) continue; // drain
    problem = checkLine(line, seen, symlinks);
    count++;
  }
  const { code, stderr } = await tar.done;
  if (problem) throw new Error(`${file}: refused: ${problem}`);
  if (code !== 0) throw new Error(`${file}: tar cannot list it (exit ${code}): ${stderr}`);
  return count;
}

function checkLine(line: string, seen: Set<string>, symlinks: Set<string>): string | undefined {
  const type = line[0] ?? '';
  const quote = line.indexOf('"');
  if (quote < 0) return `unexpected listing line ${JSON.stringify(line)}`;
  if (!LISTED_TYPES.has(type)) return `member type ${JSON.stringify(type)} in ${JSON.stringify(line)}`;
  const [name, end] = parseCString(line, quote);
  const rest = line.slice(end);
  let target: string | undefined;
  if (rest.startsWith(' -> ') && type === 'l') target = parseCString(rest, 4)[0];
  else if (rest.startsWith(' link to ') && type === 'h') target = parseCString(rest, 9)[0];
  else if (rest !== '') return `unexpected listing line ${JSON.stringify(line)}`;

  const unsafe = unsafeName(name);
  if (unsafe) return `member ${JSON.stringify(name)} ${unsafe}`;
  if (type === 'h' && target !== undefined) {
    const bad = unsafeName(target);
    if (bad) return `hard link ${JSON.stringify(name)} points to ${JSON.stringify(target)}, which ${bad}`;
  }
  const key = normalize(name);
  if (seen.has(key)) return `member ${JSON.stringify(name)} appears twice`;
  seen.add(key);
  // Archives of real trees never hold a member below a symlink: one that does would write through it.
  const parts = key.split('/');
  for (let i = 1; i < parts.length; i++) {
    const parent = parts.slice(0, i).join('/');
    if (symlinks.has(parent)) return `member ${JSON.stringify(name)} lies below the symlink ${JSON.stringify(parent)}`;
  }
  if (type === 'l') symlinks.add(key);
  return undefined;
}

function unsafeName(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name.startsWith('/')) return 'is absolute';
  if (name.split('/').includes('..')) return 'has a `..` component';
  return undefined;
}

function normalize(name: string): string {
  return name
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}

const C_ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '"': 34, "'": 39, '?': 63 };

/** Reads the C-quoted string (`--quoting-style=c`) that starts at `text[start]`; returns it and the index after it. */
function parseCString(text: string, start: number): [value: string, end: number] {
  if (text[start] !== '"') throw new Error(`tar listing: no quoted name in ${JSON.stringify(text)}`);
  const bytes: number[] = [];
  let i = start + 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') return [Buffer.from(bytes).toString('utf8'), i + 1];
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      i++;
      continue;
    }
    const next = text[i + 1] ?? '';
    if (/[0-7]/.test(next)) {
      const octal = /^[0-7]{1,3}/.exec(text.slice(i + 1))![0];
      bytes.push(parseInt(octal, 8) & 0xff);
      i += 1 + octal.length;
    } else if (next in C_ESCAPES) {
      bytes.push(C_ESCAPES[next]!);
      i += 2;
    } else {
      throw new Error(`tar listing: unknown escape \\${next} in ${JSON.stringify(text)}`);
    }
  }
  throw new Error(`tar listing: unterminated name in ${JSON.stringify(text)}`);
}

// ---------------------------------------------------------------------------------------------
// Helpers

interface TarRun {
  child: ChildProcessWithoutNullStreams;
  done: Promise<{ code: number; stderr: string }>;
}

function startTar(args: string[]): TarRun {
  // The environment must not change tar's behaviour (TAR_OPTIONS adds options; the locale
  // changes how names are quoted in listings).
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', TZ: 'UTC' };
  delete env.TAR_OPTIONS;
  delete env.POSIXLY_CORRECT;
  const child = spawn('tar', args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    if (stderr.length < 16_384) stderr += text;
  });
  const done = new Promise<{ code: number; stderr: string }>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new Error('tar (GNU tar) is not installed: the remote cache archives output trees with it') : err),
    );
    child.on('close', (code, signal) => resolve({ code: code ?? 128, stderr: (signal ? `killed by ${signal}. ` : '') + stderr.trim() }));
  });
  return { child, done };
}

/** Counts and hashes the archive as it streams to its file. */
class Digesting extends Transform {
  readonly hash = createHash('sha256');
  size = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }
}

/** Removes a partly extracted tree, even one holding read-only directories (when not root). */
async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch {
    await makeWritable(path);
    await rm(path, { recursive: true, force: true });
  }
}

async function makeWritable(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (!st?.isDirectory()) return;
  await chmod(path, 0o700).catch(() => {});
  for (const name of await readdir(path).catch(() => [] as string[])) await makeWritable(join(path, name));
}
