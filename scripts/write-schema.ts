// `npm run schema`: writes variants/variant.schema.json (what editors read) from the one schema in
// compile/variant-schema.ts. test/cli/schema.test.ts fails while the two differ.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VARIANT_SCHEMA } from '../compile/variant-schema.js';
import { findProjectRoot } from '../compile/variant.js';

export const SCHEMA_FILE = 'variants/variant.schema.json';

export function schemaText(): string {
  return JSON.stringify(VARIANT_SCHEMA, null, 2) + '\n';
}

if (process.argv[1]?.endsWith('write-schema.js')) {
  const file = join(findProjectRoot(process.cwd()), SCHEMA_FILE);
  await writeFile(file, schemaText());
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
