// recab on a pretend machine (machine.ts): real bundles from the bundle writer, real openssl,
// busybox's sh, tar, dd and sha256sum. What it writes to the slot, the ESP, efivarfs and its
// state is checked byte for byte; the boots themselves are the demo's update scenarios.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resignUpdateBundle, writeUpdateBundle } from '../../formats/update-bundle.js';
import { writeSlotImage } from '../../formats/slot-layers.js';
import { demoDbKey, squashfsLayer } from '../update-bundle/fixtures.js';
import { LOADER_GUID, makeMachine, type Machine } from './machine.js';

const sha256 = async (path: string, bytes?: number) => {
  const data = await readFile(path);
  return createHash('sha256').update(bytes === undefined ? data : data.subarray(0, bytes)).digest('hex');
};

let work: string;
let slotImage: string;
let bundle: (version: string, options?: { variant?: string; name?: string }) => Promise<string>;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'recab-'));
  const base = await squashfsLayer(work, 'base', { 'etc/os-release': 'ID="demo"\nVERSION_ID="1.1"\n', 'bin/hello': 'hello\n' });
  const upper = await squashfsLayer(work, 'upper', { 'etc/motd': 'from the update\n' });
  slotImage = join(work, 'slot.img');
  await writeSlotImage([base, upper], slotImage);
  for (const slot of ['a', 'b']) await writeFile(join(work, `system-${slot}.efi`), `new UKI for system-${slot}\n`.repeat(1000));
  const { key } = demoDbKey();
  bundle = async (version, options = {}) => {
    const output = join(work, `${options.name ?? options.variant ?? 'demo'}-${version}.update`);
    await writeUpdateBundle({
      output,
      variant: options.variant ?? 'demo',
      os: 'demo',
      version,
      epoch: 1767225600,
      systemA: join(work, 'system-a.efi'),
      systemB: join(work, 'system-b.efi'),
      slotImage,
      sign: (await import('node:crypto')).createPrivateKey(await readFile(key)),
    });
    return output;
  };
});

async function demoMachine(version = '1'): Promise<Machine> {
  return makeMachine({ variant: 'demo', version, certificate: demoDbKey().crt });
}

describe('recab install', () => {
  it('verifies, writes the inactive slot and its UKI, records the state and arms a one-shot trial', async () => {
    const m = await demoMachine();
    const b = await bundle('1.1');
    const r = await m.run('recab', ['install', b]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/system-b \(.*vda3\) holds demo 1\.1, verified/);
    const slotBytes = (await stat(slotImage)).size;
    expect(await sha256(m.slot('system-b'), slotBytes)).toBe(await sha256(slotImage));
    expect(await readFile(join(m.esp, 'EFI/Linux/demo-system-b.efi'), 'utf8')).toBe(`new UKI for system-b\n`.repeat(1000));
    expect(await readFile(join(m.esp, 'EFI/Linux/demo-system-a.efi'), 'utf8')).toBe('installed UKI a\n');
    expect(await readFile(join(m.state, 'system-b'), 'utf8')).toBe('state=installed\nversion=1.1\nvariant=demo\narmed=1\n');
    // efivarfs: attributes 07 00 00 00, the entry id in UTF-16LE, a UTF-16 NUL.
    const raw = await readFile(join(m.efivars, `LoaderEntryOneShot-${LOADER_GUID}`));
    expect(raw).toEqual(Buffer.concat([Buffer.from([7, 0, 0, 0]), Buffer.from('demo-b.conf\0', 'utf16le')]));
    // Slot A and the loader's default are untouched.
    expect(await readFile(join(m.esp, 'loader/loader.conf'), 'utf8')).toBe('default demo-a.conf\ntimeout 3\neditor no\n');
    expect((await m.run('recab', ['status'])).stdout).toMatch(/^next boot: system-b \(one-shot trial\)$/m);
  });

  it('commit on the trial makes it the default atomically and drops LoaderEntryDefault; the old slot becomes previous', async () => {
    const m = await demoMachine();
    expect((await m.run('recab', ['install', await bundle('1.1')])).code).toBe(0);
    // The trial boot: systemd-boot consumed the one-shot; the kernel says system-b.
    await writeFile(join(m.efivars, `LoaderEntryOneShot-${LOADER_GUID}`), '');
    await import('node:fs/promises').then((fs) => fs.rm(join(m.efivars, `LoaderEntryOneShot-${LOADER_GUID}`)));
    await writeFile(join(m.efivars, `LoaderEntryDefault-${LOADER_GUID}`), Buffer.concat([Buffer.from([7, 0, 0, 0]), Buffer.from('demo-a.conf\0', 'utf16le')]));
    await m.setCmdline('root=LABEL=system-b console=ttyS0 panic=5');
    expect((await m.run('recab', ['status'])).stdout).toMatch(/^system-b: installed demo 1\.1; running; on trial/m);
    const r = await m.run('recab', ['commit']);
    expect(r.code).toBe(0);
    expect(await readFile(join(m.esp, 'loader/loader.conf'), 'utf8')).toBe('timeout 3\neditor no\ndefault demo-b.conf\n');
    expect(await m.efivar('LoaderEntryDefault')).toBeUndefined();
    expect(await readdir(join(m.esp, 'loader'))).not.toContain('loader.conf.new');
    const status = (await m.run('recab', ['status'])).stdout;
    expect(status).toMatch(/^system-b: committed demo 1\.1; running; default$/m);
    expect(status).toMatch(/^system-a: previous demo 1; default$|^system-a: previous demo 1$/m);
    expect((await m.run('recab', ['commit'])).stdout).toMatch(/already the default/);
  });

  it('rollback cancels an armed trial', async () => {
    const m = await demoMachine();
    expect((await m.run('recab', ['install', await bundle('1.1')])).code).toBe(0);
    const r = await m.run('recab', ['rollback', '--no-reboot']);
    expect(r.stdout).toMatch(/cancelled the armed trial of system-b; the next boot is system-a/);
    expect(await m.efivar('LoaderEntryOneShot')).toBeUndefined();
  });

  const refusals: Array<[string, (m: Machine) => Promise<string>, RegExp]> = [
    ['signed by another key', async () => {
      const out = join(work, 'other-key.update');
      await resignUpdateBundle(await bundle('1.1'), out, { sign: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey });
      return out;
    }, /signature does not verify against the update key/],
    ['for another variant', () => bundle('1.1', { variant: 'acorn' }), /it is for variant 'acorn', this system is 'demo'/],
    ['older than the running version', () => bundle('0.9'), /it holds demo 0\.9, older than the running 1/],
    ['with a byte of slot.img changed', async () => {
      const out = join(work, 'tampered.update');
      const data = await readFile(await bundle('1.1'));
      data[data.length - 4096] ^= 0xff;
      await writeFile(out, data);
      return out;
    }, /slot\.img does not match its manifest .*: truncated or tampered/],
    ['cut short', async () => {
      const out = join(work, 'short.update');
      await writeFile(out, await readFile(await bundle('1.1')));
      await truncate(out, 512 * 40);
      return out;
    }, /truncated|does not match its manifest/],
    ['not a bundle at all', async () => {
      const out = join(work, 'junk.update');
      await writeFile(out, 'not a tar archive\n'.repeat(100));
      return out;
    }, /not an update bundle/],
  ];
  for (const [what, make, reason] of refusals) {
    it(`refuses a bundle ${what} and changes nothing`, async () => {
      const m = await demoMachine();
      const b = await make(m);
      const before = await sha256(m.slot('system-b'));
      const r = await m.run('recab', ['install', b]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(reason);
      expect(await sha256(m.slot('system-b'))).toBe(before);
      expect(await readFile(join(m.esp, 'EFI/Linux/demo-system-b.efi'), 'utf8')).toBe('installed UKI b\n');
      expect(await m.efivar('LoaderEntryOneShot')).toBeUndefined();
      expect(await readdir(m.state)).toEqual(['system-a']);
    });
  }

  it('refuses a bundle larger than the slot before writing', async () => {
    const m = await makeMachine({ variant: 'demo', version: '1', certificate: demoDbKey().crt, slotBytes: 8 * 512 });
    const r = await m.run('recab', ['install', await bundle('1.1')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/its root image is \d+ bytes, system-b \(.*\) holds 4096/);
    expect(await readdir(m.state)).toEqual(['system-a']);
  });

  it('a disk without a partition named system-b is refused before anything is written', async () => {
    const m = await demoMachine();
    await rm(join(m.dir, 'sys/class/block/vda3'), { recursive: true });
    const r = await m.run('recab', ['install', await bundle('1.1')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no partition named system-b \(GPT name or label\): the disk does not have the A\/B layout/);
    expect(await readdir(m.state)).toEqual(['system-a']);
  });

  it('--no-trial installs without arming; try arms it later; a missing loader entry is written', async () => {
    const m = await demoMachine();
    await rm(join(m.esp, 'loader/entries/demo-b.conf'));
    expect((await m.run('recab', ['install', '--no-trial', await bundle('1.1')])).code).toBe(0);
    expect(await m.efivar('LoaderEntryOneShot')).toBeUndefined();
    expect(await readFile(join(m.esp, 'loader/entries/demo-b.conf'), 'utf8')).toBe('title   demo 1.1 (system-b)\nefi     /EFI/Linux/demo-system-b.efi\n');
    expect((await m.run('recab', ['try'])).code).toBe(0);
    expect(await m.efivar('LoaderEntryOneShot')).toBe('demo-b.conf');
  });

  it('on the live system, or without a slot on the command line, says what recab is for', async () => {
    const m = await demoMachine();
    await m.setCmdline('root=live:LABEL=PIPELINE_DEMO console=ttyS0');
    const r = await m.run('recab', ['install', await bundle('1.1')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/this is the live system/);
    expect((await m.run('recab', ['status'])).stdout).toBe('running: live\nthis is the live system: nothing is installed to manage\n');
  });

  it('reports an install interrupted before it finished', async () => {
    const m = await demoMachine();
    await writeFile(join(m.state, 'system-b'), 'state=writing\nversion=1.1\nvariant=demo\n');
    expect((await m.run('recab', ['status'])).stdout).toMatch(/^system-b: incomplete: an install of demo 1\.1 was interrupted; not bootable$/m);
  });
});

describe('the tools\' command lines', () => {
  for (const tool of ['recab', 'recstrap', 'recfstab', 'recchroot']) {
    it(`${tool} --help says how to use it and exits 0; a bad option exits 2`, async () => {
      const m = await demoMachine();
      const help = await m.run(tool, ['--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^Usage: ${tool} `));
      const bad = await m.run(tool, ['--no-such-option']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(new RegExp(`^${tool}: .*\\nTry '${tool} --help'\\.\\n$`));
    });
  }

  it('recstrap without a live medium says where the root image should be', async () => {
    const m = await demoMachine();
    const r = await m.run('recstrap', [m.dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no root image on the live medium: .*\/live\/filesystem\.squashfs \(or \.erofs\) is missing/);
  });
});

describe('recstrap', () => {
  async function withMedium(): Promise<Machine> {
    const m = await demoMachine();
    await mkdir(join(m.dir, 'medium/live'), { recursive: true });
    const base = await squashfsLayer(work, 'medium-base', { 'etc/os-release': 'ID="demo"\n' });
    const upper = await squashfsLayer(work, 'medium-upper', { 'etc/motd': 'hi\n' });
    await writeFile(join(m.dir, 'medium/live/filesystem.squashfs'), await readFile(base));
    await writeFile(join(m.dir, 'medium/live/overlayfs.squashfs'), await readFile(upper));
    return m;
  }

  it('refuses a directory of the running system, one that is not a mount point, and a non-empty one', async () => {
    const m = await withMedium();
    // recstrap needs root; the suite runs as root, as the live system does.
    expect((await m.run('recstrap', ['/usr'])).stderr).toMatch(/\/usr is a directory of the running system, not an install target/);
    const target = join(m.dir, 'target');
    await mkdir(join(target, 'lost+found'), { recursive: true });
    expect((await m.run('recstrap', [target])).stderr).toMatch(/is not a mount point: mount the target filesystem \(system-a\) on it first/);
    await writeFile(join(m.dir, 'proc/mounts'), `/dev/vda2 ${target} ext4 rw 0 0\n`, { flag: 'a' });
    await writeFile(join(target, 'leftover'), 'x');
    const r = await m.run('recstrap', [target]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not empty \(.*leftover is there\): use an empty filesystem, or --force/);
  });

  it('writes the layers of a slot exactly as formats/slot-layers.ts does', async () => {
    const m = await withMedium();
    const expected = join(work, 'expected-slot.img');
    await writeSlotImage([join(m.dir, 'medium/live/filesystem.squashfs'), join(m.dir, 'medium/live/overlayfs.squashfs')], expected);
    const written = join(work, 'written-slot.img');
    // lib.sh's writer, as recstrap calls it for a slot partition (here a file).
    const script = `. ${join(m.dir, 'usr/lib/recab/lib.sh')}; write_slot_image ${written} $(medium_layers); echo "$(slot_image_bytes $(medium_layers))"`;
    const { execFile } = await import('node:child_process');
    const out = await new Promise<string>((resolve, reject) =>
      execFile('busybox', ['sh', '-c', script], { env: { PATH: process.env.PATH, RECAB_MEDIUM: join(m.dir, 'medium') } }, (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout))),
    );
    expect(await readFile(written)).toEqual(await readFile(expected));
    expect(Number(out.trim())).toBe((await stat(expected)).size);
  });
});
