// Inputs the host provides: host files (firmware, say) keyed by content and never by path, and
// secret files (private keys) that must exist but never enter a key, a record or a message.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { build } from '../../graph/build.js';
import { ConfigError } from '../../graph/errors.js';
import { explainNode } from '../../graph/explain.js';
import type { NodeSpec } from '../../graph/node.js';
import { planGraph } from '../../graph/plan.js';
import { Session } from '../../graph/session.js';
import { validateGraph } from '../../graph/validate.js';
import { tempProject } from './helpers.js';

function firmwareNode(extra: Partial<NodeSpec> = {}): NodeSpec {
  return {
    id: 'boot',
    kind: 'boot',
    version: 1,
    hostFiles: ['firmware'],
    async run(ctx) {
      await writeFile(join(ctx.out, 'seen'), await readFile(ctx.hostFile('firmware')));
    },
    ...extra,
  };
}

async function open(root: string, candidates: string[]) {
  return Session.open({ root, hostFiles: { firmware: { candidates, what: 'test firmware', hint: 'Debian package test-firmware' } } });
}

describe('host files', () => {
  it('are keyed by content, not path: moved keeps the key, changed content changes it', async () => {
    const root = await tempProject();
    const host = join(root, 'host');
    await mkdir(join(host, 'a'), { recursive: true });
    await mkdir(join(host, 'b'), { recursive: true });
    await writeFile(join(host, 'a/fw.bin'), 'firmware 1');
    const first = await build(await open(root, [join(host, 'a/fw.bin'), join(host, 'b/fw.bin')]), [firmwareNode()]);
    const key = first.outcomes.get('boot')!.key!;
    expect(first.outcomes.get('boot')!.status).toBe('built');

    await rm(join(host, 'a/fw.bin'));
    await writeFile(join(host, 'b/fw.bin'), 'firmware 1');
    const moved = await build(await open(root, [join(host, 'a/fw.bin'), join(host, 'b/fw.bin')]), [firmwareNode()]);
    expect(moved.outcomes.get('boot')).toMatchObject({ status: 'cached', key });

    await writeFile(join(host, 'b/fw.bin'), 'firmware 2');
    const session = await open(root, [join(host, 'a/fw.bin'), join(host, 'b/fw.bin')]);
    const graph = validateGraph([firmwareNode()]);
    const explanation = explainNode('boot', await planGraph(session, graph));
    expect(explanation.changes).toEqual([{ type: 'host-file', name: 'firmware', change: 'changed' }]);
    const changed = await build(session, graph);
    expect(changed.outcomes.get('boot')!.status).toBe('built');
    expect(changed.outcomes.get('boot')!.key).not.toBe(key);
    // What the cache remembers of the node names the firmware by digest only.
    const records = await readdir(join(root, 'out/cache/records'));
    expect(records.length).toBeGreaterThan(0);
    for (const r of records) expect(await readFile(join(root, 'out/cache/records', r), 'utf8')).not.toContain(host);
  });

  it('a missing one is a configuration error before anything runs, naming it, where it was looked for and the hint', async () => {
    const root = await tempProject();
    let ran = false;
    const other: NodeSpec = { id: 'other', kind: 'x', version: 1, async run() { ran = true; } };
    const node = firmwareNode({ deps: { other: 'other' }, hints: { firmware: 'the boot test of variants/x.yaml needs it' } });
    const error = await build(await open(root, ['/nonexistent/fw.bin']), [other, node]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      "host file 'firmware' (test firmware) was not found at /nonexistent/fw.bin: Debian package test-firmware (needed by boot); the boot test of variants/x.yaml needs it",
    );
    expect(ran).toBe(false);
    // The plan shows the node with the problem instead of failing.
    const plan = await planGraph(await open(root, ['/nonexistent/fw.bin']), validateGraph([other, node]));
    expect(plan.get('boot')!.problem).toContain("host file 'firmware'");
  });
});

describe('secret files', () => {
  it('must exist before anything runs; their path and content stay out of the key', async () => {
    const root = await tempProject({ 'keys/db.key': 'PRIVATE' });
    const signer = (path: string): NodeSpec => ({
      id: 'sign',
      kind: 'sign',
      version: 1,
      secrets: { key: path },
      secretFiles: ['key'],
      hints: { key: 'make one with `pipeline keys init keys`' },
      async run(ctx) {
        await writeFile(join(ctx.out, 'signed'), `signed with ${(await readFile(ctx.secrets.key, 'utf8')).length} bytes`);
      },
    });
    const missing = await build(await Session.open({ root }), [signer(join(root, 'keys/nope.key'))]).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ConfigError);
    expect((missing as Error).message).toBe('the key file keys/nope.key does not exist (needed by sign); make one with `pipeline keys init keys`');
    const built = await build(await Session.open({ root }), [signer(join(root, 'keys/db.key'))]);
    expect(built.ok).toBe(true);
    await writeFile(join(root, 'keys/other.key'), 'OTHER KEY');
    const again = await build(await Session.open({ root }), [signer(join(root, 'keys/other.key'))]);
    // A private key never keys anything: the certificate (a declared file) does.
    expect(again.outcomes.get('sign')).toMatchObject({ status: 'cached', key: built.outcomes.get('sign')!.key });
  });
});
