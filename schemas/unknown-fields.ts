/**
 * Finds the fields of a request body that a kind's schema does not declare, the way the
 * apiserver's strict decoder reports them (`spec.template.spec.containers[0].foo`). Parsing
 * drops them; `fieldValidation` decides whether that is silent, a warning, or a 400.
 */
import type { z } from 'zod';

interface Def {
  readonly type: string;
  readonly shape?: Record<string, z.ZodType>;
  readonly catchall?: z.ZodType;
  readonly innerType?: z.ZodType;
  readonly element?: z.ZodType;
  readonly valueType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly getter?: () => z.ZodType;
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

const wrappers = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional', 'catch']);

function unwrap(schema: z.ZodType): Def {
  let def = defOf(schema);
  for (;;) {
    if (wrappers.has(def.type) && def.innerType) def = defOf(def.innerType);
    else if (def.type === 'pipe' && def.in) def = defOf(def.in);
    else if (def.type === 'lazy' && def.getter) def = defOf(def.getter());
    else return def;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** Paths of the fields in `value` that `schema` does not declare, in document order. */
export function unknownFields(schema: z.ZodType, value: unknown, path = ''): string[] {
  const def = unwrap(schema);
  switch (def.type) {
    case 'object': {
      if (!isPlainObject(value) || !def.shape) return [];
      const catchallType = def.catchall ? unwrap(def.catchall).type : undefined;
      const open = catchallType !== undefined && catchallType !== 'never';
      return Object.entries(value).flatMap(([key, child]) => {
        const field = def.shape && Object.hasOwn(def.shape, key) ? def.shape[key] : undefined;
        if (field) return unknownFields(field, child, join(path, key));
        return open ? [] : [join(path, key)];
      });
    }
    case 'array':
      return Array.isArray(value) && def.element ? value.flatMap((item, i) => unknownFields(def.element as z.ZodType, item, `${path}[${i}]`)) : [];
    case 'record':
      return isPlainObject(value) && def.valueType
        ? Object.entries(value).flatMap(([key, item]) => unknownFields(def.valueType as z.ZodType, item, `${path}[${key}]`))
        : [];
    default:
      return [];
  }
}
