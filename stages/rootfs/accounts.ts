// /etc/passwd, /etc/group and /etc/shadow: the packages' files with the variant's users and
// groups merged in. Lines the variant does not touch stay as the packages wrote them, in order;
// new ones are appended. A name the packages already define with another id is an error, as is
// an id that two names would share.
import type { RootfsConfig } from './config.js';
import { RootfsConfigError } from './errors.js';

export interface AccountFiles {
  passwd: string;
  group: string;
  shadow: string;
}

const DEFAULT_FILES: AccountFiles = {
  passwd: 'root:x:0:0:root:/root:/bin/sh\n',
  group: 'root:x:0:root\n',
  shadow: 'root:*::0:::::\n',
};

/** colon-separated records of one file; comments and blank lines are kept verbatim. */
class ColonFile {
  readonly lines: Array<string[] | string>;
  constructor(text: string) {
    this.lines = text
      .split('\n')
      .filter((line, index, all) => !(line === '' && index === all.length - 1))
      .map((line) => (line.trim() === '' || line.startsWith('#') ? line : line.split(':')));
  }
  records(): string[][] {
    return this.lines.filter((line): line is string[] => Array.isArray(line));
  }
  find(name: string): string[] | undefined {
    return this.records().find((record) => record[0] === name);
  }
  upsert(record: string[]): void {
    const index = this.lines.findIndex((line) => Array.isArray(line) && line[0] === record[0]);
    if (index >= 0) this.lines[index] = record;
    else this.lines.push(record);
  }
  text(): string {
    return this.lines.map((line) => (Array.isArray(line) ? line.join(':') : line)).join('\n') + '\n';
  }
}

export function mergeAccounts(packaged: Partial<AccountFiles>, config: RootfsConfig): AccountFiles {
  const fail = (message: string): never => {
    throw new RootfsConfigError(`users and groups of variant ${config.variant}: ${message}`);
  };
  const passwd = new ColonFile(packaged.passwd ?? DEFAULT_FILES.passwd);
  const group = new ColonFile(packaged.group ?? DEFAULT_FILES.group);
  const shadow = new ColonFile(packaged.shadow ?? DEFAULT_FILES.shadow);

  const addGroup = (name: string, gid: number, members: string[]): void => {
    const existing = group.find(name);
    if (existing) {
      if (Number(existing[2]) !== gid) fail(`group ${name} has gid ${existing[2]} in the packages' /etc/group, the variant asks for ${gid}`);
      addMembers(existing, members);
      return;
    }
    const clash = group.records().find((record) => Number(record[2]) === gid);
    if (clash) fail(`gid ${gid} for group ${name} is already group ${clash[0]}`);
    group.upsert([name, 'x', String(gid), [...new Set(members)].join(',')]);
  };

  for (const g of config.groups ?? []) addGroup(g.name, g.gid, g.members ?? []);

  for (const user of config.users ?? []) {
    const primaryName = user.group ?? user.name;
    let primary = group.find(primaryName);
    if (!primary) {
      addGroup(primaryName, user.gid ?? user.uid, []);
      primary = group.find(primaryName)!;
    } else if (user.gid !== undefined && Number(primary[2]) !== user.gid) {
      fail(`user ${user.name}: primary group ${primaryName} has gid ${primary[2]}, not ${user.gid}`);
    }
    const existing = passwd.find(user.name);
    if (existing && Number(existing[2]) !== user.uid) {
      fail(`user ${user.name} has uid ${existing[2]} in the packages' /etc/passwd, the variant asks for ${user.uid}`);
    }
    const clash = passwd.records().find((record) => Number(record[2]) === user.uid && record[0] !== user.name);
    if (clash) fail(`uid ${user.uid} for user ${user.name} is already user ${clash[0]}`);
    passwd.upsert([user.name, 'x', String(user.uid), primary[2], user.gecos ?? '', user.home ?? `/home/${user.name}`, user.shell ?? '/bin/sh']);
    shadow.upsert([user.name, user.password === 'empty' ? '' : '!', '', '0', '', '', '', '', '']);
    for (const name of user.groups ?? []) {
      const supplementary = group.find(name);
      if (!supplementary) fail(`user ${user.name}: supplementary group ${name} exists neither in the packages' /etc/group nor in 'groups'`);
      addMembers(supplementary!, [user.name]);
    }
  }

  const rootPassword = config.rootPassword ?? 'keep';
  if (rootPassword !== 'keep') {
    const root = shadow.find('root') ?? ['root', '*', '', '0', '', '', '', '', ''];
    root[1] = rootPassword === 'empty' ? '' : '*';
    shadow.upsert(root);
  }
  const autologin = config.console?.autologin;
  if (autologin && !passwd.find(autologin)) fail(`console.autologin names user ${autologin}, who is in no /etc/passwd`);
  return { passwd: passwd.text(), group: group.text(), shadow: shadow.text() };
}

function addMembers(record: string[], members: string[]): void {
  const current = (record[3] ?? '').split(',').filter(Boolean);
  for (const member of members) if (!current.includes(member)) current.push(member);
  while (record.length < 4) record.push('');
  record[3] = current.join(',');
}

/** The `name:x:id:...` records of passwd/group text, first record of a name or id winning. */
function idRecords(text: string): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    const id = Number(fields[2]);
    if (fields.length >= 3 && fields[0] && fields[2] !== '' && Number.isInteger(id)) out.push([fields[0], id]);
  }
  return out;
}

function firstWins<K, V>(pairs: Array<[K, V]>): Map<K, V> {
  const map = new Map<K, V>();
  for (const [k, v] of pairs) if (!map.has(k)) map.set(k, v);
  return map;
}

/** uid -> name and gid -> name from passwd/group text (names for entries scripts created). */
export function idNames(passwdText: string, groupText: string): { users: Map<number, string>; groups: Map<number, string> } {
  const byId = (text: string) => firstWins(idRecords(text).map(([name, id]): [number, string] => [id, name]));
  return { users: byId(passwdText), groups: byId(groupText) };
}

/** name -> uid and name -> gid (ids for owners a package names, as RPM headers do). */
export function nameIds(passwdText: string, groupText: string): { users: Map<string, number>; groups: Map<string, number> } {
  return { users: firstWins(idRecords(passwdText)), groups: firstWins(idRecords(groupText)) };
}
