#!/usr/bin/python3
"""Test oracle: what Debian's dnf (python3-dnf, libsolv) installs from a repository into an empty root.

Metadata only: nothing is downloaded or installed. Usage:
  dnf-oracle.py REPO_DIR [--no-weak] [--time] NAME...
  dnf-oracle.py REPO_DIR [--no-weak] --batch        (request sets on stdin, one per line)
REPO_DIR holds repodata/. Prints the transaction's install set as NEVRA (epoch:name-version-release.arch with
the epoch always written), one per line, sorted. With --time, the resolve time in ms goes to stderr.
Exit 1 with dnf's problem text on stderr when the set cannot be resolved. In batch mode each set's
answer is a block: `== <the request line>`, then the NEVRAs, or `!! <dnf's problem>` on one line.
"""
import sys
import tempfile
import time

import dnf
import dnf.exceptions


def nevras(base):
    return sorted('%s:%s-%s-%s.%s' % (p.epoch, p.name, p.version, p.release, p.arch) for p in base.transaction.install_set)


def main(argv):
    weak = True
    timing = False
    batch = False
    args = []
    for a in argv:
        if a == '--no-weak':
            weak = False
        elif a == '--time':
            timing = True
        elif a == '--batch':
            batch = True
        else:
            args.append(a)
    repo_dir, names = args[0], args[1:]
    with tempfile.TemporaryDirectory() as root:
        base = dnf.Base()
        conf = base.conf
        conf.installroot = root
        conf.cachedir = root + '/cache'
        conf.persistdir = root + '/persist'
        conf.logdir = root
        conf.reposdir = []
        conf.releasever = '9'
        conf.substitutions['arch'] = 'x86_64'
        conf.substitutions['basearch'] = 'x86_64'
        conf.install_weak_deps = weak
        conf.gpgcheck = False
        conf.assumeyes = True
        base.repos.add_new_repo('baseos', conf, baseurl=['file://' + repo_dir], gpgcheck=False, repo_gpgcheck=False)
        loading = time.perf_counter()
        base.fill_sack(load_system_repo=False)
        if timing:
            print('load_ms %.1f' % ((time.perf_counter() - loading) * 1000), file=sys.stderr)
        if batch:
            for line in sys.stdin:
                request = line.split()
                if not request:
                    continue
                print('== ' + ' '.join(request))
                try:
                    for name in request:
                        base.install(name)
                    base.resolve()
                    print('\n'.join(nevras(base)))
                except dnf.exceptions.Error as error:
                    print('!! ' + ' '.join(str(error).split()))
                base.reset(goal=True)
            base.close()
            return 0
        started = time.perf_counter()
        try:
            for name in names:
                base.install(name)
            base.resolve()
        except dnf.exceptions.Error as error:
            print(str(error), file=sys.stderr)
            return 1
        elapsed = (time.perf_counter() - started) * 1000
        print('\n'.join(nevras(base)))
        if timing:
            print('resolve_ms %.1f' % elapsed, file=sys.stderr)
        base.close()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
