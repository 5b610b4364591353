// Scriptlet texts as EL9/EL10 packages carry them (written from the distributions' spec files
// with their macros expanded, as `rpm -q --scripts` prints them).

export const SYSTEMD_POST = `systemd-machine-id-setup &>/dev/null || :

systemctl daemon-reexec &>/dev/null || {
  # systemd v239 had bug #9553 in D-Bus authentication of the private socket,
  # which was later fixed in v240 by #9625.
  if [ $(systemctl --version | head -1 | cut -d' ' -f2) -eq 239 ]; then
    kill -TERM 1 &>/dev/null || :
  fi
}

journalctl --update-catalog &>/dev/null || :
systemd-tmpfiles --create &>/dev/null || :

# create /var/log/journal only on initial installation,
# and only if it's writable (it won't be in rpm-ostree).
if [ $1 -eq 1 ] && [ -w /var/log ]; then
        mkdir -p /var/log/journal
fi

[ $1 -eq 1 ] || exit 0

# We reset the enablement of all services upon initial installation
systemctl preset-all &>/dev/null || :
`;

/** systemd-udev's %post, a shorter one with only covered commands. */
export const UDEV_POST = `udevadm hwdb --update &>/dev/null
systemd-hwdb update &>/dev/null || :
journalctl --update-catalog &>/dev/null || :
if [ $1 -eq 1 ] && [ -x "/usr/lib/systemd/systemd-update-helper" ]; then
    # Initial installation
    /usr/lib/systemd/systemd-update-helper install-system-units systemd-udevd.service systemd-udev-settle.service systemd-udev-trigger.service || :
fi
udevadm control --reload >/dev/null 2>&1 || :
`;

export const SYSTEMD_POSTUN = `if [ $1 -ge 1 ] && [ -x "/usr/lib/systemd/systemd-update-helper" ]; then
    # Package upgrade, not uninstall
    /usr/lib/systemd/systemd-update-helper mark-restart-system-units systemd-timesyncd.service || :
fi
`;

export const KERNEL_CORE_POSTTRANS = `rm -f /var/lib/rpm-state/kernel/installonly_upgrade_5.14.0-570.el9.x86_64
if [ -x /usr/sbin/weak-modules ]
then
    /usr/sbin/weak-modules --add-kernel 5.14.0-570.el9.x86_64 || exit $?
fi
/bin/kernel-install add 5.14.0-570.el9.x86_64 /lib/modules/5.14.0-570.el9.x86_64/vmlinuz || exit $?
if [[ ! -e "/boot/symvers-5.14.0-570.el9.x86_64.xz" ]]; then
    cp "/lib/modules/5.14.0-570.el9.x86_64/symvers.xz" "/boot/symvers-5.14.0-570.el9.x86_64.xz"
    if command -v restorecon &>/dev/null; then
        restorecon "/boot/symvers-5.14.0-570.el9.x86_64.xz"
    fi
fi
`;

export const AUTHSELECT_LIBS_POSTTRANS = `# Keep nss-altfiles for all rpm-ostree based systems.
# See https://github.com/authselect/authselect/issues/48
if test -e /run/ostree-booted; then
    for PROFILE in \`ls /usr/share/authselect/default\`; do
        /usr/bin/authselect create-profile $PROFILE --vendor --base-on $PROFILE --symlink-pam --symlink-dconf --symlink=REQUIREMENTS --symlink=README &> /dev/null
        /usr/bin/sed -ie 's/{if "with-altfiles":altfiles \\[SUCCESS=merge\\] }/altfiles [SUCCESS=merge] /g' /usr/share/authselect/vendor/$PROFILE/nsswitch.conf &> /dev/null
    done
fi

# If this is a new installation select the default configuration.
if [ $1 == 1 ] ; then
    /usr/bin/authselect select local --force --nobackup &> /dev/null
    exit 0
fi

# Minimal profile was removed. Switch to local during upgrade.
/usr/bin/sed -i '1 s/^minimal$/local/'  /etc/authselect/authselect.conf
for file in  /etc/authselect/custom/*/*; do
   link=\`/usr/bin/readlink "$file"\`
   if [[ "$link" == /usr/share/authselect/default/minimal/* ]]; then
       target=\`/usr/bin/basename "$link"\`
       /usr/bin/ln -sfn "/usr/share/authselect/default/local/$target" "$file"
   fi
done

# Apply any changes to profiles (validates configuration first internally)
/usr/bin/authselect apply-changes &> /dev/null

exit 0
`;

/** crypto-policies' Lua %post: the demo mirror's package carries Rocky's text verbatim. */
export { CRYPTO_POLICIES_POST as CRYPTO_POLICIES_POST_LUA } from '../../fixtures/rpm/system-files.js';

/** setup's %post: removes upgrade leftovers and runs newaliases through posix.fork/exec. */
export const SETUP_POST_LUA = `for i, name in ipairs({"passwd", "shadow", "group", "gshadow"}) do
     os.remove("/etc/"..name..".rpmnew")
end
if posix.access("/usr/bin/newaliases", "x") then
  local pid = posix.fork()
  if pid == 0 then
    posix.redirect2null(1)
    posix.exec("/usr/bin/newaliases")
  elseif pid > 0 then
    posix.wait(pid)
  end
end
`;

/** A %pre creating a system user the EL9 way (tpm2-tss). */
export const TSS_PRE = `getent group tss >/dev/null || groupadd -f -g 59 -r tss
if ! getent passwd tss >/dev/null ; then
    if ! getent passwd 59 >/dev/null ; then
      useradd -r -u 59 -g tss -d /dev/null -s /sbin/nologin -c "Account used for TPM access" tss
    else
      useradd -r -g tss -d /dev/null -s /sbin/nologin -c "Account used for TPM access" tss
    fi
fi
exit 0
`;

/** %sysusers_create_compat as Fedora/EL10 expand it. */
export const DBUS_PRE_COMPAT = `getent group 'dbus' >/dev/null || groupadd -f -g '81' -r 'dbus' || :
if ! getent passwd 'dbus' >/dev/null; then
  if ! getent passwd '81' >/dev/null; then
    useradd -r -u '81' -g 'dbus' -d '/' -s '/usr/sbin/nologin' -c 'System Message Bus' 'dbus' || :
  else
    useradd -r -g 'dbus' -d '/' -s '/usr/sbin/nologin' -c 'System Message Bus' 'dbus' || :
  fi
fi
`;

export const SYSUSERS_INLINE_PRE = `systemd-sysusers --replace=/usr/lib/sysusers.d/chrony.conf - <<SYSTEMD_INLINE_EOF >/dev/null 2>&1 || :
g chrony - -
u chrony - "chrony system user" /var/lib/chrony /sbin/nologin
SYSTEMD_INLINE_EOF
`;

export const ALTERNATIVES_POST = `/usr/sbin/update-alternatives --install /usr/bin/python python /usr/bin/python3.9 300 || :
`;

export const TMPFILES_SYSCTL_POST = `/usr/bin/systemd-tmpfiles --create /usr/lib/tmpfiles.d/chrony.conf >/dev/null 2>&1 || :
/usr/lib/systemd/systemd-sysctl 50-coredump.conf >/dev/null 2>&1 || :
`;
