/**
 * Turns a decoded protobuf message into the JSON Kubernetes' Go encoding produces for the same
 * object: special types get their JSON forms, embedded structs are flattened, and zero values
 * of `omitempty` fields are dropped.
 */
import protobuf from 'protobufjs';
import { BadRequestError } from '../../core/errors.ts';
import { kubeTime } from '../../core/kube-time.ts';
import { wellKnown } from './kubernetes-messages.ts';

type JsonValue = string | number | boolean | JsonValue[] | { [key: string]: JsonValue };
type JsonObject = { [key: string]: JsonValue };

/** Unix seconds of Go's zero `time.Time` (0001-01-01T00:00:00Z), as an encoder that bypasses Time's own marshaller writes it. */
const goZeroTimeSeconds = -62135596800;

export function messageToJson(type: protobuf.Type, message: protobuf.Message): JsonObject {
  const json = valueOfMessage(type, message);
  if (json === undefined || typeof json !== 'object' || Array.isArray(json)) {
    throw new BadRequestError(`protobuf: ${type.name} does not decode to an object`);
  }
  return json;
}

function valueOfMessage(type: protobuf.Type, message: protobuf.Message): JsonValue | undefined {
  switch (type.fullName) {
    case wellKnown.time:
      return timeToJson(message, false);
    case wellKnown.microTime:
      return timeToJson(message, true);
    case wellKnown.quantity:
      return quantityToJson(message);
    case wellKnown.intOrString:
      return intOrStringToJson(message);
    case wellKnown.fieldsV1:
      return rawJsonToValue(field(message, 'Raw'));
    case wellKnown.rawExtension:
      return rawJsonToValue(field(message, 'raw'));
    default:
      return objectToJson(type, message);
  }
}

function objectToJson(type: protobuf.Type, message: protobuf.Message): JsonObject {
  const json: JsonObject = {};
  for (const f of type.fieldsArray) {
    const value = field(message, f.name);
    if (f instanceof protobuf.MapField) {
      const entries = Object.entries((value ?? {}) as Record<string, unknown>);
      if (entries.length > 0) {
        json[f.name] = Object.fromEntries(
          entries.map(([key, item]) => [key, fieldValueToJson(f, item) ?? null] as const).filter(([, item]) => item !== null),
        ) as JsonObject;
      }
      continue;
    }
    if (f.repeated) {
      const items = (value ?? []) as unknown[];
      if (items.length > 0) json[f.name] = items.map((item) => fieldValueToJson(f, item) ?? zeroOf(f));
      continue;
    }
    if (!Object.hasOwn(message, f.name) || value === null || value === undefined) continue;
    const converted = fieldValueToJson(f, value);
    if (converted === undefined) continue;
    if (f.options?.['(inline)'] === true) {
      if (typeof converted === 'object' && !Array.isArray(converted)) Object.assign(json, converted);
      continue;
    }
    if (f.resolvedType === null && isZero(converted) && f.options?.['(emit_zero)'] !== true) continue;
    json[f.name] = converted;
  }
  return json;
}

function fieldValueToJson(f: protobuf.Field, value: unknown): JsonValue | undefined {
  // A map entry without a value arrives as null; Go reads it as the zero value.
  if (f.resolvedType instanceof protobuf.Type) return valueOfMessage(f.resolvedType, (value ?? f.resolvedType.create()) as protobuf.Message);
  return value === null || value === undefined ? zeroOf(f) : scalarToJson(f.type, value);
}

function scalarToJson(protoType: string, value: unknown): JsonValue {
  if (protoType === 'bytes') return Buffer.from(value as Uint8Array).toString('base64');
  if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') return value;
  const long = longToNumber(value);
  if (long !== undefined) return long;
  throw new BadRequestError(`protobuf: unexpected ${protoType} value`);
}

function timeToJson(message: protobuf.Message, micro: boolean): string | undefined {
  const seconds = numberField(message, 'seconds');
  const nanos = numberField(message, 'nanos');
  // A zero Time is sent as an empty message; Go prints it as null, which Skiff leaves out.
  if ((seconds === 0 && nanos === 0) || seconds === goZeroTimeSeconds) return undefined;
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() > 9999 || date.getUTCFullYear() < 0) {
    throw new BadRequestError(`protobuf: timestamp ${seconds} is out of range`);
  }
  if (!micro) return kubeTime(date);
  const whole = kubeTime(date).slice(0, -1);
  const micros = Math.floor(Math.max(0, Math.min(nanos, 999_999_999)) / 1000);
  return `${whole}.${String(micros).padStart(6, '0')}Z`;
}

function quantityToJson(message: protobuf.Message): string {
  const text = field(message, 'string');
  return typeof text === 'string' && text !== '' ? text : '0';
}

function intOrStringToJson(message: protobuf.Message): string | number {
  return numberField(message, 'type') === 1 ? String(field(message, 'strVal') ?? '') : numberField(message, 'intVal');
}

function rawJsonToValue(raw: unknown): JsonValue | undefined {
  if (!(raw instanceof Uint8Array) || raw.length === 0) return undefined;
  try {
    return JSON.parse(Buffer.from(raw).toString('utf8')) as JsonValue;
  } catch {
    throw new BadRequestError('protobuf: embedded raw JSON is not valid JSON');
  }
}

function field(message: protobuf.Message, name: string): unknown {
  return (message as unknown as Record<string, unknown>)[name];
}

function numberField(message: protobuf.Message, name: string): number {
  const value = field(message, name);
  if (typeof value === 'number') return value;
  return longToNumber(value) ?? 0;
}

/** protobufjs hands 64-bit integers over as Long objects; JSON carries them as numbers. */
function longToNumber(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const toNumber = (value as { toNumber?: unknown }).toNumber;
  return typeof toNumber === 'function' ? (toNumber.call(value) as number) : undefined;
}

function isZero(value: JsonValue): boolean {
  return value === '' || value === 0 || value === false;
}

/** What Go prints for a list element that carries no value (an empty message in a repeated field). */
function zeroOf(f: protobuf.Field): JsonValue {
  if (f.resolvedType instanceof protobuf.Type) return {};
  if (f.type === 'string' || f.type === 'bytes') return '';
  if (f.type === 'bool') return false;
  return 0;
}
