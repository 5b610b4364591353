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
