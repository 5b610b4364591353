// The expect engine's waits of progress against plain processes standing in for a guest (no QEMU):
// one that prints and then spins silently (a stall), one that sleeps silently (idle: only the wall
// ceiling ends it), one whose own timed wait is neither, one that only echoes what is typed, and
// one slowed down by competition for its CPU, which must pass as it would on an idle machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BootTestError } from '../../qemu/boot-error.js';
import { SerialConsole } from '../../qemu/expect.js';
import { waitForShell } from '../../qemu/live-shell.js';
import { ProcessMeter, readCpuSeconds } from '../../qemu/process-meter.js';
import { runScript } from '../../qemu/script.js';
import { bootTimeScale, TimeScaleConfigError } from '../../qemu/time-scale.js';
import { BudgetError } from '../../qemu/wait-budget.js';

let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'progress-waits-'));
});
afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Starts a process in its own group (killed after each test), killed with us too. */
function start(argv: string[]): ChildProcess {
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', ...argv], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
  children.push(child);
  return child;
}

/** A node script as the "guest": its stdout is the serial console, its CPU time is measured. */
function guest(code: string, name: string, options: { cpu?: number; timeScale?: number } = {}) {
  const pin = options.cpu === undefined ? [] : ['taskset', '-c', String(options.cpu)];
  const startedAt = performance.now();
  const child = start([...pin, process.execPath, '-e', code]);
  const console = new SerialConsole({
    input: child.stdout!,
    output: child.stdin!,
    context: { scenario: name, logPath: join(dir, `${name}.log`) },
    startedAt,
    meter: new ProcessMeter(child.pid!, 'the guest', startedAt),
    timeScale: options.timeScale,
    pollMs: 50,
  });
  return { child, console, startedAt };
}

function secondsSince(startedAt: number): number {
  return (performance.now() - startedAt) / 1000;
}

/** The last CPU this process may run on: spinners and the slowed guest share it, the rest stays free. */
function lastCpu(): number {
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1];
  return Number(list.split(',').at(-1)!.split('-').at(-1));
}

/** Prints `work N` every 0.2 CPU-s of busy work, `ready` after `cpuSeconds`, then idles. */
const WORKER = (cpuSeconds: number) => `
  const used = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  const from = used();
  let next = 0.2;
  console.log('start');
  while (used() - from < ${cpuSeconds}) if (used() - from > next) { console.log('work ' + next.toFixed(1)); next += 0.2; }
  console.log('ready');
  setTimeout(() => {}, 60000);`;

describe('waits counted in progress, not wall time', () => {
  it('a guest that prints, then spins silently, fails as stalled once it has used its silence budget in CPU time', async () => {
    const { console, startedAt } = guest(`console.log('booting'); for (;;) {}`, 'spinning');
    await console.expect('booting', { budget: { wallSeconds: 20 } });
    const error = (await console.expect('never', { budget: { silentCpuSeconds: 0.6, wallSeconds: 30 }, what: 'the marker' }).catch((e: unknown) => e)) as BootTestError;
    expect(error).toBeInstanceOf(BootTestError);
    const found = /^the marker stalled: the serial console has been silent for ([\d.]+) s while the guest used ([\d.]+) CPU-s \(limit 0\.6 CPU-s\), busy but printing nothing; the wait took ([\d.]+) s/.exec(error.reason);
    expect(found, error.reason).not.toBeNull();
    expect(Number(found![2])).toBeGreaterThanOrEqual(0.6);
    expect(error.reason).toMatch(/ [\d.]+ s after the guest started$/);
    expect(error.lastLines).toEqual(['booting']);
    expect(secondsSince(startedAt)).toBeLessThan(15);
  });

  it('a guest that sleeps silently is not stalled: the wall ceiling ends the wait, and says it was idle', async () => {
    const { console, startedAt } = guest(`console.log('booting'); setTimeout(() => {}, 60000)`, 'sleeping');
    await console.expect('booting', { budget: { wallSeconds: 20 } });
    const waitFrom = performance.now();
    const error = (await console.expect('never', { budget: { silentCpuSeconds: 0.3, wallSeconds: 2 }, what: 'the marker' }).catch((e: unknown) => e)) as BootTestError;
    expect(error).toBeInstanceOf(BootTestError);
    expect(error.reason).toMatch(
      /^the marker did not come within 2 s of wall time \(not counting waits for a CPU\); the serial console has been silent for [\d.]+ s while the guest used 0(\.\d)? CPU-s, idle: waiting for something that did not come; the wait took/,
    );
    expect(secondsSince(waitFrom)).toBeGreaterThanOrEqual(2);
    expect(secondsSince(startedAt)).toBeLessThan(15);
  });

  it("a guest's own timed wait (a menu timeout) is neither a stall nor a failure", async () => {
    const { console } = guest(`console.log('menu'); setTimeout(() => console.log('booted'), 1500); setTimeout(() => {}, 60000)`, 'menu');
    await console.expect('menu', { budget: { wallSeconds: 20 } });
    await expect(console.expect('booted', { budget: { silentCpuSeconds: 0.3, cpuSeconds: 1, wallSeconds: 10 } })).resolves.toMatchObject({ text: 'booted' });
    expect(console.usage().cpuSeconds).toBeLessThan(1);
  });

  it('echoes of typed text are not progress: a guest that only echoes the ready probe while spinning stalls', async () => {
    // A tty driver echoes typed keys even when everything above it hangs.
    const code = `const { Worker } = require('worker_threads'); new Worker('for (;;) {}', { eval: true });
      console.log('booting'); process.stdin.on('data', (d) => process.stdout.write(d));`;
    const { console } = guest(code, 'echoing');
    await console.expect('booting', { budget: { wallSeconds: 20 } });
    const error = (await waitForShell(console, { budget: { silentCpuSeconds: 1, wallSeconds: 30 }, probeIntervalMs: 200 }).catch((e: unknown) => e)) as BootTestError;
    expect(error).toBeInstanceOf(BootTestError);
    expect(error.reason).toMatch(/^a shell answering `echo __READY_\$\(\(6\*7\)\)__` stalled: the serial console has been silent for/);
    expect(console.output.split('echo __READY_$((6*7))__').length).toBeGreaterThan(3);
  });

  it('a guest slowed down by competition for its CPU passes within its budget, though its wall time exceeds it', async () => {
    const cpu = lastCpu();
    // Two busy loops on the guest's CPU: it gets about a third of it.
    for (let i = 0; i < 2; i++) start(['taskset', '-c', String(cpu), 'sh', '-c', 'while :; do :; done']);
    const { console } = guest(WORKER(1.2), 'slowed', { cpu });
    await console.expect('start', { budget: { wallSeconds: 20 } });
    const waitFrom = performance.now();
    const budget = { cpuSeconds: 2.5, silentCpuSeconds: 0.6, wallSeconds: 2.5 };
    const ready = await console.expect('ready', { budget });
    const wall = secondsSince(waitFrom);
    const usage = console.usage();
    globalThis.console.info(`slowed guest: ready after ${wall.toFixed(1)} s wall, ${ready.cpuSeconds} CPU-s, ${usage.starvedSeconds.toFixed(1)} s waiting for a CPU`);
    // A wall-clock timeout of the same 2.5 s would have failed this wait.
    expect(wall).toBeGreaterThan(budget.cpuSeconds);
    expect(ready.cpuSeconds).toBeLessThan(budget.cpuSeconds);
    // The wall ceiling holds too: it leaves out the time the guest waited for its CPU.
    expect(usage.starvedSeconds).toBeGreaterThan(1);
  });

  it('names the stage that stalled and the last stage passed', async () => {
    const { console } = guest(`console.log('ISOLINUX 6.04'); setTimeout(() => { for (;;) {} }, 300)`, 'stages');
    const steps = [
      { kind: 'expect' as const, marker: 'bootloader', pattern: /ISOLINUX \d/, what: 'the ISOLINUX banner', budget: { wallSeconds: 20 } },
      { kind: 'expect' as const, marker: 'initramfs', pattern: /initramfs: /, what: "the kernel's first `initramfs:` line", budget: { silentCpuSeconds: 0.5, wallSeconds: 30 } },
    ];
    const error = (await runScript(console, steps).catch((e: unknown) => e)) as BootTestError;
    expect(error).toBeInstanceOf(BootTestError);
    expect(error.reason).toMatch(/^initramfs \(the kernel's first `initramfs:` line, after the ISOLINUX banner at [\d.]+ s\) stalled: the serial console has been silent for /);
    expect(console.markers.map((m) => m.name)).toEqual(['bootloader']);
  });

  it('refuses a wait without any limit', async () => {
    const { console } = guest(`setTimeout(() => {}, 60000)`, 'unbounded');
    await expect(console.expect('x', { budget: {} })).rejects.toThrow(BudgetError);
  });
});

describe('the time scale', () => {
  it('multiplies every budget; PIPELINE_BOOT_TIME_SCALE must be a positive number', async () => {
    expect(bootTimeScale({})).toBe(1);
    expect(bootTimeScale({ PIPELINE_BOOT_TIME_SCALE: '2.5' })).toBe(2.5);
    expect(() => bootTimeScale({ PIPELINE_BOOT_TIME_SCALE: 'fast' })).toThrow(TimeScaleConfigError);
    expect(() => bootTimeScale({ PIPELINE_BOOT_TIME_SCALE: '0' })).toThrow(/not a positive number/);
    const { console } = guest(`console.log('up'); setTimeout(() => {}, 60000)`, 'scaled', { timeScale: 3 });
    await console.expect('up', { budget: { wallSeconds: 20 } });
    const waitFrom = performance.now();
    await expect(console.expect('never', { budget: { wallSeconds: 0.5 } })).rejects.toThrow(/did not come within 1\.5 s of wall time/);
    expect(secondsSince(waitFrom)).toBeGreaterThanOrEqual(1.5);
  });

  it('reads CPU time of a process, and nothing once it is gone', () => {
    expect(readCpuSeconds(process.pid)).toBeGreaterThan(0);
    expect(readCpuSeconds(2 ** 22 + 1)).toBeUndefined();
  });
});
