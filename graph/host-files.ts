// Files the host provides and nodes read (firmware images, say): each found by name among
// candidate paths given by whoever opens the session. A node's key holds the file's content
// digest, never its path, so two machines with the same firmware compute the same keys.
import { access } from 'node:fs/promises';
import { ConfigError, MissingInputError } from './errors.js';
import type { FileDigester } from './file-digests.js';

export interface HostFileSpec {
  /** Where to look, in order; the first that exists is used. */
  candidates: string[];
  /** What it is (`UEFI firmware code`), for messages. */
  what?: string;
  /** How to get it when it is missing (`Debian package ovmf`). */
  hint?: string;
}

export interface HostFileIdentity {
  name: string;
  path: string;
  digest: string;
}

export class HostFileResolver {
  private cache = new Map<string, Promise<HostFileIdentity>>();

  constructor(
    private readonly digester: FileDigester,
    private readonly table: Readonly<Record<string, HostFileSpec>> = {},
  ) {}

  forget(): void {
    this.cache.clear();
  }

  resolve(name: string): Promise<HostFileIdentity> {
    let p = this.cache.get(name);
    if (!p) {
      p = this.find(name);
      this.cache.set(name, p);
    }
    return p;
  }

  private async find(name: string): Promise<HostFileIdentity> {
    const spec = this.table[name];
    if (!spec) throw new ConfigError(`no host file is known by the name '${name}' (known: ${Object.keys(this.table).sort().join(', ') || 'none'})`);
    for (const path of spec.candidates) {
      try {
        await access(path);
      } catch {
        continue;
      }
      return { name, path, digest: await this.digester.digest(path) };
    }
    const what = spec.what ? ` (${spec.what})` : '';
    throw new MissingInputError(`host file '${name}'${what} was not found at ${spec.candidates.join(' or ')}${spec.hint ? `: ${spec.hint}` : ''}`);
  }
}
