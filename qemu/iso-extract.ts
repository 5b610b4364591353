// Reads single files out of an ISO 9660 image (xorriso, rootless).
import type { Runner } from '../stages/shared/host-runner.js';

export async function extractFromIso(iso: string, pathInIso: string, dest: string, runner: Runner): Promise<string> {
  if (!pathInIso.startsWith('/')) throw new Error(`path inside the ISO must be absolute: ${pathInIso}`);
  await runner.exec('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', pathInIso, dest]);
  return dest;
}
