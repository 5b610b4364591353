// Test-only OpenPGP signers made with gpg in a throwaway GNUPGHOME: a key pair, its public key
// file, and detached signatures over bytes (what rpmsign puts in signature tags 267/268).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GpgSigner {
  home: string;
  /** Armored public key file. */
  publicKeyFile: string;
  /** `-D _gpg_name` for rpmsign. */
  userId: string;
  fingerprint: string;
  /** A binary detached signature packet over `data`. */
  sign(data: Buffer): Buffer;
}

export function makeGpgSigner(algorithm: 'rsa2048' | 'rsa3072' | 'ed25519', userId: string): GpgSigner {
  const home = mkdtempSync(join(tmpdir(), 'gnupg-'));
  const gpg = (args: string[], input?: Buffer): Buffer =>
    execFileSync('gpg', ['--homedir', home, '--batch', '--quiet', '--no-tty', ...args], { input, stdio: ['pipe', 'pipe', 'pipe'] });
  gpg(['--passphrase', '', '--pinentry-mode', 'loopback', '--quick-gen-key', userId, algorithm, 'sign', 'never']);
  const colons = gpg(['--with-colons', '--list-keys', userId]).toString();
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(colons)![1];
  const publicKeyFile = join(home, 'public.asc');
  writeFileSync(publicKeyFile, gpg(['--armor', '--export', fingerprint]));
  return {
    home,
    publicKeyFile,
    userId,
    fingerprint,
    sign: (data) => gpg(['--local-user', fingerprint, '--digest-algo', 'sha256', '--detach-sign', '--output', '-'], data),
  };
}
