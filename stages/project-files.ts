// A node that brings project files into the graph as an output (the Secure Boot .auth files a
// test enrolls, say), so nodes that take their inputs from outputs can use them.
import { copyFile, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { NodeSpec } from '../graph/node.js';
import type { StageKind } from './kind.js';

/** Project files brought into the graph as an output. */
export const PROJECT_FILES_STAGE: StageKind = { kind: 'project-files', version: 1, summary: 'project files as an output', tools: [] };

export function projectFilesNode(options: { id: string; files: string[]; description?: string }): NodeSpec {
  return {
    id: options.id,
    kind: PROJECT_FILES_STAGE.kind,
    version: PROJECT_FILES_STAGE.version,
    files: options.files,
    params: { files: options.files },
    description: options.description ?? `project files: ${options.files.join(', ')}`,
    async run(ctx) {
      await mkdir(ctx.out, { recursive: true });
      for (const file of options.files) await copyFile(ctx.file(file), join(ctx.out, basename(file)));
    },
  };
}
