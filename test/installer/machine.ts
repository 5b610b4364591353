// A pretend installed machine for running the installer tools on the host: the files the tools
// read from /proc, /sys, the ESP, efivarfs and /var, redirected by their RECAB_* variables into a
// temporary directory, and the slot partitions as plain files (a sysfs DEVNAME of
// `../<path>` makes /dev/<DEVNAME> name them). Commands run under busybox's sh and applets, as on
// the demo's live system; only openssl is the host's.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pipelineFile } from '../../stages/shared/pipeline-files.js';
import { updatePublicKeyPem } from '../../formats/update-bundle.js';

const exec = promisify(execFile);
export const TOOLS_DIR = pipelineFile('pipeline:stages/installer/tools');
export const LOADER_GUID = '4a67b082-0a4c-41cf-b6c7-440b29bb8c4f';

export interface Machine {
  dir: string;
  esp: string;
  efivars: string;
  state: string;
  slot(name: 'system-a' | 'system-b'): string;
  /** Runs a tool; never throws: the exit code is in the result. */
  run(tool: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  setCmdline(text: string): Promise<void>;
  /** The string in a systemd-boot EFI variable, or undefined. */
  efivar(name: string): Promise<string | undefined>;
}

let applets: Promise<string> | undefined;
/** A directory of busybox applet links (once per process). */
function busyboxApplets(): Promise<string> {
  applets ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'busybox-'));
    await exec('busybox', ['--install', '-s', dir]);
    return dir;
  })();
  return applets;
}

export async function makeMachine(options: { variant: string; version: string; certificate: string; slotBytes?: number }): Promise<Machine> {
  const dir = await mkdtemp(join(tmpdir(), 'machine-'));
  const paths = {
    proc: join(dir, 'proc'),
    sys: join(dir, 'sys'),
    esp: join(dir, 'esp'),
    efivars: join(dir, 'efivars'),
    state: join(dir, 'var/lib/recab'),
    lib: join(dir, 'usr/lib/recab'),
    dev: join(dir, 'dev'),
    osRelease: join(dir, 'etc/os-release'),
  };
  for (const d of [paths.proc, join(paths.sys, 'firmware/efi'), paths.efivars, paths.lib, paths.dev, join(dir, 'etc'), join(paths.esp, 'loader/entries'), join(paths.esp, 'EFI/Linux')]) {
    await mkdir(d, { recursive: true });
  }
  const slotBytes = options.slotBytes ?? 8 << 20;
  const slots = { 'system-a': join(paths.dev, 'vda2'), 'system-b': join(paths.dev, 'vda3') };
  for (const [name, file] of Object.entries(slots)) {
    const block = join(paths.sys, 'class/block', file.split('/').pop()!);
    await mkdir(block, { recursive: true });
    await writeFile(join(block, 'uevent'), `MAJOR=254\nMINOR=2\nDEVNAME=..${file}\nDEVTYPE=partition\nPARTNAME=${name}\n`);
    await writeFile(join(block, 'size'), `${slotBytes / 512}\n`);
    await writeFile(file, Buffer.alloc(0));
    await exec('truncate', ['-s', String(slotBytes), file]);
  }
  await writeFile(join(paths.proc, 'mounts'), `/dev/vda2 / ext4 ro 0 0\nefivarfs ${paths.efivars} efivarfs rw 0 0\n`);
  await writeFile(join(paths.proc, 'cmdline'), 'root=LABEL=system-a console=ttyS0 panic=5\n');
  await copyFile(join(TOOLS_DIR, 'lib.sh'), join(paths.lib, 'lib.sh'));
  await writeFile(join(paths.lib, 'variant'), `${options.variant}\n`);
  await writeFile(join(paths.lib, 'update-key.pem'), updatePublicKeyPem(await readFile(options.certificate)));
  await writeFile(paths.osRelease, `ID="demo"\nNAME="Pipeline Demo"\nVERSION_ID="${options.version}"\n`);
  for (const slot of ['a', 'b']) {
    await writeFile(join(paths.esp, `loader/entries/demo-${slot}.conf`), `title   Demo (Slot ${slot.toUpperCase()})\nefi     /EFI/Linux/demo-system-${slot}.efi\n`);
    await writeFile(join(paths.esp, `EFI/Linux/demo-system-${slot}.efi`), `installed UKI ${slot}\n`);
  }
  await writeFile(join(paths.esp, 'loader/loader.conf'), 'default demo-a.conf\ntimeout 3\neditor no\n');
  await mkdir(paths.state, { recursive: true });
  await writeFile(join(paths.state, 'system-a'), `state=committed\nversion=${options.version}\nvariant=${options.variant}\n`);
  const env = {
    PATH: `${await busyboxApplets()}:/usr/bin:/bin`,
    RECAB_LIB: paths.lib,
    RECAB_PROC: paths.proc,
    RECAB_SYSFS: paths.sys,
    RECAB_EFIVARS: paths.efivars,
    RECAB_STATE_DIR: paths.state,
    RECAB_ESP: paths.esp,
    RECAB_OS_RELEASE: paths.osRelease,
    RECAB_MEDIUM: join(dir, 'medium'),
  };
  return {
    dir,
    esp: paths.esp,
    efivars: paths.efivars,
    state: paths.state,
    slot: (name) => slots[name],
    async run(tool, args) {
      try {
        const { stdout, stderr } = await exec('busybox', ['sh', join(TOOLS_DIR, tool), ...args], { env, maxBuffer: 16 << 20 });
        return { code: 0, stdout, stderr };
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
      }
    },
    async setCmdline(text) {
      await writeFile(join(paths.proc, 'cmdline'), `${text}\n`);
    },
    async efivar(name) {
      try {
        const raw = await readFile(join(paths.efivars, `${name}-${LOADER_GUID}`));
        return raw.subarray(4).toString('utf16le').replace(/\0+$/, '');
      } catch {
        return undefined;
      }
    },
  };
}
