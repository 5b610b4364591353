// The standard function table. Several modules may define the same name (`len` for strings,
// arrays and maps); each returns NO_MATCH when the argument types are not its own, and the
// evaluator reports "function not found" with the argument types when none matched.
import type { RhaiFnPtr, RhaiValue } from '../values.js';

export const NO_MATCH = Symbol('no match');

/** What standard functions may ask of the evaluator (callbacks of `map`, `filter`, ...). */
export interface BuiltinContext {
  callFn(fp: RhaiFnPtr, args: RhaiValue[]): RhaiValue;
  /** Number of parameters the pointer's function takes, when known. */
  arity(fp: RhaiFnPtr): number | undefined;
}

/**
 * A standard function. For methods `args[0]` is the receiver; a function that changes a string
 * receiver in place (`replace`, `trim`) stores the new string in `args[0]` and the evaluator
 * writes it back to the variable.
 */
export type Builtin = (args: RhaiValue[], ctx: BuiltinContext) => RhaiValue | typeof NO_MATCH;

export const BUILTINS = new Map<string, Builtin[]>();

export function define(name: string, fn: Builtin): void {
  const list = BUILTINS.get(name);
  if (list) list.push(fn);
  else BUILTINS.set(name, [fn]);
}
