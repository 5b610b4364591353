// The review on real scriptlets: rpm's own test packages (../shared/corpus/rpm-tests), read with
// `rpm -qp --scripts` as the oracle of what each package carries.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../fixtures/paths.js';
import { reviewScriptlets, type PackageScriptlets } from '../../stages/rootfs/rpm-actions/index.js';

const RPMS = join(projectRoot(), '..', 'shared', 'corpus', 'rpm-tests', 'RPMS');
const present = existsSync(RPMS);
if (!present) console.warn(`skipping the rpm-tests corpus review: ${RPMS} is absent`);

/** `rpm -qp --scripts` output as scriptlets: "<name> scriptlet (using <prog>):" + body, or "<name> program: <prog>". */
function scriptletsOf(file: string): PackageScriptlets {
  const name = execFileSync('rpm', ['-qp', '--qf', '%{NAME}', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const text = execFileSync('rpm', ['-qp', '--scripts', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const scriptlets: Array<{ name: string; interpreter: string; body: string }> = [];
  for (const line of text.split('\n')) {
    const withBody = /^(\w+) scriptlet(?: \(through .*\))? \(using (.+)\):$/.exec(line);
    const program = /^(\w+) program: (.+)$/.exec(line);
    if (withBody) scriptlets.push({ name: withBody[1], interpreter: withBody[2], body: '' });
    else if (program) scriptlets.push({ name: program[1], interpreter: program[2], body: '' });
    else if (scriptlets.length > 0) scriptlets.at(-1)!.body += `${line}\n`;
  }
  for (const s of scriptlets) s.body = s.body.replace(/\n+$/, '\n');
  return { name, scriptlets };
}

describe.skipIf(!present)('reviewScriptlets on rpm-tests packages', () => {
  const packages = present ? readdirSync(RPMS).filter((f) => f.endsWith('.rpm')).sort().map((f) => scriptletsOf(join(RPMS, f))) : [];

  it('finds the scriptlets rpm reports', () => {
    const names = packages.filter((p) => p.scriptlets.length > 0).map((p) => `${p.name}:${p.scriptlets.map((s) => `${s.name}(${s.interpreter})`).join(',')}`);
    expect(names).toEqual([
      'hello:preinstall(/bin/sh),postinstall(/bin/sh),preuninstall(/bin/sh),postuninstall(/bin/sh)',
      'hello:preinstall(/bin/sh),postinstall(/bin/sh),preuninstall(/bin/sh),postuninstall(/bin/sh)',
      'luafork:preinstall(<lua>)',
      'luafork:preinstall(<lua>)',
      'mwe-rpm-lua-problem:preinstall(<lua>)',
    ]);
  });

  it("covers hello's empty /bin/sh scriptlets and mwe's print-only Lua, reports luafork's posix.fork", () => {
    const review = reviewScriptlets(packages);
    expect(review.uncovered.map((u) => `${u.package}/${u.scriptlet}: ${u.reason}`)).toEqual([
      'luafork/pre: Lua scriptlet calling os.exit, posix.fork, posix.wait: no known signature',
      'luafork/pre: Lua scriptlet calling os.exit, posix.fork, posix.wait: no known signature',
    ]);
    expect(review.uncovered[0].firstLines).toMatch(/^local pid = posix\.fork\(\)/);
    expect(review.covered.map((c) => `${c.package}/${c.scriptlet}:${c.status}`)).toEqual([
      'hello/pre:covered',
      'hello/post:covered',
      'hello/preun:not-on-install',
      'hello/postun:not-on-install',
      'hello/pre:covered',
      'hello/post:covered',
      'hello/preun:not-on-install',
      'hello/postun:not-on-install',
      'mwe-rpm-lua-problem/pre:covered',
    ]);
    expect(reviewScriptlets(packages, ['luafork/pre']).uncovered).toEqual([]);
  });
});
