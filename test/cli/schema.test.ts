// The variant's shape is written once (compile/variant-schema.ts): the type is derived from it and
// the JSON file editors read is written from it. tsc checks the type assertions here (pretest).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Scenario, Variant } from '../../compile/variant.js';
import { schemaText, SCHEMA_FILE } from '../../scripts/write-schema.js';
import { projectRoot } from '../../fixtures/paths.js';

describe('the variant schema', () => {
  it('variants/variant.schema.json is what compile/variant-schema.ts says (run `npm run schema` after changing it)', async () => {
    expect(await readFile(join(projectRoot(), SCHEMA_FILE), 'utf8')).toBe(schemaText());
  });

  it('the Variant type follows the schema: required keys, enums, optional keys, $refs', () => {
    expectTypeOf<Variant['name']>().toEqualTypeOf<string>();
    expectTypeOf<NonNullable<Variant['root_image']>['format']>().toEqualTypeOf<'squashfs' | 'erofs' | undefined>();
    expectTypeOf<Scenario>().toEqualTypeOf<'uefi' | 'bios' | 'uefi-disk' | 'bios-disk' | 'secure-boot' | 'slot-b' | 'install' | 'update' | 'update-broken' | 'update-refused'>();
    expectTypeOf<NonNullable<Variant['steps']>[string]['run']>().toEqualTypeOf<string[]>();
    expectTypeOf<NonNullable<Variant['alpine']>['repositories'][number]>().toEqualTypeOf<{ name: string; mirror: string; path: string }>();
  });
});
