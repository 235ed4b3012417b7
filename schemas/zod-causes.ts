/** Turns zod issues into Kubernetes field causes (`spec.containers[0].ports[0].containerPort`). */
import type { z } from 'zod';
import { type FieldCause, invalid, notSupported, required } from './field-errors.ts';

const identifier = /^[A-Za-z_$][\w$]*$/;

/** zod's path as Kubernetes writes field paths: dotted names, `[i]` indexes, `[key]` map keys. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((field, segment) => {
    if (typeof segment === 'number') return `${field}[${segment}]`;
    const name = String(segment);
    if (!identifier.test(name)) return `${field}[${name}]`;
    return field ? `${field}.${name}` : name;
  }, '');
}

function typeName(expected: string): string {
  switch (expected) {
    case 'int':
      return 'integer';
    case 'object':
    case 'record':
      return 'object';
    default:
      return expected;
  }
}

export function causesOf(error: z.ZodError): FieldCause[] {
  return error.issues.map((issue) => {
    const field = fieldPath(issue.path);
    const input = (issue as { input?: unknown }).input;
    switch (issue.code) {
      case 'invalid_type':
        return input === undefined ? required(field) : invalid(field, input, `must be of type ${typeName(issue.expected)}`);
      case 'invalid_value':
        return notSupported(field, input, issue.values.map(String));
      case 'invalid_union':
        return invalid(field, input, 'must be an integer or a string');
      case 'too_small':
        return invalid(field, input, `must be greater than or equal to ${String(issue.minimum)}`);
      case 'too_big':
        return invalid(field, input, `must be less than or equal to ${String(issue.maximum)}`);
      default:
        return invalid(field, input, issue.message);
    }
  });
}
