// formats/gzip-members.ts on streams made by GNU gzip and on the real Alpine index.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  crc32,
  decodeGzipMember,
  GzipFormatError,
  GzipSizeLimitError,
  GzipTruncatedError,
  readLeadingGzipMembers,
  splitGzipMembers,
} from '../../formats/gzip-members.js';
import { projectRoot } from '../../fixtures/paths.js';

const work = mkdtempSync(join(tmpdir(), 'gzip-members-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function gzip(data: string | Buffer, args: string[] = ['-n', '-9']): Buffer {
  return execFileSync('gzip', [...args, '-c'], { input: data });
}

const corpusIndex = join(projectRoot(), '..', 'shared', 'corpus', 'alpine-3.16-main-x86_64', 'APKINDEX.tar.gz');

describe('gzip members', () => {
  it('splits concatenated members and reports each compressed byte range', () => {
    const a = gzip('first member '.repeat(500));
    const b = gzip(Buffer.alloc(0));
    const c = gzip('third', ['-9']); // with a stored file name (FNAME flag)
    const all = Buffer.concat([a, b, c]);
    const members = splitGzipMembers(all);
    expect(members.map((m) => [m.start, m.end])).toEqual([
      [0, a.length],
      [a.length, a.length + b.length],
      [a.length + b.length, all.length],
    ]);
    expect(members[0].data.toString()).toBe('first member '.repeat(500));
    expect(members[1].data.length).toBe(0);
    expect(members[2].data.toString()).toBe('third');
    // The same as gunzip of the whole stream.
    expect(Buffer.concat(members.map((m) => m.data)).equals(execFileSync('gzip', ['-dc'], { input: all }))).toBe(true);
  });

  it('detects truncation anywhere in a member, and corruption', () => {
    const a = gzip('payload '.repeat(1000));
    for (const cut of [5, 12, Math.floor(a.length / 2), a.length - 4]) {
      expect(() => splitGzipMembers(a.subarray(0, cut)), `cut at ${cut}`).toThrow(GzipTruncatedError);
    }
    const badCrc = Buffer.from(a);
    badCrc[a.length - 6] ^= 1;
    expect(() => splitGzipMembers(badCrc)).toThrow(/CRC mismatch/);
    expect(() => splitGzipMembers(Buffer.concat([a, Buffer.from('trailing junk')]))).toThrow(/bad magic/);
    expect(() => splitGzipMembers(Buffer.from('not gzip at all'))).toThrow(GzipFormatError);
  });

  it('reads only the leading members of a large file', async () => {
    const big = gzip(Buffer.alloc(8 << 20, 3), ['-n', '-1']);
    const head = Buffer.concat([gzip('sig'), gzip('control')]);
    const file = join(work, 'three.gz');
    writeFileSync(file, Buffer.concat([head, big]));
    const { members, fileSize, head: bytes } = await readLeadingGzipMembers(file, 2);
    expect(members.map((m) => m.data.toString())).toEqual(['sig', 'control']);
    expect(members[1].end).toBe(head.length);
    expect(bytes.equals(head)).toBe(true);
    expect(fileSize).toBe(head.length + big.length);
    writeFileSync(file, head.subarray(0, head.length - 3));
    await expect(readLeadingGzipMembers(file, 2)).rejects.toThrow(GzipTruncatedError);
  });

  it('refuses a member that unpacks past the limit: a real 64 MiB gzip bomb, in memory and from a file', async () => {
    const bomb = gzip(Buffer.alloc(64 << 20), ['-n', '-9']);
    expect(bomb.length).toBeLessThan(128 << 10);
    const error = (() => {
      try {
        decodeGzipMember(bomb, 0, 'bomb.gz', 1 << 20);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(GzipSizeLimitError);
    expect((error as GzipSizeLimitError).limit).toBe(1 << 20);
    expect((error as Error).message).toBe('bomb.gz: unpacks to more than 1048576 bytes (gzip member at byte 0)');
    // An in-memory decode allows 64 MiB unless told otherwise (inclusive: the bomb is exactly that).
    expect(decodeGzipMember(bomb, 0).data.length).toBe(64 << 20);
    expect(() => splitGzipMembers(Buffer.concat([gzip('x'), bomb]), 'two.gz', 32 << 20)).toThrow(
      'two.gz: unpacks to more than 33554432 bytes (gzip member at byte',
    );

    // Leading members of a file: the limit counts every member returned.
    const file = join(work, 'bomb-head.gz');
    writeFileSync(file, Buffer.concat([gzip('sig'), bomb, gzip('data')]));
    await expect(readLeadingGzipMembers(file, 2, { label: 'evil.apk', maxUnpackedBytes: 16 << 20 })).rejects.toThrow(GzipSizeLimitError);
    await expect(readLeadingGzipMembers(file, 2, { label: 'evil.apk', maxUnpackedBytes: 16 << 20 })).rejects.toThrow(
      'evil.apk: unpacks to more than 16777216 bytes (gzip member at byte 23)',
    );
    expect((await readLeadingGzipMembers(file, 1, { maxUnpackedBytes: 3 })).members[0].data.toString()).toBe('sig');
  });

  it('crc32 matches the gzip trailer', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog');
    expect(crc32(data)).toBe(0x414fa339);
    const gz = gzip(data);
    expect(gz.readUInt32LE(gz.length - 8)).toBe(crc32(data));
  });

  it.skipIf(!existsSync(corpusIndex))(
    'finds the signature member of the real Alpine 3.16 index (skipped when ../shared/corpus is absent)',
    () => {
      const bytes = readFileSync(corpusIndex);
      const members = splitGzipMembers(bytes, corpusIndex);
      expect(members.length).toBe(2);
      expect(members[0].end).toBe(667);
      expect(decodeGzipMember(bytes, 667).data.subarray(0, 11).toString()).toBe('DESCRIPTION');
    },
  );
});
