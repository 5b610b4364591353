// Texts of the configuration files the rootfs node writes: os-release, hostname, fstab, inittab.
// Pure functions of the variant's settings, so tests read them without building a tree.
import type { FstabConfig, RootfsConfig, SerialConsoleConfig } from './config.js';

/** os-release(5): KEY="value" lines in the given order, values quoted and escaped for sh. */
export function osReleaseText(fields: Readonly<Record<string, string>>): string {
  return Object.entries(fields)
    .map(([key, value]) => `${key}="${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`)
    .join('\n') + '\n';
}

export function hostnameText(hostname: string): string {
  return `${hostname}\n`;
}

// The seed's manual install: `mkfs.fat -F32 -n EFI`, the ESP mounted on /boot (it holds the UKIs).
export const FSTAB_DEFAULTS: Required<FstabConfig> = { espLabel: 'EFI', espMountPoint: '/boot', varLabel: 'var' };

/** /etc/fstab of the A/B layout (ESP, system-a, system-b, var). */
export function fstabText(settings: FstabConfig = {}): string {
  const s = { ...FSTAB_DEFAULTS, ...settings };
  const rows = [
    [`LABEL=${s.espLabel}`, s.espMountPoint, 'vfat', 'umask=0077,noatime,nofail', '0', '0'],
    [`LABEL=${s.varLabel}`, '/var', 'auto', 'defaults,noatime,nofail', '0', '0'],
    ['/var/home', '/home', 'none', 'bind,nofail', '0', '0'],
  ];
  const widths = [16, 14, 6, 26, 6];
  const format = (row: string[]) => row.map((cell, i) => (i < widths.length ? cell.padEnd(widths[i]) : cell)).join(' ').trimEnd();
  return [
    '# /etc/fstab, written by the pipeline rootfs node.',
    '#',
    '# No line for /: the root filesystem is one read-only image shared by both slots',
    '# (system-a, system-b). The initramfs mounts the slot named on the kernel command line',
    '# (root=LABEL=system-a or root=LABEL=system-b) under a tmpfs overlay before init runs.',
    '# A line here would have to name one slot and would be wrong when the other one boots,',
    '# and nothing may remount or fsck the image.',
    '#',
    `# /var is the shared, writable var partition (installers seed it from the image's /var);`,
    '# /home lives on it as /var/home. nofail: the live system has no such partitions.',
    format(['# <device>', '<mount point>', '<type>', '<options>', '<dump>', '<pass>']),
    ...rows.map(format),
  ].join('\n') + '\n';
}

const CONSOLE_DEFAULTS = { device: 'ttyS0', baud: 115200, autologin: null, serialOnly: false };

/** The inittab lines that give the serial console (and tty1 unless serial-only) a login. */
export function consoleInittabLines(settings: SerialConsoleConfig = {}): string[] {
  const c = { ...CONSOLE_DEFAULTS, ...settings };
  // busybox init opens the id field's device as the process's terminal; the kernel's
  // console=<dev>,<baud> has set the line speed. `login -f` logs in without a password.
  const serial = c.autologin
    ? `${c.device}::respawn:/bin/login -f ${c.autologin}`
    : `${c.device}::respawn:/sbin/getty -L ${c.baud} ${c.device} vt100`;
  return c.serialOnly ? [serial] : [serial, 'tty1::respawn:/sbin/getty 38400 tty1'];
}

/** /etc/inittab for busybox init, alone or starting OpenRC (Alpine's arrangement). */
export function inittabText(config: RootfsConfig): string {
  const c = { ...CONSOLE_DEFAULTS, ...config.console };
  const head = `# /etc/inittab, written by the pipeline rootfs node: busybox init${config.init === 'openrc' ? ' starting OpenRC' : ''},`;
  const consoleNote = `# ${c.serialOnly ? 'serial console only' : 'serial console and tty1'}: ${c.device} at ${c.baud} baud${
    c.autologin ? `, ${c.autologin} logged in automatically` : ''
  }.`;
  const lines = [head, consoleNote];
  if (config.init === 'openrc') {
    lines.push('::sysinit:/sbin/openrc sysinit', '::sysinit:/sbin/openrc boot', '::wait:/sbin/openrc default');
  } else {
    lines.push(
      '::sysinit:/bin/busybox mount -t proc -o nosuid,nodev,noexec proc /proc',
      '::sysinit:/bin/busybox mount -t sysfs -o nosuid,nodev,noexec sysfs /sys',
      '::sysinit:/bin/busybox mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev',
      '::sysinit:/bin/busybox mount -a',
      '::sysinit:/bin/busybox hostname -F /etc/hostname',
    );
    for (const service of config.services ?? []) lines.push(`# service ${service.name}`, `::${service.action ?? 'respawn'}:${service.command}`);
  }
  lines.push(...consoleInittabLines(config.console));
  lines.push('::ctrlaltdel:/sbin/reboot');
  lines.push(config.init === 'openrc' ? '::shutdown:/sbin/openrc shutdown' : '::shutdown:/bin/busybox umount -a -r');
  return lines.join('\n') + '\n';
}

/**
 * systemd's getty drop-ins: the serial getty (started by systemd's getty generator for the
 * kernel's console=) and tty1's log the autologin user in; no drop-in when nobody is logged in.
 */
export function systemdGettyDropIns(settings: SerialConsoleConfig = {}): Array<{ path: string; text: string }> {
  const c = { ...CONSOLE_DEFAULTS, ...settings };
  if (!c.autologin) return [];
  const dropIn = (args: string) =>
    `# Written by the pipeline rootfs node: ${c.autologin} is logged in without a password (live system).\n[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin ${c.autologin} ${args}\n`;
  const out = [{ path: `etc/systemd/system/serial-getty@${c.device}.service.d/autologin.conf`, text: dropIn(`--keep-baud ${c.baud},115200,38400,9600 %I $TERM`) }];
  if (!c.serialOnly) out.push({ path: 'etc/systemd/system/getty@tty1.service.d/autologin.conf', text: dropIn('--noclear %I $TERM') });
  return out;
}
