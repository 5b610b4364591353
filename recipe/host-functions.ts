// The recipe API's host functions for one job: file helpers confined to the sandbox's
// directories (recipe/confine.ts), shell commands in the sandbox (recipe/sandbox.ts), and
// downloads that only ever copy what a source node already fetched and checked.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import fg from 'fast-glob';
import type { HostFunction, RhaiValue } from '../rhai/index.js';
import { RECIPE_FUNCTIONS, SANDBOX_PATHS } from './api.js';
import { readablePath, sandboxPath, writablePath, type SandboxDirs } from './confine.js';
import { EXTRACT_SCRIPT } from './extract.js';
import { sandboxShell, type Sandbox } from './sandbox.js';

/** A file a source node fetched (its sha256 checked), by the URL the recipe names it with. */
export interface FetchedSource {
  url: string;
  sha256: string;
  /** File name the recipe gets it under. */
  name: string;
  /** Host path of the fetched file (a dependency's output: never written). */
  path: string;
}

/** An unpinned release download, pinned by the lock: github_download_release(repo, version, pattern). */
export interface FetchedRelease extends FetchedSource {
  repo: string;
  version: string;
  pattern: string;
}

export interface HostContext {
  dirs: SandboxDirs;
  sandbox: Sandbox;
  sources: FetchedSource[];
  releases: FetchedRelease[];
  log: (line: string) => void;
}

export function releaseKey(repo: string, version: string, pattern: string): string {
  return `${repo}@${version}:${pattern}`;
}

function str(value: RhaiValue, what: string): string {
  if (typeof value !== 'string') throw new Error(`${what} must be a string`);
  return value;
}

export function hostFunctions(host: HostContext): Record<string, HostFunction> {
  const { dirs } = host;
  const read = (p: RhaiValue, follow = true) => readablePath(dirs, str(p, 'a path'), follow);
  const write = (p: RhaiValue, follow = true) => writablePath(dirs, str(p, 'a path'), follow);
  /** A directory to write into: BUILD_DIR and OUT themselves are fine. */
  const into = (p: RhaiValue) => writablePath(dirs, str(p, 'a path'), true, true);
  const shellIn = (cwd: string, command: RhaiValue) => {
    const cmd = str(command, 'a command');
    readablePath(dirs, cwd); // confined like any other path
    const abs = cwd.startsWith('/') ? cwd : `${SANDBOX_PATHS.build}/${cwd}`;
    host.log(`$ ${cmd}${abs === SANDBOX_PATHS.build ? '' : `   (in ${abs})`}`);
    return sandboxShell(host.sandbox, abs, cmd);
  };
  const mustSucceed = (result: { status: number }, command: RhaiValue) => {
    if (result.status !== 0) throw new Error(`command exited with code ${result.status}: ${String(command)}`);
  };
  const place = (source: FetchedSource, dest: RhaiValue | undefined): string => {
    const target = dest === undefined ? `${SANDBOX_PATHS.build}/${source.name}` : str(dest, 'a destination');
    let host = into(target);
    if (existsSync(host) && statSync(host).isDirectory()) host = `${host}/${source.name}`;
    mkdirSync(posix.dirname(host), { recursive: true });
    cpSync(source.path, host);
    chmodSync(host, 0o644);
    return sandboxPath(dirs, host);
  };

  const functions: Record<string, HostFunction> = {
    join_path: (args) => posix.join(...args.map((a) => str(a, 'join_path: each part'))),
    is_file: ([p]) => existsSync(read(p)) && statSync(read(p)).isFile(),
    is_dir: ([p]) => existsSync(read(p)) && statSync(read(p)).isDirectory(),
    exists: ([p]) => lstatSync(read(p, false), { throwIfNoEntry: false }) !== undefined,
    mkdir: ([p]) => {
      mkdirSync(into(p), { recursive: true });
      return undefined;
    },
    rm: ([p]) => {
      rmSync(write(p, false), { recursive: true, force: true });
      return undefined;
    },
    mv: ([from, to]) => {
      renameSync(write(from, false), write(to, false));
      return undefined;
    },
    chmod: ([p, mode]) => {
      const bits = typeof mode === 'bigint' ? Number(mode) : typeof mode === 'string' ? parseInt(mode, 8) : NaN;
      if (!Number.isInteger(bits) || bits < 0 || bits > 0o7777) throw new Error(`chmod: mode must be 0o0..0o7777 (an integer or an octal string), got ${String(mode)}`);
      chmodSync(write(p), bits);
      return undefined;
    },
    ln: ([target, linkPath]) => {
      const at = write(linkPath, false);
      rmSync(at, { force: true });
      mkdirSync(posix.dirname(at), { recursive: true });
      symlinkSync(str(target, 'ln: the target'), at);
      return undefined;
    },
    read_file: ([p]) => readFileSync(read(p), 'utf8'),
    write_file: ([p, text]) => {
      const at = write(p);
      mkdirSync(posix.dirname(at), { recursive: true });
      writeFileSync(at, str(text, 'write_file: the content'));
      return undefined;
    },
    glob_list: ([pattern]) => {
      const pat = str(pattern, 'a pattern');
      const abs = pat.startsWith('/') ? pat : `${SANDBOX_PATHS.build}/${pat}`;
      const area = Object.entries(SANDBOX_PATHS).find(([, dir]) => abs.startsWith(`${dir}/`));
      if (!area || area[0] === 'tmp') throw new Error(`glob_list: ${pat} is outside BUILD_DIR, OUT and RECIPE_DIR`);
      const base = readablePath(dirs, area[1]);
      const matches = fg.sync(abs.slice(area[1].length + 1), { cwd: base, dot: true, onlyFiles: false, followSymbolicLinks: false });
      return matches.sort().map((m) => `${area[1]}/${m}`);
    },
    basename: ([p]) => posix.basename(str(p, 'a path')),
    dirname: ([p]) => posix.dirname(str(p, 'a path')),
    copy_file: ([from, to]) => {
      const at = write(to);
      mkdirSync(posix.dirname(at), { recursive: true });
      cpSync(read(from), at);
      return undefined;
    },
    copy_tree_contents: ([from, to]) => {
      const at = into(to);
      mkdirSync(at, { recursive: true });
      cpSync(read(from), at, { recursive: true, verbatimSymlinks: true, force: true });
      return undefined;
    },
    log: ([message]) => {
      host.log(String(message));
      return undefined;
    },
    warn: ([message]) => {
      host.log(`warning: ${String(message)}`);
      return undefined;
    },
    shell: ([command]) => {
      mustSucceed(shellIn(SANDBOX_PATHS.build, command), command);
      return undefined;
    },
    shell_in: ([dir, command]) => {
      mustSucceed(shellIn(str(dir, 'shell_in: the directory'), command), command);
      return undefined;
    },
    shell_output: ([command]) => {
      const result = shellIn(SANDBOX_PATHS.build, command);
      mustSucceed(result, command);
      return result.stdout;
    },
    shell_status: ([command]) => BigInt(shellIn(SANDBOX_PATHS.build, command).status),
    download: ([url, dest]) => {
      const wanted = str(url, 'download: the URL');
      const source = host.sources.find((s) => s.url === wanted);
      if (!source) {
        throw new Error(
          `download(${JSON.stringify(wanted)}): not pinned. A build never downloads: declare it in ctx (url and sha256, or sources: [#{ url, sha256 }]) so a source node fetches and checks it`,
        );
      }
      return place(source, dest);
    },
    verify_sha256: ([p, expected]) => {
      const digest = createHash('sha256').update(readFileSync(read(p))).digest('hex');
      if (digest !== str(expected, 'verify_sha256: the digest').toLowerCase()) throw new Error(`verify_sha256: ${String(p)} has sha256 ${digest}, expected ${String(expected)}`);
      return true;
    },
    extract: ([archive, dest]) => {
      const result = spawnSync(process.execPath, [EXTRACT_SCRIPT, read(archive), into(dest)], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`extract(${String(archive)}): ${(result.stderr || result.error?.message || '').trim()}`);
      host.log(`extracted ${String(archive)} into ${String(dest)}: ${result.stdout.trim()} entries`);
      return undefined;
    },
    github_download_release: ([repo, version, pattern]) => {
      const key = releaseKey(str(repo, 'the repository'), str(version, 'the version'), str(pattern, 'the asset pattern'));
      const release = host.releases.find((r) => releaseKey(r.repo, r.version, r.pattern) === key);
      if (!release) throw new Error(`github_download_release(${key}): not in the lock. Run \`pipeline lock\` to pin it (a build never downloads what is not pinned)`);
      return place(release, undefined);
    },
  };
  for (const name of Object.keys(RECIPE_FUNCTIONS)) if (!functions[name]) throw new Error(`recipe API function ${name} has no implementation`);
  return functions;
}
