// `pipeline build <target>`: compile the variant, run the graph, publish the artifacts.
import type { CommandDef, OptionDef } from '../command.js';
import { cacheDirOption, jobsOption, jsonOption } from '../common-options.js';
import { runTarget } from '../run.js';

export const sourceOptions: OptionDef[] = [
  { name: 'mirror', type: 'string', value: 'NAME=URL', multiple: true, description: "where mirror NAME is (a URL, file URL or path), over pipeline.config.yaml and the variant's default" },
  { name: 'config', type: 'string', value: 'FILE', description: 'build settings file (default: $PIPELINE_CONFIG, else pipeline.config.yaml in the project root)' },
  { name: 'update-lock', type: 'boolean', description: 'resolve the packages anew and rewrite variants/<name>.lock.yaml before building' },
];

export const runOptions: OptionDef[] = [
  jobsOption,
  { name: 'keep-going', type: 'boolean', description: 'after a failure, let independent nodes finish' },
  jsonOption,
  { name: 'trace', type: 'string', value: 'FILE', description: 'write a Chrome trace-event JSON profile (open it in Perfetto)' },
  cacheDirOption,
];

export const buildCommand: CommandDef = {
  name: 'build',
  summary: 'build a variant: run every node that is not cached, then copy the artifacts to out/<variant>/',
  details:
    'Without a lock (variants/<name>.lock.yaml), the package indexes are downloaded and resolved first and the lock\n' +
    'is written; with one, no index is downloaded. A lock that no longer matches the package list is an error\n' +
    '(run `pipeline lock <target>` or pass --update-lock).',
  args: [{ name: 'target', description: 'variant name or path to a variant file' }],
  options: [
    ...runOptions,
    { name: 'no-cache', type: 'boolean', description: 'rerun every node even when the cache has it (results are still stored)' },
    ...sourceOptions,
  ],
  async run(args) {
    const outcome = await runTarget({ args, compile: {}, targets: (c) => c.buildTargets, relock: args.values['update-lock'] === true });
    return outcome.exitCode;
  },
};
