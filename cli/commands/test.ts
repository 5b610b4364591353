// `pipeline test <target>...` (or --all): build what is missing, then boot each variant's ISO in
// every scenario. The variants build as one graph, like `build`; the scenarios are each variant's
// own. Results are cached like any output: an unchanged ISO (same QEMU, same firmware, same
// scenario) is not booted again unless --no-cache says so. Its arguments, options and help are in
// ../definitions.ts.
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { SCENARIOS } from '../../compile/tests.js';
import type { Scenario } from '../../compile/variant.js';
import { RESULT_JSON, type BootTestResult } from '../../qemu/boot-test.js';
import { EXIT, UsageError, type Command } from '../command.js';
import { duration } from '../reporters/format.js';
import { runTargets, type VariantRun } from '../run.js';

export const testCommand: Command = {
  async run(args) {
    const chosen = args.values.scenario as string[] | undefined;
    for (const s of chosen ?? []) {
      if (!SCENARIOS.includes(s as Scenario)) throw new UsageError(`--scenario must be one of ${SCENARIOS.join(', ')}, got '${s}'`);
    }
    const outcome = await runTargets({
      args,
      compile: { tests: chosen ? (chosen as Scenario[]) : true },
      targets: (c) => [...c.buildTargets, ...c.testTargets],
      // --no-cache reruns the boots, not the whole build.
      force: args.values['no-cache'] === true ? (node) => node.kind === 'boot-test' || node.kind === 'secureboot-vars' : undefined,
      relock: args.values['update-lock'] === true,
    });
    const several = outcome.variants.length > 1;
    let withIso = 0;
    for (const v of outcome.variants) {
      const { variant } = v.compiled.loaded;
      if (!variant.packages) {
        process.stderr.write(`${variant.name} has no packages, so no ISO to boot\n`);
        continue;
      }
      withIso++;
      const { rows, results } = await bootResults(v);
      if (args.values.json) {
        process.stdout.write(JSON.stringify({ event: 'tests', variant: variant.name, results }) + '\n');
      } else {
        process.stderr.write([several ? `Boot tests of ${variant.name}:` : 'Boot tests:', ...rows].join('\n') + '\n');
        const iso = v.artifacts[`${variant.name}.iso`];
        if (iso) process.stderr.write(`ISO: ${relative(process.cwd(), iso)}  (${duration(several ? v.ms : (outcome.result?.ms ?? 0))} for this run)\n`);
      }
    }
    return withIso === 0 ? EXIT.usage : outcome.exitCode;
  },
};

/** A variant's boot-test rows (pass, FAIL, skip) and results, as its outcomes and result files say. */
async function bootResults(v: VariantRun): Promise<{ rows: string[]; results: Array<BootTestResult & { id: string; status: string }> }> {
  const rows: string[] = [];
  const results: Array<BootTestResult & { id: string; status: string }> = [];
  for (const id of v.compiled.testTargets) {
    const o = v.outcomes.get(id);
    if (!o || o.kind !== 'boot-test') continue;
    let r: BootTestResult | undefined;
    if (o.path) r = JSON.parse(await readFile(join(o.path, RESULT_JSON), 'utf8')) as BootTestResult;
    if (r) results.push({ ...r, id, status: o.status });
    const verdict = o.status === 'failed' ? 'FAIL' : o.status === 'skipped' ? 'skip' : 'pass';
    const markers = r ? r.markers.map((m) => `${m.name} ${m.seconds.toFixed(1)} s`).join(', ') : o.error?.message.split('\n')[0] ?? '';
    rows.push(`  ${verdict}  ${id.padEnd(40)} ${o.status === 'cached' ? '(cached) ' : ''}${markers}`);
  }
  return { rows, results };
}
