// The command table: every command's name, arguments, options and help text, and where its
// implementation is. `--help`, `--version`, parsing and usage errors need only this module (and
// command.ts, common-options.ts, help.ts); a command's implementation, and the compiler, engine
// and stages behind it, is imported when the command runs. Keep this module free of imports
// from graph/, compile/, stages/, qemu/, formats/ and packages: test/engine/startup.test.ts
// checks that `--help` loads none of them.
import type { ArgumentDef, CommandDef, OptionDef } from './command.js';
import { cacheDirOption, jobsOption, jsonOption } from './common-options.js';
import { remoteCacheOptions } from './remote-options.js';

/** `pipeline test --scenario` values: compile/tests.ts SCENARIOS (a test keeps the two equal). */
export const SCENARIO_NAMES = ['uefi', 'bios', 'uefi-disk', 'bios-disk', 'secure-boot', 'slot-b', 'install', 'update', 'update-broken', 'update-refused'];

/** `pipeline graph --format` values: graph/render.ts GRAPH_FORMATS (a test keeps the two equal). */
export const GRAPH_FORMAT_NAMES = ['text', 'dot', 'json', 'mermaid'];

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
  ...remoteCacheOptions,
];

/** build, test and graph take several variants, or --all of them. */
const targetsArg: ArgumentDef = {
  name: 'target',
  description: 'one or more variant names or paths to variant files, or --all for every variant',
  variadic: true,
  unlessOption: 'all',
};

const allOption = (what: string): OptionDef => ({ name: 'all', type: 'boolean', description: `${what} every variant in the project's variants/ directory (instead of naming them)` });

export const buildDefinition: CommandDef = {
  name: 'build',
  summary: 'build variants: run every node that is not cached, then copy the artifacts to out/<variant>/',
  details:
    'Without a lock (variants/<name>.lock.yaml), the package indexes are downloaded and resolved first and the lock\n' +
    'is written; with one, no index is downloaded. A lock that no longer matches the package list is an error\n' +
    '(run `pipeline lock <target>` or pass --update-lock).\n' +
    'Several variants (or --all) are locked one after the other where they need it, then built as one graph in one\n' +
    'pool of job slots: a node they share (a package\'s fetch and unpack) runs once; one id defined differently by two\n' +
    'variants is an error. Each variant\'s artifacts go to out/<variant>/ and it gets its own summary line, then the\n' +
    'total. Exits 0 only when every variant built.',
  args: [targetsArg],
  options: [
    allOption('build'),
    ...runOptions,
    { name: 'no-cache', type: 'boolean', description: 'rerun every node even when the cache has it (results are still stored)' },
    ...sourceOptions,
  ],
  load: async () => (await import('./commands/build.js')).buildCommand,
};

export const testDefinition: CommandDef = {
  name: 'test',
  summary: 'build variants, then boot each ISO in QEMU in every scenario its tests list (default: all)',
  details:
    'Scenarios: the live ISO by uefi, bios, uefi-disk, bios-disk, secure-boot (and the tampered-UKI refusal),\n' +
    'slot-b of the A/B layout; install (the manual install onto a blank disk, then that disk alone), and on\n' +
    'the installed disk update (trial, rollback, commit), update-broken and update-refused.\n' +
    'Each scenario is a node keyed on the ISO, QEMU\'s binary, the firmware files and the scenario itself, so an\n' +
    'unchanged ISO is not booted again. Exits 1 when a scenario fails; the failure shows the last serial lines,\n' +
    'the log, and the QEMU command line to reproduce it. Several variants (or --all) build as one graph, as with\n' +
    '`build`, and each boots its own scenarios.',
  args: [targetsArg],
  options: [
    allOption('test'),
    ...runOptions,
    { name: 'scenario', type: 'string', value: 'NAME', multiple: true, description: `run only this scenario: ${SCENARIO_NAMES.join(', ')}` },
    { name: 'no-cache', type: 'boolean', description: 'boot again even when a cached result exists for this ISO' },
    ...sourceOptions,
  ],
  load: async () => (await import('./commands/test.js')).testCommand,
};

export const lockDefinition: CommandDef = {
  name: 'lock',
  summary: "resolve a variant's packages against its repositories and write variants/<name>.lock.yaml",
  details:
    'Always downloads the indexes anew (verifying their signatures). Builds then use the lock and download no\n' +
    'index; fetch nodes are keyed on each package\'s identity and checksum, so variants share them.\n' +
    'RPM variants: the lock also reads each chosen package\'s header (not its payload), verifies it, and records\n' +
    'its scriptlets; one that no post-install action covers fails the lock until rpm.reviewed_scriptlets names it.',
  args: [{ name: 'target', description: 'variant name or path to a variant file' }],
  options: [...runOptions, ...sourceOptions.filter((o) => o.name !== 'update-lock')],
  load: async () => (await import('./commands/lock.js')).lockCommand,
};

export const graphDefinition: CommandDef = {
  name: 'graph',
  summary: 'show the build graph of variants without running it, with each node cached, stale or never built',
  details: 'Several variants (or --all) make one graph, as `build` would run it: a node they share is shown once.',
  args: [targetsArg],
  options: [
    allOption('show'),
    { name: 'format', type: 'string', value: 'FORMAT', description: `output format: ${GRAPH_FORMAT_NAMES.join(', ')} (default: text)` },
    cacheDirOption,
    ...sourceOptions.filter((o) => o.name !== 'update-lock'),
  ],
  load: async () => (await import('./commands/graph.js')).graphCommand,
};

export const explainDefinition: CommandDef = {
  name: 'explain',
  summary: 'say why a node will run (or why it ran last time): what in its inputs changed, down to the first cause',
  details:
    'Compares the node\'s key material (files, parameters, tools, environment, kind version, dependency outputs)\n' +
    'with its last recorded build, and follows changed dependencies down to the change that started it.',
  args: [
    { name: 'target', description: 'variant name or path to a variant file' },
    { name: 'node-id', description: "a node id as `pipeline graph` shows it (e.g. 'squashfs:demo')" },
  ],
  options: [jsonOption, cacheDirOption, ...sourceOptions.filter((o) => o.name !== 'update-lock')],
  load: async () => (await import('./commands/explain.js')).explainCommand,
};

export const cacheStatsDefinition: CommandDef = {
  name: 'cache stats',
  summary: 'show what the cache holds: entries, stored outputs, bytes, per node kind',
  args: [],
  options: [jsonOption, cacheDirOption],
  load: async () => (await import('./commands/cache.js')).cacheStatsCommand,
};

export const cacheGcDefinition: CommandDef = {
  name: 'cache gc',
  summary: 'shrink the cache to a size, removing the least recently used outputs first',
  args: [],
  options: [
    { name: 'max-size', type: 'string', value: 'SIZE', description: 'the size to shrink to, e.g. 10G, 500M (required)' },
    jsonOption,
    cacheDirOption,
  ],
  load: async () => (await import('./commands/cache.js')).cacheGcCommand,
};

export const cacheVerifyDefinition: CommandDef = {
  name: 'cache verify',
  summary: 're-hash every stored output and drop the corrupt ones (the next build rebuilds them)',
  details: 'Exits 1 when corrupt outputs were found (and dropped), 0 when all were intact.',
  args: [],
  options: [jsonOption, cacheDirOption],
  load: async () => (await import('./commands/cache.js')).cacheVerifyCommand,
};

export const keysInitDefinition: CommandDef = {
  name: 'keys init',
  summary: 'make a test Secure Boot key set (PK, KEK, db: keys, certificates, .esl and .auth files) in a directory',
  details:
    'The db key signs UKIs and systemd-boot (point a variant\'s signing section at db.crt and db.key, or set\n' +
    'PIPELINE_SECUREBOOT_KEY to db.key). The .auth files go to loader/keys/auto/ on an ESP, where systemd-boot\n' +
    'enrolls them (secure-boot-enroll). Private keys are written mode 0600. These are test keys: keep real keys offline.',
  args: [{ name: 'dir', description: 'directory to create the key set in' }],
  options: [{ name: 'force', type: 'boolean', description: 'replace an existing key set (its private keys are lost)' }, jsonOption],
  load: async () => (await import('./commands/keys.js')).keysInitCommand,
};

export const cacheKeysInitDefinition: CommandDef = {
  name: 'cache keys init',
  summary: 'make an Ed25519 key pair that signs the entries this machine uploads to a remote cache',
  details:
    'Writes DIR/cache-signing.pem (private, mode 0600; default DIR: keys) and prints its public key as the\n' +
    'ed25519:... line readers list under remote_cache.trusted_keys. Point remote_cache.signing_key at the file, or\n' +
    'give its content in $PIPELINE_CACHE_SIGNING_KEY (a CI secret). Keep it out of version control.',
  args: [{ name: 'dir', description: 'directory for the key (default: keys)', optional: true }],
  options: [{ name: 'force', type: 'boolean', description: 'replace an existing key (entries it signed stay trusted only while readers list it)' }, jsonOption],
  load: async () => (await import('./commands/cache-keys.js')).cacheKeysInitCommand,
};

export const recipeNewDefinition: CommandDef = {
  name: 'recipe new',
  summary: 'write a commented recipe scaffold to recipes/<name>.rhai',
  args: [{ name: 'name', description: 'the recipe\'s name (lower-case; it names the file)' }],
  options: [{ name: 'force', type: 'boolean', description: 'replace an existing recipe' }],
  load: async () => (await import('./commands/recipe.js')).recipeNewCommand,
};

export const recipeCheckDefinition: CommandDef = {
  name: 'recipe check',
  summary: 'check recipes without building: syntax, calls against the recipe API, ctx, deps, pinned downloads',
  details:
    'With no names, checks every recipes/*.rhai. Each problem is printed as file:line:col. Exits 1 when a recipe has\n' +
    'problems. A github_download_release that recipes/releases.lock.yaml does not pin is a problem: `pipeline lock`\n' +
    'pins it.',
  args: [{ name: 'name', description: 'recipe names (recipes/<name>.rhai); default: all', optional: true, variadic: true }],
  options: [jsonOption],
  load: async () => (await import('./commands/recipe.js')).recipeCheckCommand,
};

const draftOptions: OptionDef[] = [
  { name: 'model', type: 'string', value: 'FILE', description: 'a local GGUF model, run in-process on the CPU (instead of a server)' },
  {
    name: 'llm-url',
    type: 'string',
    value: 'URL',
    description: 'an OpenAI-compatible server (default: $PIPELINE_LLM_URL, else llm.url in pipeline.config.yaml, else http://127.0.0.1:8080)',
  },
  { name: 'llm-model', type: 'string', value: 'NAME', description: "the model the server should use (default: llm.model in pipeline.config.yaml)" },
  { name: 'timeout', type: 'string', value: 'SECONDS', description: 'longest wait for the server, and for the download of the source (default 300 and 120)' },
  { name: 'no-download', type: 'boolean', description: "do not download the source to pin its sha256: leave a TODO that `recipe check` reports" },
  { name: 'force', type: 'boolean', description: 'replace an existing recipe' },
  jsonOption,
];

const draftDetails =
  'The model fills a fixed skeleton (name, version, description, license, source URL, build system, a few build\n' +
  'and install commands); the tool checks it (asking once more with the problems), renders recipes/<name>.rhai from\n' +
  'its own template, and computes the sha256 by downloading the source URL, else leaves a TODO that `pipeline\n' +
  'recipe check` reports. It builds nothing: review the license, the URL and the commands, then run\n' +
  '`pipeline recipe check <name>`. Exits 1 when the model gives no usable answer (nothing is written).';

export const recipeLlmDefinition: CommandDef = {
  name: 'recipe llm',
  summary: 'draft a recipe from a request with a local model: the model fills a skeleton, the tool writes the Rhai',
  details: draftDetails + '\nThe recipe is named after the name the model gives.',
  args: [{ name: 'request', description: 'what to package, e.g. "htop 3.3.0, the process viewer"' }],
  options: draftOptions,
  load: async () => (await import('./commands/recipe.js')).recipeLlmCommand,
};

export const recipeDraftDefinition: CommandDef = {
  name: 'recipe draft',
  summary: 'draft recipes/<name>.rhai from a description with a local model (like `recipe llm`, the name fixed)',
  details: draftDetails,
  args: [{ name: 'name', description: "the recipe's name (lower-case; it names the file)" }],
  options: [{ name: 'from', type: 'string', value: 'TEXT', description: 'what to package, in a sentence (required)' }, ...draftOptions],
  load: async () => (await import('./commands/recipe.js')).recipeDraftCommand,
};

export const doctorDefinition: CommandDef = {
  name: 'doctor',
  summary: 'list the host tools and firmware the stages need, their versions, and the Debian package for each missing one',
  details: 'Exits 0 when everything a build needs is present, 1 when something is missing.',
  args: [],
  options: [jsonOption],
  load: async () => (await import('./commands/doctor.js')).doctorCommand,
};

/** Every command, in the order `pipeline --help` lists them. */
export const COMMANDS: CommandDef[] = [
  buildDefinition,
  testDefinition,
  lockDefinition,
  graphDefinition,
  explainDefinition,
  cacheStatsDefinition,
  cacheGcDefinition,
  cacheVerifyDefinition,
  cacheKeysInitDefinition,
  keysInitDefinition,
  recipeNewDefinition,
  recipeCheckDefinition,
  recipeLlmDefinition,
  recipeDraftDefinition,
  doctorDefinition,
];
