// Secure Boot signing of PE files (UKIs, systemd-boot) with a db key, natively and reproducibly
// (formats/authenticode.ts). The node's key holds the certificate's fingerprint; the private
// key's path travels as a secret and never reaches outputs, logs or errors beyond its path.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { NodeSpec } from '../graph/node.js';
import { AuthenticodeError, loadSigningKey, signPe, type SignPeResult } from '../formats/authenticode.js';
import { epochEnv, parseSourceDateEpoch, type StampsTime } from './shared/source-date-epoch.js';
import type { StageKind } from './kind.js';

/** Environment variable that overrides the variant's signing key path. */
export const SIGNING_KEY_ENV = 'PIPELINE_SECUREBOOT_KEY';

/** SHA-256 fingerprint of a certificate (PEM or DER): 64 lowercase hex digits of its DER's digest. */
export function certificateFingerprint(certificate: string | Buffer): string {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificate);
  } catch (err) {
    throw new AuthenticodeError(`not an X.509 certificate: ${(err as Error).message}`);
  }
  return cert.fingerprint256.replace(/:/g, '').toLowerCase();
}

/** The signing key's path: the environment override if set, else the variant's; an error if neither. */
export function signingKeyPath(fromVariant: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): string {
  const path = env[SIGNING_KEY_ENV] || fromVariant;
  if (!path) {
    throw new AuthenticodeError(
      `no Secure Boot signing key: set ${SIGNING_KEY_ENV} or the variant's signing key path (make a test set with 'pipeline keys init <dir>')`,
    );
  }
  return path;
}

export interface SignFileOptions {
  input: string;
  output: string;
  keyPath: string;
  certPath: string;
  /** When given, the certificate must have this SHA-256 fingerprint (what the node key holds). */
  expectFingerprint?: string;
  /** Seconds since the epoch for the signingTime attribute; omitted when undefined. */
  signingTime?: number;
}

/** Signs one PE file with the key + certificate at the given paths. */
export async function signFile(options: SignFileOptions): Promise<SignPeResult> {
  if (options.expectFingerprint !== undefined) {
    const actual = certificateFingerprint(await readFile(options.certPath));
    if (actual !== options.expectFingerprint.toLowerCase()) {
      throw new AuthenticodeError(
        `certificate ${options.certPath} has SHA-256 fingerprint ${actual}, but the build planned with ${options.expectFingerprint}; re-run so the graph picks up the new certificate`,
      );
    }
  }
  const key = await loadSigningKey(options.keyPath, options.certPath);
  return signPe({
    input: options.input,
    output: options.output,
    key,
    signingTime: options.signingTime === undefined ? undefined : new Date(options.signingTime * 1000),
  });
}

export interface SignNodeOptions extends StampsTime {
  /** e.g. `sign:iuppiter:uki-system-a`, `sign:systemd-boot`. */
  id: string;
  /** Node id of the unsigned PE's producer. */
  unsigned: string;
  /** The PE's path inside that node's output (`uki.efi`, `root/usr/lib/systemd/boot/efi/systemd-bootx64.efi`). */
  input: string;
  /** File name in this node's output (default: the input's base name). */
  output?: string;
  /** The db certificate, a declared file (project-relative): its content keys the node. */
  certificate: string;
  /** The private key's path: a secret file, so it stays out of the key, the store and the logs. */
  keyPath: string;
  /** What to tell the user when the certificate or the key is missing (where they are asked for, how to make them). */
  hints?: { certificate?: string; key?: string };
}

/** Kind version: bump when the signed output changes for the same inputs. */
export const SIGN_KIND_VERSION = 2;

/** Authenticode signing of a PE file with the variant's db key (native: no sbsign). */
export const SIGN_STAGE: StageKind = { kind: 'sign', version: SIGN_KIND_VERSION, summary: 'Secure Boot signatures', tools: [] };

/** The build-graph node that signs one PE file; signingTime = SOURCE_DATE_EPOCH. */
export function signNode(options: SignNodeOptions): NodeSpec {
  const output = options.output ?? basename(options.input);
  const hints: Record<string, string> = {};
  if (options.hints?.certificate) hints[options.certificate] = options.hints.certificate;
  if (options.hints?.key) hints.key = options.hints.key;
  return {
    id: options.id,
    kind: SIGN_STAGE.kind,
    version: SIGN_KIND_VERSION,
    deps: { unsigned: options.unsigned },
    // The certificate's content enters the key (as a declared file), never the private key.
    files: [options.certificate],
    params: { input: options.input, output, certificate: options.certificate },
    env: epochEnv(options),
    secrets: { key: options.keyPath },
    secretFiles: ['key'],
    hints,
    description: `sign ${output} (db certificate ${options.certificate})`,
    async run(ctx) {
      const result = await signFile({
        input: join(ctx.dep('unsigned'), options.input),
        output: join(ctx.out, output),
        keyPath: ctx.secrets.key,
        certPath: ctx.file(options.certificate),
        signingTime: parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH, ctx.id),
      });
      ctx.log(`signed ${output}: authenticode sha256 ${result.digest}, ${result.certTable.size}-byte certificate table`);
    },
  };
}
