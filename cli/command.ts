// How a command is declared: its options and arguments are data, so `--help` is generated from
// the same table the parser uses and cannot drift from what the command accepts.

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
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export interface CommandDef {
  /** `build`, or `cache gc` for a subcommand. */
  name: string;
  summary: string;
  /** Longer help text (paragraphs). */
  details?: string;
  args: ArgumentDef[];
  options: OptionDef[];
  run(args: ParsedArgs): Promise<number>;
}

/** Exit codes: the contract scripts rely on. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export class UsageError extends Error {
  override name = 'UsageError';
}
