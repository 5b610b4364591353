// Reading a lock file's YAML, for both lock formats: each check failing with a LockFileError that
// names the file and the entry and says to regenerate the lock.
import { parseDocument } from 'yaml';

/** A lock file that cannot be read, naming the file and the entry. */
export class LockFileError extends Error {
  constructor(
    readonly file: string,
    readonly entry: string,
    readonly reason: string,
  ) {
    super(`${file}: ${entry ? `${entry}: ` : ''}${reason}`);
    this.name = 'LockFileError';
  }
}

export interface LockFields {
  data: unknown;
  fail(entry: string, reason: string): never;
  isRecord(v: unknown): v is Record<string, unknown>;
  str(v: unknown, entry: string): string;
  int(v: unknown, entry: string): number;
}

export function readLockYaml(text: string, file: string): LockFields {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) throw new LockFileError(file, '', `not valid YAML: ${doc.errors[0]!.message}; regenerate it with \`pipeline lock <variant>\``);
  const fail = (entry: string, reason: string): never => {
    throw new LockFileError(file, entry, `${reason}; regenerate the lock with \`pipeline lock <variant>\``);
  };
  return {
    data: doc.toJS(),
    fail,
    isRecord: (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v),
    str: (v, entry) => (typeof v === 'string' && v.length > 0 ? v : fail(entry, 'expected a non-empty string')),
    int: (v, entry) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : fail(entry, 'expected a non-negative integer')),
  };
}
