// UKI assembly checked with binutils and sbsigntools: section placement by ukify's rules on the
// systemd 252 stub (SectionAlignment 0x200) and a 4 KiB-aligned systemd 254 stub, section
// contents, header fields, reproducibility, SBAT merging and the refusals.
import { execFile } from 'node:child_process';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadSigningKey, signPe } from '../../formats/authenticode.js';
import { appendPeSections, PeAlreadySignedError, PeFormatError, PeNoHeaderRoomError, peFileChecksum, SCN } from '../../formats/pe.js';
import { buildUki, kernelRelease, mergeSbat, type UkiOptions } from '../../stages/uki.js';
import {
  backportsSystemdBoot, bookwormSystemdBoot, busyboxStatic, debianKernel, hexField, objdumpPrivate, objdumpSections,
  scratchDir, type ObjdumpSection, type SystemdBootFiles,
} from './fixtures.js';
import { writeCmdlineInitrd } from './initrd.js';

const run = promisify(execFile);
const roundUp = (n: bigint, a: bigint) => ((n + a - 1n) / a) * a;

let dir: string;
let kernel: { vmlinuz: string; release: string };
let initrd: string;
let testKey: { key: string; crt: string };
const stubs: Record<string, SystemdBootFiles> = {};

beforeAll(async () => {
  dir = await scratchDir('uki-layout');
  kernel = await debianKernel();
  initrd = join(dir, 'initrd.cpio');
  await writeCmdlineInitrd(await busyboxStatic(), initrd);
  testKey = { key: join(dir, 'test.key'), crt: join(dir, 'test.crt') };
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', testKey.key, '-out', testKey.crt, '-days', '1', '-subj', '/CN=uki test/']);
  stubs['systemd 252 (bookworm)'] = await bookwormSystemdBoot();
  stubs['systemd 254 (bookworm-backports)'] = await backportsSystemdBoot();
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const OS_RELEASE = 'NAME="Iuppiter"\nID=iuppiter\nVERSION_ID=1\n';
const CMDLINE = 'root=LABEL=IUPPITER console=ttyS0,115200n8 pipeline.slot=a';

function options(stub: string, output: string, extra: Partial<UkiOptions> = {}): UkiOptions {
  return { stub, kernel: kernel.vmlinuz, initrds: [initrd], cmdline: CMDLINE, osRelease: OS_RELEASE, sourceDateEpoch: 1700000000, output, ...extra };
}

async function sectionBytes(file: string, name: string): Promise<Buffer> {
  const out = join(dir, `section-${process.hrtime.bigint()}`);
  await run('objcopy', ['-O', 'binary', `--only-section=${name}`, file, out]);
  try {
    return await readFile(out);
  } finally {
    await rm(out, { force: true });
  }
}

describe.each(['systemd 252 (bookworm)', 'systemd 254 (bookworm-backports)'])('UKI on the %s stub', (label) => {
  let stub: SystemdBootFiles;
  let uki: string;
  let stubRows: ObjdumpSection[];
  let rows: ObjdumpSection[];
  let stubHeader: Map<string, string>;
  let header: Map<string, string>;

  beforeAll(async () => {
    stub = stubs[label];
    uki = join(dir, `${label.split(' ')[1]}.efi`);
    await buildUki(options(stub.stub, uki));
    stubRows = await objdumpSections(stub.stub);
    rows = await objdumpSections(uki);
    stubHeader = await objdumpPrivate(stub.stub);
    header = await objdumpPrivate(uki);
  });

  test('the stub has the alignment this case is about', () => {
    const expected = label.includes('252') ? 0x200n : 0x1000n;
    expect(hexField(stubHeader, 'SectionAlignment')).toBe(expected);
  });

  test('objdump -h: stub sections untouched, new sections after them in ukify order, gap-free', async () => {
    expect(rows.slice(0, stubRows.length)).toEqual(stubRows);
    const added = rows.slice(stubRows.length);
    expect(added.map((r) => r.name)).toEqual(['.osrel', '.cmdline', '.uname', '.initrd', '.linux']);

    const base = hexField(stubHeader, 'ImageBase');
    const sectionAlignment = hexField(stubHeader, 'SectionAlignment');
    const fileAlignment = Number(hexField(stubHeader, 'FileAlignment'));
    const last = stubRows[stubRows.length - 1];
    let prevEnd = last.vma - base + BigInt(last.size);
    let nextOffset = last.fileOffset + Math.ceil(last.size / fileAlignment) * fileAlignment;
    const sizes: Record<string, number> = {
      '.osrel': Buffer.byteLength(OS_RELEASE),
      '.cmdline': Buffer.byteLength(CMDLINE),
      '.uname': Buffer.byteLength(kernel.release),
      '.initrd': (await stat(initrd)).size,
      '.linux': Math.ceil((await stat(kernel.vmlinuz)).size / fileAlignment) * fileAlignment,
    };
    for (const row of added) {
      expect(row.vma - base, `${row.name} VMA`).toBe(roundUp(prevEnd, sectionAlignment));
      expect(row.fileOffset, `${row.name} file offset`).toBe(nextOffset);
      expect(row.size, `${row.name} size`).toBe(sizes[row.name]);
      prevEnd = row.vma - base + BigInt(row.size);
      nextOffset = row.fileOffset + Math.ceil(row.size / fileAlignment) * fileAlignment;
    }
    expect((await stat(uki)).size).toBe(nextOffset);
  });

  test('objdump -p: SizeOfImage covers .linux at the kernel SizeOfImage; time, checksum, alignment', async () => {
    const linux = rows.find((r) => r.name === '.linux')!;
    const kernelHeader = await objdumpPrivate(kernel.vmlinuz);
    const sectionAlignment = hexField(header, 'SectionAlignment');
    expect(sectionAlignment).toBe(hexField(stubHeader, 'SectionAlignment'));
    expect(hexField(header, 'FileAlignment')).toBe(hexField(stubHeader, 'FileAlignment'));
    expect(hexField(header, 'SizeOfImage')).toBe(
      roundUp(linux.vma - hexField(header, 'ImageBase') + hexField(kernelHeader, 'SizeOfImage'), sectionAlignment),
    );
    expect(header.get('Time/Date')).toBe('Tue Nov 14 22:13:20 2023');
    expect(hexField(header, 'CheckSum')).toBe(BigInt(await peFileChecksum(uki)));
    expect(hexField(header, 'CheckSum')).not.toBe(0n);
  });

  test('objcopy reads back every section exactly', async () => {
    expect((await sectionBytes(uki, '.osrel')).toString()).toBe(OS_RELEASE);
    expect((await sectionBytes(uki, '.cmdline')).toString()).toBe(CMDLINE);
    expect((await sectionBytes(uki, '.uname')).toString()).toBe(kernel.release);
    expect((await sectionBytes(uki, '.initrd')).equals(await readFile(initrd))).toBe(true);
    const linux = await sectionBytes(uki, '.linux');
    const vmlinuz = await readFile(kernel.vmlinuz);
    expect(linux.subarray(0, vmlinuz.length).equals(vmlinuz)).toBe(true);
    expect(linux.subarray(vmlinuz.length).every((b) => b === 0)).toBe(true);
    expect(await sectionBytes(uki, '.sbat')).toEqual(await sectionBytes(stub.stub, '.sbat'));
  });

  test('sbsigntools read it: no signature yet, and sbsign finds no gaps between sections', async () => {
    const listed = await run('sbverify', ['--list', uki]);
    expect(listed.stderr + listed.stdout).toMatch(/No signature table present/);
    const { stderr } = await run('sbsign', ['--key', testKey.key, '--cert', testKey.crt, '--output', join(dir, 'sb.efi'), uki]);
    expect(stderr).not.toMatch(/gaps/);
    await run('sbverify', ['--cert', testKey.crt, join(dir, 'sb.efi')]);
  });

  test('reproducible: same inputs give the same bytes; only the timestamp and checksum follow SOURCE_DATE_EPOCH', async () => {
    const again = join(dir, `again-${label.split(' ')[1]}.efi`);
    await buildUki(options(stub.stub, again));
    expect((await readFile(again)).equals(await readFile(uki))).toBe(true);
    const later = join(dir, `later-${label.split(' ')[1]}.efi`);
    await buildUki(options(stub.stub, later, { sourceDateEpoch: 1800000000 }));
    const [a, b] = [await readFile(uki), await readFile(later)];
    const differing = [...a.keys()].filter((i) => a[i] !== b[i]);
    expect(differing.length).toBeGreaterThan(0);
    expect(differing.length).toBeLessThanOrEqual(8); // TimeDateStamp + CheckSum fields
    expect((await objdumpPrivate(later)).get('Time/Date')).toBe('Fri Jan 15 08:00:00 2027');
  });
});

describe('UKI inputs and refusals', () => {
  test('.uname defaults to the release read from the kernel image', async () => {
    expect(await kernelRelease(kernel.vmlinuz)).toBe(kernel.release);
  });

  test('extra SBAT lines are merged into the stub .sbat in place (254 stub has room)', async () => {
    const stub = stubs['systemd 254 (bookworm-backports)'];
    const extra = 'sbat,1,SBAT Version,sbat,1,https://example.invalid/SBAT.md\nlinux.pipeline,1,Pipeline,linux,6.1,https://example.invalid/\n';
    const out = join(dir, 'sbat.efi');
    await buildUki(options(stub.stub, out, { sbat: extra }));
    const stubSbat = (await sectionBytes(stub.stub, '.sbat')).toString().replace(/\0+$/, '');
    const merged = (await sectionBytes(out, '.sbat')).toString();
    expect(merged).toBe(mergeSbat([stubSbat, extra]));
    expect(merged.split('\n')[0]).toBe(stubSbat.split('\n')[0]);
    expect(merged).toContain('linux.pipeline,1,Pipeline,linux,6.1,https://example.invalid/\n');
    expect(merged.match(/^sbat,/gm)).toHaveLength(1);
    const [before, after] = [await objdumpSections(stub.stub), await objdumpSections(out)];
    const at = (rows: ObjdumpSection[]) => rows.find((r) => r.name === '.sbat')!;
    expect(at(after).vma).toBe(at(before).vma);
    expect(at(after).fileOffset).toBe(at(before).fileOffset);
  });

  test('SBAT that does not fit the 252 stub .sbat (256 bytes before .sdmagic) is refused', async () => {
    const stub = stubs['systemd 252 (bookworm)'];
    const extra = 'linux.pipeline,1,Pipeline,linux,6.1,https://example.invalid/a-long-url-that-will-not-fit\n';
    await expect(buildUki(options(stub.stub, join(dir, 'nofit.efi'), { sbat: extra }))).rejects.toThrow(/does not fit the stub's \.sbat section/);
  });

  test('a signed stub is refused', async () => {
    const stub = stubs['systemd 254 (bookworm-backports)'];
    const signed = join(dir, 'signed-stub.efi');
    await signPe({ input: stub.stub, output: signed, key: await loadSigningKey(testKey.key, testKey.crt) });
    const err = await buildUki(options(signed, join(dir, 'x.efi'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeAlreadySignedError);
    expect((err as Error).message).toMatch(/signed-stub\.efi: the stub carries an Authenticode signature/);
  });

  test('no room for more section headers is an error naming the stub and the sections', async () => {
    const stub = stubs['systemd 252 (bookworm)'];
    // The 252 stub's header area holds 8 section headers and room for 7 more.
    const many = Array.from({ length: 8 }, (_, i) => ({
      name: `.x${i}`, source: { bytes: Buffer.from('x') }, characteristics: SCN.CNT_INITIALIZED_DATA | SCN.MEM_READ,
    }));
    const err = await appendPeSections(stub.stub, many, join(dir, 'full.efi'), { timeDateStamp: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeNoHeaderRoomError);
    expect((err as Error).message).toMatch(/linuxx64\.efi\.stub: no room for 8 more section headers .*holds 7 more/);
    await expect(appendPeSections(stub.stub, many.slice(0, 7), join(dir, 'seven.efi'), { timeDateStamp: 0 })).resolves.toBeDefined();
    expect((await objdumpSections(join(dir, 'seven.efi'))).length).toBe(15);
  });

  test('a section replaced in place that grows keeps later sections clear of it', async () => {
    const stub = stubs['systemd 254 (bookworm-backports)'];
    const data = SCN.CNT_INITIALIZED_DATA | SCN.MEM_READ;
    const first = join(dir, 'last-small.efi');
    await appendPeSections(stub.stub, [{ name: '.zz', source: { bytes: Buffer.from('z') }, characteristics: data }], first, { timeDateStamp: 0 });
    const second = join(dir, 'last-grown.efi');
    const grown = Buffer.alloc(0x180, 0x41);
    const result = await appendPeSections(first, [
      { name: '.zz', source: { bytes: grown }, characteristics: data },
      { name: '.new', source: { bytes: Buffer.from('n') }, characteristics: data },
    ], second, { timeDateStamp: 0 });
    expect(result.replaced).toEqual(['.zz']);
    const rows = await objdumpSections(second);
    const zz = rows.find((r) => r.name === '.zz')!;
    const next = rows.find((r) => r.name === '.new')!;
    expect(zz.size).toBe(grown.length);
    expect(next.vma).toBe(roundUp(zz.vma + BigInt(grown.length), 0x1000n));
    expect((await sectionBytes(second, '.zz')).equals(grown)).toBe(true);
    await expect(appendPeSections(stub.stub, [
      { name: '.x', source: { bytes: Buffer.from('a') }, characteristics: data },
      { name: '.x', source: { bytes: Buffer.from('b') }, characteristics: data },
    ], join(dir, 'dup.efi'), { timeDateStamp: 0 })).rejects.toThrow(/section \.x is given twice/);
  });

  test('a kernel that is not a PE image is refused with the reason', async () => {
    const stub = stubs['systemd 254 (bookworm-backports)'];
    await expect(buildUki(options(stub.stub, join(dir, 'y.efi'), { kernel: initrd }))).rejects.toThrow(/initrd\.cpio: the kernel is not a PE image .*CONFIG_EFI_STUB/);
    await expect(buildUki(options(stub.stub, join(dir, 'z.efi'), { stub: initrd }))).rejects.toBeInstanceOf(PeFormatError);
  });
});

describe('PE checksum', () => {
  test('matches the checksum the linker stored in the Debian 252 stub', async () => {
    const stub = stubs['systemd 252 (bookworm)'];
    const stored = hexField(await objdumpPrivate(stub.stub), 'CheckSum');
    expect(stored).not.toBe(0n);
    expect(BigInt(await peFileChecksum(stub.stub))).toBe(stored);
  });
});
