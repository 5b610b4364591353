// Real boots under QEMU: Debian's kernel with a busybox initramfs, booted directly (-kernel) on
// pc/SeaBIOS and q35/OVMF, driven through the serial console.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootTestError } from '../../qemu/boot-error.js';
import { runBootTest, type BootTestResult } from '../../qemu/boot-test.js';
import { locateFirmware, type FirmwareSet } from '../../qemu/firmware.js';
import { directKernelScenario } from '../../qemu/scenarios.js';
import { buildInitramfs, debianKernel, EXITING_INIT, qemuFixturesDir, SHELL_INIT } from './fixtures.js';
import { processAlive } from '../../util/process.js';

const APPEND = 'console=ttyS0,115200 panic=-1';

let work: string;
let kernel: { vmlinuz: string; release: string };
let shellInitrd: string;
let firmware: FirmwareSet;
let exitingInitrd: string;

beforeAll(async () => {
  kernel = await debianKernel();
  work = await mkdtemp(join(qemuFixturesDir(), '.direct-boot-'));
  shellInitrd = await buildInitramfs(SHELL_INIT, join(work, 'shell.cpio'));
  exitingInitrd = await buildInitramfs(EXITING_INIT, join(work, 'exiting.cpio'));
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
      { kind: 'run', command: 'uname -r', budget: { wallSeconds: 20 }, output: kernel.release },
      { kind: 'run', command: 'ls /nonexistent', budget: { wallSeconds: 20 }, exitCode: 1 },
      { kind: 'run', command: 'sh -c "exit 7"', budget: { wallSeconds: 20 }, exitCode: 7 },
      { kind: 'run', command: 'test -d /sys/firmware/efi', budget: { wallSeconds: 20 }, exitCode: machine === 'q35' ? 0 : 1 },
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

describe('failing boots', () => {
  it('catches a kernel panic fast, with the last lines, the log and the QEMU command', async () => {
    const outDir = join(work, 'panic-out');
    const plan = directKernelScenario({
      machine: 'pc',
      firmware,
      boot: { kernel: kernel.vmlinuz, initrd: exitingInitrd, append: APPEND },
    });
    const started = performance.now();
    let pid = 0;
    const error = (await runBootTest(plan, {
      outDir,
      runDir: join(work, 'panic-run'),
      onStart: (qemu) => (pid = qemu.pid!),
    }).catch((e: unknown) => e)) as BootTestError;
    const seconds = (performance.now() - started) / 1000;
    console.info(`panic caught after ${seconds.toFixed(1)} s`);

    expect(error).toBeInstanceOf(BootTestError);
    expect(error.reason).toMatch(/^the kernel panicked: "\[ *[\d.]+\] Kernel panic - not syncing: Attempted to kill init!/);
    expect(error.lastLines.some((line) => line.includes('initramfs: exiting on purpose'))).toBe(true);
    expect(error.lastLines.length).toBeGreaterThan(5);
    expect(error.lastLines.length).toBeLessThanOrEqual(40);
    expect(error.commandLine).toMatch(/^qemu-system-x86_64 -machine pc /);
    expect(error.commandLine).toContain(`-initrd ${exitingInitrd}`);
    expect(error.logPath).toBe(join(outDir, 'serial.log'));
    expect(error.message).toContain('reproduce with: qemu-system-x86_64');
    // Well before the shell step's own timeout.
    expect(seconds).toBeLessThan(25);
    expect(await readFile(join(outDir, 'serial.log'), 'utf8')).toContain('Kernel panic');
    const saved = JSON.parse(await readFile(join(outDir, 'result.json'), 'utf8'));
    expect(saved).toMatchObject({ passed: false, scenario: 'direct-kernel' });
    expect(saved.failure).toMatch(/kernel panicked/);
    expect(processAlive(pid)).toBe(false);
    expect(qemuProcesses()).toEqual([]);
  }, 120_000);

  it('kills QEMU when a step times out', async () => {
    let pidCommand = '';
    const plan = directKernelScenario({
      machine: 'q35',
      firmware,
      boot: { kernel: kernel.vmlinuz, initrd: shellInitrd, append: APPEND },
    });
    plan.steps[0] = { kind: 'expect', marker: 'never', pattern: 'this never appears', budget: { wallSeconds: 3 } };
    let pid = 0;
    const started = performance.now();
    const error = (await runBootTest(plan, {
      outDir: join(work, 'timeout-out'),
      runDir: join(work, 'timeout-run'),
      onStart: (qemu) => {
        pid = qemu.pid!;
        // setpriv (parent-death signal) execs QEMU in place: the pid we kill is QEMU's.
        setTimeout(() => (pidCommand = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]), 500);
      },
    }).catch((e: unknown) => e)) as BootTestError;
    expect(error).toBeInstanceOf(BootTestError);
    expect(error.reason).toMatch(
      /^never \("this never appears", the first stage after QEMU started\) did not come within 3 s of wall time \(not counting waits for a CPU\); the serial console has been silent for [\d.]+ s while QEMU used [\d.]+ CPU-s; the wait took [\d.]+ s/,
    );
    expect(pidCommand).toBe('qemu-system-x86_64');
    // The OVMF reproduction recipe copies the variable store first.
    expect(error.commandLine).toMatch(/^mkdir -p .*timeout-run && cp \/usr\/share\/OVMF\/OVMF_VARS_4M.fd .*efivars.fd && qemu-system-x86_64 /);
    expect((performance.now() - started) / 1000).toBeLessThan(10);
    expect(pid).toBeGreaterThan(0);
    expect(processAlive(pid)).toBe(false);
    expect(qemuProcesses()).toEqual([]);
  }, 60_000);

  it('kills QEMU when the run is aborted', async () => {
    const plan = directKernelScenario({
      machine: 'pc',
      firmware,
      boot: { kernel: kernel.vmlinuz, initrd: shellInitrd, append: APPEND },
    });
    const controller = new AbortController();
    let pid = 0;
    setTimeout(() => controller.abort(new Error('Ctrl-C')), 1500);
    const error = (await runBootTest(plan, {
      outDir: join(work, 'abort-out'),
      runDir: join(work, 'abort-run'),
      signal: controller.signal,
      onStart: (qemu) => (pid = qemu.pid!),
    }).catch((e: unknown) => e)) as BootTestError;
    expect(error).toBeInstanceOf(BootTestError);
    expect(error.reason).toBe('aborted (Error: Ctrl-C)');
    expect(processAlive(pid)).toBe(false);
    expect(qemuProcesses()).toEqual([]);
  }, 60_000);

  it('reports a QEMU that cannot start', async () => {
    const plan = directKernelScenario({ machine: 'pc', firmware, boot: { kernel: kernel.vmlinuz, initrd: shellInitrd, append: APPEND } });
    const error = (await runBootTest(plan, {
      outDir: join(work, 'nobinary-out'),
      runDir: join(work, 'nobinary-run'),
      qemuBinary: join(work, 'no-such-qemu'),
    }).catch((e: unknown) => e)) as BootTestError;
    expect(error).toBeInstanceOf(BootTestError);
    expect(error.reason).toBe(
      `kernel (the kernel banner, the first stage after QEMU started) never appeared: QEMU could not run (setpriv: failed to execute ${join(work, 'no-such-qemu')}: No such file or directory): ` +
        'install the Debian package qemu-system-x86',
    );
    const direct = (await runBootTest(plan, {
      outDir: join(work, 'nobinary-out'),
      runDir: join(work, 'nobinary-run'),
      qemuBinary: join(work, 'no-such-qemu'),
      setpriv: false,
    }).catch((e: unknown) => e)) as BootTestError;
    expect(direct.reason).toBe(
      `kernel (the kernel banner, the first stage after QEMU started) never appeared: QEMU could not run (spawn ${join(work, 'no-such-qemu')} ENOENT: install the Debian package qemu-system-x86)`,
    );
  }, 30_000);

  it('reports QEMU rejecting its arguments, with what QEMU said', async () => {
    const plan = directKernelScenario({ machine: 'pc', firmware, boot: { kernel: join(work, 'no-such-kernel'), append: APPEND } });
    const error = (await runBootTest(plan, { outDir: join(work, 'nokernel-out'), runDir: join(work, 'nokernel-run') }).catch(
      (e: unknown) => e,
    )) as BootTestError;
    expect(error).toBeInstanceOf(BootTestError);
    expect(error.reason).toBe(
      `kernel (the kernel banner, the first stage after QEMU started) never appeared: QEMU exited with code 1; QEMU said: qemu: could not open kernel file '${join(work, 'no-such-kernel')}': No such file or directory`,
    );
  }, 30_000);
});
