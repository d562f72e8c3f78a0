import { z } from 'zod';

/** A schema's inner schemas, by the kind of its definition (zod 4's `_zod.def`). */
function innerSchemas(def: Record<string, unknown>): unknown[] {
  switch (def.type) {
    case 'object':
      return [...Object.values(def.shape as Record<string, unknown>), def.catchall];
    case 'array':
      return [def.element];
    case 'union':
      return def.options as unknown[];
    case 'intersection':
      return [def.left, def.right];
    case 'tuple':
      return [...(def.items as unknown[]), def.rest];
    case 'record':
    case 'map':
      return [def.keyType, def.valueType];
    case 'set':
      return [def.valueType];
    case 'pipe':
      return [def.in, def.out];
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
    case 'nonoptional':
    case 'promise':
      return [def.innerType];
    default:
      return [];
  }
}

/** Schemas already compiled (or being compiled: a schema may contain itself through z.lazy). */
const compiled = new WeakSet<z.ZodType>();

/**
 * Compiles now, rather than on the first value, the parser zod generates for each object schema
 * inside `schema`: it does so on first use, which takes tens of milliseconds for a large schema and
 * would stall the event loop (and every request waiting on it) at the first record or request.
 */
export function precompile(schema: z.ZodType): void {
  if (compiled.has(schema)) return;
  compiled.add(schema);
  const def = schema._zod.def as unknown as Record<string, unknown>;
  // Parsing any object compiles an object schema's parser; the answer itself does not matter.
  if (def.type === 'object') schema.safeParse({});
  for (const inner of innerSchemas(def)) if (inner instanceof z.ZodType) precompile(inner);
}
