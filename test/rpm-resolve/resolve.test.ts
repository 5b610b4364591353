import { describe, expect, it } from 'vitest';
import type { RpmPackageMeta } from '../../stages/sources/rpm/model.js';
import {
  RpmMissingPackageError,
  RpmPackageConflictError,
  RpmResolveError,
} from '../../stages/sources/rpm/resolve-errors.js';
import { type RpmResolveOptions, resolveRpmPackages } from '../../stages/sources/rpm/resolve.js';
import { RichDepError } from '../../stages/sources/rpm/rich-deps.js';
import { pkg, repo } from './repo-builder.js';

type Extra = Partial<Omit<RpmResolveOptions, 'repositories' | 'requests'>>;

async function resolve(packages: RpmPackageMeta[], requests: string[], extra: Extra = {}) {
  return resolveRpmPackages({ repositories: [repo('base', packages)], requests, label: 'levitate', ...extra });
}

async function names(packages: RpmPackageMeta[], requests: string[], extra: Extra = {}): Promise<string[]> {
  return (await resolve(packages, requests, extra)).packages.map((p) => p.nevra);
}

async function failure(promise: Promise<unknown>): Promise<RpmResolveError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RpmResolveError) return error;
    throw error;
  }
  throw new Error('expected the resolve to fail');
}

describe('closure, order and reasons', () => {
  const packages = [
    pkg('app-1.0-1.x86_64', { R: ['libfoo.so.1()(64bit)', 'tool', 'rpmlib(PayloadIsZstd) <= 5.4.18-1'] }),
    pkg('libfoo-2.1-3.x86_64', { P: ['libfoo.so.1()(64bit)'], R: ['glibc'] }),
    pkg('tool-0.5-1.noarch', { Rpre: ['glibc >= 2.34'] }),
    pkg('glibc-2.34-21.el9.x86_64'),
    pkg('unrelated-1-1.x86_64', { R: ['glibc'] }),
  ];

  it('returns the closed set sorted by name, each with the package and dependency that pulled it in', async () => {
    const r = await resolve(packages, ['app']);
    expect(r.packages.map((p) => p.nevra)).toEqual([
      'app-1.0-1.x86_64',
      'glibc-2.34-21.el9.x86_64',
      'libfoo-2.1-3.x86_64',
      'tool-0.5-1.noarch',
    ]);
    expect(r.packages[0]).toMatchObject({ reason: 'requested', dependency: 'app', chain: ['levitate', 'app'], repository: 'base' });
    expect(r.packages[2]).toMatchObject({
      reason: 'requires',
      requiredBy: 'app',
      dependency: 'libfoo.so.1()(64bit)',
      chain: ['levitate', 'app', 'libfoo.so.1()(64bit) (libfoo)'],
    });
    expect(r.packages[1]).toMatchObject({ reason: 'requires', requiredBy: 'libfoo', chain: ['levitate', 'app', 'libfoo.so.1()(64bit) (libfoo)', 'glibc'] });
  });

  it('gives the same answer on every run', async () => {
    const a = await resolve(packages, ['app', 'unrelated']);
    const b = await resolve(packages, ['app', 'unrelated']);
    expect(b).toEqual(a);
  });
});

describe('versions, repositories and architectures', () => {
  it('takes the best EVR (epoch first) and honours a versioned request', async () => {
    const versions = [pkg('foo-1.9-1.x86_64'), pkg('foo-1.10-1.x86_64'), pkg('foo-1:1.0-1.x86_64'), pkg('bar-1-1.x86_64', { R: ['foo < 1:0'] })];
    expect(await names(versions, ['foo'])).toEqual(['foo-1:1.0-1.x86_64']);
    expect(await names(versions, ['bar'])).toEqual(['bar-1-1.x86_64', 'foo-1.10-1.x86_64']);
    expect(await names(versions, ['foo < 1.10'])).toEqual(['foo-1.9-1.x86_64']);
  });

  it('prefers the repository with the better (lower) priority over a newer version', async () => {
    const r = await resolveRpmPackages({
      repositories: [repo('updates', [pkg('foo-2.0-1.x86_64')], 50), repo('pinned', [pkg('foo-1.0-1.x86_64')], 10)],
      requests: ['foo'],
    });
    expect(r.packages.map((p) => `${p.nevra}@${p.repository}`)).toEqual(['foo-1.0-1.x86_64@pinned']);
    const mirrored = await resolveRpmPackages({
      repositories: [repo('slow', [pkg('foo-1.0-1.x86_64')], 90), repo('fast', [pkg('foo-1.0-1.x86_64')], 10)],
      requests: ['foo'],
    });
    expect(mirrored.packages.map((p) => `${p.nevra}@${p.repository}`)).toEqual(['foo-1.0-1.x86_64@fast']);
  });

  it('never installs another architecture: x86_64 (or noarch) wins, even over a newer i686', async () => {
    const multilib = [pkg('glibc-2.34-20.el9.x86_64'), pkg('glibc-2.34-21.el9.i686'), pkg('app-1-1.x86_64', { R: ['glibc'] })];
    expect(await names(multilib, ['app'])).toEqual(['app-1-1.x86_64', 'glibc-2.34-20.el9.x86_64']);
  });

  it('reports a dependency only a foreign-architecture package meets, naming that package', async () => {
    const only32 = [pkg('libold-1-1.i686', { P: ['libold.so.1'] }), pkg('app-1-1.x86_64', { R: ['libold.so.1'] })];
    const error = await failure(resolve(only32, ['app']));
    expect(error).toBeInstanceOf(RpmMissingPackageError);
    expect(error.message).toContain('levitate -> app -> libold.so.1: nothing provides it (only libold-1-1.i686, of another architecture)');
  });
});

describe('what cannot be installed', () => {
  it('names the chain down to the dependency nothing provides', async () => {
    const packages = [
      pkg('kernel-5.14.0-70.el9.x86_64', { R: ['kernel-core = 5.14.0-70.el9'] }),
      pkg('kernel-core-5.14.0-70.el9.x86_64', { R: ['linux-firmware >= 20220209'] }),
      pkg('linux-firmware-20211027-1.el9.noarch'),
    ];
    const error = await failure(resolve(packages, ['kernel']));
    expect(error).toBeInstanceOf(RpmMissingPackageError);
    expect(error.problems[0]).toMatchObject({
      kind: 'nothing-provides',
      dependency: 'linux-firmware >= 20220209',
      chain: ['levitate', 'kernel', 'kernel-core = 5.14.0-70.el9 (kernel-core)', 'linux-firmware >= 20220209'],
    });
    expect(error.message).toContain(
      'levitate -> kernel -> kernel-core = 5.14.0-70.el9 (kernel-core) -> linux-firmware >= 20220209: nothing provides it',
    );
  });

  it('says which request is unknown, with close names', async () => {
    const error = await failure(resolve([pkg('openssh-server-8.7p1-8.el9.x86_64')], ['openssh-sever']));
    expect(error).toBeInstanceOf(RpmMissingPackageError);
    expect(error.message).toContain('levitate -> openssh-sever: no package in the repositories is or provides openssh-sever; did you mean openssh-server?');
  });

  it('names both sides of a conflict and how each was wanted', async () => {
    const packages = [
      pkg('coreutils-8.32-31.el9.x86_64', { C: ['coreutils-single'] }),
      pkg('coreutils-single-8.32-31.el9.x86_64'),
      pkg('tools-1-1.noarch', { R: ['coreutils-single'] }),
    ];
    const error = await failure(resolve(packages, ['coreutils', 'tools']));
    expect(error).toBeInstanceOf(RpmPackageConflictError);
    const problem = error.problems[0]!;
    expect(problem).toMatchObject({ kind: 'conflict', rule: 'conflicts', dependency: 'coreutils-single' });
    expect(error.message).toContain('coreutils-8.32-31.el9.x86_64 (levitate -> coreutils) conflicts (coreutils-single) with coreutils-single-8.32-31.el9.x86_64');
    expect(error.message).toContain('levitate -> tools -> coreutils-single');
  });

  it('names the chain on both sides when dependencies collide', async () => {
    const viaDependency = [pkg('a-1-1.x86_64', { R: ['x'] }), pkg('x-1-1.x86_64'), pkg('b-1-1.x86_64', { C: ['x'] })];
    expect((await failure(resolve(viaDependency, ['a', 'b']))).message).toContain(
      'b-1-1.x86_64 (levitate -> b) conflicts (x) with x-1-1.x86_64 (levitate -> a -> x); only one of them can be installed',
    );
    const twoVersions = [pkg('a-1-1.x86_64', { R: ['lib = 1'] }), pkg('b-1-1.x86_64', { R: ['lib = 2'] }), pkg('lib-1-1.x86_64'), pkg('lib-2-1.x86_64')];
    const error = await failure(resolve(twoVersions, ['a', 'b']));
    expect(error).toBeInstanceOf(RpmPackageConflictError);
    expect(error.problems[0]).toMatchObject({ kind: 'conflict', rule: 'same-name' });
    expect(error.message).toMatch(/lib-2-1\.x86_64 \(levitate -> b -> lib = 2 \(lib\)\) is another version of lib than lib-1-1\.x86_64 \(levitate -> a -> lib = 1 \(lib\)\)/);
  });

  it('explains every alternative when none can be installed', async () => {
    const packages = [
      pkg('a-1-1.x86_64', { R: ['cap'] }),
      pkg('p1-1-1.x86_64', { P: ['cap'], R: ['nope'] }),
      pkg('p2-1-1.x86_64', { P: ['cap'], R: ['nada >= 2'] }),
      pkg('nada-1-1.x86_64'),
    ];
    const error = await failure(resolve(packages, ['a']));
    expect(error.problems.map((p) => p.message)).toEqual([
      'levitate -> a -> cap (p1) -> nope: nothing provides it',
      'levitate -> a -> cap (p2) -> nada >= 2: nothing provides it',
    ]);
  });

  it('refuses a malformed request, and wildcards (dnf would expand them)', async () => {
    await expect(resolve([pkg('a-1-1.x86_64')], ['a >=='])).rejects.toBeInstanceOf(RichDepError);
    await expect(resolve([pkg('a-1-1.x86_64')], ['a*'])).rejects.toThrow(/wildcards are not accepted in a request/);
  });
});

describe('conflicts and obsoletes steer the choice', () => {
  it('takes another provider when the first one conflicts with the rest', async () => {
    const packages = [
      pkg('aexim-4-1.x86_64', { P: ['MTA'] }),
      pkg('postfix-3-1.x86_64', { P: ['MTA'] }),
      pkg('cron-1-1.x86_64', { R: ['MTA'] }),
      pkg('mailstore-1-1.x86_64', { C: ['aexim'] }),
    ];
    expect(await names(packages, ['cron'])).toEqual(['aexim-4-1.x86_64', 'cron-1-1.x86_64']);
    expect(await names(packages, ['cron', 'mailstore'])).toEqual(['cron-1-1.x86_64', 'mailstore-1-1.x86_64', 'postfix-3-1.x86_64']);
  });

  it('installs the package that obsoletes a requested name (dnf obsoletes=True), never both', async () => {
    const packages = [pkg('foo-1-1.x86_64'), pkg('foo-ng-2-1.x86_64', { O: ['foo < 2'], P: ['foo = 2'] })];
    expect(await names(packages, ['foo'])).toEqual(['foo-ng-2-1.x86_64']);
    const both = [pkg('old-1-1.x86_64'), pkg('zzz-new-2-1.x86_64', { O: ['old'] }), pkg('app-1-1.x86_64', { R: ['old'] })];
    const error = await failure(resolve(both, ['app', 'zzz-new']));
    expect(error).toBeInstanceOf(RpmPackageConflictError);
    expect(error.message).toMatch(/zzz-new-2-1\.x86_64 \(levitate -> zzz-new\) obsoletes \(old\) old-1-1\.x86_64/);
  });

  it('prefers, among providers, the one that obsoletes the others', async () => {
    const packages = [
      pkg('aaa-legacy-1-1.x86_64', { P: ['cap'] }),
      pkg('zzz-modern-1-1.x86_64', { P: ['cap'], O: ['aaa-legacy'] }),
      pkg('app-1-1.x86_64', { R: ['cap'] }),
    ];
    expect(await names(packages, ['app'])).toEqual(['app-1-1.x86_64', 'zzz-modern-1-1.x86_64']);
  });
});

describe('choosing among providers (libsolv policy)', () => {
  const providers = [pkg('alpha-1-1.x86_64', { P: ['cap'] }), pkg('beta-1-1.x86_64', { P: ['cap'] }), pkg('app-1-1.x86_64', { R: ['cap'] })];

  it('takes the alphabetically first name when nothing else decides', async () => {
    expect(await names(providers, ['app'])).toEqual(['alpha-1-1.x86_64', 'app-1-1.x86_64']);
  });

  it('takes a provider that is installed anyway', async () => {
    expect(await names(providers, ['app', 'beta'])).toEqual(['app-1-1.x86_64', 'beta-1-1.x86_64']);
    const viaDependency = [...providers, pkg('tools-1-1.x86_64', { R: ['beta'] })];
    expect(await names(viaDependency, ['app', 'tools'])).toEqual(['app-1-1.x86_64', 'beta-1-1.x86_64', 'tools-1-1.x86_64']);
  });

  it('takes the provider an installed package recommends, even without installing recommendations', async () => {
    const recommended = [...providers.slice(0, 2), pkg('app-1-1.x86_64', { R: ['cap'], Rec: ['beta'] })];
    expect(await names(recommended, ['app'], { installWeakDeps: false })).toEqual(['app-1-1.x86_64', 'beta-1-1.x86_64']);
  });

  it('prefers the provider of a higher version of a capability they share', async () => {
    const python = [
      pkg('python3.9-3.9.10-1.x86_64', { P: ['python(abi) = 3.9'] }),
      pkg('python3.11-3.11.2-1.x86_64', { P: ['python(abi) = 3.11'] }),
      pkg('script-1-1.noarch', { R: ['python(abi)'] }),
    ];
    expect(await names(python, ['script'])).toEqual(['python3.11-3.11.2-1.x86_64', 'script-1-1.noarch']);
  });
});

describe('rich dependencies', () => {
  it('installs the conditional part only when its condition is installed', async () => {
    const packages = [
      pkg('kernel-core-5.14-1.x86_64', { R: ['((linux-firmware >= 20200619) if linux-firmware)'] }),
      pkg('linux-firmware-20191202-1.noarch'),
      pkg('linux-firmware-20220209-1.noarch'),
    ];
    expect(await names(packages, ['kernel-core'])).toEqual(['kernel-core-5.14-1.x86_64']);
    expect(await names(packages, ['kernel-core', 'linux-firmware'])).toEqual(['kernel-core-5.14-1.x86_64', 'linux-firmware-20220209-1.noarch']);
    const error = await failure(resolve(packages, ['kernel-core', 'linux-firmware < 20200101']));
    expect(error.message).toContain('linux-firmware');
  });

  it('meets an "or" with the first name, or with whichever is installed anyway; honours versioned atoms', async () => {
    const packages = [
      pkg('NetworkManager-1.36-1.x86_64'),
      pkg('dhclient-4.4-1.x86_64'),
      pkg('dracut-network-055-1.x86_64', { R: ['(NetworkManager >= 1.20 or dhclient)'] }),
    ];
    expect(await names(packages, ['dracut-network'])).toEqual(['NetworkManager-1.36-1.x86_64', 'dracut-network-055-1.x86_64']);
    expect(await names(packages, ['dracut-network', 'dhclient'])).toEqual(['dhclient-4.4-1.x86_64', 'dracut-network-055-1.x86_64']);
    const old = [pkg('NetworkManager-1.10-1.x86_64'), ...packages.slice(1)];
    expect(await names(old, ['dracut-network'])).toEqual(['dhclient-4.4-1.x86_64', 'dracut-network-055-1.x86_64']);
  });

  it('handles and, else, unless and with', async () => {
    const packages = [
      pkg('a-1-1.noarch'),
      pkg('b-1-1.noarch'),
      pkg('c-1-1.noarch'),
      pkg('d-1-1.noarch', { P: ['feature'] }),
      pkg('e-1-1.noarch', { P: ['feature', 'feature-extra'] }),
      pkg('uses-and-1-1.noarch', { R: ['(a and b)'] }),
      pkg('uses-else-1-1.noarch', { R: ['(a if b else c)'] }),
      pkg('uses-unless-1-1.noarch', { R: ['(a unless b)'] }),
      pkg('uses-with-1-1.noarch', { R: ['(feature with feature-extra)'] }),
    ];
    expect(await names(packages, ['uses-and'])).toEqual(['a-1-1.noarch', 'b-1-1.noarch', 'uses-and-1-1.noarch']);
    // libsolv reads `a if b else c` as (a | -b) & (c | b): b and c are both candidates of the
    // second clause, and b comes first by name, which then requires a.
    expect(await names(packages, ['uses-else'])).toEqual(['a-1-1.noarch', 'b-1-1.noarch', 'uses-else-1-1.noarch']);
    const noB = packages.filter((p) => p.name !== 'b');
    expect(await names(noB, ['uses-else'])).toEqual(['c-1-1.noarch', 'uses-else-1-1.noarch']);
    // ... and `a unless b` as a & -b.
    expect(await names(packages, ['uses-unless'])).toEqual(['a-1-1.noarch', 'uses-unless-1-1.noarch']);
    expect((await failure(resolve(packages, ['uses-unless', 'b']))).message).toContain('(a unless b)');
    expect(await names(packages, ['uses-with'])).toEqual(['e-1-1.noarch', 'uses-with-1-1.noarch']);
  });
});

describe('weak dependencies', () => {
  const packages = [
    pkg('glibc-2.34-1.x86_64', { Rec: ['glibc-langpack-en'] }),
    pkg('glibc-langpack-en-2.34-1.x86_64', { R: ['glibc'] }),
    pkg('glibc-langpack-de-2.34-1.x86_64', { R: ['glibc'], Sup: ['(glibc and (langpacks-core-de or langpacks-core-de_AT))'] }),
    pkg('langpacks-core-de-3.0-1.noarch'),
    pkg('vim-9-1.x86_64', { Rec: ['vim-extras', 'broken-plugin'] }),
    pkg('vim-extras-9-1.noarch'),
    pkg('broken-plugin-1-1.noarch', { R: ['no-such-thing'] }),
  ];

  it('installs recommendations (dnf install_weak_deps=True), and skips those that cannot be installed', async () => {
    const r = await resolve(packages, ['vim', 'glibc']);
    expect(r.packages.map((p) => p.nevra)).toEqual([
      'glibc-2.34-1.x86_64',
      'glibc-langpack-en-2.34-1.x86_64',
      'vim-9-1.x86_64',
      'vim-extras-9-1.noarch',
    ]);
    expect(r.packages[3]).toMatchObject({ reason: 'recommends', requiredBy: 'vim', dependency: 'vim-extras' });
  });

  it('leaves them out when weak dependencies are off', async () => {
    expect(await names(packages, ['vim', 'glibc'], { installWeakDeps: false })).toEqual(['glibc-2.34-1.x86_64', 'vim-9-1.x86_64']);
  });

  it('installs a package that supplements what is installed (langpacks), and says so', async () => {
    const r = await resolve(packages, ['glibc', 'langpacks-core-de']);
    expect(r.packages.map((p) => p.nevra)).toEqual([
      'glibc-2.34-1.x86_64',
      'glibc-langpack-de-2.34-1.x86_64',
      'glibc-langpack-en-2.34-1.x86_64',
      'langpacks-core-de-3.0-1.noarch',
    ]);
    expect(r.packages[1]).toMatchObject({
      reason: 'supplements',
      dependency: '(glibc and (langpacks-core-de or langpacks-core-de_AT))',
    });
    expect(await names(packages, ['glibc', 'langpacks-core-de'], { installWeakDeps: false })).toEqual([
      'glibc-2.34-1.x86_64',
      'langpacks-core-de-3.0-1.noarch',
    ]);
  });
});

describe('file dependencies', () => {
  const packages = [
    pkg('bash-5.1-2.x86_64', { F: ['/usr/bin/bash', '/usr/bin/sh'] }),
    pkg('python3-libs-3.9-1.x86_64'),
    pkg('script-1-1.noarch', { R: ['/usr/bin/sh', '/usr/lib64/python3.9/os.py'] }),
  ];

  it('meets paths primary.xml lists, and asks the filelists lookup for the others', async () => {
    const asked: string[][] = [];
    const fileProviders = async (paths: string[]) => {
      asked.push(paths);
      return new Map([['/usr/lib64/python3.9/os.py', ['python3-libs-0:3.9-1.x86_64']]]);
    };
    const r = await resolve(packages, ['script'], { fileProviders });
    expect(asked).toEqual([['/usr/lib64/python3.9/os.py']]);
    expect(r.packages.map((p) => p.nevra)).toEqual(['bash-5.1-2.x86_64', 'python3-libs-3.9-1.x86_64', 'script-1-1.noarch']);
    expect(r.packages[1]).toMatchObject({ dependency: '/usr/lib64/python3.9/os.py', chain: ['levitate', 'script', '/usr/lib64/python3.9/os.py (python3-libs)'] });
    expect(r.stats.fileLookups).toBe(1);
  });

  it('reports a path no package lists', async () => {
    const error = await failure(resolve(packages, ['script'], { fileProviders: async () => new Map() }));
    expect(error.message).toContain('levitate -> script -> /usr/lib64/python3.9/os.py: nothing provides it');
  });

  it('takes a path as a request, as dnf does', async () => {
    expect(await names(packages, ['/usr/bin/sh'])).toEqual(['bash-5.1-2.x86_64']);
  });
});
