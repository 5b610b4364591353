// Signed remote entries: what a reader accepts, and every way it refuses.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findSecret, pemNeedle } from '../../graph/remote/secret-guard.js';
import { ENTRY_FORMAT, EntryRejected, parsePublicId, signEntry, signingKeyFromPem, verifyEntry, type RemoteEntry } from '../../graph/remote/signed-entry.js';

const newKey = () => signingKeyFromPem(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 'test key');
const hex = (c: string) => c.repeat(64);
const entry: RemoteEntry = {
  format: ENTRY_FORMAT,
  key: '0123456789abcdef',
  id: 'squashfs:demo',
  kind: 'squashfs',
  version: 3,
  output: hex('a'),
  size: 10,
  files: 1,
  ms: 5,
  builtAt: '2026-12-07T00:00:00.000Z',
  blob: { sha256: hex('b'), size: 2048 },
};
const expectFor = { key: entry.key, kind: 'squashfs', version: 3 };

describe('signed remote entries', () => {
  const key = newKey();
  const trusted = new Map([[key.publicId, parsePublicId(key.publicId)]]);

  it('round-trips through JSON and verifies with the trusted key', () => {
    const signed = JSON.parse(JSON.stringify(signEntry(entry, key)));
    expect(key.publicId).toMatch(/^ed25519:[A-Za-z0-9+/]{43}=$/);
    expect(verifyEntry(signed, trusted, expectFor)).toEqual(entry);
  });

  it('refuses unsigned, unknown-signer, tampered and misdirected entries, saying why', () => {
    const signed = signEntry(entry, key);
    const refuse = (value: unknown, why: RegExp, expected = expectFor) => {
      expect(() => verifyEntry(value, trusted, expected)).toThrow(EntryRejected);
      expect(() => verifyEntry(value, trusted, expected)).toThrow(why);
    };
    refuse({ entry }, /unsigned/);
    refuse({ ...signed, signature: '' }, /unsigned/);
    refuse(signEntry(entry, newKey()), /does not trust/);
    // Bytes changed after signing: each bound field breaks the signature.
    for (const change of [{ output: hex('c') }, { key: 'fedcba9876543210' }, { version: 4 }, { blob: { sha256: hex('d'), size: 2048 } }]) {
      refuse({ ...signed, entry: { ...entry, ...change } }, /does not verify/);
    }
    // A valid signature over another node's entry is not this node's answer.
    refuse(signEntry({ ...entry, version: 2 }, key), /squashfs v2, not squashfs v3/);
    refuse(signEntry(entry, key), /answers key/, { ...expectFor, key: 'ffffffffffffffff' });
    refuse('garbage', /not a pipeline cache entry/);
  });

  it('says what is wrong with a key that is not Ed25519', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(() => signingKeyFromPem(rsa, 'key.pem')).toThrow(/key.pem is a rsa key; the cache signs with Ed25519/);
    expect(() => signingKeyFromPem('nonsense', 'key.pem')).toThrow(/key.pem is not a PEM private key/);
    expect(() => parsePublicId('ed25519:AAAA')).toThrow(/not an Ed25519 public key/);
  });
});

describe('the secret guard', () => {
  it('finds a PEM key body in a file, also across read boundaries, and nothing in a clean one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'secret-guard-'));
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const needle = pemNeedle(pem)!;
    expect(needle.length).toBeGreaterThanOrEqual(40);
    const secrets = [{ name: 'the key', bytes: needle }];
    // The needle straddles the 1 MiB read size.
    const big = Buffer.alloc((1 << 20) + needle.length, 0x20);
    needle.copy(big, (1 << 20) - 10);
    await writeFile(join(dir, 'leaky'), big);
    await writeFile(join(dir, 'clean'), Buffer.alloc(3 << 20, 0x41));
    expect(await findSecret(join(dir, 'leaky'), secrets)).toBe('the key');
    expect(await findSecret(join(dir, 'clean'), secrets)).toBeUndefined();
  });
});
