// Files the stages ship with the tool (the initramfs /init, the isolinux.cfg template, the default
// module list). Nodes declare them as `pipeline:<path>`, a named file root, so they are keyed by
// content and found in the installation whatever project is being built.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function installationDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'pipeline') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the pipeline installation above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** The directory the tool is installed in (its package.json's). */
export const PIPELINE_DIR = installationDir();

/** What a Session needs to find `pipeline:` files. */
export const PIPELINE_FILE_ROOTS: Record<string, string> = { pipeline: PIPELINE_DIR };

/** Absolute path of a `pipeline:<path>` declaration (or of a plain path inside the installation). */
export function pipelineFile(declared: string): string {
  return join(PIPELINE_DIR, declared.replace(/^pipeline:/, ''));
}
