// The AC entry body is a real REAPI ActionResult: round trips, skips what it does not know, rejects
// what is cut short, and protoc (the reference implementation) reads and writes the same bytes.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeActionResult, encodeActionResult, type ActionResultMessage } from '../../graph/remote/action-result.js';

const HASH_A = 'a'.repeat(64);
const HASH_B = '0123456789abcdef'.repeat(4);

const sample: ActionResultMessage = {
  outputFiles: [
    { path: 'trees/4f2a.tar', digest: { hash: HASH_A, sizeBytes: 10240 }, isExecutable: false },
    { path: 'bin/run', digest: { hash: HASH_B, sizeBytes: 2 ** 40 + 7 }, isExecutable: true },
    { path: 'log', digest: { hash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', sizeBytes: 0 }, isExecutable: false },
  ],
  exitCode: 0,
  stdoutRaw: Buffer.from('{"signed":"entry","ünïcode":true}\n'),
};

// The subset of remote_execution.proto this test needs, with the upstream field numbers, plus fields
// our decoder does not know (stdout_digest, execution_metadata, OutputFile.contents) to check skipping.
const PROTO = `syntax = "proto3";
package build.bazel.remote.execution.v2;
message Digest { string hash = 1; int64 size_bytes = 2; }
message ExecutedActionMetadata { string worker = 1; }
message OutputFile { string path = 1; Digest digest = 2; bool is_executable = 4; bytes contents = 5; }
message ActionResult {
  repeated OutputFile output_files = 2;
  int32 exit_code = 4;
  bytes stdout_raw = 5;
  Digest stdout_digest = 6;
  ExecutedActionMetadata execution_metadata = 9;
}
`;
const TYPE = 'build.bazel.remote.execution.v2.ActionResult';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'action-result-'));
  await writeFile(join(dir, 'ar.proto'), PROTO);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function protoc(args: string[], input: Buffer | string): Buffer {
  return execFileSync('protoc', [`--proto_path=${dir}`, ...args], { input });
}

describe('ActionResult encoding', () => {
  it('round trips, and equal messages give equal bytes', () => {
    const bytes = encodeActionResult(sample);
    expect(decodeActionResult(bytes)).toEqual(sample);
    expect(encodeActionResult(decodeActionResult(bytes)).equals(bytes)).toBe(true);
    // Defaults are omitted (proto3): an empty result is zero bytes, and decodes back.
    expect(encodeActionResult({ outputFiles: [], exitCode: 0 }).length).toBe(0);
    expect(decodeActionResult(Buffer.alloc(0))).toEqual({ outputFiles: [], exitCode: 0 });
    // A negative int32 exit code takes the 10-byte two's complement varint and comes back.
    expect(decodeActionResult(encodeActionResult({ outputFiles: [], exitCode: -1 })).exitCode).toBe(-1);
    expect(encodeActionResult({ outputFiles: [], exitCode: -1 }).toString('hex')).toBe('20ffffffffffffffffff01');
  });

  it('protoc --decode_raw sees the upstream field numbers and values', () => {
    const raw = protoc(['--decode_raw'], encodeActionResult({ ...sample, exitCode: 3 })).toString();
    expect(raw).toBe(
      [
        '2 {',
        '  1: "trees/4f2a.tar"',
        '  2 {',
        `    1: "${HASH_A}"`,
        '    2: 10240',
        '  }',
        '}',
        '2 {',
        '  1: "bin/run"',
        '  2 {',
        `    1: "${HASH_B}"`,
        `    2: ${2 ** 40 + 7}`,
        '  }',
        '  4: 1',
        '}',
        '2 {',
        '  1: "log"',
        '  2 {',
        '    1: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"',
        '  }',
        '}',
        '4: 3',
        '5: "{\\"signed\\":\\"entry\\",\\"\\303\\274n\\303\\257code\\":true}\\n"',
        '',
      ].join('\n'),
    );
  });

  it('protoc decodes ours as an ActionResult, and we decode protoc\'s, skipping the fields we do not know', () => {
    const text = protoc([`--decode=${TYPE}`, 'ar.proto'], encodeActionResult({ ...sample, exitCode: 2 })).toString();
    expect(text).toContain('output_files {\n  path: "bin/run"\n  digest {\n    hash: "' + HASH_B + '"\n    size_bytes: 1099511627783\n  }\n  is_executable: true\n}');
    expect(text).toContain('exit_code: 2');

    const fromProtoc = protoc(
      [`--encode=${TYPE}`, 'ar.proto'],
      [
        `execution_metadata { worker: "builder-7" }`,
        `stdout_digest { hash: "${HASH_A}" size_bytes: 99 }`,
        `output_files { path: "x/y" digest { hash: "${HASH_B}" size_bytes: 5 } contents: "hello" is_executable: true }`,
        `exit_code: -9`,
        `stdout_raw: "out"`,
      ].join('\n'),
    );
    expect(decodeActionResult(fromProtoc)).toEqual({
      outputFiles: [{ path: 'x/y', digest: { hash: HASH_B, sizeBytes: 5 }, isExecutable: true }],
      exitCode: -9,
      stdoutRaw: Buffer.from('out'),
    });
  });

  it('skips unknown fields of every wire type, groups included', () => {
    const known = encodeActionResult({ outputFiles: [], exitCode: 7 });
    const unknown = Buffer.from([
      0x30 | 0, 0x96, 0x01, // field 6 varint 150
      0x38 | 1, 1, 2, 3, 4, 5, 6, 7, 8, // field 7 fixed64
      0x40 | 5, 1, 2, 3, 4, // field 8 fixed32
      0x48 | 2, 3, 0x61, 0x62, 0x63, // field 9 bytes "abc"
      0x53, 0x08, 0x01, 0x54, // field 10 group { field 1 varint 1 }
    ]);
    expect(decodeActionResult(Buffer.concat([unknown, known]))).toEqual({ outputFiles: [], exitCode: 7 });
  });

  it('rejects truncated and malformed input with a message that says where', () => {
    const bytes = encodeActionResult(sample);
    for (const cut of [1, 2, 10, 40, bytes.length - 1]) {
      expect(() => decodeActionResult(bytes.subarray(0, cut)), `cut at ${cut}`).toThrow(/^malformed ActionResult/);
    }
    expect(() => decodeActionResult(bytes.subarray(0, 40))).toThrow(/runs past the end|truncated varint/);
    expect(() => decodeActionResult(Buffer.from([0x12, 0x80]))).toThrow('malformed ActionResult at byte 2: truncated varint');
    expect(() => decodeActionResult(Buffer.from([0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(/longer than 10 bytes/);
    expect(() => decodeActionResult(Buffer.from([0x22, 0x00]))).toThrow(/exit_code has wire type 2, expected 0/);
    expect(() => decodeActionResult(Buffer.from([0x07]))).toThrow(/invalid field number 0/);
    expect(() => decodeActionResult(Buffer.from([0x0e]))).toThrow(/invalid wire type 6/);
    expect(() => decodeActionResult(Buffer.from([0x53, 0x08, 0x01]))).toThrow(/group 10 has no end/);
    // An output file without a digest, and one whose path is not UTF-8.
    expect(() => decodeActionResult(Buffer.from([0x12, 0x03, 0x0a, 0x01, 0x61]))).toThrow(/output_files\[0\] \("a"\): no digest/);
    expect(() => decodeActionResult(Buffer.from([0x12, 0x05, 0x0a, 0x01, 0xff, 0x12, 0x00]))).toThrow(/path is not valid UTF-8/);
    // A negative size.
    const negative = Buffer.from([0x12, 0x12, 0x0a, 0x01, 0x61, 0x12, 0x0d, 0x10, ...Buffer.from('ffffffffffffffffff01', 'hex'), 0x0a, 0x00]);
    expect(() => decodeActionResult(negative)).toThrow(/size_bytes -1 is out of range/);
  });

  it('refuses to encode what the message cannot hold', () => {
    expect(() => encodeActionResult({ outputFiles: [], exitCode: 2 ** 31 })).toThrow(/not a 32-bit integer/);
    expect(() => encodeActionResult({ outputFiles: [{ path: '/etc/x', digest: { hash: HASH_A, sizeBytes: 1 } }], exitCode: 0 })).toThrow(/outputFiles\[0\]\.path "\/etc\/x" is absolute/);
    expect(() => encodeActionResult({ outputFiles: [{ path: 'x', digest: { hash: HASH_A, sizeBytes: -1 } }], exitCode: 0 })).toThrow(/sizeBytes is -1/);
  });
});
