// `pipeline keys init <dir>`: a test Secure Boot key set (PK, KEK, db) for users without their
// own keys. Keys are RSA 2048 (Node's generator, written 0600 from the start), certificates are
// self-signed by openssl, and efitools turns them into the EFI signature lists (.esl) and the
// signed variable updates (.auth) that systemd-boot enrolls from /loader/keys/auto/ on an ESP.
import { generateKeyPair } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { HostTool } from '../stages/kind.js';
import { certificateFingerprint } from '../stages/sign.js';

/** What `pipeline keys init` runs besides Node's own crypto. */
export const KEYS_INIT_TOOLS: HostTool[] = [
  { name: 'openssl', debianPackage: 'openssl', versionArgs: ['version'] },
  { name: 'cert-to-efi-sig-list', debianPackage: 'efitools', versionArgs: ['--version'] },
  { name: 'sign-efi-sig-list', debianPackage: 'efitools', versionArgs: ['--version'] },
];

export class KeySetError extends Error {
  override name = 'KeySetError';
}

/** Owner GUID written into every signature list of a pipeline test key set. */
export const TEST_KEYS_OWNER_GUID = 'a778a5b1-34c0-45f0-9ddd-18a703429f69';
/** Timestamp of the authenticated variable updates: fixed, so the same keys give the same .auth bytes. */
export const TEST_KEYS_AUTH_TIMESTAMP = new Date('2000-01-01T00:00:00Z');
/** Where systemd-boot looks for keys to enroll (`secure-boot-enroll` in loader.conf). */
export const ESP_ENROLL_DIR = 'loader/keys/auto';

export const KEY_NAMES = ['PK', 'KEK', 'db'] as const;
export type KeyName = (typeof KEY_NAMES)[number];

export interface KeyFiles {
  /** PKCS#8 PEM private key, mode 0600. */
  key: string;
  /** PEM certificate. */
  crt: string;
  /** EFI_SIGNATURE_LIST holding the certificate. */
  esl: string;
  /** Signed variable update for enrollment (PK by PK, KEK by PK, db by KEK). */
  auth: string;
}

export interface SecureBootKeySet {
  dir: string;
  ownerGuid: string;
  keys: Record<KeyName, KeyFiles>;
  /** ESP path -> file in the set, for the ESP stage to copy (`loader/keys/auto/PK.auth`, ...). */
  espFiles: Record<string, string>;
  /** SHA-256 fingerprints of the certificates (the db one goes into sign node keys). */
  fingerprints: Record<KeyName, string>;
}

export interface KeyInitOptions {
  /** Replace an existing key set (its private keys are lost). */
  force?: boolean;
  /** Certificate subject prefix: `CN=<prefix> PK` etc. */
  commonName?: string;
  ownerGuid?: string;
  /** Timestamp of the .auth updates. */
  authTimestamp?: Date;
  /** Certificate validity (UEFI firmware does not check it; long by default). */
  days?: number;
}

/** File names of a key set in `dir` (whether or not they exist yet). */
export function keySetFiles(dir: string): Record<KeyName, KeyFiles> {
  const files = (name: KeyName): KeyFiles => ({
    key: join(dir, `${name}.key`),
    crt: join(dir, `${name}.crt`),
    esl: join(dir, `${name}.esl`),
    auth: join(dir, `${name}.auth`),
  });
  return { PK: files('PK'), KEK: files('KEK'), db: files('db') };
}

const GUID_FILE = 'owner-guid';

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** `YYYY-MM-DD HH:MM:SS` in UTC: the one -t form sign-efi-sig-list parses (others become 1900-1-0). */
function efiToolsTimestamp(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

async function run(tool: string, args: string[], what: string): Promise<void> {
  // Loaded when keys are made, not with the stages that import this module.
  const { execa } = await import('execa');
  try {
    await execa(tool, args, { env: { LC_ALL: 'C', TZ: 'UTC' }, stdin: 'ignore' });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; shortMessage?: string };
    const hint = e.code === 'ENOENT' ? ` (install ${tool === 'openssl' ? 'openssl' : 'efitools'})` : '';
    throw new KeySetError(`${what}: ${tool} failed${hint}: ${(e.stderr || e.shortMessage || String(err)).trim()}`);
  }
}

/**
 * Creates a Secure Boot key set in `dir`. Refuses when any of its files exist unless `force`.
 * Everything is made in a private temporary directory inside `dir` and moved into place at the
 * end, so a failure leaves no half-made set behind.
 */
export async function initSecureBootKeys(dir: string, options: KeyInitOptions = {}): Promise<SecureBootKeySet> {
  const ownerGuid = (options.ownerGuid ?? TEST_KEYS_OWNER_GUID).toLowerCase();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(ownerGuid)) {
    throw new KeySetError(`owner GUID '${options.ownerGuid}' is not of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`);
  }
  const prefix = options.commonName ?? 'pipeline test';
  if (/[/\\=]/.test(prefix)) throw new KeySetError(`certificate name prefix '${prefix}' must not contain '/', '\\' or '='`);
  const final = keySetFiles(dir);
  const targets = [...KEY_NAMES.flatMap((n) => Object.values(final[n])), join(dir, GUID_FILE)];
  if (!options.force) {
    const present = [];
    for (const t of targets) if (await exists(t)) present.push(t);
    if (present.length > 0) {
      throw new KeySetError(`${dir} already holds a key set (${present.join(', ')}); refusing to overwrite it without --force`);
    }
  }

  await mkdir(dir, { recursive: true, mode: 0o700 });
  const work = await mkdtemp(join(dir, '.keys-init-'));
  try {
    await chmod(work, 0o700);
    const tmp = keySetFiles(work);
    for (const name of KEY_NAMES) {
      const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
      await writeFile(tmp[name].key, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
      await run('openssl', [
        'req', '-new', '-x509', '-sha256', '-key', tmp[name].key, '-subj', `/CN=${prefix} ${name}/`,
        '-days', String(options.days ?? 36500), '-out', tmp[name].crt,
      ], `certificate for ${name}`);
      await run('cert-to-efi-sig-list', ['-g', ownerGuid, tmp[name].crt, tmp[name].esl], `signature list for ${name}`);
    }
    const signer: Record<KeyName, KeyName> = { PK: 'PK', KEK: 'PK', db: 'KEK' };
    for (const name of KEY_NAMES) {
      const by = tmp[signer[name]];
      await run('sign-efi-sig-list', [
        '-t', efiToolsTimestamp(options.authTimestamp ?? TEST_KEYS_AUTH_TIMESTAMP), '-g', ownerGuid,
        '-k', by.key, '-c', by.crt, name, tmp[name].esl, tmp[name].auth,
      ], `${name}.auth signed by ${signer[name]}`);
    }
    await writeFile(join(work, GUID_FILE), ownerGuid + '\n', { mode: 0o644 });
    for (const name of KEY_NAMES) {
      for (const kind of ['crt', 'esl', 'auth'] as const) await chmod(tmp[name][kind], 0o644);
      await chmod(tmp[name].key, 0o600);
    }
    for (const name of KEY_NAMES) {
      for (const kind of ['key', 'crt', 'esl', 'auth'] as const) await rename(tmp[name][kind], final[name][kind]);
    }
    await rename(join(work, GUID_FILE), join(dir, GUID_FILE));
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  const fingerprints = {} as Record<KeyName, string>;
  for (const name of KEY_NAMES) fingerprints[name] = certificateFingerprint(await readFile(final[name].crt));
  return {
    dir,
    ownerGuid,
    keys: final,
    espFiles: Object.fromEntries(KEY_NAMES.map((n) => [`${ESP_ENROLL_DIR}/${n}.auth`, final[n].auth])),
    fingerprints,
  };
}
