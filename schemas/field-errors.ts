/**
 * Field errors worded the way the Kubernetes apiserver words them
 * (`k8s.io/apimachinery/pkg/util/validation/field`), so kubectl prints familiar messages.
 */
import type { StatusCause } from '../functions/core/errors.ts';

export type FieldCause = StatusCause & { readonly field: string; readonly reason: string };

/** Renders a value the way field errors quote it: strings quoted, numbers bare, objects as JSON. */
export function renderValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'null';
  return JSON.stringify(value) ?? String(value);
}

export function required(field: string, detail?: string): FieldCause {
  return { field, reason: 'FieldValueRequired', message: detail ? `Required value: ${detail}` : 'Required value' };
}

/** `rendered` stands for the value where Kubernetes quotes it in Go syntax (`[]string{"a"}`). */
export function invalid(field: string, value: unknown, detail: string, rendered = renderValue(value)): FieldCause {
  return { field, reason: 'FieldValueInvalid', message: `Invalid value: ${rendered}: ${detail}` };
}

export function notSupported(field: string, value: unknown, supported: readonly string[]): FieldCause {
  const list = supported.map((s) => JSON.stringify(s)).join(', ');
  return { field, reason: 'FieldValueNotSupported', message: `Unsupported value: ${renderValue(value)}: supported values: ${list}` };
}

export function forbidden(field: string, detail: string): FieldCause {
  return { field, reason: 'FieldValueForbidden', message: `Forbidden: ${detail}` };
}

export function duplicate(field: string, value: unknown): FieldCause {
  return { field, reason: 'FieldValueDuplicate', message: `Duplicate value: ${renderValue(value)}` };
}

export function notFound(field: string, value: unknown): FieldCause {
  return { field, reason: 'FieldValueNotFound', message: `Not found: ${renderValue(value)}` };
}

export function tooLong(field: string, maxLength: number, unit = 'bytes'): FieldCause {
  return { field, reason: 'FieldValueTooLong', message: `Too long: must have at most ${maxLength} ${unit}` };
}

/** `spec.containers[0]` from `spec.containers` and 0; `data[key.with.dots]` for map keys. */
export function index(field: string, i: number): string {
  return `${field}[${i}]`;
}

export function key(field: string, k: string): string {
  return `${field}[${k}]`;
}

export function child(field: string, name: string): string {
  return field ? `${field}.${name}` : name;
}

export function immutable(field: string, value: unknown): FieldCause {
  return invalid(field, value, 'field is immutable');
}

/** Number range checks Kubernetes phrases as `must be greater than or equal to 0`. */
export function nonNegative(field: string, value: number | undefined): FieldCause[] {
  return value !== undefined && value < 0 ? [invalid(field, value, 'must be greater than or equal to 0')] : [];
}

export function positive(field: string, value: number | undefined): FieldCause[] {
  return value !== undefined && value <= 0 ? [invalid(field, value, 'must be greater than zero')] : [];
}

export function supportedValue(field: string, value: string | undefined, supported: readonly string[]): FieldCause[] {
  return value !== undefined && !supported.includes(value) ? [notSupported(field, value, supported)] : [];
}
