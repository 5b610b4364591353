// A throwaway GnuPG home under os.tmpdir() for making real keys and signatures at test time.
// close() stops the agent it started and removes the directory.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GpgKey {
  fingerprint: string;
  keyId: string;
  /** Subkeys in creation order. */
  subkeys: { fingerprint: string; keyId: string }[];
}

export class GpgHome {
  private constructor(readonly home: string) {}

  static async create(): Promise<GpgHome> {
    return new GpgHome(await mkdtemp(join(tmpdir(), 'gpg-')));
  }

  async gpg(args: string[], input?: string): Promise<Buffer> {
    const child = run('gpg', ['--batch', '--no-tty', '--quiet', '--passphrase', '', '--pinentry-mode', 'loopback', ...args], {
      env: { ...process.env, GNUPGHOME: this.home },
      encoding: 'buffer',
      maxBuffer: 64 << 20,
    });
    if (input !== undefined) child.child.stdin?.end(input);
    return (await child).stdout;
  }

  /** `gpg --quick-gen-key` a signing-only primary (algo: rsa2048, ed25519, nistp256...). */
  async generate(userId: string, algo: string, expire = 'never', extra: string[] = []): Promise<GpgKey> {
    await this.gpg([...extra, '--quick-gen-key', userId, algo, 'sign', expire]);
    return this.key(userId);
  }

  async addSubkey(fingerprint: string, algo: string, usage = 'sign', expire = 'never'): Promise<GpgKey> {
    await this.gpg(['--quick-add-key', fingerprint, algo, usage, expire]);
    return this.key(fingerprint);
  }

  async key(query: string): Promise<GpgKey> {
    const lines = (await this.gpg(['--with-colons', '--list-keys', query])).toString('utf8').split('\n');
    const keys: { fingerprint: string; keyId: string }[] = [];
    for (const line of lines) {
      const f = line.split(':');
      if (f[0] === 'fpr') keys.push({ fingerprint: f[9]!, keyId: f[9]!.slice(-16) });
    }
    const [primary, ...subkeys] = keys;
    if (!primary) throw new Error(`gpg lists no key for ${query}`);
    return { ...primary, subkeys };
  }

  async exportKey(fingerprint: string, armor = false): Promise<Buffer> {
    return this.gpg(['--export', ...(armor ? ['--armor'] : []), fingerprint]);
  }

  /** A detached signature by exactly `keyId` (the `!` stops gpg from picking another subkey). */
  async sign(data: Buffer | string, keyId: string, options: { armor?: boolean; digest?: string; textmode?: boolean; extra?: string[] } = {}): Promise<Buffer> {
    const input = join(this.home, `data-${Date.now()}-${Math.random().toString(16).slice(2)}`);
    await writeFile(input, data);
    const output = `${input}.sig`;
    await this.gpg([
      ...(options.extra ?? []),
      '--yes',
      '--detach-sign',
      ...(options.armor ? ['--armor'] : []),
      ...(options.textmode ? ['--textmode'] : []),
      '--digest-algo',
      options.digest ?? 'SHA256',
      '-u',
      `${keyId}!`,
      '-o',
      output,
      input,
    ]);
    const sig = await readFile(output);
    await rm(input);
    await rm(output);
    return sig;
  }

  /** Imports the revocation certificate gpg wrote when it generated the key. */
  async revoke(fingerprint: string): Promise<void> {
    const text = await readFile(join(this.home, 'openpgp-revocs.d', `${fingerprint}.rev`), 'utf8');
    const path = join(this.home, 'revoke.asc');
    await writeFile(path, text.replace(/^:-----BEGIN/m, '-----BEGIN'));
    await this.gpg(['--import', path]);
  }

  async close(): Promise<void> {
    await run('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: this.home } }).catch(() => undefined);
    await rm(this.home, { recursive: true, force: true });
  }
}
