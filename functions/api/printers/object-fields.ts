/**
 * Defensive reads of stored objects for the printers. A table cell must never fail a
 * `kubectl get`: a field of the wrong shape reads as absent, as Go's zero value would.
 */

export type Fields = Readonly<Record<string, unknown>>;

export function record(value: unknown): Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : {};
}

export function optionalRecord(value: unknown): Fields | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : undefined;
}

export function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

export function records(value: unknown): readonly Fields[] {
  return list(value).map(record);
}

export function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

export function optionalText(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function integer(value: unknown, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : fallback;
}

export function strings(value: unknown): readonly string[] {
  return list(value).filter((item): item is string => typeof item === 'string');
}

/** Follows a path of object keys: `at(pod, 'status', 'phase')`. */
export function at(value: unknown, ...path: readonly string[]): unknown {
  let current = value;
  for (const key of path) current = record(current)[key];
  return current;
}

export function countKeys(value: unknown): number {
  return Object.keys(record(value)).length;
}
