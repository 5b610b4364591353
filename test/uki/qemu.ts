// Boot proofs in QEMU (q35 + OVMF, TCG): an ESP image made with mkfs.fat + mtools, a runner that
// watches the serial console for a pattern and always kills QEMU.
import { execFile, spawn } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Makes a FAT ESP image holding `files` (ESP path -> host file). */
export async function makeEspImage(image: string, files: Record<string, string>, sizeMiB = 64): Promise<void> {
  await run('mkfs.fat', ['-C', '-n', 'ESP', '-i', '12345678', image, String(sizeMiB * 1024)]);
  const dirs = new Set<string>();
  for (const path of Object.keys(files)) {
    const parts = path.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const dir of [...dirs].sort()) await run('mmd', ['-i', image, `::${dir}`]);
  for (const [path, host] of Object.entries(files).sort()) await run('mcopy', ['-i', image, host, `::${path}`]);
}

export interface BootOptions {
  esp: string;
  /** Writable copy of the firmware variables is made at this path from `varsTemplate`. */
  vars: string;
  varsTemplate?: string;
  /** Keep an existing vars file (second boot after enrollment). */
  reuseVars?: boolean;
  secureBoot?: boolean;
  /** Resolve as soon as the console shows this. */
  until: RegExp;
  timeoutMs: number;
}

export interface BootResult {
  console: string;
  matched: RegExpExecArray | null;
  /** QEMU exited by itself (poweroff, reset with -no-reboot) before the pattern or timeout. */
  exited: boolean;
  seconds: number;
}

export async function bootInQemu(o: BootOptions): Promise<BootResult> {
  if (!o.reuseVars) await copyFile(o.varsTemplate ?? '/usr/share/OVMF/OVMF_VARS_4M.fd', o.vars);
  const code = o.secureBoot ? '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd' : '/usr/share/OVMF/OVMF_CODE_4M.fd';
  const args = [
    '-nodefaults', '-machine', o.secureBoot ? 'q35,smm=on' : 'q35', '-m', '512', '-display', 'none',
    '-serial', 'stdio', '-no-reboot', '-accel', 'tcg',
    ...(o.secureBoot ? ['-global', 'driver=cfi.pflash01,property=secure,value=on'] : []),
    '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${code}`,
    '-drive', `if=pflash,format=raw,unit=1,file=${o.vars}`,
    '-drive', `if=none,id=esp,format=raw,file=${o.esp}`, '-device', 'virtio-blk-pci,drive=esp',
  ];
  const started = Date.now();
  const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  try {
    return await new Promise<BootResult>((resolve, reject) => {
      const done = (exited: boolean) => {
        clearTimeout(timer);
        resolve({ console: output, matched: o.until.exec(output), exited, seconds: (Date.now() - started) / 1000 });
      };
      const timer = setTimeout(() => done(false), o.timeoutMs);
      qemu.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('latin1');
        if (o.until.test(output)) done(false);
      });
      qemu.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('latin1')));
      qemu.on('error', (err) => reject(new Error(`cannot start qemu-system-x86_64: ${err.message}`)));
      qemu.on('close', () => done(true));
    });
  } finally {
    if (qemu.exitCode === null && qemu.signalCode === null) {
      qemu.kill('SIGKILL');
      await new Promise((r) => qemu.once('exit', r));
    }
  }
}
