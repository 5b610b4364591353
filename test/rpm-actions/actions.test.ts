// The native post-install actions on small roots of real files: what each writes, that a
// second run changes nothing, that two roots give the same bytes, and that each does nothing
// (and says so) when what it works on is absent.
import { chmod, lstat, mkdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RPM_ACTION_TOOLS, RPM_ACTIONS, rpmAction, runRpmActions, accountsToSysusers, reviewScriptlets } from '../../stages/rootfs/rpm-actions/index.js';
import { TSS_PRE } from './el-scriptlets.js';
import { context, copyInto, emptyRoot, EPOCH, treeListing } from './roots.js';

const DAY = Math.floor(EPOCH / 86400);

async function sysusersRoot(): Promise<string> {
  const root = await emptyRoot();
  for (const name of ['basic.conf', 'systemd-journal.conf', 'systemd-network.conf']) {
    await copyInto(root, `/usr/lib/sysusers.d/${name}`, `usr/lib/sysusers.d/${name}`);
  }
  return root;
}

describe('sysusers', () => {
  it("creates Debian's basic.conf accounts with SOURCE_DATE_EPOCH's day in shadow, plus the scriptlets' accounts", async () => {
    const root = await sysusersRoot();
    const accounts = reviewScriptlets([{ name: 'tpm2-tss', scriptlets: [{ name: 'pre', interpreter: '/bin/sh', body: TSS_PRE }] }]).accounts;
    const log: string[] = [];
    const result = await rpmAction('sysusers').run(root, context(log, { extraSysusers: accountsToSysusers(accounts) }));
    expect(result).toMatchObject({ action: 'sysusers', ran: true });
    const passwd = await readFile(join(root, 'etc/passwd'), 'utf8');
    const group = await readFile(join(root, 'etc/group'), 'utf8');
    const shadow = await readFile(join(root, 'etc/shadow'), 'utf8');
    expect(passwd.split('\n')).toContain('root:x:0:0::/root:/bin/bash');
    expect(passwd.split('\n')).toContain('nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin');
    expect(passwd.split('\n')).toContain('systemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin');
    expect(passwd.split('\n')).toContain('tss:x:59:59:Account used for TPM access:/dev/null:/sbin/nologin');
    expect(group.split('\n')).toContain('systemd-journal:x:999:');
    expect(group.split('\n')).toContain('tss:x:59:');
    expect(shadow.split('\n')).toContain(`root:!*:${DAY}::::::`);
    expect(shadow.split('\n')).toContain(`tss:!*:${DAY}::::::`);
    expect((await stat(join(root, 'etc/shadow'))).mode & 0o777).toBe(0);
    await expect(lstat(join(root, 'etc/.pwd.lock'))).rejects.toThrow();
    expect(log.join('\n')).toMatch(/Creating user 'tss'/);

    const first = await treeListing(root);
    await rpmAction('sysusers').run(root, context([], { extraSysusers: accountsToSysusers(accounts) }));
    expect(await treeListing(root)).toEqual(first);
    const other = await sysusersRoot();
    await rpmAction('sysusers').run(other, context([], { extraSysusers: accountsToSysusers(accounts) }));
    expect(await treeListing(other)).toEqual(first);
  });

  it('keeps the accounts the packages ship in /etc/passwd and appends to them', async () => {
    const root = await sysusersRoot();
    await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nbin:x:1:1:bin:/bin:/sbin/nologin\n');
    await writeFile(join(root, 'etc/group'), 'root:x:0:\nbin:x:1:\n');
    await rpmAction('sysusers').run(root, context());
    const passwd = (await readFile(join(root, 'etc/passwd'), 'utf8')).split('\n');
    expect(passwd.slice(0, 2)).toEqual(['root:x:0:0:root:/root:/bin/bash', 'bin:x:1:1:bin:/bin:/sbin/nologin']);
    // uid 1 is bin's here: daemon gets a free system uid instead.
    expect(passwd.find((line) => line.startsWith('daemon:'))).toMatch(/^daemon:x:(?!1:)\d+:\d+::\/usr\/sbin:\/usr\/sbin\/nologin$/);
  });

  it('does nothing without sysusers.d files', async () => {
    const root = await emptyRoot();
    const log: string[] = [];
    expect(await rpmAction('sysusers').run(root, context(log))).toMatchObject({ ran: false });
    expect(log.join('\n')).toMatch(/sysusers: no usr\/lib\/sysusers\.d or etc\/sysusers\.d \*\.conf in the root: nothing to create/);
    await expect(lstat(join(root, 'etc/passwd'))).rejects.toThrow();
  });

  it('names the files and the reason when systemd-sysusers fails', async () => {
    const root = await sysusersRoot();
    await mkdir(join(root, 'etc/passwd'));
    await expect(rpmAction('sysusers').run(root, context())).rejects.toThrow(
      /post-install action sysusers: systemd-sysusers over usr\/lib\/sysusers\.d\/basic\.conf, .* failed .*Is a directory/,
    );
  });
});

async function unitsRoot(): Promise<string> {
  const root = await emptyRoot();
  for (const unit of ['systemd-timesyncd.service', 'getty@.service', 'getty.target', 'multi-user.target', 'systemd-networkd.service', 'systemd-networkd.socket', 'systemd-networkd-wait-online.service']) {
    await copyInto(root, `/lib/systemd/system/${unit}`, `usr/lib/systemd/system/${unit}`);
  }
  await copyInto(root, '/lib/systemd/system-preset/90-systemd.preset', 'usr/lib/systemd/system-preset/90-systemd.preset');
  // EL's catch-all: what no preset enables stays disabled.
  await writeFile(join(root, 'usr/lib/systemd/system-preset/99-default-disable.preset'), 'disable *\n');
  await writeFile(join(root, 'usr/lib/systemd/system/example.service'), '[Service]\nExecStart=/bin/true\n\n[Install]\nWantedBy=multi-user.target\n');
  return root;
}

describe('presets', () => {
  it("enables what Debian's 90-systemd.preset enables, with its aliases and Also= units; the rest stays disabled", async () => {
    const root = await unitsRoot();
    expect(await rpmAction('presets').run(root, context())).toMatchObject({ ran: true, summary: 'preset-all for the system units' });
    const etc = join(root, 'etc/systemd/system');
    expect(await readlink(join(etc, 'getty.target.wants/getty@tty1.service'))).toBe('/usr/lib/systemd/system/getty@.service');
    expect(await readlink(join(etc, 'sysinit.target.wants/systemd-timesyncd.service'))).toBe('/usr/lib/systemd/system/systemd-timesyncd.service');
    expect(await readlink(join(etc, 'dbus-org.freedesktop.timesync1.service'))).toBe('/usr/lib/systemd/system/systemd-timesyncd.service');
    expect(await readlink(join(etc, 'multi-user.target.wants/systemd-networkd.service'))).toBe('/usr/lib/systemd/system/systemd-networkd.service');
    expect(await readlink(join(etc, 'sockets.target.wants/systemd-networkd.socket'))).toBe('/usr/lib/systemd/system/systemd-networkd.socket');
    const listing = await treeListing(root);
    // Also= enables wait-online with networkd; example.service only a catch-all names: disabled.
    expect(listing.filter((line) => line.startsWith('etc/') && line.includes(' -> ')).map((line) => line.split(' -> ')[0])).toEqual([
      'etc/systemd/system/dbus-org.freedesktop.network1.service',
      'etc/systemd/system/dbus-org.freedesktop.timesync1.service',
      'etc/systemd/system/getty.target.wants/getty@tty1.service',
      'etc/systemd/system/multi-user.target.wants/systemd-networkd.service',
      'etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service',
      'etc/systemd/system/sockets.target.wants/systemd-networkd.socket',
      'etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service',
    ]);

    await rpmAction('presets').run(root, context());
    expect(await treeListing(root)).toEqual(listing);
    const other = await unitsRoot();
    await rpmAction('presets').run(other, context());
    expect(await treeListing(other)).toEqual(listing);
  });

  it('a preset that disables a unit removes the link an earlier preset-all made', async () => {
    const root = await unitsRoot();
    await rpmAction('presets').run(root, context());
    await writeFile(join(root, 'usr/lib/systemd/system-preset/10-local.preset'), 'disable systemd-timesyncd.service\n');
    await rpmAction('presets').run(root, context());
    await expect(lstat(join(root, 'etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service'))).rejects.toThrow();
  });

  it('does nothing without unit files', async () => {
    const log: string[] = [];
    expect(await rpmAction('presets').run(await emptyRoot(), context(log))).toMatchObject({ ran: false });
    expect(log).toContain('rpm-actions: presets: no unit files under usr/lib/systemd/{system,user}: nothing to enable');
  });
});

describe('machine-id', () => {
  it('writes an empty /etc/machine-id with mode 0444, keeps one the overlay set, and needs /etc', async () => {
    const root = await emptyRoot();
    expect(await rpmAction('machine-id').run(root, context())).toMatchObject({ ran: true });
    const st = await stat(join(root, 'etc/machine-id'));
    expect([st.size, st.mode & 0o777]).toEqual([0, 0o444]);
    const listing = await treeListing(root);
    await rpmAction('machine-id').run(root, context());
    expect(await treeListing(root)).toEqual(listing);

    await chmod(join(root, 'etc/machine-id'), 0o644);
    await writeFile(join(root, 'etc/machine-id'), '0123456789abcdef0123456789abcdef\n');
    expect(await rpmAction('machine-id').run(root, context())).toMatchObject({ ran: false, summary: '/etc/machine-id is already set (by the overlay): kept' });
    expect(await readFile(join(root, 'etc/machine-id'), 'utf8')).toBe('0123456789abcdef0123456789abcdef\n');

    const bare = await emptyRoot();
    await rm(join(bare, 'etc'), { recursive: true });
    expect(await rpmAction('machine-id').run(bare, context())).toMatchObject({ ran: false, summary: 'the root has no /etc directory: no machine-id written' });
  });

  it('refuses a machine-id link that leaves /etc', async () => {
    const root = await emptyRoot();
    await symlink('/usr/lib/machine-id', join(root, 'etc/machine-id'));
    await expect(rpmAction('machine-id').run(root, context())).rejects.toThrow(/machine-id: \/etc\/machine-id is a symbolic link out of \/etc/);
  });
});

const BACKENDS = ['bind', 'gnutls', 'java', 'krb5', 'libreswan', 'nss', 'openssh', 'opensshserver', 'openssl', 'opensslcnf'];

async function cryptoRoot(): Promise<string> {
  const root = await emptyRoot();
  for (const policy of ['DEFAULT', 'LEGACY']) {
    const dir = join(root, 'usr/share/crypto-policies', policy);
    await mkdir(dir, { recursive: true });
    for (const backend of BACKENDS) await writeFile(join(dir, `${backend}.txt`), `# ${policy} policy for ${backend}\n`);
  }
  await mkdir(join(root, 'etc/crypto-policies/back-ends'), { recursive: true });
  return root;
}

describe('crypto-policies', () => {
  it('sets DEFAULT: config, state/current and a link per back-end file', async () => {
    const root = await cryptoRoot();
    expect(await rpmAction('crypto-policies').run(root, context())).toMatchObject({ ran: true, summary: 'policy DEFAULT: 10 back-end links' });
    expect(await readFile(join(root, 'etc/crypto-policies/config'), 'utf8')).toBe('DEFAULT\n');
    expect(await readFile(join(root, 'etc/crypto-policies/state/current'), 'utf8')).toBe('DEFAULT\n');
    for (const backend of BACKENDS) {
      expect(await readlink(join(root, `etc/crypto-policies/back-ends/${backend}.config`))).toBe(`/usr/share/crypto-policies/DEFAULT/${backend}.txt`);
    }
    const listing = await treeListing(root);
    await rpmAction('crypto-policies').run(root, context());
    expect(await treeListing(root)).toEqual(listing);
  });

  it('follows a policy the overlay names, and refuses sub-policies and unknown ones', async () => {
    const root = await cryptoRoot();
    await writeFile(join(root, 'etc/crypto-policies/config'), '# set by the variant\nLEGACY\n');
    await rpmAction('crypto-policies').run(root, context());
    expect(await readlink(join(root, 'etc/crypto-policies/back-ends/openssh.config'))).toBe('/usr/share/crypto-policies/LEGACY/openssh.txt');
    expect(await readFile(join(root, 'etc/crypto-policies/state/current'), 'utf8')).toBe('LEGACY\n');
    await writeFile(join(root, 'etc/crypto-policies/config'), 'DEFAULT:SHA1\n');
    await expect(rpmAction('crypto-policies').run(root, context())).rejects.toThrow(/asks for DEFAULT:SHA1: only a base policy .*sub-policies need update-crypto-policies/);
    await writeFile(join(root, 'etc/crypto-policies/config'), 'FUTURE\n');
    await expect(rpmAction('crypto-policies').run(root, context())).rejects.toThrow(/policy FUTURE has no directory \/usr\/share\/crypto-policies\/FUTURE/);
  });

  it('does nothing without /usr/share/crypto-policies', async () => {
    const root = await emptyRoot();
    expect(await rpmAction('crypto-policies').run(root, context())).toMatchObject({ ran: false });
    await expect(lstat(join(root, 'etc/crypto-policies'))).rejects.toThrow();
  });
});

describe('ldconfig', () => {
  async function libRoot(): Promise<string> {
    const root = await emptyRoot();
    await copyInto(root, '/usr/lib/x86_64-linux-gnu/libz.so.1.2.13', 'usr/lib64/libz.so.1.2.13');
    await symlink('libz.so.1.2.13', join(root, 'usr/lib64/libz.so.1'));
    await writeFile(join(root, 'etc/ld.so.conf'), 'include ld.so.conf.d/*.conf\n/usr/lib64\n');
    await mkdir(join(root, 'etc/ld.so.conf.d'));
    // Where ldconfig keeps its aux cache (inode numbers, ctimes) when the directory exists, as in
    // a real root (glibc ships it).
    await mkdir(join(root, 'var/cache/ldconfig'), { recursive: true });
    return root;
  }

  it('builds /etc/ld.so.cache over the root, the same bytes every time', async () => {
    const root = await libRoot();
    expect(await rpmAction('ldconfig').run(root, context())).toMatchObject({ ran: true });
    const runner = context().runner;
    const { stdout } = await runner.exec('ldconfig', ['-p', '-C', join(root, 'etc/ld.so.cache')], { captureStdout: true });
    expect(stdout).toMatch(/libz\.so\.1 \(libc6,x86-64\) => \/usr\/lib64\/libz\.so\.1/);
    const listing = await treeListing(root);
    await rpmAction('ldconfig').run(root, context());
    expect(await treeListing(root)).toEqual(listing);
    const other = await libRoot();
    await rpmAction('ldconfig').run(other, context());
    expect(await treeListing(other)).toEqual(listing);
    await expect(lstat(join(root, 'var/cache/ldconfig/aux-cache'))).rejects.toThrow(/ENOENT/);
  });

  it('does nothing without /etc/ld.so.conf', async () => {
    const root = await emptyRoot();
    expect(await rpmAction('ldconfig').run(root, context())).toMatchObject({ ran: false });
    await expect(lstat(join(root, 'etc/ld.so.cache'))).rejects.toThrow();
  });
});

describe('all actions', () => {
  it('run in order, each a no-op on an empty root, and list their host tools', async () => {
    const log: string[] = [];
    const root = await emptyRoot();
    await rm(join(root, 'etc'), { recursive: true });
    const outcomes = await runRpmActions(root, context(log));
    expect(outcomes.map((o) => `${o.action}:${o.ran}`)).toEqual(RPM_ACTIONS.map((a) => `${a.name}:false`));
    expect(outcomes.map((o) => o.action)).toEqual(['sysusers', 'crypto-policies', 'authselect', 'machine-id', 'presets', 'depmod', 'ldconfig']);
    expect(log).toHaveLength(7);
    expect(await treeListing(root)).toEqual(['lib -> usr/lib', 'usr/ 755', 'usr/lib/ 755']);
    expect(RPM_ACTION_TOOLS).toEqual(['depmod', 'ldconfig', 'systemctl', 'systemd-sysusers']);
    for (const action of RPM_ACTIONS) expect(action.replaces).toMatch(/^[^\n]{10,200}$/);
  });

  it('a variant chooses some (rpm.post_install): only those run, in their order; the schema offers exactly these', async () => {
    const root = await emptyRoot();
    const outcomes = await runRpmActions(root, context(), { only: ['depmod', 'machine-id'] });
    expect(outcomes.map((o) => o.action)).toEqual(['machine-id', 'depmod']);
    expect((await lstat(join(root, 'etc/machine-id'))).size).toBe(0);
    await expect(runRpmActions(root, context(), { only: ['sysuser'] })).rejects.toThrow(/no post-install action named sysuser/);
    const { VARIANT_SCHEMA } = await import('../../compile/variant-schema.js');
    const schema = VARIANT_SCHEMA as unknown as { properties: { rpm: { properties: { post_install: { items: { enum: string[] } } } } } };
    expect(schema.properties.rpm.properties.post_install.items.enum).toEqual(RPM_ACTIONS.map((a) => a.name));
  });
});

describe('paths inside the root', () => {
  it('follow links as the booted system would, never above the root', async () => {
    const { resolveInRoot, resolveParentInRoot } = await import('../../stages/rootfs/rpm-actions/root-path.js');
    // As the kernel resolves them: `..` after a link climbs from where the link points.
    const root = await emptyRoot();
    await mkdir(join(root, 'usr/lib/modules'), { recursive: true });
    await symlink('/../../../../etc', join(root, 'usr/escape'));
    await symlink('../usr/lib/modules', join(root, 'etc/mods'));
    expect(await resolveInRoot(root, 'lib/modules/x')).toBe(join(root, 'usr/lib/modules/x'));
    expect(await resolveInRoot(root, 'usr/escape/passwd')).toBe(join(root, 'etc/passwd'));
    expect(await resolveInRoot(root, '../../etc/mods')).toBe(join(root, 'usr/lib/modules'));
    expect(await resolveParentInRoot(root, 'lib/../etc/mods')).toBe(join(root, 'usr/etc/mods'));
    expect(await resolveParentInRoot(root, 'usr/lib/../../etc/mods')).toBe(join(root, 'etc/mods'));
  });
});
