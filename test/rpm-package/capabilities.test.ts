// FILECAPS text -> security.capability bytes, against libcap itself: setcap writes the xattr on a
// real file and we read it back (needs root for setcap; skipped with a message otherwise).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CapabilityError, capabilityXattr, parseCapabilityText } from '../../formats/rpm/capabilities.js';

const dir = mkdtempSync(join(tmpdir(), 'caps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function setcapWorks(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = join(dir, 'probe');
  writeFileSync(probe, '');
  return spawnSync('setcap', ['cap_net_raw=ep', probe]).status === 0 && spawnSync('python3', ['-c', '1']).status === 0;
}
const canSetcap = setcapWorks();
if (!canSetcap) console.warn('capabilities: the setcap oracle is skipped: it needs root and a filesystem with security xattrs');

/** What libcap writes for `text` (hex), or undefined when setcap refuses it. */
function libcap(text: string): string | undefined {
  const file = join(dir, `f-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, '');
  if (spawnSync('setcap', [text, file]).status !== 0) return undefined;
  return execFileSync('python3', ['-c', 'import os,sys;print(os.getxattr(sys.argv[1],"security.capability").hex())', file]).toString().trim();
}

describe('file capabilities', () => {
  it('parses libcap text: names, all, numbers, =/+/- operators', () => {
    expect(parseCapabilityText('cap_net_raw=ep')).toEqual({ permitted: 1n << 13n, inheritable: 0n, effective: 1n << 13n });
    expect(parseCapabilityText('cap_net_raw,cap_net_admin+p cap_net_admin-p')).toEqual({ permitted: 1n << 13n, inheritable: 0n, effective: 0n });
    expect(parseCapabilityText('=')).toEqual({ permitted: 0n, inheritable: 0n, effective: 0n });
    expect(parseCapabilityText('all=p').permitted).toBe((1n << 41n) - 1n);
    expect(() => parseCapabilityText('cap_fly=ep')).toThrow(CapabilityError);
    expect(() => capabilityXattr('cap_net_raw=ep cap_sys_time=i')).toThrow(/effective/);
  });

  it.skipIf(!canSetcap)('encodes what setcap writes (vfs_cap_data revision 2)', () => {
    const texts = ['=', 'cap_net_raw=ep', 'cap_net_raw,cap_net_admin+ep', 'cap_chown=p', 'cap_setuid,cap_setgid=pie', 'cap_bpf,cap_perfmon=ep', 'cap_checkpoint_restore+ip', 'cap_sys_admin=i', 'cap_dac_override,cap_sys_ptrace=eip'];
    for (const text of texts) {
      const expected = libcap(text);
      expect(expected, text).toBeDefined();
      expect(capabilityXattr(text).toString('hex'), text).toBe(expected);
    }
    // What libcap refuses, we refuse.
    expect(libcap('cap_net_raw=ep cap_sys_time=i')).toBeUndefined();
  });
});
