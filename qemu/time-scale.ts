// PIPELINE_BOOT_TIME_SCALE: one factor on every boot-test budget, for a machine slower per core
// than the one the budgets were sized on (a 2-core EPYC VM under TCG). Load needs no factor: the
// budgets count QEMU's own CPU time and leave out time it waited for a CPU.

export const TIME_SCALE_ENV = 'PIPELINE_BOOT_TIME_SCALE';

export class TimeScaleConfigError extends Error {
  override name = 'TimeScaleConfigError';
}

export function bootTimeScale(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[TIME_SCALE_ENV];
  if (text === undefined || text === '') return 1;
  const scale = Number(text);
  if (!Number.isFinite(scale) || scale <= 0) {
    throw new TimeScaleConfigError(`${TIME_SCALE_ENV}=${text} is not a positive number (e.g. 2 doubles every boot-test budget)`);
  }
  return scale;
}
