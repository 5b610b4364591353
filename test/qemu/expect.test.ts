// The expect engine and the live-shell protocol against real processes: a shell script writing
// to a pipe, busybox ash on a pseudo-terminal (it echoes what is typed, like a serial getty), and
// a process talking over a unix socket.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BootTestError } from '../../qemu/boot-error.js';
import { SerialConsole } from '../../qemu/expect.js';
import { runShellCommand, waitForShell } from '../../qemu/live-shell.js';
import { runScript } from '../../qemu/script.js';

let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'expect-test-'));
});
afterEach(() => {
  // Each child leads its own process group: kill the group, so no `sleep` outlives its shell.
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

/** A process whose stdout is the "serial console"; its stdin is what we type. */
function attach(command: string, args: string[], name: string, extra: Partial<ConstructorParameters<typeof SerialConsole>[0]> = {}) {
  const startedAt = performance.now();
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
  children.push(child);
  const logPath = join(dir, `${name}.log`);
  const console = new SerialConsole({
    input: child.stdout!,
    output: child.stdin!,
    context: { scenario: name, commandLine: `${command} ${args.join(' ')}`, logPath },
    startedAt,
    describeEnd: () =>
      new Promise<string>((resolve) => {
        const describe = () => `the process exited with code ${child.exitCode}`;
        if (child.exitCode !== null) resolve(describe());
        else child.once('exit', () => resolve(describe()));
      }),
    ...extra,
  });
  return { child, console, logPath };
}

/** busybox ash on a pty: echoes typed lines, prints ESC[6n and CRLF, like a live serial shell. */
function ptyShell(name: string) {
  return attach('script', ['-qfec', "env -i PS1='# ' PATH=/usr/bin:/bin busybox sh", '/dev/null'], name);
}

describe('expect over a pipe', () => {
  it('matches text split across writes and through ANSI noise, and times markers', async () => {
    const script = `printf '\\033c\\033[2J\\033[0mfirmware\\r\\nhel'; sleep 0.3; printf 'lo\\r\\nwor\\033['; sleep 0.3; printf '1mld\\r\\n'; sleep 5`;
    const { console, logPath } = attach('sh', ['-c', script], 'noise');
    const hello = await console.expect('hello', { budget: { wallSeconds: 5 }, marker: 'hello' });
    const world = await console.expect(/w(or)ld/, { budget: { wallSeconds: 5 }, marker: 'world' });
    expect(hello.text).toBe('hello');
    expect(world.groups).toEqual(['or']);
    expect(console.markers.map((m) => m.name)).toEqual(['hello', 'world']);
    expect(world.seconds - hello.seconds).toBeGreaterThanOrEqual(0.25);
    expect(console.output).toBe('firmware\nhello\nworld\n');
    await console.close();
    expect(await readFile(logPath, 'utf8')).toBe('firmware\nhello\nworld\n');
  });

  it('consumes what it matched: the same text must appear again to match again', async () => {
    const { console } = attach('sh', ['-c', 'echo ping; sleep 1; echo ping; sleep 5'], 'consume');
    const first = await console.expect('ping', { budget: { wallSeconds: 5 } });
    const second = await console.expect('ping', { budget: { wallSeconds: 5 } });
    expect(second.seconds - first.seconds).toBeGreaterThanOrEqual(0.9);
  });

  it('times out with the scenario, the last lines, the log path and the command line', async () => {
    const { console, logPath } = attach('sh', ['-c', 'for i in $(seq 1 50); do echo line $i; done; sleep 30'], 'silent');
    const started = performance.now();
    const error = await console.expect('never printed', { budget: { wallSeconds: 0.8 } }).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(error).toBeInstanceOf(BootTestError);
    const failure = error as BootTestError;
    expect(failure.scenario).toBe('silent');
    expect(failure.reason).toMatch(/^"never printed" did not come within 0\.8 s of wall time; the serial console has been silent for [\d.]+ s; the wait took [\d.]+ s/);
    expect(failure.lastLines).toHaveLength(40);
    expect(failure.lastLines.at(-1)).toBe('line 50');
    expect(failure.lastLines[0]).toBe('line 11');
    expect(failure.logPath).toBe(logPath);
    expect(failure.message).toContain(`full serial log: ${logPath}`);
    expect(failure.message).toContain('reproduce with: sh -c');
    expect(failure.message).toContain('  | line 50');
  });

  it.each([
    ['Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100', /the kernel panicked/],
    ['initramfs: fatal: no device with label LIVE after 30 s', /the initramfs gave up/],
    ['Give root password for maintenance', /emergency shell/],
    ['You are in emergency mode. After logging in, type "journalctl -xb"', /emergency mode/],
    ['Error loading \\EFI\\Linux\\acorn.efi: Access Denied', /refused to load an image/],
  ])('fails fast on the fatal line %j, keeping the lines that follow it', async (line, reason) => {
    const script = `echo booting; sleep 0.2; printf '%s\\r\\n' '${line}'; echo after the fatal line; sleep 30`;
    const { console } = attach('sh', ['-c', script], 'fatal', { fatalSettleMs: 300 });
    const started = performance.now();
    const error = (await console.expect('__READY_42__', { budget: { wallSeconds: 20 } }).catch((e: unknown) => e)) as BootTestError;
    expect(performance.now() - started).toBeLessThan(5000);
    expect(error).toBeInstanceOf(BootTestError);
    expect(error.reason).toMatch(reason);
    expect(error.reason).toContain(JSON.stringify(line));
    expect(error.lastLines).toEqual(['booting', line, 'after the fatal line']);
    // Once fatal, every later wait fails the same way.
    await expect(console.expect('booting', { budget: { wallSeconds: 5 } })).rejects.toThrow(reason);
  });

  it('lets a scenario treat a default fatal pattern as expected output', async () => {
    const { console } = attach('sh', ['-c', "echo 'Error loading x.efi: Access Denied'; sleep 5"], 'negative', { fatalPatterns: [] });
    await expect(console.expect('Access Denied', { budget: { wallSeconds: 5 } })).resolves.toMatchObject({ text: 'Access Denied' });
  });

  it('still succeeds when the awaited text comes before a fatal line in the same chunk', async () => {
    const { console } = attach('sh', ['-c', "printf 'ready\\nKernel panic\\n'; sleep 5"], 'order', { fatalSettleMs: 200 });
    await expect(console.expect('ready', { budget: { wallSeconds: 5 } })).resolves.toMatchObject({ text: 'ready' });
    await expect(console.expect('anything', { budget: { wallSeconds: 5 } })).rejects.toThrow(/kernel panicked/);
  });

  it('reports the process ending before the pattern, with how it ended', async () => {
    const { console } = attach('sh', ['-c', 'echo bye; exit 3'], 'ended');
    const error = (await console.expect('never', { budget: { wallSeconds: 10 } }).catch((e: unknown) => e)) as BootTestError;
    expect(error).toBeInstanceOf(BootTestError);
    expect(error.reason).toBe('"never" never appeared: the process exited with code 3');
  });

  it('waits for the end of the stream (QEMU exiting after a reset)', async () => {
    const { console } = attach('sh', ['-c', 'echo resetting; sleep 0.5'], 'exit');
    await console.expect('resetting', { budget: { wallSeconds: 5 } });
    const seconds = await console.expectEnd({ budget: { wallSeconds: 5 }, marker: 'reset' });
    expect(seconds).toBeGreaterThanOrEqual(0.4);
    expect(console.markers).toEqual([{ name: 'reset', seconds, cpuSeconds: expect.any(Number) }]);
  });

  it('checks that a pattern stays absent for a window', async () => {
    const quiet = attach('sh', ['-c', 'echo Access Denied; sleep 30'], 'absent-ok', { fatalPatterns: [] });
    await quiet.console.expect('Access Denied', { budget: { wallSeconds: 5 } });
    await expect(quiet.console.expectAbsent(/Linux version/, { window: { wallSeconds: 0.7 } })).resolves.toBeUndefined();

    const noisy = attach('sh', ['-c', 'echo Access Denied; sleep 0.3; echo EFI stub: booting; sleep 30'], 'absent-bad', { fatalPatterns: [] });
    await noisy.console.expect('Access Denied', { budget: { wallSeconds: 5 } });
    await expect(noisy.console.expectAbsent(/EFI stub: /, { window: { wallSeconds: 5 }, what: 'a started kernel' })).rejects.toThrow(
      /a started kernel appeared \("EFI stub: booting"\) but must not/,
    );
  });
});

describe('the live-shell protocol on busybox ash behind a pty', () => {
  it('finds the shell by its expanded answer, never by the echoed probe', async () => {
    const { console } = ptyShell('ready');
    const seconds = await waitForShell(console, { budget: { wallSeconds: 10 }, probeIntervalMs: 300, marker: 'shell' });
    expect(seconds).toBeGreaterThan(0);
    // The echo of the typed probe is in the output too, unexpanded.
    expect(console.output).toContain('echo __READY_$((6*7))__');
    expect(console.output).toContain('\n__READY_42__\n');
    expect(console.output).not.toContain('\u001b');
  });

  it('runs commands and reads back output and exit codes, zero and non-zero', async () => {
    const { console } = ptyShell('commands');
    await waitForShell(console, { budget: { wallSeconds: 10 } });
    const uname = await runShellCommand(console, 'echo one; echo two', { budget: { wallSeconds: 5 } });
    expect(uname).toMatchObject({ exitCode: 0, output: 'one\ntwo' });
    const missing = await runShellCommand(console, 'ls /definitely/not/here', { budget: { wallSeconds: 5 } });
    expect(missing.exitCode).toBe(1);
    expect(missing.output).toMatch(/No such file or directory/);
    const seven = await runShellCommand(console, '(exit 7)', { budget: { wallSeconds: 5 } });
    expect(seven.exitCode).toBe(7);
    const noNewline = await runShellCommand(console, 'printf abc', { budget: { wallSeconds: 5 } });
    expect(noNewline).toMatchObject({ exitCode: 0, output: 'abc' });
    // The round trip is immediate on a local pty; under TCG it was ~0.05 s.
    expect(seven.seconds).toBeLessThan(1);
  });

  it('fails a scripted command whose exit code is not the expected one', async () => {
    const { console } = ptyShell('script');
    const steps = [
      { kind: 'shell' as const, marker: 'shell', budget: { wallSeconds: 10 } },
      { kind: 'run' as const, command: 'true', budget: { wallSeconds: 5 } },
      { kind: 'run' as const, command: 'false', budget: { wallSeconds: 5 }, exitCode: 1 },
      { kind: 'run' as const, command: 'echo root', budget: { wallSeconds: 5 }, output: /^root$/ },
      { kind: 'run' as const, command: 'grep -q x /dev/null', budget: { wallSeconds: 5 } },
    ];
    const error = (await runScript(console, steps).catch((e: unknown) => e)) as BootTestError;
    expect(error).toBeInstanceOf(BootTestError);
    expect(error.reason).toBe('`grep -q x /dev/null` exited with 1, expected 0; it printed: ""');
  });

  it('refuses multi-line commands', async () => {
    const { console } = ptyShell('multiline');
    await expect(runShellCommand(console, 'echo a\necho b', { budget: { wallSeconds: 1 } })).rejects.toThrow(/must be one line/);
  });
});

describe('expect over a unix socket', () => {
  it('talks to a process connected to a socket, both ways', async () => {
    const path = join(dir, 'serial.sock');
    const connected = new Promise<Socket>((resolve) => {
      const server = createServer((socket) => {
        server.close();
        resolve(socket);
      });
      server.listen(path);
    });
    // The "guest": answers each line it receives with an upper-cased copy.
    const guest = `const s=require('net').connect(${JSON.stringify(path)});s.write('guest up\\r\\n');` +
      `let b='';s.on('data',d=>{b+=d;let i;while((i=b.indexOf('\\n'))>=0){s.write('got '+b.slice(0,i).toUpperCase()+'\\r\\n');b=b.slice(i+1);}});`;
    const child = spawn(process.execPath, ['-e', guest], { stdio: 'inherit', detached: true });
    children.push(child);
    const socket = await connected;
    const console = new SerialConsole({ input: socket, output: socket, context: { scenario: 'socket' } });
    await console.expect('guest up', { budget: { wallSeconds: 5 } });
    console.sendLine('hello');
    await expect(console.expect(/got (\w+)/, { budget: { wallSeconds: 5 } })).resolves.toMatchObject({ groups: ['HELLO'] });
    socket.destroy();
  });
});
