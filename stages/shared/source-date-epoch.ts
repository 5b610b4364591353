// SOURCE_DATE_EPOCH: every node that stamps a time reads it from its environment (the variant's
// `epoch`), so two builds of the same inputs are byte-identical.

export class SourceDateEpochError extends Error {
  override name = 'SourceDateEpochError';
}

/** Parses SOURCE_DATE_EPOCH (decimal seconds); `where` names the node or caller for the error. */
export function parseSourceDateEpoch(value: string | undefined, where: string): number {
  if (value === undefined || !/^\d+$/.test(value.trim())) {
    throw new SourceDateEpochError(`${where}: SOURCE_DATE_EPOCH must be set to whole seconds since 1970 (got ${JSON.stringify(value)}); the variant's epoch sets it`);
  }
  return Number(value.trim());
}

/** What a node that stamps times declares: the variant's epoch, or (none given) the caller's SOURCE_DATE_EPOCH. */
export interface StampsTime {
  /** SOURCE_DATE_EPOCH for this node (the variant's `epoch`); default: passed through from the caller. */
  sourceDateEpoch?: number;
}

/** The node's `env` entry for SOURCE_DATE_EPOCH: fixed when given, else the caller's value (keyed either way). */
export function epochEnv(options: StampsTime): { SOURCE_DATE_EPOCH: string | true } {
  return { SOURCE_DATE_EPOCH: options.sourceDateEpoch === undefined ? true : String(options.sourceDateEpoch) };
}
