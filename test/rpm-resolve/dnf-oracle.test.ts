// The resolver against dnf itself (Debian's python3-dnf, libsolv 0.7) on the real CentOS Stream 9
// BaseOS repodata from ../shared/corpus: the same install set, package for package, with weak
// dependencies on and off. dnf-oracle.py runs dnf metadata-only into an empty temporary root.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../fixtures/paths.js';
import { RpmPackageConflictError } from '../../stages/sources/rpm/resolve-errors.js';
import { type PackagePool, type RpmResolution, buildRpmPool, resolveRpmPackages } from '../../stages/sources/rpm/resolve.js';
import { BASEOS_DIR, type CorpusRepository, baseosPresent, loadBaseos } from './corpus.js';

const ORACLE = join(projectRoot(), 'test', 'rpm-resolve', 'dnf-oracle.py');
const PYTHON = '/usr/bin/python3';
const corpus = baseosPresent();
const dnfPresent = spawnSync(PYTHON, ['-c', 'import dnf'], { stdio: 'ignore' }).status === 0;

// The LevitateOS (Rocky) package list, as far as BaseOS has it (../shared/notes/levitateos.md).
const LEVITATE = [
  'coreutils', 'procps-ng', 'which', 'file', 'grep', 'findutils', 'tar', 'sudo', 'util-linux', 'shadow-utils', 'iproute',
  'parted', 'kbd', 'kmod', 'squashfs-tools', 'microcode_ctl', 'openssh-server', 'openssh-clients', 'NetworkManager-tui',
  'NetworkManager-wifi', 'bluez', 'pciutils', 'usbutils', 'tmux', 'vim-minimal', 'man-db', 'rsync', 'lvm2', 'mdadm',
  'smartmontools', 'hdparm', 'nvme-cli', 'dmidecode', 'binutils', 'gnupg2', 'openssl', 'python3', 'zip', 'unzip', 'tree',
  'polkit', 'kernel', 'systemd',
];
// An @core-like server set.
const CORE = [
  'kernel', 'systemd', 'dracut', 'NetworkManager', 'chrony', 'e2fsprogs', 'xfsprogs', 'dosfstools', 'grub2-efi-x64',
  'efibootmgr', 'cryptsetup', 'less', 'curl', 'ca-certificates', 'tzdata', 'iputils', 'passwd', 'sed', 'gawk', 'rootfiles',
  'audit', 'firewalld', 'policycoreutils', 'selinux-policy-targeted', 'openssh-server', 'sudo', 'bash', 'vim-minimal',
  'rsync', 'lvm2',
];
const SETS: string[][] = [
  ['kernel-core', 'systemd', 'bash'],
  ['bash'],
  ['coreutils'],
  ['systemd'],
  ['openssh-server'],
  ['util-linux'],
  ['dnf'],
  ['cockpit'],
  ['dracut-network'],
  ['/usr/bin/python3'],
  LEVITATE,
  CORE,
];

type Answer = string[] | { error: string };

/** Runs dnf once over many request sets: request line -> sorted `epoch:name-version-release.arch`, or its error. */
function dnfAnswers(sets: readonly string[][], weak: boolean): Map<string, Answer> {
  const out = execFileSync(PYTHON, [ORACLE, BASEOS_DIR, ...(weak ? [] : ['--no-weak']), '--batch'], {
    input: sets.map((s) => s.join(' ')).join('\n') + '\n',
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const answers = new Map<string, Answer>();
  let current: string[] = [];
  for (const line of out.split('\n')) {
    if (line.startsWith('== ')) answers.set(line.slice(3), (current = []));
    else if (line.startsWith('!! ')) answers.set([...answers.keys()].pop()!, { error: line.slice(3) });
    else if (line) current.push(line);
  }
  return answers;
}

function nevras(r: RpmResolution): string[] {
  return r.packages.map(({ package: p }) => `${p.evr.epoch}:${p.name}-${p.evr.version}-${p.evr.release}.${p.arch}`).sort();
}

describe.skipIf(!corpus || !dnfPresent)(
  !corpus
    ? `the resolver against dnf on CentOS Stream 9 BaseOS — SKIPPED: corpus absent (${BASEOS_DIR})`
    : !dnfPresent
      ? `the resolver against dnf on CentOS Stream 9 BaseOS — SKIPPED: ${PYTHON} cannot import dnf (apt-get install python3-dnf)`
      : 'the resolver against dnf on CentOS Stream 9 BaseOS',
  () => {
    let baseos: CorpusRepository;
    let pool: PackagePool;
    let names: string[];
    const answers = new Map<boolean, Map<string, Answer>>();
    const fileCache = new Map<string, string[]>();
    const cachedFileProviders = async (paths: string[]) => {
      const missing = paths.filter((p) => !fileCache.has(p));
      if (missing.length > 0) {
        const found = await baseos.fileProviders(missing);
        for (const p of missing) fileCache.set(p, found.get(p) ?? []);
      }
      return new Map(paths.map((p) => [p, fileCache.get(p)!]));
    };
    const resolve = (requests: string[], weak: boolean) =>
      resolveRpmPackages({ repositories: [baseos.repository], requests, installWeakDeps: weak, fileProviders: cachedFileProviders, pool });

    beforeAll(async () => {
      baseos = await loadBaseos();
      pool = buildRpmPool([baseos.repository]);
      names = [...new Set(baseos.repository.packages.filter((p) => p.arch !== 'i686').map((p) => p.name))].sort();
      const all = [...SETS, ...names.map((n) => [n]), ['coreutils', 'coreutils-single'], ['curl', 'curl-minimal']];
      for (const weak of [true, false]) answers.set(weak, dnfAnswers(all, weak));
    });

    for (const weak of [true, false]) {
      for (const set of SETS) {
        const title = set.length > 8 ? `${set.slice(0, 4).join(' ')} ... (${set.length} requests)` : set.join(' ');
        it(`installs what dnf installs for ${title}, weak dependencies ${weak ? 'on' : 'off'}`, async () => {
          const expected = answers.get(weak)!.get(set.join(' '));
          expect(Array.isArray(expected), `dnf: ${JSON.stringify(expected)}`).toBe(true);
          const got = nevras(await resolve(set, weak));
          expect(got).toEqual(expected);
        });
      }

      it(`installs what dnf installs for each x86_64 and noarch package name alone, weak dependencies ${weak ? 'on' : 'off'}`, async () => {
        const differences: string[] = [];
        let compared = 0;
        for (const name of names) {
          const expected = answers.get(weak)!.get(name);
          let got: Answer;
          try {
            got = nevras(await resolve([name], weak));
          } catch (error) {
            got = { error: (error as Error).message };
          }
          compared++;
          if (!Array.isArray(expected) || !Array.isArray(got)) {
            if (Array.isArray(expected) !== Array.isArray(got)) differences.push(`${name}: dnf ${JSON.stringify(expected).slice(0, 200)}, here ${JSON.stringify(got).slice(0, 200)}`);
            continue;
          }
          const want = new Set(expected);
          const have = new Set(got);
          const extra = got.filter((x) => !want.has(x));
          const missing = expected.filter((x) => !have.has(x));
          if (extra.length + missing.length > 0) differences.push(`${name}: extra ${extra.join(' ')}; missing ${missing.join(' ')}`);
        }
        expect(compared).toBeGreaterThan(800);
        expect(differences).toEqual([]);
      });

      it(`fails where dnf fails (conflicting requests), naming both sides, weak dependencies ${weak ? 'on' : 'off'}`, async () => {
        for (const [a, b] of [['coreutils', 'coreutils-single'], ['curl', 'curl-minimal']] as const) {
          expect(answers.get(weak)!.get(`${a} ${b}`)).toMatchObject({ error: expect.stringContaining('conflict') });
          const error = await resolve([a, b], weak).then(
            () => null,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(RpmPackageConflictError);
          expect((error as Error).message).toContain(`(world -> ${a})`);
          expect((error as Error).message).toContain(`(world -> ${b})`);
        }
      });
    }

    it('resolves kernel-core systemd bash in tens of milliseconds', async () => {
      const fresh = async () => {
        const started = performance.now();
        await resolveRpmPackages({ repositories: [baseos.repository], requests: ['kernel-core', 'systemd', 'bash'], fileProviders: cachedFileProviders });
        return performance.now() - started;
      };
      await fresh(); // warm up the JIT
      const times = [await fresh(), await fresh(), await fresh()].sort((a, b) => a - b);
      console.log(`resolve kernel-core systemd bash (pool indexing included): median ${times[1]!.toFixed(1)} ms`);
      expect(times[1]).toBeLessThan(250);
    });
  },
);
