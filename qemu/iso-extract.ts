// Reads single files out of an ISO 9660 image (xorriso, rootless).
import type { ExecTool } from './exec-tool.js';

export async function extractFromIso(iso: string, pathInIso: string, dest: string, exec: ExecTool): Promise<string> {
  if (!pathInIso.startsWith('/')) throw new Error(`path inside the ISO must be absolute: ${pathInIso}`);
  await exec('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', pathInIso, dest]);
  return dest;
}
