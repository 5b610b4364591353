// One real boot of the product under artificial CPU load: the demo ISO (as the pipeline built it)
// booted by BIOS, the fastest scenario, with all of QEMU's threads on one CPU shared with three
// busy loops (the other CPUs stay with everyone else). Its verdict must be the idle boot's, on
// the product's own budgets, although its wall time is many times the idle one and exceeds
// those budgets read as wall-clock timeouts (the old semantics). The idle boot is the suite's
// shared product boot (demo-boots.ts), so this file boots once.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBootTest } from '../../qemu/boot-test.js';
import type { Marker } from '../../qemu/expect.js';
import { locateFirmware } from '../../qemu/firmware.js';
import { biosScenario } from '../../qemu/scenarios.js';
import type { Budget } from '../../qemu/wait-budget.js';
import { demoBoots, type DemoBoots } from './demo-boots.js';
import { qemuFixturesDir } from './fixtures.js';

const BUSY_LOOPS = 3;
let demo: DemoBoots;
let work: string;
const spinners: ChildProcess[] = [];

beforeAll(async () => {
  demo = await demoBoots(['bios']);
  work = await mkdtemp(join(qemuFixturesDir(), '.under-load-'));
}, 900_000);

afterAll(async () => {
  stopSpinners();
  if (work) await rm(work, { recursive: true, force: true });
});

/** The last CPU we may use: QEMU and the busy loops share it; the other cores stay with everyone else. */
function lastCpu(): number {
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1];
  return Number(list.split(',').at(-1)!.split('-').at(-1));
}

/** Busy loops pinned to `cpu`, killed with us even if we are killed (parent-death signal). */
function startSpinners(cpu: number): void {
  for (let i = 0; i < BUSY_LOOPS; i++) {
    spinners.push(spawn('setpriv', ['--pdeathsig', 'KILL', 'taskset', '-c', String(cpu), 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }));
  }
}

function stopSpinners(): void {
  for (const spinner of spinners.splice(0)) spinner.kill('SIGKILL');
}

/** CPU seconds and wall seconds each marker's step took (from the previous marker, or QEMU's start). */
function stepCosts(markers: Marker[]): Record<string, { cpu: number; wall: number }> {
  const costs: Record<string, { cpu: number; wall: number }> = {};
  markers.forEach((m, i) => {
    costs[m.name] = { cpu: m.cpuSeconds - (markers[i - 1]?.cpuSeconds ?? 0), wall: m.seconds - (markers[i - 1]?.seconds ?? 0) };
  });
  return costs;
}

describe('a boot under CPU load', () => {
  it('passes as the idle boot did, though a wall-clock timeout of its budgets would have failed it', async () => {
    const idle = demo.results['test:demo:bios'];
    expect(idle.passed).toBe(true);
    const plan = biosScenario({ iso: demo.iso, firmware: await locateFirmware(['seabios']) });
    const cpu = lastCpu();
    startSpinners(cpu);
    let loaded;
    try {
      loaded = await runBootTest(plan, {
        outDir: join(work, 'out'),
        runDir: join(work, 'run'),
        timeScale: 1,
        // QEMU's threads on the busy CPU too (set at once: the threads it starts later inherit it).
        onStart: (qemu) => execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(qemu.pid)], { stdio: 'ignore' }),
      });
    } finally {
      stopSpinners();
    }

    const idleSteps = stepCosts(idle.markers);
    const loadedSteps = stepCosts(loaded.markers);
    const budgetOf = (name: string) => (plan.steps.find((s) => 'marker' in s && s.marker === name) as { budget: Budget }).budget;
    for (const [name, step] of Object.entries(loadedSteps)) {
      console.info(`${name}: budget ${budgetOf(name).cpuSeconds} CPU-s; idle ${idleSteps[name].wall.toFixed(1)} s / ${idleSteps[name].cpu.toFixed(1)} CPU-s; ` +
        `loaded ${step.wall.toFixed(1)} s / ${step.cpu.toFixed(1)} CPU-s`);
    }
    console.info(`to the shell: idle ${idle.seconds} s, ${idle.cpuSeconds} CPU-s; loaded ${loaded.seconds} s, ${loaded.cpuSeconds} CPU-s, ` +
      `${loaded.starvedSeconds} s waiting for a CPU; longest silence idle ${idle.longestSilence?.cpuSeconds} CPU-s, loaded ${loaded.longestSilence?.cpuSeconds} CPU-s`);
    // The same verdict as idle, through the same stages, on the same budgets.
    expect(loaded.passed).toBe(true);
    expect(loaded.markers.map((m) => m.name)).toEqual(idle.markers.map((m) => m.name));
    // The load was real: QEMU spent most of the boot waiting for its CPU...
    expect(loaded.starvedSeconds).toBeGreaterThan(0.5 * loaded.seconds);
    // ...so a step's budget read as a wall-clock timeout would have failed it (as did the old
    // 30 s BIOS timeout), while the CPU it used stayed inside the budget.
    const slowest = Object.entries(loadedSteps).sort(([, a], [, b]) => b.wall - a.wall)[0];
    expect(slowest[1].wall).toBeGreaterThan(budgetOf(slowest[0]).cpuSeconds!);
    expect(slowest[1].cpu).toBeLessThan(budgetOf(slowest[0]).cpuSeconds!);
  }, 600_000);
});
