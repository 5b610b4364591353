// Everything a build, a plan or an explanation shares: the store, the record book, the file and
// tool digesters. Opening a session prepares the cache directory and clears dead work areas.
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { MissingInputError, NodeInputsError } from './errors.js';
import { FileDigester, ToolResolver, type FileRoots } from './file-digests.js';
import { initHashing } from './hash.js';
import { HostFileResolver, type HostFileSpec } from './host-files.js';
import { computeKey, type KeyMaterial } from './key.js';
import { LocalStore } from './local-store.js';
import type { NodeSpec } from './node.js';
import { RecordBook } from './records.js';
import type { Store } from './store.js';

export interface SessionOptions {
  /** Project root: declared files are relative to it. */
  root: string;
  /** Cache directory (default <root>/out/cache). */
  cacheDir?: string;
  /** Where per-node logs go (default <root>/out/logs). */
  logDir?: string;
  /** Tool name -> hint shown when the tool is missing (e.g. "Debian package squashfs-tools"). */
  toolHints?: Record<string, string>;
  /** Environment that `env: {NAME: true}` passes through (default process.env). */
  callerEnv?: NodeJS.ProcessEnv;
  /**
   * Named roots for declared files (`<name>:<path>`): e.g. `pipeline` -> the tool's installation,
   * for data files stages ship. Keys hold the name and relative path, never the directory.
   */
  fileRoots?: Record<string, string>;
  /** Host files nodes may declare (`hostFiles`), by name: where to look for each. */
  hostFiles?: Record<string, HostFileSpec>;
  /** A store to use instead of the local one (a remote cache layered over it, say). */
  store?: (local: LocalStore) => Store;
}

export class Session {
  readonly root: string;
  readonly cacheDir: string;
  readonly logDir: string;
  readonly local: LocalStore;
  readonly store: Store;
  readonly records: RecordBook;
  readonly digester: FileDigester;
  readonly tools: ToolResolver;
  readonly hostFiles: HostFileResolver;
  readonly callerEnv: NodeJS.ProcessEnv;
  readonly fileRoots: FileRoots;

  private constructor(options: SessionOptions) {
    this.root = resolve(options.root);
    this.cacheDir = resolve(options.cacheDir ?? join(this.root, 'out', 'cache'));
    this.logDir = resolve(options.logDir ?? join(this.root, 'out', 'logs'));
    this.local = new LocalStore(this.cacheDir);
    this.store = options.store ? options.store(this.local) : this.local;
    this.records = new RecordBook(join(this.cacheDir, 'records'));
    this.digester = new FileDigester(join(this.cacheDir, 'stat-cache.json'));
    this.callerEnv = options.callerEnv ?? process.env;
    this.fileRoots = { project: this.root, named: options.fileRoots ?? {} };
    this.tools = new ToolResolver(this.digester, this.callerEnv.PATH, options.toolHints);
    this.hostFiles = new HostFileResolver(this.digester, options.hostFiles);
  }

  static async open(options: SessionOptions): Promise<Session> {
    const session = new Session(options);
    await initHashing();
    await session.local.open();
    await session.digester.load();
    return session;
  }

  async close(): Promise<void> {
    this.store.close?.();
    await this.digester.save();
  }

  /** Starts a new round (a build, a plan): files and tools are looked at afresh. */
  refresh(): void {
    this.digester.forget();
    this.tools.forget();
    this.hostFiles.forget();
  }

  /**
   * The key material of a node, given its dependencies' output digests by local name. Every
   * missing input of the node is reported at once (one ConfigError, one line each).
   */
  async material(node: NodeSpec, depOutputs: Record<string, string>): Promise<KeyMaterial> {
    const missing: { what: string; hint?: string }[] = [];
    const hinted = async <T>(name: string, work: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await work();
      } catch (err) {
        if (!(err instanceof MissingInputError)) throw err;
        missing.push({ what: err.message, hint: node.hints?.[name] });
        return undefined;
      }
    };
    if (node.unbuildable) missing.push({ what: node.unbuildable });
    for (const name of node.secretFiles ?? []) await hinted(name, () => this.checkSecretFile(node, name));
    const tools: Record<string, string> = {};
    for (const name of node.tools ?? []) {
      const tool = await hinted(name, () => this.tools.resolve(name));
      if (tool) tools[name] = `${this.portablePath(tool.path)}@${tool.digest}`;
    }
    const env: Record<string, string | null> = {};
    for (const [name, value] of Object.entries(node.env ?? {})) {
      env[name] = value === true ? (this.callerEnv[name] ?? null) : value;
    }
    const material: KeyMaterial = {
      kind: node.kind,
      version: node.version,
      deps: depOutputs,
      files: {},
      params: node.params ?? null,
      tools,
      env,
    };
    for (const entry of node.files ?? []) {
      Object.assign(material.files, await hinted(entry, () => this.digester.projectFiles(this.fileRoots, [entry], node.id)));
    }
    if (node.hostFiles?.length) {
      material.hostFiles = {};
      for (const name of node.hostFiles) {
        const file = await hinted(name, () => this.hostFiles.resolve(name));
        if (file) material.hostFiles[name] = file.digest;
      }
    }
    if (missing.length > 0) throw new NodeInputsError(node.id, missing);
    return material;
  }

  async key(node: NodeSpec, depOutputs: Record<string, string>): Promise<{ key: string; material: KeyMaterial }> {
    const material = await this.material(node, depOutputs);
    return { key: computeKey(material), material };
  }

  /** A secret file must exist; it is never hashed (a private key stays out of every record). */
  private async checkSecretFile(node: NodeSpec, name: string): Promise<void> {
    const path = node.secrets?.[name];
    if (!path) throw new MissingInputError(`the ${name} file is not set`);
    if (!existsSync(path)) throw new MissingInputError(`the ${name} file ${this.portablePath(path)} does not exist`);
  }

  /** A tool inside the checkout is named relative to it, so moving the checkout keeps keys. */
  private portablePath(path: string): string {
    const rel = relative(this.root, path);
    return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : path;
  }
}

