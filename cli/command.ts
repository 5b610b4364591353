// How a command is declared: its options and arguments are data, so `--help` is generated from
// the same table the parser uses and cannot drift from what the command accepts. The table
// (definitions.ts) is separate from the implementations (commands/*.ts), which load lazily.

export interface OptionDef {
  name: string;
  type: 'string' | 'boolean';
  /** Placeholder for the value in help (`N`, `FILE`). */
  value?: string;
  multiple?: boolean;
  description: string;
}

export interface ArgumentDef {
  name: string;
  description: string;
  optional?: boolean;
  /** Takes every remaining positional (the last argument only). */
  variadic?: boolean;
  /** Not needed when this boolean option is given (`<target>...` or `--all`); giving both is the command's to refuse. */
  unlessOption?: string;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/**
 * A command as data: what parsing and `--help` need. It names its implementation but does not
 * load it, so listing or parsing commands loads no engine, compiler or stage code.
 */
export interface CommandDef {
  /** `build`, or `cache gc` for a subcommand. */
  name: string;
  summary: string;
  /** Longer help text (paragraphs). */
  details?: string;
  args: ArgumentDef[];
  options: OptionDef[];
  /** Imports the implementation (cli/commands/<file>.ts): only once the command is to run. */
  load(): Promise<Command>;
}

/** A command's implementation: runs with the arguments its definition parsed. */
export interface Command {
  run(args: ParsedArgs): Promise<number>;
}

/** Exit codes: the contract scripts rely on. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export class UsageError extends Error {
  override name = 'UsageError';
}
