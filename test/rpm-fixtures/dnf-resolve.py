# Oracle for the RPM fixture mirror: Debian's python3-dnf resolves a package list offline against
# the mirror's file:// repositories with gpgcheck and repo_gpgcheck on, downloads the transaction
# and checks every package's signature. Prints one JSON object; exits 1 on any problem.
# usage: python3 dnf-resolve.py MIRROR_ROOT WORK_DIR PKG...
import json
import os
import sys

import dnf
import dnf.exceptions

root, work, names = sys.argv[1], sys.argv[2], sys.argv[3:]
keys = ' '.join('file://' + os.path.join(root, 'RPM-GPG-KEY-pipeline-demo-' + k) for k in ('rsa', 'ed25519'))

base = dnf.Base()
conf = base.conf
conf.installroot = os.path.join(work, 'root')
conf.cachedir = os.path.join(work, 'cache')
conf.logdir = os.path.join(work, 'log')
conf.persistdir = os.path.join(work, 'persist')
conf.reposdir = []
for d in (conf.cachedir, conf.logdir, conf.persistdir, conf.installroot):
    os.makedirs(d, exist_ok=True)
conf.substitutions['releasever'] = '10'
conf.substitutions['basearch'] = 'x86_64'
conf.arch = 'x86_64'
conf.basearch = 'x86_64'
conf.gpgcheck = True
conf.repo_gpgcheck = True
conf.install_weak_deps = True
conf.assumeyes = True
for repo_id in ('BaseOS', 'AppStream'):
    base.repos.add_new_repo(
        repo_id.lower(), conf,
        baseurl=['file://' + os.path.join(root, '$releasever', repo_id, '$basearch', 'os')],
        gpgcheck=True, repo_gpgcheck=True, gpgkey=keys,  # a string: a list keeps only its first URL (dnf 4.14)
    )
result = {'ok': False}
try:
    base.fill_sack(load_system_repo=False)
    for name in names:
        base.install(name)
    base.resolve()
    pkgs = sorted(base.transaction.install_set, key=lambda p: p.name)
    result['install'] = [
        {'name': p.name, 'evr': p.evr, 'arch': p.arch, 'repo': p.reponame, 'location': p.location}
        for p in pkgs
    ]
    base.download_packages(pkgs)
    bad = []
    for p in pkgs:
        code, message = base.package_signature_check(p)
        if code == 1:
            # Unknown key: import from the repository's gpgkey list (as `dnf -y` would), then recheck.
            base._get_key_for_package(p)
            code, message = base.package_signature_check(p)
        if code != 0:
            bad.append({'name': p.name, 'code': code, 'message': message})
    result['signature_failures'] = bad
    result['ok'] = not bad
except (dnf.exceptions.Error, OSError) as err:
    result['error'] = str(err)
print(json.dumps(result))
sys.exit(0 if result['ok'] else 1)
