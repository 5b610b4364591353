// What an RPM main header says about the package itself: identity, dependencies, scriptlets,
// triggers. rpminfo.json is written from this; the file list is formats/rpm/files.ts's.
import { createHash } from 'node:crypto';
import type { RpmHeader } from '../../../formats/rpm/header.js';
import { Sense, Tag } from '../../../formats/rpm/tags.js';
import type { DepFlag, Evr, RpmDep } from './model.js';

export interface RpmScriptlet {
  /** prein, postin, preun, postun, pretrans, posttrans, preuntrans, postuntrans, trigger-<n>. */
  name: string;
  /** `/bin/sh`, `<lua>`, `/sbin/ldconfig`... */
  interpreter: string;
  /** Arguments after the interpreter (`-p /sbin/ldconfig` gives none; `%post -p /bin/sh -- -e` gives `-e`). */
  args?: string[];
  sha256: string;
  bytes: number;
  body: Buffer;
}

export interface RpmTrigger {
  /** The scriptlet name in scripts/ (`trigger-0`). */
  script: string;
  /** triggerin, triggerun, triggerpostun, triggerprein. */
  type: string;
  /** The packages whose change runs it. */
  conditions: RpmDep[];
}

export interface RpmIdentity {
  name: string;
  epoch: number;
  version: string;
  release: string;
  arch: string;
}

const SCRIPTLETS: Array<[string, number, number]> = [
  ['pretrans', Tag.PRETRANS, Tag.PRETRANSPROG],
  ['prein', Tag.PREIN, Tag.PREINPROG],
  ['postin', Tag.POSTIN, Tag.POSTINPROG],
  ['preun', Tag.PREUN, Tag.PREUNPROG],
  ['postun', Tag.POSTUN, Tag.POSTUNPROG],
  ['posttrans', Tag.POSTTRANS, Tag.POSTTRANSPROG],
  ['preuntrans', Tag.PREUNTRANS, Tag.PREUNTRANSPROG],
  ['postuntrans', Tag.POSTUNTRANS, Tag.POSTUNTRANSPROG],
];

const TRIGGER_TYPES: Array<[number, string]> = [
  [1 << 16, 'triggerin'],
  [1 << 17, 'triggerun'],
  [1 << 18, 'triggerpostun'],
  [1 << 25, 'triggerprein'],
];

export function readIdentity(header: RpmHeader): RpmIdentity {
  return {
    name: header.string(Tag.NAME) ?? '',
    epoch: header.int(Tag.EPOCH) ?? 0,
    version: header.string(Tag.VERSION) ?? '',
    release: header.string(Tag.RELEASE) ?? '',
    // Source packages have no ARCH; binary ones always do.
    arch: header.string(Tag.ARCH) ?? '',
  };
}

/** `[epoch:]version-release`, as rpm prints an EVR (epoch 0 left out). */
export function evrString(evr: Evr): string {
  return `${evr.epoch ? `${evr.epoch}:` : ''}${evr.version}-${evr.release}`;
}

/** `<name>-<evr>.<arch>`: the identity fetch and unpack nodes share. */
export function nevra(identity: RpmIdentity): string {
  return `${identity.name}-${evrString(identity)}.${identity.arch}`;
}

function senseFlag(sense: number): DepFlag | undefined {
  const cmp = sense & (Sense.LESS | Sense.GREATER | Sense.EQUAL);
  switch (cmp) {
    case Sense.EQUAL:
      return 'EQ';
    case Sense.LESS:
      return 'LT';
    case Sense.LESS | Sense.EQUAL:
      return 'LE';
    case Sense.GREATER:
      return 'GT';
    case Sense.GREATER | Sense.EQUAL:
      return 'GE';
    default:
      return undefined;
  }
}

/** `[epoch:]version[-release]` as a dependency carries it. */
export function parseDepEvr(text: string): { epoch: number; version: string; release?: string } {
  let rest = text;
  let epoch = 0;
  const colon = rest.indexOf(':');
  if (colon > 0 && /^[0-9]+$/.test(rest.slice(0, colon))) {
    epoch = Number(rest.slice(0, colon));
    rest = rest.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) } : { epoch, version: rest };
}

/** One dependency array (REQUIRENAME/FLAGS/VERSION...). */
export function readDeps(header: RpmHeader, nameTag: number, flagsTag: number, versionTag: number): RpmDep[] {
  const names = header.strings(nameTag) ?? [];
  const flags = header.ints(flagsTag) ?? [];
  const versions = header.strings(versionTag) ?? [];
  return names.map((name, i) => {
    const dep: RpmDep = { name };
    const sense = flags[i] ?? 0;
    const flag = senseFlag(sense);
    const version = versions[i] ?? '';
    if (flag && version !== '') {
      dep.flags = flag;
      dep.evr = parseDepEvr(version);
    }
    if (sense & (Sense.PREREQ | Sense.SCRIPT_PRE | Sense.SCRIPT_POST | Sense.SCRIPT_PREUN | Sense.SCRIPT_POSTUN)) dep.pre = true;
    return dep;
  });
}

/** `name`, `name >= 1.2-3`: for rpminfo.json. */
export function depString(dep: RpmDep): string {
  if (!dep.flags || !dep.evr) return dep.name;
  const ops: Record<DepFlag, string> = { EQ: '=', LT: '<', LE: '<=', GT: '>', GE: '>=' };
  const evr = `${dep.evr.epoch ? `${dep.evr.epoch}:` : ''}${dep.evr.version}${dep.evr.release !== undefined ? `-${dep.evr.release}` : ''}`;
  return `${dep.name} ${ops[dep.flags]} ${evr}`;
}

function scriptlet(name: string, body: string | undefined, prog: string[] | undefined): RpmScriptlet | undefined {
  if (body === undefined && prog === undefined) return undefined;
  const data = Buffer.from(body ?? '', 'utf8');
  const [interpreter = '/bin/sh', ...args] = prog ?? [];
  const out: RpmScriptlet = { name, interpreter, sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length, body: data };
  if (args.length > 0) out.args = args;
  return out;
}

/** Every scriptlet present (a `-p <program>` scriptlet has an interpreter and no body), then triggers. */
export function readScriptlets(header: RpmHeader): { scriptlets: RpmScriptlet[]; triggers: RpmTrigger[] } {
  const scriptlets: RpmScriptlet[] = [];
  for (const [name, bodyTag, progTag] of SCRIPTLETS) {
    const found = scriptlet(name, header.string(bodyTag), header.strings(progTag));
    if (found) scriptlets.push(found);
  }
  const triggers: RpmTrigger[] = [];
  const bodies = header.strings(Tag.TRIGGERSCRIPTS) ?? [];
  const progs = header.strings(Tag.TRIGGERSCRIPTPROG) ?? [];
  const names = header.strings(Tag.TRIGGERNAME) ?? [];
  const flags = header.ints(Tag.TRIGGERFLAGS) ?? [];
  const indexes = header.ints(Tag.TRIGGERINDEX) ?? [];
  const deps = readDeps(header, Tag.TRIGGERNAME, Tag.TRIGGERFLAGS, Tag.TRIGGERVERSION);
  bodies.forEach((body, i) => {
    const name = `trigger-${i}`;
    scriptlets.push(scriptlet(name, body, progs[i] ? [progs[i]] : undefined)!);
    const conditions = deps.filter((_, j) => indexes[j] === i && names[j] !== undefined).map(({ pre: _pre, ...dep }) => dep);
    const first = names.findIndex((_, j) => indexes[j] === i);
    const type = TRIGGER_TYPES.find(([bit]) => ((flags[first] ?? 0) & bit) !== 0)?.[1] ?? 'trigger';
    triggers.push({ script: name, type, conditions });
  });
  return { scriptlets, triggers };
}
