// Demo variant benchmark (issues 4 and 5):
//  - cold build end to end (fresh cache, locked), the no-op rebuild (target < 0.5 s) and the
//    one-overlay-file rebuild: medians of whole `pipeline build` processes;
//  - per-node times from the cold builds' traces, and next to them the sum of the external tools'
//    own times (the floor the engine can approach);
//  - the squashfs and initramfs nodes rerun through the engine next to the same mksquashfs and
//    cpio + zstd commands run by hand on the same trees, in the same run (target ratio <= 1.1).
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { compileTarget } from '../compile/index.js';
import { loadCompileInputs } from '../compile/load.js';
import { build } from '../graph/build.js';
import { Session } from '../graph/session.js';
import { PIPELINE_FILE_ROOTS } from '../stages/shared/pipeline-files.js';
import { mksquashfsArgs, SQUASHFS_ZSTD_LEVEL } from '../stages/squashfs.js';
import { ensureDemoMirror } from '../fixtures/build-mirror.js';
import { projectRoot } from '../fixtures/paths.js';
import { demoProject } from '../fixtures/demo-project.js';
import { median, round, writeResult } from './stats.js';

const run = promisify(execFile);
const PIPELINE = join(projectRoot(), 'bin', 'pipeline.js');

async function timedCli(args: string[], cwd: string): Promise<{ ms: number; stdout: string }> {
  const started = performance.now();
  const { stdout } = await run(process.execPath, [PIPELINE, ...args], { cwd, maxBuffer: 64 << 20 });
  return { ms: performance.now() - started, stdout };
}

function builtIds(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event: string; id?: string; status?: string })
    .filter((e) => e.event === 'node' && e.status === 'built')
    .map((e) => e.id!)
    .sort();
}

/** `# <tool> took N ms` lines of the node logs: the external tools' own time, per tool. */
async function toolTimes(logDir: string): Promise<Record<string, number>> {
  const times: Record<string, number> = {};
  for (const name of await readdir(logDir)) {
    for (const m of (await readFile(join(logDir, name), 'utf8')).matchAll(/^# (\S+) took (\d+) ms$/gm)) times[m[1]] = (times[m[1]] ?? 0) + Number(m[2]);
  }
  return times;
}

export async function benchDemo(repeats = 3): Promise<object> {
  const mirror = await ensureDemoMirror();
  const project = await demoProject('pipeline-bench-demo-');
  try {
    return await measureDemo(project, mirror.root, repeats);
  } finally {
    await rm(project, { recursive: true, force: true });
  }
}

async function measureDemo(project: string, mirrorRoot: string, repeats: number): Promise<object> {
  const flag = ['--mirror', `demo=${mirrorRoot}`];
  await timedCli(['lock', 'demo', ...flag], project);

  // Cold builds, each with a fresh cache and log directory.
  const cold: number[] = [];
  const perNode: Record<string, number[]> = {};
  let tools: Record<string, number> = {};
  for (let r = 0; r < repeats; r++) {
    await rm(join(project, 'out'), { recursive: true, force: true });
    const trace = join(project, `trace-${r}.json`);
    cold.push((await timedCli(['build', 'demo', '--json', '--trace', trace, ...flag], project)).ms);
    for (const e of JSON.parse(await readFile(trace, 'utf8')).traceEvents as { ph: string; name: string; dur: number }[]) {
      if (e.ph === 'X') (perNode[e.name] ??= []).push(e.dur / 1000);
    }
    if (r === 0) tools = await toolTimes(join(project, 'out/logs'));
  }
  const nodeMedians = Object.fromEntries(Object.entries(perNode).map(([id, ms]) => [id, round(median(ms))]).sort((a, b) => (b[1] as number) - (a[1] as number)));
  const nodeSum = Object.values(nodeMedians).reduce((a: number, b) => a + (b as number), 0);

  const noop: number[] = [];
  for (let r = 0; r < 5; r++) noop.push((await timedCli(['build', 'demo', ...flag], project)).ms);

  const overlay: number[] = [];
  let rebuilt: string[] = [];
  for (let r = 0; r < repeats; r++) {
    await writeFile(join(project, 'variants/overlays/demo/etc/motd'), `benchmark edit ${r}\n`);
    const result = await timedCli(['build', 'demo', '--json', ...flag], project);
    overlay.push(result.ms);
    rebuilt = builtIds(result.stdout);
  }

  const handVsNode = await imageNodesAgainstHand(project, mirrorRoot, repeats + 2);
  const result = {
    repeats,
    coldBuildMs: round(median(cold)),
    noopRebuildMs: round(median(noop)),
    oneOverlayFileRebuildMs: round(median(overlay)),
    oneOverlayFileRebuilt: rebuilt,
    perNodeMedianMs: nodeMedians,
    sumOfNodeTimesMs: round(nodeSum as number),
    externalToolsMs: { total: Object.values(tools).reduce((a, b) => a + b, 0), byTool: tools },
    imageNodesAgainstHand: handVsNode,
    targets: { noopRebuildMs: '< 500', imageNodeRatio: '<= 1.1' },
  };
  const path = await writeResult('demo', result);
  console.log(JSON.stringify(result, null, 2));
  console.log(`written to ${path}`);
  return result;
}

/** The node's mksquashfs settings, run by hand on the directory (all owners root). */
function handSquashfsArgs(dir: string, output: string): string[] {
  const args = mksquashfsArgs(output, SQUASHFS_ZSTD_LEVEL).filter((a) => a !== '-tar');
  args[0] = dir;
  return [...args, '-all-root'];
}

/** Reruns the squashfs and initramfs nodes through the engine, and the same tools by hand. */
async function imageNodesAgainstHand(project: string, mirrorRoot: string, rounds: number) {
  const compiled = await compileTarget(await loadCompileInputs('demo', { cwd: project, mirrorFlags: [`demo=${mirrorRoot}`] }));
  const session = await Session.open({ root: compiled.loaded.root, fileRoots: PIPELINE_FILE_ROOTS });
  const epoch = String(compiled.loaded.variant.epoch);
  const work = join(project, 'hand');
  await mkdir(work, { recursive: true });
  const node = { squashfs: [] as number[], initramfs: [] as number[] };
  const hand = { squashfs: [] as number[], initramfs: [] as number[] };
  let rootfsDir = '';
  let initramfsTree = '';
  for (let r = 0; r < rounds; r++) {
    // One node at a time, as the hand commands run: neither competes with the other for a core.
    let result;
    for (const kind of ['squashfs', 'initramfs'] as const) {
      result = await build(session, compiled.nodes, {
        targets: compiled.buildTargets,
        force: (n) => n.kind === kind,
        onEvent: (e) => {
          if (e.event === 'node' && e.kind === kind && e.status === 'built') node[kind].push(e.ms);
        },
      });
      if (!result.ok) throw new Error('demo build failed during the benchmark');
    }
    if (!result) throw new Error('no build ran');
    if (r === 0) {
      rootfsDir = result.outcomes.get('rootfs:demo')!.path!;
      initramfsTree = join(work, 'initramfs-tree');
      await mkdir(initramfsTree, { recursive: true });
      await run('sh', ['-c', `zstd -dc '${join(result.outcomes.get('initramfs:demo')!.path!, 'initramfs-live.img')}' | cpio -idm --quiet`], { cwd: initramfsTree });
    }
    const args = handSquashfsArgs(join(rootfsDir, 'root'), join(work, 'hand.squashfs'));
    let t = performance.now();
    await run('mksquashfs', args, { env: { ...process.env, SOURCE_DATE_EPOCH: epoch } });
    hand.squashfs.push(performance.now() - t);
    t = performance.now();
    await run('sh', ['-c', `find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet | zstd -19 -T1 -q -c > '${join(work, 'hand.img')}'`], { cwd: initramfsTree });
    hand.initramfs.push(performance.now() - t);
  }
  await session.close();
  const row = (kind: 'squashfs' | 'initramfs', handCommand: string) => ({
    nodeMedianMs: round(median(node[kind])),
    handMedianMs: round(median(hand[kind])),
    ratio: round(median(node[kind]) / median(hand[kind]), 2),
    handCommand,
  });
  return {
    rounds,
    squashfs: row('squashfs', `mksquashfs ${handSquashfsArgs('<rootfs>/root', 'OUT').join(' ')}`),
    initramfs: row('initramfs', 'find . | sort | cpio -o -H newc -R 0:0 --reproducible | zstd -19 -T1'),
  };
}
