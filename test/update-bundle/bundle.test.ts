// The update bundle format (formats/update-bundle.ts) read the way recab reads it on the installed
// system: GNU tar and busybox tar list and extract it, busybox sha256sum checks the payloads,
// `openssl dgst -sha256 -verify` checks the manifest's signature with the db certificate's key.
// Then the TypeScript verifier on damaged bundles: each damage is refused, naming the member.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, truncate, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSlotImage } from '../../formats/slot-layers.js';
import { initSecureBootKeys } from '../../keys/secureboot.js';
import { writeTar, type TarWriteEntry } from '../../formats/tar.js';
import {
  formatUpdateManifest,
  loadUpdateSigningKey,
  parseUpdateManifest,
  readUpdateBundleManifest,
  resignUpdateBundle,
  UPDATE_MEMBERS,
  UpdateBundleError,
  updatePublicKeyPem,
  updateSigner,
  validateUpdateVersion,
  verifyUpdateBundle,
  writeUpdateBundle,
  type UpdateManifest,
  type WriteUpdateBundleOptions,
} from '../../formats/update-bundle.js';
import { pipeToFile } from '../../util/file-stream.js';
import { demoDbKey, EPOCH, flipByte, makeInputs, memberOffsets, opensslKeyPair, run, type Inputs } from './fixtures.js';

let work: string;
let inputs: Inputs;
let slotImage: string;
let db: { key: string; crt: string };
let dbPublic: string;
let bundle: string;
let dbKey: KeyObject;

function options(output: string, over: Partial<WriteUpdateBundleOptions> = {}): WriteUpdateBundleOptions {
  return { output, variant: 'demo', os: 'demo', version: '1.1', epoch: EPOCH, systemA: inputs.systemA, systemB: inputs.systemB, slotImage, sign: updateSigner(dbKey), ...over };
}

/** The error a promise rejects with (the test fails if it resolves). */
async function failure(promise: Promise<unknown>): Promise<UpdateBundleError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected a rejection').toBeInstanceOf(UpdateBundleError);
  return err as UpdateBundleError;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'update-bundle-'));
  inputs = await makeInputs(join(work, 'inputs'));
  slotImage = join(work, 'slot.img');
  await writeSlotImage([inputs.base, inputs.upper], slotImage);
  db = demoDbKey();
  dbKey = createPrivateKey(await readFile(db.key));
  dbPublic = updatePublicKeyPem(await readFile(db.crt));
  bundle = join(work, 'demo-1.1.update');
  await writeUpdateBundle(options(bundle));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the demo keys', () => {
  it('fixtures/keys/secureboot/db.key belongs to variants/keys/demo-secureboot/db.crt', async () => {
    const key = await loadUpdateSigningKey(db.key, db.crt);
    expect(createPublicKey(key).export({ type: 'spki', format: 'pem' })).toBe(dbPublic);
    // openssl derives the same SPKI key from the certificate.
    const { stdout } = await run('openssl', ['x509', '-in', db.crt, '-noout', '-pubkey']);
    expect(stdout).toBe(dbPublic);
  });

  it('a key that is not the certificate\'s is refused, naming both files', async () => {
    const other = await opensslKeyPair(work, 'not-db');
    const err = await failure(loadUpdateSigningKey(other.key, db.crt));
    expect(err.message).toBe(`private key ${other.key} does not belong to certificate ${db.crt}`);
  });
  it('a `pipeline keys init` set signs bundles too: its db key with its db certificate', async () => {
    const set = await initSecureBootKeys(join(work, 'keyset'));
    const output = join(work, 'keyset.update');
    await writeUpdateBundle(options(output, { sign: await loadUpdateSigningKey(set.keys.db.key, set.keys.db.crt) }));
    const pub = join(work, 'keyset-pub.pem');
    await writeFile(pub, updatePublicKeyPem(await readFile(set.keys.db.crt)));
    const dir = await mkdtemp(join(work, 'keyset-x-'));
    await run('tar', ['-xf', output, '-C', dir]);
    const { stdout } = await run('openssl', ['dgst', '-sha256', '-verify', pub, '-signature', join(dir, 'manifest.sig'), join(dir, 'manifest')]);
    expect(stdout.trim()).toBe('Verified OK');
    expect((await failure(verifyUpdateBundle(output, dbPublic))).member).toBe('manifest.sig');
  });
});

describe('a written bundle, read by the real tools', () => {
  it('is a ustar archive of exactly the five members in order, 0644 root/root, at the epoch', async () => {
    const { stdout } = await run('tar', ['-tvf', bundle, '--full-time'], { env: { ...process.env, TZ: 'UTC' } });
    const lines = stdout.trim().split('\n').map((l) => l.split(/\s+/));
    expect(lines.map((l) => l[5])).toEqual([...UPDATE_MEMBERS]);
    for (const l of lines) {
      expect(l[0]).toBe('-rw-r--r--');
      expect(l[1]).toBe('root/root');
      expect(`${l[3]} ${l[4]}`).toBe('2023-11-14 22:13:20');
    }
    const { stdout: numeric } = await run('tar', ['-tvf', bundle, '--numeric-owner']);
    for (const l of numeric.trim().split('\n')) expect(l.split(/\s+/)[1]).toBe('0/0');
    // Plain ustar: the POSIX magic in every header, no pax or GNU extension blocks, two zero blocks at the end.
    const bytes = await readFile(bundle);
    const members = await memberOffsets(bundle);
    for (const m of members) {
      expect(bytes.toString('latin1', m.header + 257, m.header + 265)).toBe('ustar\x0000');
      expect(bytes.toString('latin1', m.header + 156, m.header + 157)).toBe('0');
    }
    const last = members.at(-1)!;
    const end = last.body + Math.ceil(last.size / 512) * 512;
    expect(bytes.length).toBe(end + 1024);
    expect(bytes.subarray(end).every((b) => b === 0)).toBe(true);
    expect(bytes.length % 512).toBe(0);
  });

  it('the manifest lists the payloads with their sizes and digests, and openssl verifies its signature', async () => {
    const { stdout: manifest } = await run('tar', ['-xOf', bundle, 'manifest']);
    const sizes = await Promise.all([inputs.systemA, inputs.systemB, slotImage].map(async (p) => (await stat(p)).size));
    const sums = await Promise.all([inputs.systemA, inputs.systemB, slotImage].map(async (p) => (await run('sha256sum', [p])).stdout.split(' ')[0]));
    expect(manifest).toBe(
      [
        'pipeline-update 1',
        'variant demo',
        'os demo',
        'version 1.1',
        `epoch ${EPOCH}`,
        `file system-a.efi ${sizes[0]} ${sums[0]}`,
        `file system-b.efi ${sizes[1]} ${sums[1]}`,
        `file slot.img ${sizes[2]} ${sums[2]}`,
        'end',
        '',
      ].join('\n'),
    );
    const out = join(work, 'openssl');
    await mkdir(out, { recursive: true });
    await run('tar', ['-xf', bundle, '-C', out, 'manifest', 'manifest.sig']);
    await writeFile(join(out, 'pub.pem'), dbPublic);
    const { stdout } = await run('openssl', ['dgst', '-sha256', '-verify', join(out, 'pub.pem'), '-signature', join(out, 'manifest.sig'), join(out, 'manifest')]);
    expect(stdout.trim()).toBe('Verified OK');
    // The same check with the key openssl itself takes from the certificate.
    await run('sh', ['-c', `openssl x509 -in "$1" -noout -pubkey > "$2"`, 'sh', db.crt, join(out, 'cert-pub.pem')]);
    const again = await run('openssl', ['dgst', '-sha256', '-verify', join(out, 'cert-pub.pem'), '-signature', join(out, 'manifest.sig'), join(out, 'manifest')]);
    expect(again.stdout.trim()).toBe('Verified OK');
  });

  it('busybox tar extracts it and busybox sha256sum confirms every payload against the manifest', async () => {
    const out = join(work, 'busybox');
    await mkdir(out, { recursive: true });
    await run('busybox', ['tar', '-xf', bundle, '-C', out]);
    // recab's check: the manifest's file lines as a sha256sum list.
    const manifest = await readFile(join(out, 'manifest'), 'utf8');
    const list = manifest.split('\n').filter((l) => l.startsWith('file ')).map((l) => { const [, name, , sum] = l.split(' '); return `${sum}  ${name}\n`; }).join('');
    await writeFile(join(out, 'sums'), list);
    const { stdout } = await run('busybox', ['sha256sum', '-c', 'sums'], { cwd: out });
    expect(stdout.trim().split('\n')).toEqual(['system-a.efi: OK', 'system-b.efi: OK', 'slot.img: OK']);
    expect((await readFile(join(out, 'slot.img'))).equals(await readFile(slotImage))).toBe(true);
    expect((await readFile(join(out, 'system-a.efi'))).equals(await readFile(inputs.systemA))).toBe(true);
    const { stdout: one } = await run('busybox', ['tar', '-xOf', bundle, 'manifest']);
    expect(one).toBe(manifest);
    // The slot image in the bundle holds both layers where its header says.
    const { stdout: motd } = await run('unsquashfs', ['-o', '4096', '-cat', join(out, 'slot.img'), 'etc/os-release']);
    expect(motd).toBe('ID=demo\nVERSION_ID=1\n');
  });

  it('verifies in TypeScript and reads back the same manifest', async () => {
    const verified = await verifyUpdateBundle(bundle, dbPublic);
    expect(verified.files.map((f) => f.name)).toEqual(['system-a.efi', 'system-b.efi', 'slot.img']);
    const head = await readUpdateBundleManifest(bundle);
    expect(head.manifest).toEqual(verified);
    expect(head.manifestBytes.toString()).toBe(formatUpdateManifest(verified));
    expect(head.signature.length).toBe(256);
  });

  it('is byte-reproducible: the same inputs give the same bytes, whatever the output path', async () => {
    const second = join(work, 'again', 'demo-1.1.update');
    await mkdir(join(work, 'again'), { recursive: true });
    const copies = join(work, 'copies');
    await mkdir(copies, { recursive: true });
    for (const f of ['system-a.efi', 'system-b.efi']) await copyFile(join(work, 'inputs', f), join(copies, f));
    await copyFile(slotImage, join(copies, 'slot.img'));
    await writeUpdateBundle(options(second, { systemA: join(copies, 'system-a.efi'), systemB: join(copies, 'system-b.efi'), slotImage: join(copies, 'slot.img'), sign: dbKey }));
    expect((await readFile(second)).equals(await readFile(bundle))).toBe(true);
  });

  it('signs with an EC key too: openssl verifies the DER ECDSA signature', async () => {
    const ec = await opensslKeyPair(work, 'ec-db', 'ec');
    const output = join(work, 'ec.update');
    await writeUpdateBundle(options(output, { sign: await loadUpdateSigningKey(ec.key, ec.crt) }));
    const pub = join(work, 'ec-pub.pem');
    await writeFile(pub, updatePublicKeyPem(await readFile(ec.crt)));
    const dir = await mkdtemp(join(work, 'ec-x-'));
    await run('tar', ['-xf', output, '-C', dir, 'manifest', 'manifest.sig']);
    const { stdout } = await run('openssl', ['dgst', '-sha256', '-verify', pub, '-signature', join(dir, 'manifest.sig'), join(dir, 'manifest')]);
    expect(stdout.trim()).toBe('Verified OK');
    await verifyUpdateBundle(output, updatePublicKeyPem(await readFile(ec.crt)));
  });
});

describe('writing refuses', () => {
  it('a payload that changes after it was hashed, and leaves no output', async () => {
    const changing = join(work, 'changing.img');
    await copyFile(slotImage, changing);
    const output = join(work, 'changing.update');
    // The signer runs after the payloads are hashed and before they are copied in.
    const sign = async (manifest: Buffer) => {
      await appendFile(changing, 'x');
      return updateSigner(dbKey)(manifest);
    };
    const err = await failure(writeUpdateBundle(options(output, { slotImage: changing, sign })));
    expect(err.message).toBe(`${output}: slot.img (${changing}) changed while the bundle was written`);
    expect(err.member).toBe('slot.img');
    await expect(stat(output)).rejects.toThrow(/ENOENT/);
  });

  it('a version that is not digits and dots, and a missing payload', async () => {
    expect(validateUpdateVersion('10.0.2')).toBe('10.0.2');
    for (const bad of ['', '1.', '.1', '1..2', 'v1', '1.0-rc1', '1 2']) {
      const err = await failure(writeUpdateBundle(options(join(work, 'bad.update'), { version: bad })));
      expect(err.message).toMatch(/version .* must be digits separated by single dots/);
    }
    const err = await failure(writeUpdateBundle(options(join(work, 'missing.update'), { systemB: join(work, 'nope.efi') })));
    expect(err.message).toBe(`${join(work, 'missing.update')}: cannot read system-b.efi from ${join(work, 'nope.efi')}: ENOENT`);
  });
});

describe('verification refuses a damaged bundle', () => {
  async function damaged(name: string): Promise<string> {
    const copy = join(work, name);
    await copyFile(bundle, copy);
    return copy;
  }

  it('one byte of slot.img changed: names slot.img', async () => {
    const copy = await damaged('flipped.update');
    const slot = (await memberOffsets(copy)).find((m) => m.path === 'slot.img')!;
    await flipByte(copy, slot.body + 5000);
    const err = await failure(verifyUpdateBundle(copy, dbPublic));
    expect(err.member).toBe('slot.img');
    expect(err.message).toMatch(new RegExp(`^${copy}: slot.img has sha256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}: it was changed after signing$`));
    // busybox sha256sum agrees.
    const out = await mkdtemp(join(work, 'flipped-'));
    await run('busybox', ['tar', '-xf', copy, '-C', out]);
    const sum = (await readUpdateBundleManifest(copy)).manifest.files[2].sha256;
    await writeFile(join(out, 'sums'), `${sum}  slot.img\n`);
    await expect(run('busybox', ['sha256sum', '-c', 'sums'], { cwd: out })).rejects.toThrow();
  });

  it('one byte of system-b.efi changed: names system-b.efi', async () => {
    const copy = await damaged('flipped-b.update');
    const member = (await memberOffsets(copy)).find((m) => m.path === 'system-b.efi')!;
    await flipByte(copy, member.body + member.size - 1);
    const err = await failure(verifyUpdateBundle(copy, dbPublic));
    expect(err.member).toBe('system-b.efi');
  });

  it('truncated inside slot.img, or without its end blocks', async () => {
    const copy = await damaged('truncated.update');
    const slot = (await memberOffsets(copy)).find((m) => m.path === 'slot.img')!;
    await truncate(copy, slot.body + 1000);
    const err = await failure(verifyUpdateBundle(copy, dbPublic));
    expect(err.member).toBe('slot.img');
    expect(err.message).toMatch(/slot\.img: archive ends inside the body of "slot\.img"/);

    const noEnd = await damaged('no-end.update');
    await truncate(noEnd, (await stat(noEnd)).size - 1024);
    const endErr = await failure(verifyUpdateBundle(noEnd, dbPublic));
    expect(endErr.message).toMatch(/after slot\.img: archive ends without end-of-archive blocks/);

    const trailing = await damaged('trailing.update');
    await appendFile(trailing, 'junk');
    expect((await failure(verifyUpdateBundle(trailing, dbPublic))).message).toMatch(/after slot\.img: data after the end-of-archive blocks/);

    const cutManifest = await damaged('cut-manifest.update');
    await truncate(cutManifest, 512 + 10);
    const cutErr = await failure(verifyUpdateBundle(cutManifest, dbPublic));
    expect(cutErr.member).toBe('manifest');
    expect(cutErr.message).toMatch(/: manifest: archive ends inside the body of "manifest"/);

    const headerOnly = await damaged('head-only.update');
    await truncate(headerOnly, (await memberOffsets(headerOnly))[2].header);
    expect((await failure(verifyUpdateBundle(headerOnly, dbPublic))).message).toMatch(/archive ends without end-of-archive blocks/);
  });

  it('the manifest changed after signing (same length): the signature does not verify', async () => {
    const copy = await damaged('edited.update');
    const bytes = await readFile(copy);
    const at = bytes.indexOf('version 1.1\n');
    bytes.write('version 1.2\n', at, 'latin1');
    // Keep the tar header checksum right: only the body changed.
    await writeFile(copy, bytes);
    const err = await failure(verifyUpdateBundle(copy, dbPublic));
    expect(err.member).toBe('manifest.sig');
    expect(err.message).toBe(`${copy}: manifest.sig does not verify: the manifest was changed after signing, or it was signed with another key`);
    const out = await mkdtemp(join(work, 'edited-'));
    await run('tar', ['-xf', copy, '-C', out]);
    await writeFile(join(out, 'pub.pem'), dbPublic);
    const refused = await run('openssl', ['dgst', '-sha256', '-verify', join(out, 'pub.pem'), '-signature', join(out, 'manifest.sig'), join(out, 'manifest')]).then(
      () => undefined,
      (e: { code: number; stdout: string }) => e,
    );
    expect(refused?.code).toBe(1);
    expect(refused?.stdout.trim()).toBe('Verification failure');
  });

  it('signed with another key: refused with the db key, accepted with the other', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const resigned = join(work, 'other-key.update');
    await resignUpdateBundle(bundle, resigned, { sign: other.privateKey });
    const err = await failure(verifyUpdateBundle(resigned, dbPublic));
    expect(err.member).toBe('manifest.sig');
    await verifyUpdateBundle(resigned, other.publicKey);
    // Only manifest.sig differs.
    const a = await memberOffsets(bundle);
    const b = await memberOffsets(resigned);
    expect(b).toEqual(a);
    const [x, y] = [await readFile(bundle), await readFile(resigned)];
    const sig = a[1];
    expect(Buffer.compare(x.subarray(0, sig.body), y.subarray(0, sig.body))).toBe(0);
    expect(Buffer.compare(x.subarray(sig.body + sig.size), y.subarray(sig.body + sig.size))).toBe(0);
    expect(x.subarray(sig.body, sig.body + sig.size).equals(y.subarray(sig.body, sig.body + sig.size))).toBe(false);
  });

  it('an edited manifest signed again verifies with that key and says what the edit says', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const resigned = join(work, 'other-variant.update');
    const { manifestText } = await resignUpdateBundle(bundle, resigned, { manifestEdit: (m) => m.replace('variant demo\n', 'variant acorn\n'), sign: updateSigner(other.privateKey) });
    expect(manifestText).toMatch(/^variant acorn$/m);
    expect((await verifyUpdateBundle(resigned, other.publicKey.export({ type: 'spki', format: 'pem' }))).variant).toBe('acorn');
    const { stdout } = await run('tar', ['-tf', resigned]);
    expect(stdout.trim().split('\n')).toEqual([...UPDATE_MEMBERS]);
  });

  it('members out of order, missing, extra, or not regular files', async () => {
    const members = new Map<string, Buffer>();
    const out = await mkdtemp(join(work, 'members-'));
    await run('tar', ['-xf', bundle, '-C', out]);
    for (const name of UPDATE_MEMBERS) members.set(name, await readFile(join(out, name)));
    const write = async (name: string, entries: TarWriteEntry[]) => {
      const path = join(work, name);
      await pipeToFile(path, Readable.from(writeTar(entries)));
      return path;
    };
    const file = (path: string, body = members.get(path)!): TarWriteEntry => ({ path, type: 'file', mode: 0o644, uname: 'root', gname: 'root', mtime: EPOCH, body });
    const [manifest, sig, a, b, slot] = UPDATE_MEMBERS.map((n) => file(n));

    const swapped = await write('swapped.update', [manifest, sig, b, a, slot]);
    const swapErr = await failure(verifyUpdateBundle(swapped, dbPublic));
    expect(swapErr.message).toBe(`${swapped}: member 3 is "system-b.efi", expected system-a.efi (members: manifest, manifest.sig, system-a.efi, system-b.efi, slot.img, in that order)`);

    const sigFirst = await write('sig-first.update', [sig, manifest, a, b, slot]);
    expect((await failure(verifyUpdateBundle(sigFirst, dbPublic))).message).toMatch(/member 1 is "manifest.sig", expected manifest/);

    const missing = await write('missing.update', [manifest, sig, a, b]);
    expect((await failure(verifyUpdateBundle(missing, dbPublic))).message).toBe(`${missing}: member 5 should be slot.img, but the archive ends there`);

    const extra = await write('extra.update', [manifest, sig, a, b, slot, file('slot.img.bak', Buffer.from('x'))]);
    const extraErr = await failure(verifyUpdateBundle(extra, dbPublic));
    expect(extraErr.message).toBe(`${extra}: unexpected member "slot.img.bak" after slot.img`);

    const dir = await write('dir.update', [{ path: 'manifest', type: 'dir', mode: 0o755 }]);
    expect((await failure(verifyUpdateBundle(dir, dbPublic))).message).toBe(`${dir}: manifest is a dir, not a regular file`);

    const pax = await write('pax.update', [{ ...manifest, pax: [['comment', 'x']] }, sig, a, b, slot]);
    expect((await failure(verifyUpdateBundle(pax, dbPublic))).message).toMatch(/manifest carries pax extended headers \(comment\); update bundles are plain ustar/);

    // A member of the right name whose size disagrees with the manifest.
    const short = await write('short.update', [manifest, sig, a, file('system-b.efi', members.get('system-b.efi')!.subarray(1)), slot]);
    expect((await failure(verifyUpdateBundle(short, dbPublic))).message).toBe(`${short}: system-b.efi is ${members.get('system-b.efi')!.length - 1} bytes, the manifest says ${members.get('system-b.efi')!.length}`);

    // The well-formed reassembly verifies: the checks above failed for their reason only.
    expect((await verifyUpdateBundle(await write('same.update', [manifest, sig, a, b, slot]), dbPublic)).version).toBe('1.1');
  });

  it('not a bundle at all, or not there', async () => {
    const junk = join(work, 'junk.update');
    await writeFile(junk, Buffer.alloc(700, 1));
    expect((await failure(verifyUpdateBundle(junk, dbPublic))).message).toMatch(new RegExp(`^${junk}: not an update bundle: where manifest should be: bad octal checksum field`));
    expect((await failure(verifyUpdateBundle(join(work, 'absent.update'), dbPublic))).message).toBe(`${join(work, 'absent.update')}: cannot read the bundle: ENOENT`);
  });
});

describe('manifest parsing', () => {
  const good: UpdateManifest = {
    variant: 'demo',
    os: 'demo',
    version: '10.0.2',
    epoch: EPOCH,
    files: [
      { name: 'system-a.efi', bytes: 10, sha256: 'a'.repeat(64) },
      { name: 'system-b.efi', bytes: 0, sha256: 'b'.repeat(64) },
      { name: 'slot.img', bytes: 4096, sha256: 'c'.repeat(64) },
    ],
  };
  const text = formatUpdateManifest(good);

  it('round-trips', () => {
    expect(parseUpdateManifest(text)).toEqual(good);
    expect(parseUpdateManifest(Buffer.from(text))).toEqual(good);
  });

  const cases: Array<[string, string, string | RegExp]> = [
    ['another magic', text.replace('pipeline-update 1', 'pipeline-update 2'), `m: line 1: expected 'pipeline-update 1', got "pipeline-update 2": not an update manifest, or another format version`],
    ['CRLF line ends', text.replace(/\n/g, '\r\n'), 'm: carriage return at byte 17: line ends must be LF only'],
    ['no final LF', text.slice(0, -1), 'm: does not end with a line feed (truncated?)'],
    ['cut after the epoch', text.split('file ')[0], `m: ends after line 5, expected 'file system-a.efi <bytes> <sha256>'`],
    ['a tab', text.replace('variant demo', 'variant\tdemo'), 'm: byte 25 is 0x09: only printable ASCII and LF are allowed'],
    ['non-ASCII', text.replace('variant demo', 'variant démo'), /only printable ASCII and LF are allowed/],
    ['two spaces', text.replace('variant demo', 'variant  demo'), 'm: line 2: variant " demo": must be 1 to 64 letters, digits, ., _, + or -'],
    ['a space in a value', text.replace('variant demo', 'variant de mo'), 'm: line 2: variant "de mo": must be 1 to 64 letters, digits, ., _, + or -'],
    ['keys swapped', text.replace('variant demo\nos demo', 'os demo\nvariant demo'), `m: line 2: expected 'variant <value>', got "os demo"`],
    ['upper-case os', text.replace('os demo', 'os Demo'), /line 3: os "Demo": must be an os-release ID/],
    ['bad version', text.replace('version 10.0.2', 'version 10.0.2a'), 'm: line 4: version "10.0.2a": must be digits separated by single dots (1, 1.1, 10.0.2)'],
    ['epoch with a leading zero', text.replace(`epoch ${EPOCH}`, `epoch 0${EPOCH}`), /line 5: epoch "01700000000": must be whole seconds/],
    ['files out of order', text.replace('file system-a.efi', 'file system-x.efi'), /line 6: expected the file system-a.efi here, got "system-x.efi"/],
    ['size not a number', text.replace('file slot.img 4096', 'file slot.img 4k'), 'm: line 8: slot.img: size "4k" must be a decimal byte count, no leading zeros'],
    ['upper-case digest', text.replace('c'.repeat(64), 'C'.repeat(64)), /line 8: slot.img: sha256 "C{64}" must be 64 lowercase hex digits/],
    ['short digest', text.replace('c'.repeat(64), 'c'.repeat(63)), /line 8: slot.img: sha256 "c{63}" must be 64 lowercase hex digits/],
    ['a fourth file', text.replace('end\n', `file extra.bin 1 ${'d'.repeat(64)}\nend\n`), `m: line 9: expected 'end', got "file extra.bin 1 ${'d'.repeat(64)}"`],
    ['text after end', `${text}more\n`, 'm: line 10: unexpected "more" after \'end\''],
    ['an empty line after end', `${text}\n`, 'm: line 10: unexpected "" after \'end\''],
    ['no end', text.replace('end\n', ''), `m: ends after line 8, expected 'end'`],
  ];
  for (const [what, input, expected] of cases) {
    it(`refuses ${what}`, () => {
      let message = '';
      try {
        parseUpdateManifest(input, 'm');
      } catch (err) {
        expect(err).toBeInstanceOf(UpdateBundleError);
        message = (err as Error).message;
      }
      if (typeof expected === 'string') expect(message).toBe(expected);
      else expect(message).toMatch(expected);
    });
  }

  it('refuses to format what it could not parse', () => {
    expect(() => formatUpdateManifest({ ...good, variant: 'de mo' })).toThrow(/variant "de mo" must be/);
    expect(() => formatUpdateManifest({ ...good, files: good.files.slice(0, 2) })).toThrow(/files must be system-a.efi, system-b.efi, slot.img in that order \(got system-a.efi, system-b.efi\)/);
    expect(() => formatUpdateManifest({ ...good, epoch: -1 })).toThrow(/epoch -1 must be whole seconds/);
    expect(() => formatUpdateManifest({ ...good, files: [good.files[0], good.files[1], { ...good.files[2], bytes: 2 ** 33 }] })).toThrow(/slot.img has 8589934592 bytes; a ustar member holds/);
  });
});
