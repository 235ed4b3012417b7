/**
 * Bodies built by hand, field number by field number, check the decoder against the wire format
 * itself rather than against Skiff's own encoder: which field numbers mean what, how Go's
 * encoder writes zero values, and how special types turn into their JSON forms.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { decodeProtobufObject } from '../../../../functions/api/protobuf/index.ts';

const LEN = 2;
const VARINT = 0;

/** A message written field by field: [fieldNumber, value] with strings, numbers, booleans or nested bytes. */
type Field = readonly [number, string | number | boolean | Uint8Array];

function message(...fields: Field[]): Uint8Array {
  const writer = protobuf.Writer.create();
  for (const [number, value] of fields) {
    if (typeof value === 'string') writer.uint32((number << 3) | LEN).string(value);
    else if (value instanceof Uint8Array) writer.uint32((number << 3) | LEN).bytes(value);
    else if (typeof value === 'boolean') writer.uint32((number << 3) | VARINT).bool(value);
    else writer.uint32((number << 3) | VARINT).int64(value);
  }
  return writer.finish();
}

/** A map<string, V> entry: key is field 1, value field 2. */
function entry(key: string, value: string | Uint8Array): Uint8Array {
  return message([1, key], [2, value]);
}

/** A map field is one repeated entry message per key. */
function mapField(number: number, ...entries: Uint8Array[]): Field[] {
  return entries.map((bytes) => [number, bytes] as const);
}

function body(apiVersion: string, kind: string, raw: Uint8Array, contentType = ''): Uint8Array {
  const envelope = message([1, message([1, apiVersion], [2, kind])], [2, raw], [3, ''], [4, contentType]);
  return Uint8Array.from([0x6b, 0x38, 0x73, 0x00, ...envelope]);
}

const jan2 = Date.UTC(2024, 0, 2, 3, 4, 5) / 1000;

describe('decoding hand-built protobuf bodies', () => {
  it('reads ObjectMeta fields by number and Time as whole seconds in RFC 3339', () => {
    const objectMeta = message(
      [1, 'hand'],
      [5, 'uid-1'],
      [7, 0],
      [8, message([1, jan2], [2, 5000])],
      [9, new Uint8Array()],
      ...mapField(11, entry('team', 'a')),
      ...mapField(12, entry('note', 'built by hand')),
      [14, 'example.com/hold'],
    );
    const namespace = message([1, objectMeta], [2, message([1, 'kubernetes'])], [3, message([1, ''])]);
    assert.deepStrictEqual(decodeProtobufObject(body('v1', 'Namespace', namespace)), {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: 'hand',
        uid: 'uid-1',
        creationTimestamp: '2024-01-02T03:04:05Z',
        labels: { team: 'a' },
        annotations: { note: 'built by hand' },
        finalizers: ['example.com/hold'],
      },
      spec: { finalizers: ['kubernetes'] },
      status: {},
    });
  });

  it("leaves out Go's zero time however it is written", () => {
    const goZeroSeconds = -62135596800;
    const objectMeta = message([1, 'zero'], [8, message([1, goZeroSeconds])], [9, new Uint8Array()]);
    assert.deepStrictEqual(decodeProtobufObject(body('v1', 'ConfigMap', message([1, objectMeta]))), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'zero' },
    });
  });

  it('keeps zeros of pointer fields, drops zeros of omitempty fields, and keeps empty structs', () => {
    const spec = message([1, 0], [5, 0], [6, 10], [7, false], [4, new Uint8Array()]);
    const deployment = message([2, spec], [3, new Uint8Array()]);
    assert.deepStrictEqual(decodeProtobufObject(body('apps/v1', 'Deployment', deployment)), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {},
      spec: { replicas: 0, revisionHistoryLimit: 10, strategy: {} },
      status: {},
    });
  });

  it('turns IntOrString into a number or a string by its type', () => {
    const byName = message([1, 'http'], [3, 80], [4, message([1, 1], [3, 'web'])]);
    const byNumber = message([3, 443], [4, message([1, 0], [2, 8443])]);
    const service = message([1, message([1, 'svc'])], [2, message([1, byName], [1, byNumber])]);
    const decoded = decodeProtobufObject(body('v1', 'Service', service)) as unknown as { spec: { ports: unknown[] } };
    assert.deepStrictEqual(decoded.spec.ports, [
      { name: 'http', port: 80, targetPort: 'web' },
      { port: 443, targetPort: 8443 },
    ]);
  });

  it('turns MicroTime into RFC 3339 with six fractional digits', () => {
    const spec = message([1, 'holder'], [3, message([1, jan2], [2, 123_456_789])], [4, message([1, jan2 + 1])]);
    const lease = message([1, message([1, 'l'])], [2, spec]);
    const decoded = decodeProtobufObject(body('coordination.k8s.io/v1', 'Lease', lease)) as unknown as { spec: unknown };
    assert.deepStrictEqual(decoded.spec, { holderIdentity: 'holder', acquireTime: '2024-01-02T03:04:05.123456Z', renewTime: '2024-01-02T03:04:06.000000Z' });
  });

  it('flattens embedded structs and reads Quantity map values', () => {
    const configMapKeyRef = message([1, message([1, 'cfg'])], [2, 'level']);
    const env = message([1, 'LEVEL'], [3, message([3, configMapKeyRef])]);
    const resources = message(...mapField(1, entry('cpu', message([1, '500m']))), ...mapField(2, entry('memory', message([1, '64Mi']))));
    const container = message([1, 'app'], [2, 'nginx'], [7, env], [8, resources]);
    const probe = message([1, message([3, message([1, message([1, 0], [2, 80])])])], [4, 10]);
    const withProbe = message([1, 'probe'], [11, probe]);
    const pod = message([1, message([1, 'p'])], [2, message([2, container], [2, withProbe])]);
    const decoded = decodeProtobufObject(body('v1', 'Pod', pod)) as unknown as { spec: unknown };
    assert.deepStrictEqual(decoded.spec, {
      containers: [
        {
          name: 'app',
          image: 'nginx',
          env: [{ name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'level' } } }],
          resources: { limits: { cpu: '500m' }, requests: { memory: '64Mi' } },
        },
        { name: 'probe', readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 10 } },
      ],
    });
  });

  it('encodes Secret data bytes as base64', () => {
    const secret = message([1, message([1, 's'])], ...mapField(2, entry('key', Uint8Array.from([0, 255, 16]))), [3, 'Opaque']);
    assert.deepStrictEqual(decodeProtobufObject(body('v1', 'Secret', secret)), {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { key: 'AP8Q' },
      type: 'Opaque',
    });
  });

  it('skips fields it does not know, as newer clients may send them', () => {
    const namespace = message([1, message([1, 'future'], [99, 'unknown meta field'])], [42, 'unknown object field']);
    assert.deepStrictEqual(decodeProtobufObject(body('v1', 'Namespace', namespace)), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'future' } });
  });

  it('reads DeleteOptions by number, keeping a zero grace period', () => {
    const options = message([1, 0], [2, message([1, 'uid-1'])], [4, 'Foreground'], [5, 'All']);
    assert.deepStrictEqual(decodeProtobufObject(body('meta.k8s.io/v1', 'DeleteOptions', options)), {
      apiVersion: 'meta.k8s.io/v1',
      kind: 'DeleteOptions',
      gracePeriodSeconds: 0,
      preconditions: { uid: 'uid-1' },
      propagationPolicy: 'Foreground',
      dryRun: ['All'],
    });
  });

  it('accepts an envelope that carries JSON content', () => {
    const raw = new TextEncoder().encode(JSON.stringify({ metadata: { name: 'json-inside' }, data: { a: 'b' } }));
    assert.deepStrictEqual(decodeProtobufObject(body('v1', 'ConfigMap', raw, 'application/json')), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'json-inside' },
      data: { a: 'b' },
    });
  });
});
