import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcceleratorConfigError, detectAccelerator } from '../../qemu/accel.js';
import { FirmwareNotFoundError, firmwareKeyMaterial, locateFirmware, locateFirmwareFile, writableVarsCopy } from '../../qemu/firmware.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'firmware-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('firmware lookup', () => {
  it('finds OVMF (plain, Secure Boot, vars) and SeaBIOS with their sha256 digests', async () => {
    const set = await locateFirmware(['ovmf-code', 'ovmf-code-secboot', 'ovmf-vars', 'seabios']);
    expect(set['ovmf-code']!.path).toBe('/usr/share/OVMF/OVMF_CODE_4M.fd');
    expect(set['ovmf-code-secboot']!.path).toBe('/usr/share/OVMF/OVMF_CODE_4M.secboot.fd');
    expect(set['ovmf-vars']!.path).toBe('/usr/share/OVMF/OVMF_VARS_4M.fd');
    expect(set.seabios!.path).toMatch(/\/bios-256k\.bin$/);
    for (const file of Object.values(set)) {
      const expected = execFileSync('sha256sum', [file.path], { encoding: 'utf8' }).split(' ')[0];
      expect(file.sha256).toBe(expected);
    }
    expect(firmwareKeyMaterial(set)).toEqual({
      'ovmf-code': { fileName: 'OVMF_CODE_4M.fd', sha256: set['ovmf-code']!.sha256 },
      'ovmf-code-secboot': { fileName: 'OVMF_CODE_4M.secboot.fd', sha256: set['ovmf-code-secboot']!.sha256 },
      'ovmf-vars': { fileName: 'OVMF_VARS_4M.fd', sha256: set['ovmf-vars']!.sha256 },
      seabios: { fileName: 'bios-256k.bin', sha256: set.seabios!.sha256 },
    });
  });

  it('names the Debian package to install when a file is missing', async () => {
    await expect(locateFirmwareFile('ovmf-code-secboot', { searchDirs: [dir] })).rejects.toThrow(FirmwareNotFoundError);
    await expect(locateFirmwareFile('ovmf-code-secboot', { searchDirs: [dir] })).rejects.toThrow(
      `ovmf-code-secboot firmware OVMF_CODE_4M.secboot.fd not found in ${dir}: install the Debian package ovmf (apt-get install ovmf)`,
    );
    await expect(locateFirmwareFile('seabios', { searchDirs: [dir] })).rejects.toThrow(/apt-get install seabios/);
  });

  it('finds firmware in other directories when told', async () => {
    await writeFile(join(dir, 'bios-256k.bin'), 'not really a BIOS');
    const file = await locateFirmwareFile('seabios', { searchDirs: [dir] });
    expect(file.path).toBe(join(dir, 'bios-256k.bin'));
    expect(file.sha256).toBe(execFileSync('sha256sum', [join(dir, 'bios-256k.bin')], { encoding: 'utf8' }).split(' ')[0]);
  });

  it('gives each run a private, writable copy of the variable store', async () => {
    const vars = await locateFirmwareFile('ovmf-vars');
    const copy = await writableVarsCopy(vars.path, join(dir, 'efivars.fd'));
    expect((await stat(copy)).mode & 0o777).toBe(0o644);
    const bytes = await readFile(copy);
    expect(bytes.equals(await readFile(vars.path))).toBe(true);
    bytes[0] ^= 0xff;
    await writeFile(copy, bytes);
    expect((await readFile(vars.path)).equals(bytes)).toBe(false);
  });
});

describe('accelerator choice', () => {
  it('honours PIPELINE_QEMU_ACCEL and rejects unknown values', async () => {
    await expect(detectAccelerator({ PIPELINE_QEMU_ACCEL: 'tcg' })).resolves.toBe('tcg');
    await expect(detectAccelerator({ PIPELINE_QEMU_ACCEL: 'kvm' })).resolves.toBe('kvm');
    await expect(detectAccelerator({ PIPELINE_QEMU_ACCEL: 'hvf' })).rejects.toThrow(AcceleratorConfigError);
  });
});
