// Inputs for the update bundle tests: the demo's Secure Boot db key pair, small real squashfs
// layers, stand-in UKIs (the bundle carries them as opaque bytes; one crosses several 1 MiB chunks),
// and byte-level helpers to find and damage a member.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { readTar } from '../../formats/tar.js';
import { projectRoot } from '../../fixtures/paths.js';
import { squashfsSettings } from '../../stages/squashfs.js';
import { xorBytes } from '../../qemu/tamper.js';

export const run = promisify(execFile);
export const EPOCH = 1700000000;

/** The demo variant's db key (a fixture) and certificate (what the demo signs with). */
export function demoDbKey(): { key: string; crt: string } {
  return {
    key: join(projectRoot(), 'fixtures/keys/secureboot/db.key'),
    crt: join(projectRoot(), 'variants/keys/demo-secureboot/db.crt'),
  };
}

/** A self-signed key pair made by openssl (RSA 2048, or EC P-256). */
export async function opensslKeyPair(dir: string, name: string, type: 'rsa' | 'ec' = 'rsa'): Promise<{ key: string; crt: string }> {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  const newkey = type === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  await run('openssl', ['req', '-x509', ...newkey, '-nodes', '-keyout', key, '-out', crt, '-days', '30', '-subj', `/CN=${name}/`]);
  return { key, crt };
}

/** A squashfs image of the given files, made like the root images (reproducible settings). */
export async function squashfsLayer(dir: string, name: string, files: Record<string, string>): Promise<string> {
  const root = join(dir, `${name}-tree`);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  await chmod(root, 0o755);
  const image = join(dir, `${name}.squashfs`);
  await run('mksquashfs', [root, image, ...squashfsSettings({ epoch: EPOCH }), '-all-root'], { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH) } });
  return image;
}

/** Deterministic filler bytes (a SHA-256 chain): a stand-in UKI of any size. */
export function fillerBytes(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let at = 0; at < size; at += block.length) {
    block.copy(out, at);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

export interface Inputs {
  base: string;
  upper: string;
  systemA: string;
  systemB: string;
}

/** Two layers and two stand-in UKIs in `dir`. system-a is 2.5 MiB, so it streams in several chunks. */
export async function makeInputs(dir: string): Promise<Inputs> {
  await mkdir(dir, { recursive: true });
  const base = await squashfsLayer(dir, 'base', { 'etc/os-release': 'ID=demo\nVERSION_ID=1\n', 'usr/bin/tool': 'x'.repeat(50_000) });
  const upper = await squashfsLayer(dir, 'upper', { 'etc/motd': 'upper layer\n' });
  const systemA = join(dir, 'system-a.efi');
  const systemB = join(dir, 'system-b.efi');
  await writeFile(systemA, fillerBytes('system-a', 2.5 * 1024 * 1024 + 17));
  await writeFile(systemB, fillerBytes('system-b', 300_001));
  return { base, upper, systemA, systemB };
}

/** Where each member's header and body are in a bundle. */
export async function memberOffsets(bundle: string): Promise<Array<{ path: string; header: number; body: number; size: number }>> {
  const out: Array<{ path: string; header: number; body: number; size: number }> = [];
  for await (const entry of readTar(await readFile(bundle))) out.push({ path: entry.path, header: entry.offset, body: entry.offset + 512, size: entry.size });
  return out;
}

/** Flips the bits of one byte of a file in place. */
export async function flipByte(path: string, offset: number): Promise<void> {
  await xorBytes(path, [offset], 0xff);
}
