// What a variant says about its root filesystem (the rootfs node's parameters), and the checks
// that turn a mistake in it into an error naming the setting.
import type { OverlayMode } from './overlay.js';
import { RootfsConfigError } from './errors.js';

export interface UserConfig {
  name: string;
  uid: number;
  /** Primary group name; default: a group named like the user (created if missing). */
  group?: string;
  /** gid of the primary group when it has to be created; default: the uid. */
  gid?: number;
  /** Supplementary groups (must exist in the packages' /etc/group or in `groups`). */
  groups?: string[];
  /** Default /home/<name> (/home is /var/home bind-mounted: the image does not create it). */
  home?: string;
  /** Default /bin/sh. */
  shell?: string;
  gecos?: string;
  /** Default locked. */
  password?: 'locked' | 'empty';
}

export interface GroupConfig {
  name: string;
  gid: number;
  members?: string[];
}

export interface ServiceConfig {
  /** OpenRC: /etc/init.d/<name>; systemd: a unit (`sshd.service`); busybox init: a label for errors. */
  name: string;
  /** OpenRC runlevel (default `default`); systemd: the target that wants it (default multi-user.target). */
  runlevel?: string;
  /** busybox init: the command of the inittab line. */
  command?: string;
  /** busybox init: the inittab action (default respawn). */
  action?: 'sysinit' | 'wait' | 'once' | 'respawn' | 'askfirst';
}

export interface SerialConsoleConfig {
  /** Default ttyS0. */
  device?: string;
  /** Default 115200. */
  baud?: number;
  /** User logged in on the serial console without a password (live: root); null: a login prompt. */
  autologin?: string | null;
  /** Only the serial console gets a login (Iuppiter): no getty on tty1. */
  serialOnly?: boolean;
}

export interface FstabConfig {
  /** Filesystem label of the ESP (default ESP). */
  espLabel?: string;
  /** Where the ESP is mounted (default /efi: /boot keeps the image's kernel files visible). */
  espMountPoint?: string;
  /** Label of the var partition (default var). */
  varLabel?: string;
}

export interface RootfsConfig {
  /** Variant name: node ids and the overlay's owner name. */
  variant: string;
  /** /usr/lib/os-release fields in order (ID, NAME, PRETTY_NAME, VERSION_ID, HOME_URL, ...). */
  osRelease: Record<string, string>;
  hostname: string;
  /**
   * `busybox`: busybox init with an inittab; `openrc`: busybox init starting OpenRC (Alpine's
   * default); `systemd`: systemd as PID 1 (EL), gettys by drop-ins, services by `.wants` links.
   */
  init: 'busybox' | 'openrc' | 'systemd';
  services?: ServiceConfig[];
  console?: SerialConsoleConfig;
  /** `empty`: root logs in without a password (live images); `locked`; `keep` (default): as the packages ship it. */
  rootPassword?: 'keep' | 'empty' | 'locked';
  users?: UserConfig[];
  groups?: GroupConfig[];
  /** The A/B layout's /etc/fstab (default on); false leaves the packages' fstab alone. */
  fstab?: FstabConfig | false;
  /** Modes and owners for overlay paths (relative, as in the overlay directory). */
  overlayModes?: Record<string, OverlayMode>;
}

const NAME = /^[a-z_][a-z0-9_-]*\$?$/;

export function validateRootfsConfig(config: RootfsConfig): void {
  const fail = (message: string): never => {
    throw new RootfsConfigError(`rootfs settings of variant ${config.variant}: ${message}`);
  };
  if (!config.osRelease || typeof config.osRelease !== 'object') fail('osRelease is required');
  for (const key of ['ID', 'NAME']) if (!config.osRelease[key]) fail(`osRelease.${key} is required`);
  for (const [key, value] of Object.entries(config.osRelease)) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(key)) fail(`osRelease key ${JSON.stringify(key)} is not an os-release variable (A-Z, 0-9, _)`);
    if (typeof value !== 'string' || value.includes('\n')) fail(`osRelease.${key} must be a one-line string`);
  }
  if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9][A-Za-z0-9-]{0,62})*$/.test(config.hostname ?? '')) {
    fail(`hostname ${JSON.stringify(config.hostname)} is not a valid host name`);
  }
  if (!['busybox', 'openrc', 'systemd'].includes(config.init)) fail(`init must be 'busybox', 'openrc' or 'systemd', not ${JSON.stringify(config.init)}`);
  for (const [index, service] of (config.services ?? []).entries()) {
    const where = `services[${index}] (${service.name})`;
    if (!service.name || !/^[A-Za-z0-9_.@-]+$/.test(service.name)) fail(`${where}: name must be a service name`);
    if (config.init === 'systemd') {
      if (service.command !== undefined) fail(`${where}: 'command' is for busybox init; systemd starts the unit ${service.name}`);
      if (!/\.(service|socket|timer|path|mount|target)$/.test(service.name)) fail(`${where}: a systemd unit name ends in .service, .socket, .timer, .path, .mount or .target`);
      if (service.runlevel !== undefined && !/^[A-Za-z0-9_.@-]+\.target$/.test(service.runlevel)) fail(`${where}: ${service.runlevel} is not a target (multi-user.target)`);
    } else if (config.init === 'openrc') {
      if (service.command !== undefined) fail(`${where}: 'command' is for busybox init; OpenRC starts /etc/init.d/${service.name}`);
      if (service.runlevel !== undefined && !/^[a-z][a-z0-9_-]*$/.test(service.runlevel)) fail(`${where}: bad runlevel ${service.runlevel}`);
    } else if (!service.command) {
      fail(`${where}: busybox init needs the command to run (an inittab line)`);
    } else if (service.command.includes('\n')) {
      fail(`${where}: command must be one line`);
    }
  }
  const console = config.console ?? {};
  if (console.device !== undefined && !/^tty[A-Za-z0-9]+$/.test(console.device)) fail(`console.device ${console.device} is not a tty name`);
  if (console.baud !== undefined && (!Number.isInteger(console.baud) || console.baud <= 0)) fail('console.baud must be a positive integer');
  if (console.autologin && !NAME.test(console.autologin)) fail(`console.autologin ${console.autologin} is not a user name`);
  if (config.rootPassword !== undefined && !['keep', 'empty', 'locked'].includes(config.rootPassword)) {
    fail(`rootPassword must be keep, empty or locked`);
  }
  for (const user of config.users ?? []) {
    if (!NAME.test(user.name ?? '')) fail(`user name ${JSON.stringify(user.name)} is not valid`);
    if (!Number.isInteger(user.uid) || user.uid < 0) fail(`user ${user.name}: uid must be a non-negative integer`);
    if (user.password !== undefined && user.password !== 'locked' && user.password !== 'empty') fail(`user ${user.name}: password must be locked or empty`);
    for (const field of [user.home, user.shell, user.gecos]) if (field !== undefined && /[:\n]/.test(field)) fail(`user ${user.name}: fields must not contain ':' or newlines`);
  }
  for (const group of config.groups ?? []) {
    if (!NAME.test(group.name ?? '')) fail(`group name ${JSON.stringify(group.name)} is not valid`);
    if (!Number.isInteger(group.gid) || group.gid < 0) fail(`group ${group.name}: gid must be a non-negative integer`);
  }
  if (config.fstab) {
    for (const label of [config.fstab.espLabel, config.fstab.varLabel]) if (label !== undefined && !/^[A-Za-z0-9_.-]+$/.test(label)) fail(`fstab label ${label} is not usable`);
    const mount = config.fstab.espMountPoint;
    if (mount !== undefined && !/^\/[A-Za-z0-9_./-]+$/.test(mount)) fail(`fstab.espMountPoint ${mount} must be an absolute path`);
  }
}
