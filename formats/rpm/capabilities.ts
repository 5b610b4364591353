// File capabilities as rpm stores them (FILECAPS: libcap's text form, `cap_net_raw=ep`) turned into
// the value of the `security.capability` extended attribute the kernel reads: struct vfs_cap_data,
// revision 2 (little-endian magic_etc, then permitted/inheritable for capabilities 0-31 and 32-63).
// Only the encoding: nothing here sets a real xattr.

/** Capability numbers (linux/capability.h), by libcap name without the `cap_` prefix. */
export const CAPABILITY_NAMES = [
  'chown', 'dac_override', 'dac_read_search', 'fowner', 'fsetid', 'kill', 'setgid', 'setuid', 'setpcap',
  'linux_immutable', 'net_bind_service', 'net_broadcast', 'net_admin', 'net_raw', 'ipc_lock', 'ipc_owner',
  'sys_module', 'sys_rawio', 'sys_chroot', 'sys_ptrace', 'sys_pacct', 'sys_admin', 'sys_boot', 'sys_nice',
  'sys_resource', 'sys_time', 'sys_tty_config', 'mknod', 'lease', 'audit_write', 'audit_control', 'setfcap',
  'mac_override', 'mac_admin', 'syslog', 'wake_alarm', 'block_suspend', 'audit_read', 'perfmon', 'bpf',
  'checkpoint_restore',
] as const;

export class CapabilityError extends Error {
  override name = 'CapabilityError';
}

const VFS_CAP_REVISION_2 = 0x02000000;
const VFS_CAP_FLAGS_EFFECTIVE = 0x000001;

export interface CapabilitySets {
  permitted: bigint;
  inheritable: bigint;
  effective: bigint;
}

/**
 * Parses libcap's text form (cap_from_text): whitespace-separated clauses `names op flags [op flags]...`,
 * names comma-separated (`all` or none at all mean every capability), op one of `=`, `+`, `-`,
 * flags from `e`, `i`, `p`. `=` alone clears everything.
 */
export function parseCapabilityText(text: string): CapabilitySets {
  const sets: CapabilitySets = { permitted: 0n, inheritable: 0n, effective: 0n };
  const all = (1n << BigInt(CAPABILITY_NAMES.length)) - 1n;
  const clauses = text.trim().split(/\s+/).filter(Boolean);
  if (clauses.length === 0) throw new CapabilityError(`empty capability text ${JSON.stringify(text)}`);
  for (const clause of clauses) {
    const match = /^([^=+-]*)((?:[=+-][eip]*)+)$/i.exec(clause);
    if (!match) throw new CapabilityError(`capability clause ${JSON.stringify(clause)} is not "names=flags"`);
    const names = match[1];
    let mask = 0n;
    if (names === '' || names.toLowerCase() === 'all') {
      mask = all;
    } else {
      for (const raw of names.split(',')) {
        const name = raw.toLowerCase().replace(/^cap_/, '');
        const index = /^[0-9]+$/.test(name) ? Number(name) : CAPABILITY_NAMES.indexOf(name as (typeof CAPABILITY_NAMES)[number]);
        if (index < 0 || index > 63) throw new CapabilityError(`unknown capability ${JSON.stringify(raw)} in ${JSON.stringify(text)}`);
        mask |= 1n << BigInt(index);
      }
    }
    for (const [, op, flags] of match[2].matchAll(/([=+-])([eip]*)/gi)) {
      if (op === '=') {
        // `=` resets these capabilities in every set, then raises the flags named.
        sets.permitted &= ~mask;
        sets.inheritable &= ~mask;
        sets.effective &= ~mask;
      } else if (flags === '') {
        throw new CapabilityError(`capability clause ${JSON.stringify(clause)}: "${op}" without flags`);
      }
      for (const flag of flags.toLowerCase()) {
        const key = flag === 'p' ? 'permitted' : flag === 'i' ? 'inheritable' : 'effective';
        sets[key] = op === '-' ? sets[key] & ~mask : sets[key] | mask;
      }
    }
  }
  return sets;
}

/**
 * The security.capability value (vfs_cap_data revision 2, 20 bytes). The file format has one
 * effective bit for all capabilities, so, like libcap, the effective set must be empty or equal
 * to permitted | inheritable.
 */
export function encodeVfsCapability(sets: CapabilitySets): Buffer {
  const raised = sets.permitted | sets.inheritable;
  if (sets.effective !== 0n && sets.effective !== raised) {
    throw new CapabilityError('effective capabilities must be none or all of the permitted and inheritable ones (file capabilities have one effective bit)');
  }
  const out = Buffer.alloc(20);
  out.writeUInt32LE(VFS_CAP_REVISION_2 | (sets.effective !== 0n ? VFS_CAP_FLAGS_EFFECTIVE : 0), 0);
  const low = (value: bigint): number => Number(value & 0xffffffffn);
  const high = (value: bigint): number => Number((value >> 32n) & 0xffffffffn);
  out.writeUInt32LE(low(sets.permitted), 4);
  out.writeUInt32LE(low(sets.inheritable), 8);
  out.writeUInt32LE(high(sets.permitted), 12);
  out.writeUInt32LE(high(sets.inheritable), 16);
  return out;
}

/** FILECAPS text -> security.capability bytes. Throws CapabilityError. */
export function capabilityXattr(text: string): Buffer {
  return encodeVfsCapability(parseCapabilityText(text));
}
