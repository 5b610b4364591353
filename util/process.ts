// Processes: whether one still runs (how a lock or a work area left by a killed process is
// recognized), and a command line whose process dies with its parent.

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is just not ours to signal.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * `command args` started through util-linux setpriv with a parent-death signal: the kernel kills
 * it when its parent dies, even a SIGKILLed parent. setpriv execs it in place (same pid).
 */
export function diesWithParent(setpriv: string, command: string, args: readonly string[]): [string, string[]] {
  return [setpriv, ['--pdeathsig', 'KILL', command, ...args]];
}
