// The `pipeline` command: finds the command, parses its options from its own table, runs it,
// and turns errors into exit codes (2: usage or configuration, 1: build or test failure).
// Start-up matters (it runs all day): --help, --version and usage errors load only the command
// table; a command's implementation, and the engine behind it, is imported once it is to run.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { closest } from '../util/did-you-mean.js';
import { EXIT, UsageError, type CommandDef, type ParsedArgs } from './command.js';
import { COMMANDS } from './definitions.js';
import { commandHelp, mainHelp } from './help.js';

function version(): string {
  try {
    return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
  } catch {
    return '0.0.0';
  }
}

function findCommand(argv: string[]): { cmd: CommandDef; rest: string[] } | undefined {
  // Longest match first, so `cache gc` wins over a plain `cache`.
  const words = argv.filter((a) => !a.startsWith('-'));
  for (const cmd of [...COMMANDS].sort((a, b) => b.name.length - a.name.length)) {
    const parts = cmd.name.split(' ');
    if (parts.every((p, i) => words[i] === p)) {
      const rest = [...argv];
      for (const p of parts) rest.splice(rest.indexOf(p), 1);
      return { cmd, rest };
    }
  }
  return undefined;
}

function parse(cmd: CommandDef, argv: string[]): ParsedArgs | 'help' {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const o of cmd.options) options[o.name] = { type: o.type, multiple: o.multiple ?? false };
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv, cmd), options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${describeParseError(err as Error & { code?: string }, cmd)}\nRun 'pipeline ${cmd.name} --help' for its options.`);
  }
  if (parsed.values.help) return 'help';
  // `--all` stands for the targets it names (ArgumentDef.unlessOption).
  const required = cmd.args.filter((a) => !a.optional && !(a.unlessOption && parsed.values[a.unlessOption] === true)).length;
  if (parsed.positionals.length < required) {
    const missing = cmd.args[parsed.positionals.length];
    throw new UsageError(`missing <${missing.name}> (${missing.description})`);
  }
  if (parsed.positionals.length > cmd.args.length && !cmd.args.at(-1)?.variadic) {
    throw new UsageError(`unexpected argument '${parsed.positionals[cmd.args.length]}'`);
  }
  return { values: parsed.values as ParsedArgs['values'], positionals: parsed.positionals };
}

/** `--jobs -3` as `--jobs=-3`, so the option's own check says what it takes (the parser calls it ambiguous). */
function joinNegativeValues(argv: string[], cmd: CommandDef): string[] {
  const takesValue = new Set(cmd.options.filter((o) => o.type === 'string').map((o) => `--${o.name}`));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (takesValue.has(argv[i]) && /^-\d/.test(argv[i + 1] ?? '')) out.push(`${argv[i]}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

/** The argument parser's errors in our words: which option, what it takes, the near one. */
function describeParseError(err: Error & { code?: string }, cmd: CommandDef): string {
  const option = /'(--?[^' <]+)/.exec(err.message)?.[1];
  const def = cmd.options.find((o) => `--${o.name}` === option);
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) {
    const near = closest(option.replace(/^-+/, ''), cmd.options.map((o) => o.name));
    return `unknown option '${option}'${near ? `; did you mean '--${near}'?` : ''}`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && def) {
    return def.type === 'boolean' ? `${option} takes no value` : `${option} needs a value (${def.value ?? 'VALUE'})`;
  }
  return err.message.split('\n')[0];
}

export async function main(argv: string[]): Promise<number> {
  // Outputs and their digests must not depend on the caller's umask.
  process.umask(0o022);
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    const topic = argv[0] === 'help' ? findCommand(argv.slice(1)) : undefined;
    process.stdout.write((topic ? commandHelp(topic.cmd) : mainHelp(COMMANDS, version())) + '\n');
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  if (argv[0] === '--version' || argv[0] === '-V') {
    process.stdout.write(version() + '\n');
    return EXIT.ok;
  }
  const found = findCommand(argv);
  if (!found) {
    const word = argv.find((a) => !a.startsWith('-')) ?? argv[0];
    const near = closest(word, [...new Set(COMMANDS.map((c) => c.name.split(' ')[0]))]);
    const group = COMMANDS.filter((c) => c.name.startsWith(word + ' ')).map((c) => c.name);
    process.stderr.write(
      group.length
        ? `pipeline ${word}: say which: ${group.join(', ')}\n`
        : `pipeline: unknown command '${word}'${near ? `; did you mean '${near}'?` : ''}\nRun 'pipeline --help' for the list.\n`,
    );
    return EXIT.usage;
  }
  try {
    const args = parse(found.cmd, found.rest);
    if (args === 'help') {
      process.stdout.write(commandHelp(found.cmd) + '\n');
      return EXIT.ok;
    }
    const command = await found.cmd.load();
    return await command.run(args);
  } catch (err) {
    // ConfigError comes from an implementation, which has loaded graph/errors.js already.
    if (err instanceof UsageError || err instanceof (await import('../graph/errors.js')).ConfigError) {
      process.stderr.write(`pipeline ${found.cmd.name}: ${err.message}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`pipeline ${found.cmd.name}: internal error (a bug; please report it):\n${(err as Error).stack ?? err}\n`);
    return EXIT.failed;
  }
}

// Not a top-level await: the bundle (scripts/bundle.ts) is CommonJS, which has none. Setting the
// exit code rather than calling exit() lets pending output drain.
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
