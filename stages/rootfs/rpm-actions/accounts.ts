// Accounts a package's %pre asks for with groupadd/useradd, as sysusers.d lines. EL9 packages
// often have no sysusers.d file: their users exist only through these commands. The lines go
// to the sysusers action (ctx.extraSysusers), after the packaged sysusers.d files, so an account
// a file already defines keeps the file's definition.

export interface AccountRequest {
  kind: 'group' | 'user';
  name: string;
  /** Requested numeric id (`-g`/`-u`), if any. */
  id?: number;
  /** useradd: primary group (`-g`), by name or number. */
  group?: string;
  /** useradd: supplementary groups (`-G`). */
  groups?: string[];
  home?: string;
  shell?: string;
  comment?: string;
  /** Which package's scriptlet asked. */
  from: string;
}

const USERADD_VALUE = new Set(['-u', '-g', '-G', '-d', '-s', '-c', '-K', '-k', '-e', '-f', '-p', '-Z', '-b', '-R', '-P']);
const GROUPADD_VALUE = new Set(['-g', '-K', '-p', '-R', '-P']);
const LONG: Record<string, string> = {
  '--uid': '-u', '--gid': '-g', '--groups': '-G', '--home-dir': '-d', '--home': '-d', '--shell': '-s', '--comment': '-c',
  '--key': '-K', '--skel': '-k', '--expiredate': '-e', '--inactive': '-f', '--password': '-p', '--selinux-user': '-Z',
  '--base-dir': '-b', '--root': '-R', '--prefix': '-P',
};

/** Parses groupadd/useradd arguments (already unquoted); undefined when they are not understood. */
export function parseAccountCommand(command: 'groupadd' | 'useradd', args: readonly string[], from: string): AccountRequest | undefined {
  const takesValue = command === 'useradd' ? USERADD_VALUE : GROUPADD_VALUE;
  const options = new Map<string, string>();
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    let arg = args[i];
    let value: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      if (eq > 0) [arg, value] = [arg.slice(0, eq), arg.slice(eq + 1)];
      arg = LONG[arg] ?? arg;
    }
    if (takesValue.has(arg)) {
      value ??= args[++i];
      if (value === undefined) return undefined;
      if (arg === '-R' || arg === '-P') return undefined; // another root: not this image's accounts
      options.set(arg, value);
    } else if (arg.startsWith('-') && arg.length > 1) {
      // Flags (-r, -M, -m, -N, -U, -l, -o, -f for groupadd, --system...): no value.
      if (/^-[a-zA-Z]{2,}$/.test(arg) && [...arg.slice(1)].some((flag) => takesValue.has(`-${flag}`))) return undefined;
    } else {
      names.push(arg);
    }
  }
  if (names.length !== 1 || !/^[a-z_][a-z0-9_.-]*\$?$/i.test(names[0])) return undefined;
  const numeric = (text: string | undefined) => (text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined);
  if (command === 'groupadd') {
    const id = options.get('-g');
    if (id !== undefined && numeric(id) === undefined) return undefined;
    return { kind: 'group', name: names[0], id: numeric(id), from };
  }
  const uid = options.get('-u');
  if (uid !== undefined && numeric(uid) === undefined) return undefined;
  return {
    kind: 'user',
    name: names[0],
    id: numeric(uid),
    group: options.get('-g'),
    groups: options.get('-G')?.split(',').filter(Boolean),
    home: options.get('-d'),
    shell: options.get('-s'),
    comment: options.get('-c'),
    from,
  };
}

function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** sysusers.d lines for the requested accounts: groups first, then users, then memberships; each name once. */
export function accountsToSysusers(accounts: readonly AccountRequest[]): string[] {
  const groups = new Map<string, string>();
  const users = new Map<string, string>();
  const members: string[] = [];
  for (const account of accounts) {
    if (account.kind === 'group') {
      if (!groups.has(account.name)) groups.set(account.name, `g ${account.name} ${account.id ?? '-'}`);
      continue;
    }
    if (users.has(account.name)) continue;
    // sysusers' `uid:group` makes the user's primary group an existing one instead of its own.
    const group = account.group && account.group !== account.name ? account.group : undefined;
    const id = group ? `${account.id ?? '-'}:${group}` : `${account.id ?? '-'}`;
    const gecos = account.comment ? quote(account.comment) : '-';
    users.set(account.name, `u ${account.name} ${id} ${gecos} ${account.home ?? '-'} ${account.shell ?? '-'}`);
    for (const extra of account.groups ?? []) members.push(`m ${account.name} ${extra}`);
  }
  return [...groups.values(), ...users.values(), ...members];
}
