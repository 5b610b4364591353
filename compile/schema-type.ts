// The TypeScript type a JSON Schema describes, for the subset compile/schema-check.ts checks
// (object, properties, required, additionalProperties, array, items, enum, const, string,
// integer, number, boolean, $ref to #/$defs). Types only: the schema stays the one source.

/** The type of values `S` accepts; `Root` resolves `$ref`s (default: `S` itself). */
export type SchemaType<S, Root = S> = Simplify<TypeOf<S, Root>>;

type TypeOf<S, Root> = S extends { $ref: `#/$defs/${infer Name}` }
  ? Root extends { $defs: infer Defs }
    ? Name extends keyof Defs
      ? TypeOf<Defs[Name], Root>
      : never
    : never
  : S extends { enum: readonly (infer E)[] }
    ? E
    : S extends { const: infer C }
      ? C
      : S extends { type: 'string' }
        ? string
        : S extends { type: 'integer' | 'number' }
          ? number
          : S extends { type: 'boolean' }
            ? boolean
            : S extends { type: 'array'; items: infer Item }
              ? TypeOf<Item, Root>[]
              : S extends { type: 'object' }
                ? ObjectOf<S, Root>
                : unknown;

type ObjectOf<S, Root> = Simplify<Declared<S, Root> & Additional<S, Root>>;

type Declared<S, Root> = S extends { properties: infer P }
  ? { -readonly [K in keyof P & RequiredKeys<S>]: TypeOf<P[K], Root> } & { -readonly [K in Exclude<keyof P, RequiredKeys<S>>]?: TypeOf<P[K], Root> }
  : unknown;

type RequiredKeys<S> = S extends { required: readonly (infer R)[] } ? R : never;

type Additional<S, Root> = S extends { additionalProperties: infer A }
  ? A extends false
    ? unknown
    : A extends object
      ? Record<string, TypeOf<A, Root>>
      : unknown
  : unknown;

/** Flattens intersections so editors show one object type. */
type Simplify<T> = T extends (infer E)[] ? Simplify<E>[] : T extends object ? { [K in keyof T]: Simplify<T[K]> } : T;
