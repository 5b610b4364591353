// What each command an RPM scriptlet runs amounts to when the image is built without running
// it: done by one of the native actions, done by the booted system itself, pointless at build
// time, harmless, or not covered. The rules are conservative: a command no rule names is not
// covered, and a scriptlet is covered only when every command it can run on a fresh install is.
// Lua scriptlets are covered only by the explicit signatures at the end.

export interface Scriptlet {
  /**
   * `pre`, `post`, `pretrans`, `posttrans`, `preun`, `postun`, `triggerin-0`, ...; also the
   * header's names (`prein`, `postin`) and rpm -q --scripts' (`preinstall`, `postinstall`...).
   */
  name: string;
  /** For a trigger named by its index (`trigger-0`): its type (`triggerin`, `triggerun`...). */
  kind?: string;
  /** `/bin/sh`, `<lua>`, or a program run with no body (`/sbin/ldconfig`). */
  interpreter: string;
  /** Arguments after the interpreter (`-p /bin/sh -- -e`). */
  args?: readonly string[];
  body: string;
}

export interface PackageScriptlets {
  name: string;
  scriptlets: readonly Scriptlet[];
}

export type Verdict =
  | { kind: 'action'; actions: string[]; note?: string }
  | { kind: 'boot'; note: string }
  | { kind: 'no-op'; note: string }
  | { kind: 'harmless' }
  | { kind: 'uncovered'; note: string };

/** Scriptlets that run on a fresh install, by the name rpm's spec files give them. */
export const INSTALL_KINDS = new Set(['pre', 'post', 'pretrans', 'posttrans', 'triggerprein', 'triggerin', 'filetriggerin', 'transfiletriggerin']);
/** Scriptlets that run only when a package is removed or upgraded away, or on `rpm -V`. */
export const NOT_ON_INSTALL_KINDS = new Set([
  'preun', 'postun', 'preuntrans', 'postuntrans', 'triggerun', 'triggerpostun',
  'filetriggerun', 'filetriggerpostun', 'transfiletriggerun', 'transfiletriggerpostun', 'verify',
]);
/** The header's and rpm -q --scripts' names for the classic four. */
export const LONG_NAMES: Record<string, string> = {
  prein: 'pre', postin: 'post', preinstall: 'pre', postinstall: 'post', preuninstall: 'preun', postuninstall: 'postun',
};

/** Kinds whose $1 is the count of the package's instances after the transaction: 1 on a fresh install. */
export const ARG1_IS_ONE = new Set(['pre', 'post', 'pretrans', 'posttrans']);

export interface CommandRule {
  /** Command name (basename), or names. */
  command: string | readonly string[];
  /** Must match the arguments joined by single spaces (unquoted); any arguments when absent. */
  args?: RegExp;
  verdict: Verdict;
}

const action = (actions: string[], note?: string): Verdict => ({ kind: 'action', actions, note });
const boot = (note: string): Verdict => ({ kind: 'boot', note });
const noop = (note: string): Verdict => ({ kind: 'no-op', note });
const harmless: Verdict = { kind: 'harmless' };
const uncovered = (note: string): Verdict => ({ kind: 'uncovered', note });

const NO_MANAGER = 'no service manager runs at image build';
const PIPELINE_BOOT = 'the pipeline builds the initramfs and the boot entries (UKI) itself';
const RPM_STATE = "rpm's own transaction state (/var/lib/rpm-state): meaningless without rpm";

/** First match wins. Output redirections to files, variables as commands and functions are refused before these. */
export const COMMAND_RULES: readonly CommandRule[] = [
  // Shell built-ins and read-only tools.
  { command: [':', 'true', 'false', 'echo', 'printf', 'exit', 'return', 'set', 'shift', 'local', 'export', 'unset', 'readonly', 'wait', 'sleep', 'pwd', 'cd', 'umask'], verdict: harmless },
  { command: ['test', '[', '[['], verdict: harmless },
  { command: ['command', 'type', 'which', 'hash'], args: /^(-[vVp] )?\S+$/, verdict: harmless },
  { command: ['cat', 'grep', 'egrep', 'fgrep', 'head', 'tail', 'cut', 'tr', 'sort', 'uniq', 'wc', 'basename', 'dirname', 'readlink', 'realpath', 'uname', 'id', 'stat', 'ls', 'getent', 'selinuxenabled', 'arch', 'nproc', 'date'], verdict: harmless },
  { command: 'sed', args: /^(?!.*(^| )(-i|--in-place)).*$/, verdict: harmless },
  { command: 'rpm', args: /^(-q|--query|--eval|-E)\b/, verdict: harmless },
  { command: 'systemctl', args: /^--version$/, verdict: harmless },

  // Accounts.
  { command: 'systemd-sysusers', verdict: action(['sysusers']) },
  { command: ['groupadd', 'useradd'], verdict: action(['sysusers'], 'the account becomes a sysusers line unless a sysusers.d file defines it') },

  // Units.
  { command: 'systemctl', args: /^(--[a-z-]+ )*(preset|preset-all)( |$)/, verdict: action(['presets']) },
  { command: 'systemd-update-helper', args: /^install-(system|user)-units( |$)/, verdict: action(['presets']) },
  {
    command: 'systemctl',
    args: /^(--[a-z-]+ |-q )*(daemon-reload|daemon-reexec|try-restart|try-reload-or-restart|reload-or-try-restart|condrestart|restart|reload|start|stop|is-active|is-enabled|is-failed|is-system-running|status|show)( |$)/,
    verdict: noop(NO_MANAGER),
  },
  { command: 'kill', args: /^(-[A-Z0-9]+ )?1$/, verdict: noop(`signals PID 1: ${NO_MANAGER}`) },
  { command: 'systemd-update-helper', args: /^(system-reload|user-reload|mark-restart-(system|user)-units|finish)( |$)/, verdict: noop(NO_MANAGER) },

  // Kernel and boot.
  { command: ['depmod', 'weak-modules'], verdict: action(['depmod']) },
  { command: 'kernel-install', args: /^add( |$)/, verdict: action(['depmod'], `kernel-install's other plugins: ${PIPELINE_BOOT}`) },
  { command: ['dracut', 'grubby', 'grub2-mkconfig', 'new-kernel-pkg', 'grub2-set-default'], verdict: noop(PIPELINE_BOOT) },
  { command: 'cp', args: /^\S*\/lib\/modules\/\S+\/symvers\S* \/boot\/symvers-\S+$/, verdict: noop('symbol versions for building out-of-tree modules: not read at boot') },

  // Configuration the actions generate.
  { command: 'authselect', args: /^(select|apply-changes)( |$)/, verdict: action(['authselect']) },
  { command: 'authselect', args: /^(check|current|list)( |$)/, verdict: harmless },
  { command: 'update-crypto-policies', args: /^((--no-reload|--set DEFAULT)( |$))*$/, verdict: action(['crypto-policies']) },
  { command: 'systemd-machine-id-setup', verdict: action(['machine-id']) },
  { command: 'ldconfig', verdict: action(['ldconfig']) },

  // Done by the booted system.
  { command: 'systemd-tmpfiles', args: /^(--[a-z-]+ )*--create( |$)/, verdict: boot('systemd-tmpfiles-setup.service creates them at every boot') },
  { command: 'systemd-hwdb', args: /^(--[a-z-]+ )*update( |$)/, verdict: boot('systemd-hwdb-update.service builds hwdb.bin at first boot (ConditionNeedsUpdate=/etc)') },
  { command: 'udevadm', args: /^hwdb --update( |$)/, verdict: boot('systemd-hwdb-update.service builds hwdb.bin at first boot (ConditionNeedsUpdate=/etc)') },
  { command: 'journalctl', args: /^--update-catalog$/, verdict: boot('systemd-journal-catalog-update.service builds the catalog at first boot (ConditionNeedsUpdate=/var)') },
  { command: ['systemd-sysctl', 'sysctl'], args: /^(?!-w)/, verdict: boot('systemd-sysctl.service applies sysctl.d at every boot') },
  { command: 'systemd-binfmt', verdict: boot('systemd-binfmt.service registers binfmt.d at every boot') },
  { command: 'udevadm', args: /^(control|trigger|settle)( |$)/, verdict: noop('no udev runs at image build') },
  { command: ['restorecon', 'fixfiles'], verdict: noop('SELinux labels are not set at build: the image boots with selinux=0') },
  { command: ['mkdir', 'touch', 'rm'], args: /^(-[a-z]+ )*(\/var\/lib\/rpm-state\/\S*)( \/var\/lib\/rpm-state\/\S*)*$/, verdict: noop(RPM_STATE) },

  // Named so that the report says what they are.
  { command: ['update-alternatives', 'alternatives'], verdict: uncovered('update-alternatives: /etc/alternatives links are not made at build (not covered)') },
  { command: 'systemctl', args: /^(--[a-z-]+ )*(enable|disable|mask|unmask|set-default|link|add-wants|add-requires)( |$)/, verdict: uncovered('changes unit enablement outside the presets') },
];

/**
 * Lua bodies: a signature holds when every marker is present, every function called is among
 * the allowed ones (a method call on a value is written `:name`), and every absolute path the
 * body names starts with an allowed prefix.
 */
export interface LuaSignature {
  id: string;
  markers: readonly RegExp[];
  allowedCalls: readonly string[];
  allowedPaths: readonly string[];
  verdict: Verdict;
}

/** Calls that only print: a Lua body of these alone is harmless. */
export const LUA_HARMLESS_CALLS = ['print', 'io.write', 'io.stdout:write', 'io.stderr:write'];

export const LUA_SIGNATURES: readonly LuaSignature[] = [
  {
    id: "crypto-policies' %post",
    markers: [/\/etc\/crypto-policies\/config/, /\/etc\/crypto-policies\/back-ends\//, /posix\.symlink\s*\(/],
    allowedCalls: [
      'posix.access', 'posix.files', 'posix.dir', 'posix.unlink', 'posix.symlink', 'posix.stat', 'io.open', 'os.remove',
      ':read', ':write', ':close', ':gsub', ':match', ':find', ':sub', 'string.gsub', 'string.match', 'string.find', 'ipairs', 'pairs', 'tostring', 'rpm.expand',
    ],
    allowedPaths: ['/etc/crypto-policies/', '/usr/share/crypto-policies/', '/proc/sys/crypto/'],
    verdict: action(['crypto-policies']),
  },
];
