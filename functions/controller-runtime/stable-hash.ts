/**
 * Short, stable hashes of JSON values: the same value gives the same string in every process
 * and on every run (object keys are sorted first), spelled with the characters Kubernetes uses
 * for generated name suffixes so the result is safe in names and label values.
 */

const safeAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** 32-bit FNV-1a over the UTF-16 code units; plenty for telling templates apart. */
function fnv1a(text: string, seed = 0x811c9dc5): number {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** A 10-character hash of `value` (two FNV rounds, so about 50 bits survive the encoding). */
export function stableHash(value: unknown): string {
  const text = canonicalJson(value);
  let high = fnv1a(text);
  let low = fnv1a(text, high ^ 0x5bd1e995);
  let out = '';
  for (let i = 0; i < 5; i++) {
    out += safeAlphabet[high % safeAlphabet.length];
    high = Math.floor(high / safeAlphabet.length);
  }
  for (let i = 0; i < 5; i++) {
    out += safeAlphabet[low % safeAlphabet.length];
    low = Math.floor(low / safeAlphabet.length);
  }
  return out;
}
