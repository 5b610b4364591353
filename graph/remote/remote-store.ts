// A remote cache layered over the local store. Lookups go local first, then remote: a remote
// entry is used only when its signature is from a trusted key, its archive's sha256 and size are
// the signed ones, and the unpacked tree has the signed digest; it is then published to the local
// store like a build's output. Built outputs are archived, uploaded (blob first, then the entry:
// a server that checks an entry's blobs finds them) in the background, and awaited at the end.
//
// Faults never fail a build unless the user asked for that: the first transport fault (dead,
// slow, erroring server) turns the remote off for the rest of the session with one warning; an
// entry that fails verification is a warning about that node, which is then built here.
import { randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import pLimit from 'p-limit';
import { canonicalJson } from '../canonical.js';
import type { EventSink } from '../events.js';
import { sha256 } from '../hash.js';
import type { KeyMaterial } from '../key.js';
import type { LocalStore } from '../local-store.js';
import type { Json } from '../node.js';
import { RemoteOutputUnavailable, type ActionResult, type LookupOptions, type NodeIdentity, type PublishMeta, type Store, type WorkDir } from '../store.js';
import { digestTree } from '../tree-digest.js';
import { decodeActionResult, encodeActionResult } from './action-result.js';
import { HttpCache, RemoteCacheError, RemoteIntegrityError, type HttpCacheOptions } from './http-cache.js';
import { findSecret, pemNeedle, type Secret } from './secret-guard.js';
import { ENTRY_FORMAT, EntryRejected, signEntry, verifyEntry, type RemoteEntry, type SigningKey } from './signed-entry.js';
import { archiveTree, extractArchive } from './tree-archive.js';

/** The archive's name in the ActionResult message's output files. */
const ARCHIVE_PATH = 'output.tar';

export interface RemoteCacheSettings extends HttpCacheOptions {
  /** Never write (a pull request's job). */
  readOnly: boolean;
  /** A remote fault fails the build instead of degrading to local building. */
  required: boolean;
  /** Signs uploaded entries; without one nothing is uploaded. */
  signingKey?: SigningKey;
  /** `ed25519:...` -> key: signers whose entries are accepted. */
  trusted: ReadonlyMap<string, KeyObject>;
  /** Bytes that must never leave the machine (private keys, the token): an output holding them stays local. */
  secrets: Secret[];
}

/** A fault of a remote cache the user made required (`--remote-cache-required`). */
export class RemoteCacheRequiredError extends Error {}

/** The name an entry is filed under remotely: SHA-256 of the key material (Bazel's /ac wants 64 hex digits). */
export function remoteActionKey(material: KeyMaterial): string {
  return sha256('pipeline-action-1\n' + canonicalJson(material as unknown as Json));
}

export class RemoteStore implements Store {
  private emit: EventSink = () => {};
  private unavailable?: string;
  private readonly fetches = new Map<string, Promise<ActionResult>>();
  /** Verified entries of lazy hits, by key, until their outputs are wanted. */
  private readonly entries = new Map<string, RemoteEntry>();
  private readonly uploads = new Set<Promise<void>>();
  private readonly uploadSlots = pLimit(2);
  /** Blobs found corrupt on the server: uploaded again even though the server has the name. */
  private readonly corruptBlobs = new Set<string>();
  private requiredFailure?: Error;
  private warnedNoKey = false;
  private readonly secretPaths = new Set<string>();
  private readonly secrets: Secret[];
  private counts = { hits: 0, misses: 0, rejected: 0, downloaded: 0, uploaded: 0 };
  private reported = { bytesDown: 0, bytesUp: 0, requestMs: 0 };
  readonly client: HttpCache;

  constructor(
    readonly local: LocalStore,
    private readonly settings: RemoteCacheSettings,
  ) {
    this.client = new HttpCache(settings);
    this.secrets = [...settings.secrets];
  }

  attach(sink: EventSink, build: { secretFiles: string[] }): void {
    this.emit = sink;
    for (const path of build.secretFiles) {
      if (this.secretPaths.has(path)) continue;
      this.secretPaths.add(path);
      let bytes: Buffer;
      try {
        bytes = readFileSync(path);
      } catch {
        continue; // the node that reads it reports a missing file
      }
      this.secrets.push({ name: `the secret file ${basename(path)}`, bytes: pemNeedle(bytes.toString('latin1')) ?? bytes });
    }
  }

  private warn(message: string, id?: string): void {
    this.emit({ event: 'warning', ...(id ? { id } : {}), message });
  }

  async lookup(key: string, options: LookupOptions = {}): Promise<ActionResult | undefined> {
    const local = await this.local.lookup(key, options);
    if (local || options.peek || !options.node || !options.material || options.node.localOnly || this.unavailable) return local;
    const entry = await this.findEntry(key, options.node, remoteActionKey(options.material));
    if (!entry) return undefined;
    this.counts.hits++;
    if (options.lazy) {
      this.entries.set(key, entry);
      return { key, id: options.node.id, kind: options.node.kind, output: entry.output, size: entry.size, files: entry.files, ms: entry.ms, builtAt: entry.builtAt, origin: 'remote', pending: true };
    }
    try {
      return { ...(await this.download(key, options.node, entry)), origin: 'remote' };
    } catch (err) {
      if (err instanceof RemoteOutputUnavailable) return undefined;
      throw err;
    }
  }

  async materialize(key: string, node: NodeIdentity): Promise<string> {
    const local = await this.local.lookup(key);
    if (local) return this.local.outputPath(local.output);
    const entry = this.entries.get(key);
    if (!entry) throw new RemoteOutputUnavailable(`no remote entry was found for ${node.id}`);
    if (this.unavailable) throw new RemoteOutputUnavailable(`the remote cache is unavailable (${this.unavailable})`);
    return this.local.outputPath((await this.download(key, node, entry)).output);
  }

  /** The verified entry for a key, or undefined (a miss, a refused entry, a fault: each said). */
  private async findEntry(key: string, node: NodeIdentity, actionKey: string): Promise<RemoteEntry | undefined> {
    let body: Buffer | undefined;
    try {
      body = await this.client.getAc(actionKey);
    } catch (err) {
      return this.fault(err);
    }
    if (!body) {
      this.counts.misses++;
      return undefined;
    }
    try {
      return this.readEntry(body, key, node);
    } catch (err) {
      return this.reject(node, err);
    }
  }

  /**
   * Fetches, checks, unpacks and publishes an entry's output locally; two nodes with one key (or
   * two callers for one node) share the download. Throws RemoteOutputUnavailable, having warned.
   */
  private download(key: string, node: NodeIdentity, entry: RemoteEntry): Promise<ActionResult> {
    let fetch = this.fetches.get(key);
    if (!fetch) {
      fetch = this.fetchOutput(key, node, entry).finally(() => this.fetches.delete(key));
      this.fetches.set(key, fetch);
    }
    return fetch;
  }

  private async fetchOutput(key: string, node: NodeIdentity, entry: RemoteEntry): Promise<ActionResult> {
    const work = await this.local.createWorkDir();
    const archive = join(work.tmp, ARCHIVE_PATH);
    try {
      await this.client.getCasToFile(entry.blob.sha256, entry.blob.size, archive);
      await extractArchive(archive, work.out);
      await rm(archive, { force: true });
      const tree = await digestTree(work.out);
      if (tree.digest !== entry.output) throw new EntryRejected(`its unpacked output has digest ${tree.digest}, the signed entry says ${entry.output}`);
      const result = await this.local.publishTree(key, work, tree, { id: node.id, kind: node.kind, ms: entry.ms, builtAt: entry.builtAt });
      this.counts.downloaded++;
      return result;
    } catch (err) {
      await this.local.discard(work);
      if (err instanceof RemoteIntegrityError) this.corruptBlobs.add(entry.blob.sha256);
      if (err instanceof RemoteCacheError && err.status === 404) this.reject(node, new EntryRejected(`its archive ${entry.blob.sha256} is not on the server`));
      else if (err instanceof RemoteCacheError) this.fault(err);
      else this.reject(node, err);
      throw new RemoteOutputUnavailable(`the remote copy of ${node.id} could not be used`);
    }
  }

  private readEntry(body: Buffer, key: string, node: NodeIdentity): RemoteEntry {
    let signed: unknown;
    let archive;
    try {
      const message = decodeActionResult(body);
      archive = message.outputFiles.find((f) => f.path === ARCHIVE_PATH);
      signed = JSON.parse((message.stdoutRaw ?? Buffer.alloc(0)).toString('utf8'));
    } catch (err) {
      throw new EntryRejected(`the entry is not readable (${(err as Error).message})`);
    }
    const entry = verifyEntry(signed, this.settings.trusted, { key, kind: node.kind, version: node.version });
    // The unsigned envelope must agree with the signed entry (a server checks blobs by the envelope).
    if (!archive || archive.digest.hash !== entry.blob.sha256 || archive.digest.sizeBytes !== entry.blob.size) throw new EntryRejected("the entry's archive digest differs from its signed one");
    return entry;
  }

  /** An entry that failed verification: say so, build the node here. */
  private reject(node: NodeIdentity, err: unknown): undefined {
    this.counts.rejected++;
    const reason = err instanceof Error ? err.message : String(err);
    this.warn(`remote cache entry refused, building it here: ${reason}`, node.id);
    return undefined;
  }

  /** A transport or server fault: give the remote up for this session, once, loudly. */
  private fault(err: unknown): undefined {
    const reason = err instanceof Error ? err.message : String(err);
    if (this.settings.required) {
      this.requiredFailure ??= new RemoteCacheRequiredError(`the remote cache failed and --remote-cache-required is set: ${reason}`);
      throw this.requiredFailure;
    }
    if (!this.unavailable) {
      this.unavailable = reason;
      this.warn(`remote cache unavailable (${reason}); building locally without it from here on`);
    }
    return undefined;
  }

  outputPath(outputDigest: string): string {
    return this.local.outputPath(outputDigest);
  }

  logPath(key: string): string {
    return this.local.logPath(key);
  }

  createWorkDir(): Promise<WorkDir> {
    return this.local.createWorkDir();
  }

  discard(work: WorkDir): Promise<void> {
    return this.local.discard(work);
  }

  async publish(key: string, work: WorkDir, meta: PublishMeta): Promise<ActionResult> {
    const result = await this.local.publish(key, work, meta);
    if (this.settings.readOnly || this.unavailable || meta.localOnly || !meta.material || meta.version === undefined) return result;
    if (!this.settings.signingKey) {
      if (!this.warnedNoKey) this.warn('no cache signing key (remote_cache.signing_key or $PIPELINE_CACHE_SIGNING_KEY): nothing is uploaded');
      this.warnedNoKey = true;
      return result;
    }
    const upload = this.uploadSlots(() => this.upload(result, meta.version!, remoteActionKey(meta.material!))).finally(() => this.uploads.delete(upload));
    this.uploads.add(upload);
    return result;
  }

  private async upload(result: ActionResult, version: number, actionKey: string): Promise<void> {
    if (this.unavailable) return;
    const archive = join(this.local.tmpDir, `${process.pid}-upload-${randomBytes(6).toString('hex')}.tar`);
    try {
      const blob = await archiveTree(this.local.outputPath(result.output), archive);
      const leak = await findSecret(archive, this.secrets);
      if (leak) {
        this.warn(`not uploaded: the output holds ${leak}, which never leaves this machine`, result.id);
        return;
      }
      if (this.corruptBlobs.has(blob.sha256) || !(await this.client.hasCas(blob.sha256))) await this.client.putCasFromFile(blob.sha256, archive);
      const entry: RemoteEntry = {
        format: ENTRY_FORMAT,
        key: result.key,
        id: result.id,
        kind: result.kind,
        version,
        output: result.output,
        size: result.size,
        files: result.files,
        ms: result.ms,
        builtAt: result.builtAt,
        blob,
      };
      const signed = signEntry(entry, this.settings.signingKey!);
      const body = encodeActionResult({
        outputFiles: [{ path: ARCHIVE_PATH, digest: { hash: blob.sha256, sizeBytes: blob.size } }],
        exitCode: 0,
        stdoutRaw: Buffer.from(JSON.stringify(signed)),
      });
      await this.client.putAc(actionKey, body);
      this.counts.uploaded++;
    } catch (err) {
      try {
        this.fault(err);
      } catch (required) {
        this.requiredFailure ??= required as Error;
      }
    } finally {
      await rm(archive, { force: true });
    }
  }

  /** Waits for uploads; reports what the remote did. A required remote that failed throws here. */
  async flush(): Promise<void> {
    while (this.uploads.size > 0) await Promise.all([...this.uploads]);
    const stats = this.client.stats;
    const since = this.reported;
    this.emit({
      event: 'remote',
      url: this.settings.url,
      ...this.counts,
      bytesDown: stats.bytesDown - since.bytesDown,
      bytesUp: stats.bytesUp - since.bytesUp,
      requestMs: Math.round(stats.requestMs - since.requestMs),
      ...(this.unavailable ? { unavailable: this.unavailable } : {}),
    });
    // Each build (a command may run several) reports its own figures.
    this.reported = { bytesDown: stats.bytesDown, bytesUp: stats.bytesUp, requestMs: stats.requestMs };
    this.counts = { hits: 0, misses: 0, rejected: 0, downloaded: 0, uploaded: 0 };
    if (this.requiredFailure) throw this.requiredFailure;
  }

  close(): void {
    this.client.close();
  }
}
