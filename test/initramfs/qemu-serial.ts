// A QEMU guest with its serial console on stdio: wait for text, type commands, always stop it.
// (The project's boot-test stage lives in qemu/; this is the initramfs tests' own small harness.)
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';

export class SerialGuest {
  private readonly child: ChildProcessWithoutNullStreams;
  private output = '';
  private exited: Promise<number | null>;
  private waiters: (() => void)[] = [];

  constructor(args: string[], private readonly logFile?: string) {
    this.child = spawn('qemu-system-x86_64', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const append = (chunk: Buffer) => {
      this.output += chunk.toString('latin1');
      for (const wake of this.waiters.splice(0)) wake();
    };
    this.child.stdout.on('data', append);
    this.child.stderr.on('data', append);
    this.exited = new Promise((resolve) => {
      const done = (code: number | null) => {
        this.saveLog();
        for (const wake of this.waiters.splice(0)) wake();
        resolve(code);
      };
      this.child.on('exit', done);
      // Not started at all (no qemu-system-x86_64): 'exit' never comes.
      this.child.on('error', (err) => {
        this.output += `\n[cannot run qemu-system-x86_64: ${err.message}]\n`;
        done(null);
      });
    });
  }

  /** Everything the guest printed so far (serial console and QEMU's own messages). */
  get log(): string {
    return this.output;
  }

  private saveLog(): void {
    if (this.logFile) writeFileSync(this.logFile, this.output);
  }

  /** Resolves with the match; rejects on timeout or when QEMU exits first, showing the log's tail. */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.output.match(pattern);
      if (match) return match;
      const left = deadline - Date.now();
      const exited = this.child.exitCode !== null || this.child.signalCode !== null || this.child.pid === undefined;
      if (left <= 0 || exited) {
        this.saveLog();
        const why = exited ? `QEMU exited (${this.child.exitCode ?? this.child.signalCode})` : `no match after ${timeoutMs} ms`;
        throw new Error(`${why} waiting for ${pattern} on the serial console; last output:\n${this.output.slice(-3000)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Types text on the serial console. */
  type(text: string): void {
    this.child.stdin.write(text);
  }

  /** Waits for QEMU to exit by itself (the guest powered off), or kills it after timeoutMs. */
  async exit(timeoutMs: number): Promise<number | null> {
    const timer = setTimeout(() => this.kill(), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  /** Kills QEMU if it still runs and waits until it is gone (and its log written). */
  async stop(): Promise<void> {
    this.kill();
    await this.exited;
  }
}

/** QEMU arguments for a direct kernel boot (TCG, 1 GiB, serial on stdio); machine pc or q35. */
export function directBootArgs(kernel: string, initrd: string, append: string, extra: string[], machine = 'pc'): string[] {
  return [
    '-machine', machine, '-accel', 'tcg', '-m', '1024', '-nographic', '-no-reboot',
    '-kernel', kernel, '-initrd', initrd, '-append', append, ...extra,
  ];
}
