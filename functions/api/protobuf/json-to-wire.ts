/**
 * The inverse of `wire-to-json.ts`: turns a Kubernetes JSON object into the plain values
 * protobufjs encodes, giving special types (Time, Quantity, IntOrString, FieldsV1, bytes)
 * their wire forms. Values of the wrong JSON type are a BadRequestError naming the field.
 */
import protobuf from 'protobufjs';
import { BadRequestError } from '../../core/errors.ts';
import { wellKnown } from './kubernetes-messages.ts';

type WireObject = { [key: string]: unknown };

const rfc3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;
const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function jsonToMessage(type: protobuf.Type, json: unknown, path: string): WireObject {
  const object = expectObject(json, path);
  const wire: WireObject = {};
  for (const f of type.fieldsArray) {
    if (f.options?.['(inline)'] === true && f.resolvedType instanceof protobuf.Type) {
      wire[f.name] = jsonToMessage(f.resolvedType, object, path);
      continue;
    }
    const value = object[f.name];
    if (value === undefined || value === null) continue;
    const fieldPath = path ? `${path}.${f.name}` : f.name;
    if (f instanceof protobuf.MapField) {
      const entries = Object.entries(expectObject(value, fieldPath));
      wire[f.name] = Object.fromEntries(entries.map(([key, item]) => [key, fieldValueToWire(f, item, `${fieldPath}[${key}]`)]));
    } else if (f.repeated) {
      if (!Array.isArray(value)) throw new BadRequestError(`${fieldPath}: expected an array`);
      wire[f.name] = value.map((item, index) => fieldValueToWire(f, item, `${fieldPath}[${index}]`));
    } else {
      wire[f.name] = fieldValueToWire(f, value, fieldPath);
    }
  }
  return wire;
}

function fieldValueToWire(f: protobuf.Field, value: unknown, path: string): unknown {
  if (f.resolvedType instanceof protobuf.Type) return messageValueToWire(f.resolvedType, value, path);
  return scalarToWire(f.type, value, path);
}

function messageValueToWire(type: protobuf.Type, value: unknown, path: string): unknown {
  switch (type.fullName) {
    case wellKnown.time:
      return timeToWire(value, path, false);
    case wellKnown.microTime:
      return timeToWire(value, path, true);
    case wellKnown.quantity:
      if (typeof value !== 'string' && typeof value !== 'number') throw new BadRequestError(`${path}: expected a quantity string`);
      return { string: String(value) };
    case wellKnown.intOrString:
      if (typeof value === 'string') return { type: 1, strVal: value };
      if (Number.isInteger(value)) return { type: 0, intVal: value };
      throw new BadRequestError(`${path}: expected an integer or a string`);
    case wellKnown.fieldsV1:
      return { Raw: Buffer.from(JSON.stringify(value), 'utf8') };
    case wellKnown.rawExtension:
      return { raw: Buffer.from(JSON.stringify(value), 'utf8') };
    default:
      return jsonToMessage(type, value, path);
  }
}

function timeToWire(value: unknown, path: string, micro: boolean): WireObject {
  const match = typeof value === 'string' ? rfc3339.exec(value) : null;
  const millis = match ? Date.parse(`${match[1]}${match[3]}`) : Number.NaN;
  if (!match || Number.isNaN(millis)) throw new BadRequestError(`${path}: expected an RFC 3339 time, got ${JSON.stringify(value)}`);
  const seconds = Math.floor(millis / 1000);
  // Kubernetes' Time keeps whole seconds on the wire; MicroTime keeps the fraction.
  const nanos = micro ? Number((match[2] ?? '').padEnd(9, '0')) : 0;
  return nanos === 0 ? { seconds } : { seconds, nanos };
}

function scalarToWire(protoType: string, value: unknown, path: string): unknown {
  switch (protoType) {
    case 'string':
      if (typeof value !== 'string') throw new BadRequestError(`${path}: expected a string`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw new BadRequestError(`${path}: expected a boolean`);
      return value;
    case 'bytes':
      if (typeof value !== 'string' || !base64.test(value)) throw new BadRequestError(`${path}: expected base64 data`);
      return Buffer.from(value, 'base64');
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return integer(value, path, -(2 ** 31), 2 ** 31 - 1);
    case 'uint32':
    case 'fixed32':
      return integer(value, path, 0, 2 ** 32 - 1);
    case 'int64':
    case 'sint64':
    case 'sfixed64':
    case 'uint64':
    case 'fixed64':
      return integer(value, path, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    case 'double':
    case 'float':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new BadRequestError(`${path}: expected a number`);
      return value;
    default:
      throw new BadRequestError(`${path}: unsupported field type ${protoType}`);
  }
}

function integer(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new BadRequestError(`${path}: expected an integer between ${min} and ${max}`);
  }
  return value;
}

function expectObject(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BadRequestError(`${path || 'object'}: expected an object`);
  }
  return value as Record<string, unknown>;
}
