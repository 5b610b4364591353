// The list of node kinds (stages/index.ts) is the truth the rest derives from: every node a
// variant compiles to is of a listed kind, at its listed version, and runs only tools its kind
// declares; and CI installs the Debian package of every tool and firmware file doctor looks for.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { doctorTools } from '../../cli/commands/doctor.js';
import { compileTarget } from '../../compile/index.js';
import { loadCompileInputs } from '../../compile/load.js';
import { STAGE_KINDS, stageHostFiles, stageKind } from '../../stages/index.js';
import { projectRoot } from '../../fixtures/paths.js';

describe('the list of node kinds', () => {
  it('has each kind once', () => {
    const kinds = STAGE_KINDS.map((k) => k.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
  });

  for (const variant of ['demo', 'iuppiter', 'acorn']) {
    it(`${variant}: every node is of a listed kind and version, and declares only its kind's tools and host files`, async () => {
      const compiled = await compileTarget(await loadCompileInputs(variant, { cwd: projectRoot(), mirrorFlags: [] }), { tests: true });
      expect(compiled.nodes.length).toBeGreaterThan(10);
      for (const node of compiled.nodes) {
        const kind = stageKind(node.kind);
        expect(kind, `${node.id}: kind ${node.kind} is not in stages/index.ts`).toBeDefined();
        expect(`${node.id} v${node.version}`).toBe(`${node.id} v${kind!.version}`);
        if (!kind!.userTools) {
          const declared = kind!.tools.map((t) => t.name);
          for (const tool of node.tools ?? []) expect(declared, `${node.id} runs ${tool}`).toContain(tool);
        }
        for (const file of node.hostFiles ?? []) expect(Object.keys(kind!.hostFiles ?? {}), `${node.id} reads ${file}`).toContain(file);
      }
    });
  }

  it('.ci/debian-packages installs the package of every tool and firmware file doctor looks for', async () => {
    const listed = (await readFile(join(projectRoot(), '.ci/debian-packages'), 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    // Packages Debian 12 always has (essential or required) need no line.
    const always = ['coreutils', 'libc-bin', 'util-linux', 'mount', 'dash', 'gzip', 'fdisk'];
    const needed = new Set([...doctorTools().map((t) => t.debianPackage), ...stageHostFiles().map((f) => f.debianPackage)]);
    for (const pkg of needed) if (!always.includes(pkg)) expect(listed, pkg).toContain(pkg);
  });
});
