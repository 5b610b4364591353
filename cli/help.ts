// Help text, generated from the command table.
import type { CommandDef } from './command.js';

export function commandHelp(cmd: CommandDef): string {
  const usage = [`pipeline ${cmd.name}`, ...cmd.args.map((a) => (a.optional ? `[${a.name}${a.variadic ? '...' : ''}]` : `<${a.name}${a.variadic ? '...' : ''}>`)), cmd.options.length ? '[options]' : '']
    .filter(Boolean)
    .join(' ');
  const lines = [`Usage: ${usage}`, '', cmd.summary];
  if (cmd.details) lines.push('', cmd.details);
  if (cmd.args.length) {
    lines.push('', 'Arguments:');
    const w = Math.max(...cmd.args.map((a) => a.name.length));
    for (const a of cmd.args) lines.push(`  ${a.name.padEnd(w)}  ${a.description}`);
  }
  lines.push('', 'Options:');
  const flags = [...cmd.options.map((o) => [`--${o.name}${o.value ? ` ${o.value}` : ''}`, o.description + (o.multiple ? ' (repeatable)' : '')]), ['-h, --help', 'show this help']];
  const w = Math.max(...flags.map((f) => f[0].length));
  for (const [flag, text] of flags) lines.push(`  ${flag.padEnd(w)}  ${text}`);
  return lines.join('\n');
}

export function mainHelp(commands: CommandDef[], version: string): string {
  const w = Math.max(...commands.map((c) => c.name.length));
  return [
    `pipeline ${version}: compiles an operating-system variant (YAML) into a signed, bootable hybrid ISO`,
    'through a content-hashed build graph, and boots it in QEMU to prove it works.',
    '',
    'Usage: pipeline <command> [arguments] [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    'A <target> is a variant name (variants/<name>.yaml under the project root) or a path to a variant file.',
    "Run 'pipeline <command> --help' for a command's options.",
    '',
    'Exit codes: 0 success, 1 build or test failure, 2 usage or configuration error, 130 interrupted.',
    'Environment: PIPELINE_CACHE (cache directory), PIPELINE_CONFIG (build settings file),',
    '  PIPELINE_SECUREBOOT_KEY (db private key for signing), PIPELINE_QEMU_ACCEL (kvm, tcg or auto),',
    '  PIPELINE_BOOT_TIME_SCALE (a factor on every boot-test budget, for a machine slower per core).',
  ].join('\n');
}
