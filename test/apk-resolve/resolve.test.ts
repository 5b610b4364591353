import { describe, expect, it } from 'vitest';
import { DependencyFormatError } from '../../stages/sources/apk/depend.js';
import {
  MissingPackageError,
  PackageConflictError,
  ResolveError,
  UnsatisfiableError,
} from '../../stages/sources/apk/resolve-errors.js';
import { type ResolveOptions, resolvePackages } from '../../stages/sources/apk/resolve.js';
import { type PackageSpec, repo } from './index-builder.js';

const names = (r: ReturnType<typeof resolvePackages>): string[] => r.packages.map((p) => `${p.package.name}-${p.package.version}`);

function resolve(specs: PackageSpec[], requests: string[], extra: Partial<ResolveOptions> = {}) {
  return resolvePackages({ requests, indexes: [repo('main', specs)], label: 'iuppiter', ...extra });
}

function failure(fn: () => unknown): ResolveError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ResolveError) return error;
    throw error;
  }
  throw new Error('expected the resolve to fail');
}

describe('closure and ordering', () => {
  const specs: PackageSpec[] = [
    { nv: 'app-1.0-r0', D: 'libfoo tool' },
    { nv: 'libfoo-2.1-r3', D: 'musl' },
    { nv: 'tool-0.5-r0', D: 'musl' },
    { nv: 'musl-1.2.3-r2' },
    { nv: 'unrelated-1-r0', D: 'musl' },
  ];

  it('returns the closed set, sorted by name, with the chain that brought each in', () => {
    const r = resolve(specs, ['app']);
    expect(names(r)).toEqual(['app-1.0-r0', 'libfoo-2.1-r3', 'musl-1.2.3-r2', 'tool-0.5-r0']);
    expect(r.packages.find((p) => p.package.name === 'musl')).toMatchObject({
      reason: 'dependency',
      chain: ['iuppiter', 'app', 'libfoo', 'musl'],
    });
    expect(r.packages[0]).toMatchObject({ reason: 'requested', chain: ['iuppiter', 'app'] });
    expect(r.packages[0]!.package.repository.name).toBe('main');
  });

  it('gives the same answer whatever the order of requests and index records', () => {
    const a = resolve(specs, ['app', 'unrelated']);
    const b = resolvePackages({ requests: ['unrelated', 'app'], indexes: [repo('main', [...specs].reverse())], label: 'iuppiter' });
    expect(names(b)).toEqual(names(a));
    expect(b.packages.map((p) => p.chain)).toEqual(a.packages.map((p) => p.chain));
  });

  it('picks the highest version of a name, and honours version constraints', () => {
    const versions: PackageSpec[] = [{ nv: 'foo-1.9-r0' }, { nv: 'foo-1.10-r0' }, { nv: 'foo-1.10_rc1-r0' }, { nv: 'bar-1-r0', D: 'foo<1.10' }];
    expect(names(resolve(versions, ['foo']))).toEqual(['foo-1.10-r0']);
    expect(names(resolve(versions, ['bar']))).toEqual(['bar-1-r0', 'foo-1.10_rc1-r0']);
    expect(names(resolve(versions, ['foo~1.9']))).toEqual(['foo-1.9-r0']);
    expect(names(resolve(versions, ['foo=1.9-r0']))).toEqual(['foo-1.9-r0']);
  });

  it('follows an exact version dependency (openssh-server needs its own openssh-keygen)', () => {
    const r = resolve(
      [{ nv: 'openssh-server-9.0_p1-r2', D: 'openssh-keygen=9.0_p1-r2' }, { nv: 'openssh-keygen-9.0_p1-r2' }, { nv: 'openssh-keygen-9.1_p1-r0' }],
      ['openssh-server'],
    );
    expect(names(r)).toEqual(['openssh-keygen-9.0_p1-r2', 'openssh-server-9.0_p1-r2']);
  });

  it('matches a checksum dependency (><)', () => {
    const index = repo('main', [{ nv: 'foo-1-r0' }, { nv: 'foo-2-r0' }]);
    const old = index.packages[0]!;
    const r = resolvePackages({ requests: [`foo><${old.checksum}`], indexes: [index] });
    expect(names(r)).toEqual(['foo-1-r0']);
  });
});

describe('virtual names and provider choice', () => {
  it('chooses the provider with the highest provided version for a versioned provide (so:)', () => {
    const r = resolve(
      [
        { nv: 'app-1-r0', D: 'so:libfoo.so.1' },
        { nv: 'libfoo-old-1.2-r0', p: 'so:libfoo.so.1=1.2.0', k: 50 },
        { nv: 'libfoo-1.5-r0', p: 'so:libfoo.so.1=1.5.0' },
      ],
      ['app'],
    );
    // apk compares the provided versions before provider_priority.
    expect(names(r)).toEqual(['app-1-r0', 'libfoo-1.5-r0']);
    expect(r.providers).toEqual([
      { name: 'so:libfoo.so.1', package: 'libfoo', version: '1.5.0', rule: 'provided-version', candidates: ['libfoo-1.5-r0', 'libfoo-old-1.2-r0'] },
    ]);
    expect(r.packages.find((p) => p.package.name === 'libfoo')!.chain).toEqual(['iuppiter', 'app', 'so:libfoo.so.1 (libfoo)']);
  });

  it('uses provider_priority (k:) between equal provided versions', () => {
    const r = resolve(
      [
        { nv: 'openssh-1-r0', D: 'openssh-client' },
        { nv: 'openssh-client-krb5-9.0_p1-r2', p: 'openssh-client=9.0_p1-r2' },
        { nv: 'openssh-client-default-9.0_p1-r2', p: 'openssh-client=9.0_p1-r2', k: 1 },
      ],
      ['openssh'],
    );
    expect(names(r)).toEqual(['openssh-1-r0', 'openssh-client-default-9.0_p1-r2']);
    expect(r.providers[0]).toMatchObject({ name: 'openssh-client', package: 'openssh-client-default', rule: 'provider-priority' });
  });

  const mail: PackageSpec[] = [
    { nv: 'mymailreader-1-r0', p: 'mail-reader', k: 1 },
    { nv: 'mailreadplus-1-r0', p: 'mail-reader', k: 2 },
    { nv: 'client-1-r0', D: 'mail-reader' },
  ];

  it('chooses the highest provider_priority for an unversioned virtual', () => {
    const r = resolve(mail, ['client']);
    expect(names(r)).toEqual(['client-1-r0', 'mailreadplus-1-r0']);
    expect(r.providers[0]).toMatchObject({ name: 'mail-reader', package: 'mailreadplus', version: null, rule: 'provider-priority' });
  });

  it('prefers a provider the request names explicitly, whatever its priority', () => {
    const r = resolve(mail, ['client', 'mymailreader']);
    expect(names(r)).toEqual(['client-1-r0', 'mymailreader-1-r0']);
    expect(r.providers[0]).toMatchObject({ name: 'mail-reader', package: 'mymailreader', rule: 'already-selected', selectedFor: 'mymailreader' });
  });

  const shells: PackageSpec[] = [
    { nv: 'busybox-1.35.0-r17', p: '/bin/sh cmd:sh=1.35.0-r17' },
    { nv: 'dash-binsh-0.5.11-r3', p: '/bin/sh' },
    { nv: 'doas-6.8.2-r2', D: '/bin/sh' },
  ];

  it('never picks an unversioned provide without provider_priority among several providers', () => {
    const error = failure(() => resolve(shells, ['doas']));
    expect(error).toBeInstanceOf(MissingPackageError);
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatchObject({ kind: 'no-candidate', name: '/bin/sh', chain: ['iuppiter', 'doas', '/bin/sh'] });
    expect(error.message).toContain('iuppiter -> doas -> /bin/sh: no provider is chosen: /bin/sh is a virtual name, provided by busybox-1.35.0-r17, dash-binsh-0.5.11-r3');
    expect(error.message).toContain('add one of busybox, dash-binsh to the package list');
  });

  it('uses an already selected provider of an unversioned virtual (/bin/sh from busybox)', () => {
    const r = resolve(shells, ['doas', 'busybox']);
    expect(names(r)).toEqual(['busybox-1.35.0-r17', 'doas-6.8.2-r2']);
    expect(r.providers[0]).toMatchObject({ name: '/bin/sh', package: 'busybox', rule: 'already-selected', selectedFor: 'busybox' });
    // Both unversioned providers may even be installed together.
    expect(names(resolve(shells, ['doas', 'busybox', 'dash-binsh']))).toEqual(['busybox-1.35.0-r17', 'dash-binsh-0.5.11-r3', 'doas-6.8.2-r2']);
  });

  // apk-tools 2.12.10 and every 3.x ("solver: do not auto select virtual-only package with one
  // provider"): a sole unversioned provider is not picked either; 2.12.9 and older picked it.
  it('refuses the only provider of an unversioned virtual that nothing asks for, as apk does', () => {
    const specs: PackageSpec[] = [
      { nv: 'alpine-base-3.16.0-r0', D: 'openrc' },
      { nv: 'openrc-0.44.10-r7', D: '/bin/sh' },
      shells[0]!,
    ];
    const error = failure(() => resolve(specs, ['alpine-base']));
    expect(error).toBeInstanceOf(MissingPackageError);
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatchObject({
      kind: 'no-candidate',
      name: '/bin/sh',
      chain: ['iuppiter', 'alpine-base', 'openrc', '/bin/sh'],
      candidates: [{ package: 'busybox-1.35.0-r17', why: 'unversioned provide without provider_priority, and nothing asks for busybox' }],
    });
    expect(error.message).toContain(
      'iuppiter -> alpine-base -> openrc -> /bin/sh: no provider is chosen: /bin/sh is a virtual name, provided by busybox-1.35.0-r17 ' +
        'without a version or provider_priority, and apk picks such a provider only when something asks for it: add busybox to the package list',
    );
  });

  it('takes the only provider of an unversioned virtual once it is asked for by name, even through a versioned dependency', () => {
    const alone = [shells[0]!, shells[2]!];
    const requested = resolve(alone, ['doas', 'busybox']);
    expect(names(requested)).toEqual(['busybox-1.35.0-r17', 'doas-6.8.2-r2']);
    expect(requested.providers[0]).toMatchObject({ name: '/bin/sh', package: 'busybox', rule: 'already-selected', selectedFor: 'busybox' });

    const depended = resolve([...alone, { nv: 'app-1-r0', D: 'busybox>=1.35' }], ['app', 'doas']);
    expect(names(depended)).toEqual(['app-1-r0', 'busybox-1.35.0-r17', 'doas-6.8.2-r2']);
  });

  it('takes the only provider of an unversioned virtual when it has a provider_priority', () => {
    const r = resolve([{ ...shells[0]!, k: 10 }, shells[2]!], ['doas']);
    expect(names(r)).toEqual(['busybox-1.35.0-r17', 'doas-6.8.2-r2']);
    expect(r.providers[0]).toMatchObject({ name: '/bin/sh', package: 'busybox', rule: 'only-candidate' });
  });

  it('a name that is also a real package goes to that package, not to an unversioned provider', () => {
    const specs: PackageSpec[] = [{ nv: 'app-1-r0', D: 'sh' }, { nv: 'sh-2-r0' }, { nv: 'busybox-1.35.0-r17', p: 'sh' }];
    expect(names(resolve(specs, ['app']))).toEqual(['app-1-r0', 'sh-2-r0']);
  });

  it('auto-selects a versioned provide but not an unversioned one beside it', () => {
    const r = resolve(
      [
        { nv: 'app-1-r0', D: 'cmd:ssh' },
        { nv: 'dropbear-ssh-2022.82-r1', p: 'cmd:ssh' },
        { nv: 'openssh-client-default-9.0_p1-r2', p: 'cmd:ssh=9.0_p1-r2' },
      ],
      ['app'],
    );
    expect(names(r)).toEqual(['app-1-r0', 'openssh-client-default-9.0_p1-r2']);
    expect(r.providers[0]).toMatchObject({ name: 'cmd:ssh', package: 'openssh-client-default', rule: 'only-candidate' });
  });

  it('prefers the first repository for the same package, a higher version over repository order', () => {
    const main = repo('main', [{ nv: 'foo-1-r0' }, { nv: 'bar-1-r0' }]);
    const extra = repo('extra', [{ nv: 'foo-1-r0' }, { nv: 'bar-2-r0' }]);
    const r = resolvePackages({ requests: ['foo', 'bar'], indexes: [main, extra] });
    expect(r.packages.map((p) => `${p.package.name}-${p.package.version}@${p.package.repository.name}`)).toEqual(['bar-2-r0@extra', 'foo-1-r0@main']);
  });
});

describe('conflicts', () => {
  it('names both sides of a ! conflict and why each is there', () => {
    const error = failure(() =>
      resolve(
        [
          { nv: 'openssh-client-default-9.0_p1-r2', D: '!openssh-client-krb5' },
          { nv: 'openssh-client-krb5-9.0_p1-r2' },
          { nv: 'kerberos-tools-1-r0', D: 'openssh-client-krb5' },
        ],
        ['openssh-client-default', 'kerberos-tools'],
      ),
    );
    expect(error).toBeInstanceOf(PackageConflictError);
    expect(error.problems[0]).toMatchObject({
      kind: 'conflict',
      name: 'openssh-client-krb5',
      sides: [
        { package: 'openssh-client-krb5-9.0_p1-r2', chain: ['iuppiter', 'kerberos-tools', 'openssh-client-krb5'], wants: 'openssh-client-krb5' },
        { package: 'openssh-client-default-9.0_p1-r2', chain: ['iuppiter', 'openssh-client-default'], wants: '!openssh-client-krb5' },
      ],
    });
    expect(error.message).toContain(
      'conflict on openssh-client-krb5: openssh-client-krb5-9.0_p1-r2 is installed (iuppiter -> kerberos-tools -> openssh-client-krb5), ' +
        'but openssh-client-default-9.0_p1-r2 (iuppiter -> openssh-client-default) conflicts with it: !openssh-client-krb5',
    );
  });

  it('names both requirers of incompatible versions', () => {
    const error = failure(() =>
      resolve(
        [{ nv: 'a-1-r0', D: 'lib<2' }, { nv: 'b-1-r0', D: 'lib>=2' }, { nv: 'lib-1-r0' }, { nv: 'lib-2-r0' }],
        ['a', 'b'],
      ),
    );
    expect(error).toBeInstanceOf(PackageConflictError);
    const problem = error.problems[0]!;
    expect(problem.kind).toBe('conflict');
    const sides = problem.kind === 'conflict' ? problem.sides.map((s) => `${s.package} wants ${s.wants}`) : [];
    expect(sides.sort()).toEqual(['a-1-r0 wants lib<2', 'b-1-r0 wants lib>=2']);
    expect(error.message).toContain(
      'conflict on lib: iuppiter -> b -> lib>=2 and iuppiter -> a -> lib<2: no single version of lib meets both (lib-2-r0 meets the first)',
    );
  });

  it('refuses two packages that provide the same name with versions', () => {
    const error = failure(() =>
      resolve([{ nv: 'server-a-1-r0', p: 'theservice=1' }, { nv: 'server-b-1-r0', p: 'theservice=2' }], ['server-a', 'server-b']),
    );
    expect(error).toBeInstanceOf(PackageConflictError);
    expect(error.problems[0]).toMatchObject({ kind: 'conflict', name: 'theservice' });
    expect(error.message).toContain(
      'conflict on theservice: server-a-1-r0 (iuppiter -> server-a) provides theservice=1 and server-b-1-r0 (iuppiter -> server-b) provides theservice=2; only one of them can be installed',
    );
  });

  it('lets a package conflict with a name it provides itself', () => {
    const r = resolve([{ nv: 'openssl3-3.0-r0', p: 'openssl=3.0', D: '!openssl' }], ['openssl3']);
    expect(names(r)).toEqual(['openssl3-3.0-r0']);
  });

  it('honours a ! request', () => {
    const specs: PackageSpec[] = [{ nv: 'app-1-r0', D: 'sh' }, { nv: 'bash-5-r0', p: 'sh', k: 10 }, { nv: 'zsh-5-r0', p: 'sh', k: 5 }];
    expect(names(resolve(specs, ['app']))).toEqual(['app-1-r0', 'bash-5-r0']);
    expect(names(resolve(specs, ['app', '!bash']))).toEqual(['app-1-r0', 'zsh-5-r0']);
  });
});

describe('unsatisfiable requests', () => {
  it('names what is missing and the chain that asked for it', () => {
    const error = failure(() =>
      resolve([{ nv: 'openssh-9.0_p1-r2', D: 'so:libcrypto.so.3 musl' }, { nv: 'musl-1.2.3-r2' }], ['openssh', 'musl']),
    );
    expect(error).toBeInstanceOf(MissingPackageError);
    expect(error.problems).toEqual([
      expect.objectContaining({ kind: 'missing', name: 'so:libcrypto.so.3', chain: ['iuppiter', 'openssh', 'so:libcrypto.so.3'], suggestions: [] }),
    ]);
    expect(error.message).toContain('iuppiter -> openssh -> so:libcrypto.so.3: no provider');
  });

  it('suggests the right spelling of a misspelt request', () => {
    const specs: PackageSpec[] = [{ nv: 'smartmontools-7.3-r0' }, { nv: 'hdparm-9.63-r0' }, { nv: 'sdparm-1.12-r0' }];
    const error = failure(() => resolve(specs, ['smartmontool', 'hdparm']));
    expect(error.problems[0]).toMatchObject({ kind: 'missing', name: 'smartmontool', suggestions: ['smartmontools'] });
    expect(error.message).toContain('iuppiter -> smartmontool: no provider');
    expect(error.message).toContain('did you mean smartmontools?');
    expect(failure(() => resolve(specs, ['hdprm'])).problems[0]).toMatchObject({ suggestions: ['hdparm'] });
    expect(failure(() => resolve(specs, ['smartmon'])).problems[0]).toMatchObject({ suggestions: ['smartmontools'] });
    expect(failure(() => resolve(specs, ['xyzzy'])).problems[0]).toMatchObject({ suggestions: [] });
  });

  it('suggests provided names too', () => {
    const error = failure(() => resolve([{ nv: 'busybox-1.35.0-r17', p: 'cmd:sh=1.35.0-r17' }], ['cmd:hs']));
    expect(error.problems[0]).toMatchObject({ suggestions: ['cmd:sh'] });
  });

  it('reports a version no package has, with what is available', () => {
    const error = failure(() => resolve([{ nv: 'busybox-1.35.0-r17' }, { nv: 'busybox-1.34.1-r7' }], ['busybox>=1.36']));
    expect(error).toBeInstanceOf(UnsatisfiableError);
    expect(error.problems[0]).toMatchObject({
      kind: 'unsatisfiable',
      chain: ['iuppiter', 'busybox>=1.36'],
      available: ['busybox-1.35.0-r17', 'busybox-1.34.1-r7'],
    });
  });

  it('reports every problem at once, root causes first', () => {
    const error = failure(() =>
      resolve([{ nv: 'a-1-r0', D: 'missing-lib' }, { nv: 'b-1-r0', D: 'c>=5' }, { nv: 'c-1-r0' }], ['a', 'b']),
    );
    expect(error.problems.map((p) => p.kind)).toEqual(['missing', 'unsatisfiable']);
    expect(error.message).toMatch(/^cannot resolve the package list of iuppiter: 2 problems\n  - iuppiter -> a -> missing-lib: no provider/);
  });

  it('refuses a package apk could not install, saying why', () => {
    const error = failure(() => resolve([{ nv: 'future-1-r0', extra: ['Z:needs-apk-4'] }], ['future']));
    expect(error).toBeInstanceOf(UnsatisfiableError);
    expect(error.message).toContain('future-1-r0 (repository main) cannot be installed: unknown index field "Z:" (it needs a newer apk)');
  });

  it('refuses a package built for another architecture', () => {
    expect(() => resolve([{ nv: 'tool-1-r0', A: 'aarch64' }], ['tool'], { arch: 'x86_64' })).toThrow(/built for aarch64, not x86_64/);
    expect(names(resolve([{ nv: 'data-1-r0', A: 'noarch' }], ['data'], { arch: 'x86_64' }))).toEqual(['data-1-r0']);
  });

  it('rejects a malformed request before resolving', () => {
    expect(() => resolve([{ nv: 'a-1-r0' }], ['a>=1.0bc'])).toThrow(DependencyFormatError);
    expect(() => resolve([{ nv: 'a-1-r0' }], ['a@edge'])).toThrow(/no repository is tagged @edge \(repositories: main\)/);
  });
});

describe('install_if', () => {
  const specs: PackageSpec[] = [
    { nv: 'openrc-0.44.10-r7' },
    { nv: 'chrony-4.2-r0' },
    { nv: 'chrony-openrc-4.2-r0', i: 'openrc chrony=4.2-r0' },
    { nv: 'chrony-doc-4.2-r0', i: 'docs chrony=4.2-r0' },
    { nv: 'docs-0.2-r5' },
    { nv: 'chrony-bash-completion-4.1-r0', i: 'bash-completion chrony=4.1-r0' },
    { nv: 'bash-completion-2.11-r4' },
  ];

  it('pulls in a package whose conditions are all installed', () => {
    const r = resolve(specs, ['chrony', 'openrc']);
    expect(names(r)).toEqual(['chrony-4.2-r0', 'chrony-openrc-4.2-r0', 'openrc-0.44.10-r7']);
    expect(r.packages.find((p) => p.package.name === 'chrony-openrc')).toMatchObject({ reason: 'install-if' });
  });

  it('does not when one condition is missing', () => {
    expect(names(resolve(specs, ['chrony']))).toEqual(['chrony-4.2-r0']);
  });

  it('does not when a condition names another version', () => {
    expect(names(resolve(specs, ['chrony', 'bash-completion']))).toEqual(['bash-completion-2.11-r4', 'chrony-4.2-r0']);
  });

  it('chains: an install_if package can trigger another one', () => {
    const chained: PackageSpec[] = [
      ...specs,
      { nv: 'chrony-openrc-doc-4.2-r0', i: 'docs chrony-openrc=4.2-r0' },
    ];
    expect(names(resolve(chained, ['chrony', 'openrc', 'docs']))).toEqual([
      'chrony-4.2-r0',
      'chrony-doc-4.2-r0',
      'chrony-openrc-4.2-r0',
      'chrony-openrc-doc-4.2-r0',
      'docs-0.2-r5',
      'openrc-0.44.10-r7',
    ]);
  });
});

describe('repository pinning', () => {
  const main = repo('main', [{ nv: 'foo-1-r0' }, { nv: 'app-1-r0', D: 'foo' }]);
  const edge = repo('edge', [{ nv: 'foo-2-r0', D: 'libnew' }, { nv: 'libnew-1-r0' }, { nv: 'edgeonly-1-r0' }], { tag: 'edge' });

  it('keeps packages of a tagged repository out unless asked for with the tag', () => {
    const plain = resolvePackages({ requests: ['app'], indexes: [main, edge] });
    expect(plain.packages.map((p) => `${p.package.name}-${p.package.version}`)).toEqual(['app-1-r0', 'foo-1-r0']);
  });

  it('takes the tagged repository (and what it needs from there) for name@tag', () => {
    const pinned = resolvePackages({ requests: ['app', 'foo@edge'], indexes: [main, edge] });
    expect(pinned.packages.map((p) => `${p.package.name}-${p.package.version}@${p.package.repository.name}`)).toEqual([
      'app-1-r0@main',
      'foo-2-r0@edge',
      'libnew-1-r0@edge',
    ]);
  });

  it('says how to ask for a package only a tagged repository has', () => {
    expect(() => resolvePackages({ requests: ['edgeonly'], indexes: [main, edge], label: 'acorn' })).toThrow(
      /acorn -> edgeonly: edgeonly-1-r0: it is only in the repository tagged @edge; request it as edgeonly@edge/,
    );
  });
});
