// Real boots under QEMU: Debian's kernel with a busybox initramfs, booted directly (-kernel) on
// pc/SeaBIOS and q35/OVMF, driven through the serial console.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootTestError } from '../../qemu/boot-error.js';
import { runBootTest, type BootTestResult } from '../../qemu/boot-test.js';
import { locateFirmware, type FirmwareSet } from '../../qemu/firmware.js';
import { directKernelScenario } from '../../qemu/scenarios.js';
import { buildInitramfs, debianKernel, EXITING_INIT, qemuFixturesDir, SHELL_INIT } from './fixtures.js';

const APPEND = 'console=ttyS0,115200 panic=-1';

let work: string;
let kernel: { vmlinuz: string; release: string };
let shellInitrd: string;
let firmware: FirmwareSet;

beforeAll(async () => {
  kernel = await debianKernel();
  work = await mkdtemp(join(qemuFixturesDir(), '.direct-boot-'));
  shellInitrd = await buildInitramfs(SHELL_INIT, join(work, 'shell.cpio'));
  firmware = await locateFirmware(['seabios', 'ovmf-code', 'ovmf-vars']);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

function qemuProcesses(): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes(work) && line.includes('qemu-system'));
}

function commandsOf(result: BootTestResult) {
  return Object.fromEntries(result.commands.map((c) => [c.command, c]));
}

describe.each(['pc', 'q35'] as const)('direct kernel boot on %s', (machine) => {
  it('reaches the shell, reads uname -r and the exit codes of passing and failing commands', async () => {
    const outDir = join(work, `${machine}-out`);
    const plan = directKernelScenario({
      machine,
      firmware,
      boot: { kernel: kernel.vmlinuz, initrd: shellInitrd, append: APPEND },
    });
    plan.steps.push(
      { kind: 'run', command: 'uname -r', timeoutMs: 20_000, output: kernel.release },
      { kind: 'run', command: 'ls /nonexistent', timeoutMs: 20_000, exitCode: 1 },
      { kind: 'run', command: 'sh -c "exit 7"', timeoutMs: 20_000, exitCode: 7 },
      { kind: 'run', command: 'test -d /sys/firmware/efi', timeoutMs: 20_000, exitCode: machine === 'q35' ? 0 : 1 },
    );
    const result = await runBootTest(plan, { outDir, runDir: join(work, `${machine}-run`) });

    expect(result.passed).toBe(true);
    expect(result.markers.map((m) => m.name)).toEqual(['kernel', 'shell']);
    expect(result.markers[1].seconds).toBeGreaterThan(result.markers[0].seconds);
    const commands = commandsOf(result);
    expect(commands['uname -r']).toMatchObject({ exitCode: 0, output: kernel.release });
    expect(commands['ls /nonexistent'].exitCode).toBe(1);
    expect(commands['ls /nonexistent'].output).toMatch(/No such file or directory/);
    expect(commands['sh -c "exit 7"'].exitCode).toBe(7);
    for (const command of result.commands) expect(command.seconds).toBeLessThan(5);
    console.info(`${machine}: markers ${JSON.stringify(result.markers)}, command seconds ${result.commands.map((c) => c.seconds).join(' ')}`);

    const log = await readFile(join(outDir, 'serial.log'), 'utf8');
    expect(log).toContain('Linux version');
    expect(log).toContain('__READY_42__');
    expect(log).not.toContain('\u001b');
    const saved = JSON.parse(await readFile(join(outDir, 'result.json'), 'utf8'));
    expect(saved).toMatchObject({ scenario: 'direct-kernel', passed: true });
    expect(saved.qemuCommand).toContain(kernel.vmlinuz);
    expect(qemuProcesses()).toEqual([]);
  }, 120_000);
});
