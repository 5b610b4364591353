// The authselect action on a handmade `local` profile written like authselect's own (include
// and exclude lines, if-expressions with not/and), and the template language on its own.
import { lstat, mkdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateFeatures, renderTemplate } from '../../stages/rootfs/rpm-actions/authselect-template.js';
import { PREAMBLE } from '../../stages/rootfs/rpm-actions/authselect.js';
import { rpmAction } from '../../stages/rootfs/rpm-actions/index.js';
import { context, emptyRoot, treeListing } from './roots.js';

const SYSTEM_AUTH = `auth        required                                     pam_env.so
auth        required                                     pam_faildelay.so delay=2000000
auth        required                                     pam_faillock.so preauth silent                         {include if "with-faillock"}
auth        sufficient                                   pam_unix.so {if not "without-nullok":nullok}
auth        required                                     pam_faillock.so authfail                               {include if "with-faillock"}
auth        required                                     pam_deny.so

account     required                                     pam_unix.so

password    requisite                                    pam_pwquality.so
password    sufficient                                   pam_unix.so yescrypt shadow {if not "without-nullok":nullok} use_authtok
password    required                                     pam_deny.so

session     optional                                     pam_keyinit.so revoke
session     required                                     pam_limits.so
-session    optional                                     pam_systemd.so
session     required                                     pam_unix.so
`;

const NSSWITCH = `# In order of likelihood of use to accelerate lookup.
passwd:     files {if "with-altfiles":altfiles }systemd
shadow:     files systemd
group:      files {if "with-altfiles":altfiles }systemd {exclude if "with-group-merging"}
group:      files [SUCCESS=merge] {if "with-altfiles":altfiles [SUCCESS=merge] }systemd [SUCCESS=merge] {include if "with-group-merging"}
hosts:      files myhostname {if "with-mdns4" and "with-mdns6":mdns_minimal [NOTFOUND=return] }{if "with-mdns4" and not "with-mdns6":mdns4_minimal [NOTFOUND=return] }resolve [!UNAVAIL=return] dns
services:   files
`;

async function profileRoot(): Promise<string> {
  const root = await emptyRoot();
  const dir = join(root, 'usr/share/authselect/default/local');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'system-auth'), SYSTEM_AUTH);
  await writeFile(join(dir, 'password-auth'), SYSTEM_AUTH);
  await writeFile(join(dir, 'postlogin'), 'session     optional                   pam_umask.so silent\n');
  await writeFile(join(dir, 'nsswitch.conf'), NSSWITCH);
  await writeFile(join(dir, 'dconf-db'), '[org/gnome/login-screen]\nenable-smartcard-authentication=false\n');
  await writeFile(join(dir, 'README'), 'Local users only\n');
  await mkdir(join(root, 'etc/pam.d'));
  // glibc's own nsswitch.conf, which authselect --force replaces with its link.
  await writeFile(join(root, 'etc/nsswitch.conf'), 'passwd: files\n');
  return root;
}

describe('authselect', () => {
  it('writes the local profile as `authselect select local`: files, authselect.conf, links', async () => {
    const root = await profileRoot();
    expect(await rpmAction('authselect').run(root, context())).toMatchObject({ ran: true, summary: 'profile local: 8 files, 8 links' });
    const read = (path: string) => readFile(join(root, path), 'utf8');
    const systemAuth = await read('etc/authselect/system-auth');
    expect(systemAuth.startsWith(PREAMBLE)).toBe(true);
    expect(systemAuth.slice(PREAMBLE.length).split('\n').slice(0, 5)).toEqual([
      'auth        required                                     pam_env.so',
      'auth        required                                     pam_faildelay.so delay=2000000',
      'auth        sufficient                                   pam_unix.so nullok',
      'auth        required                                     pam_deny.so',
      '',
    ]);
    expect(systemAuth).toMatch(/^password    sufficient +pam_unix\.so yescrypt shadow nullok use_authtok$/m);
    expect(systemAuth).not.toMatch(/faillock|\{/);
    expect((await read('etc/authselect/nsswitch.conf')).slice(PREAMBLE.length)).toBe(
      '# In order of likelihood of use to accelerate lookup.\n' +
        'passwd:     files systemd\n' +
        'shadow:     files systemd\n' +
        'group:      files systemd\n' +
        'hosts:      files myhostname resolve [!UNAVAIL=return] dns\n' +
        'services:   files\n',
    );
    // A template the profile lacks: the preamble alone, as authselect writes it.
    expect(await read('etc/authselect/smartcard-auth')).toBe(PREAMBLE);
    expect(await read('etc/authselect/authselect.conf')).toBe('local\n\n');
    expect((await stat(join(root, 'etc/authselect/system-auth'))).mode & 0o777).toBe(0o644);
    for (const file of ['system-auth', 'password-auth', 'fingerprint-auth', 'smartcard-auth', 'postlogin']) {
      expect(await readlink(join(root, 'etc/pam.d', file))).toBe(`/etc/authselect/${file}`);
    }
    expect(await readlink(join(root, 'etc/nsswitch.conf'))).toBe('/etc/authselect/nsswitch.conf');
    expect(await readlink(join(root, 'etc/dconf/db/distro.d/20-authselect'))).toBe('/etc/authselect/dconf-db');
    expect(await readlink(join(root, 'etc/dconf/db/distro.d/locks/20-authselect'))).toBe('/etc/authselect/dconf-locks');

    const listing = await treeListing(root);
    await rpmAction('authselect').run(root, context());
    expect(await treeListing(root)).toEqual(listing);
    const other = await profileRoot();
    await rpmAction('authselect').run(other, context());
    expect(await treeListing(other)).toEqual(listing);
  });

  it('renders enabled features and records them in authselect.conf', async () => {
    const root = await profileRoot();
    await rpmAction('authselect').run(root, context([], { authselectFeatures: ['with-group-merging', 'with-faillock', 'without-nullok'] }));
    const systemAuth = await readFile(join(root, 'etc/authselect/system-auth'), 'utf8');
    expect(systemAuth).toMatch(/^auth +required +pam_faillock\.so preauth silent$/m);
    expect(systemAuth).toMatch(/^auth +sufficient +pam_unix\.so$/m);
    expect(await readFile(join(root, 'etc/authselect/nsswitch.conf'), 'utf8')).toMatch(/^group:      files \[SUCCESS=merge\] systemd \[SUCCESS=merge\]$/m);
    expect(await readFile(join(root, 'etc/authselect/authselect.conf'), 'utf8')).toBe('local\nwith-faillock\nwith-group-merging\nwithout-nullok\n');
  });

  it('leaves out PAM links when the root has no /etc/pam.d, and does nothing without the profile', async () => {
    const root = await profileRoot();
    await rm(join(root, 'etc/pam.d'), { recursive: true });
    const log: string[] = [];
    await rpmAction('authselect').run(root, context(log));
    expect(log).toContain('rpm-actions: authselect: /etc/pam.d does not exist: /etc/pam.d/system-auth not linked');
    await expect(lstat(join(root, 'etc/pam.d'))).rejects.toThrow();

    const bare = await emptyRoot();
    expect(await rpmAction('authselect').run(bare, context())).toMatchObject({ ran: false });
    await expect(lstat(join(bare, 'etc/authselect'))).rejects.toThrow();
    await expect(rpmAction('authselect').run(bare, context([], { authselectProfile: 'sssd' }))).rejects.toThrow(
      /authselect: profile sssd has no directory \/usr\/share\/authselect\/default\/sssd in the root/,
    );
  });

  it('names the profile file with a broken expression', async () => {
    const root = await profileRoot();
    await writeFile(join(root, 'usr/share/authselect/default/local/postlogin'), 'session optional pam_x.so {if "a" and:x}\n');
    await expect(rpmAction('authselect').run(root, context())).rejects.toThrow(
      /post-install action authselect: \/usr\/share\/authselect\/default\/local\/postlogin: feature expression "\\"a\\" and": is empty or ends after an operator/,
    );
  });
});

describe('authselect templates', () => {
  it('evaluates left to right with not, and, or and parentheses', () => {
    const f = new Set(['a', 'b']);
    expect(evaluateFeatures('"a"', f)).toBe(true);
    expect(evaluateFeatures('not "a"', f)).toBe(false);
    expect(evaluateFeatures('"a" and not "c"', f)).toBe(true);
    expect(evaluateFeatures('"c" or "b"', f)).toBe(true);
    // No precedence: ("c" and "a") or "b".
    expect(evaluateFeatures('"c" and "a" or "b"', f)).toBe(true);
    expect(evaluateFeatures('"c" and ("a" or "b")', f)).toBe(false);
    expect(evaluateFeatures('not ("a" and "c")', f)).toBe(true);
    expect(() => evaluateFeatures('"a" xor "b"', f)).toThrow(/expected and\/or, got xor/);
    expect(() => evaluateFeatures('("a"', f)).toThrow(/unbalanced \(/);
  });

  it('continue if / stop if cut the file; ternary if; other braces stay', () => {
    const t = 'one\n{continue if "x"}\ntwo {if "x":yes|no} {a}\n{stop if "y"}\nthree\n';
    expect(renderTemplate(t, new Set())).toBe('one\n');
    expect(renderTemplate(t, new Set(['x']))).toBe('one\ntwo yes {a}\nthree\n');
    expect(renderTemplate(t, new Set(['x', 'y']))).toBe('one\ntwo yes {a}\n');
  });
});
