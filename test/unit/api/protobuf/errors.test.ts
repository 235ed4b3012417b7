/**
 * Bad protobuf bodies become a 400 Status (BadRequestError), never a plain Error that the API
 * would turn into a 500.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { decodeProtobufObject, encodeProtobufObject, isProtobufContentType, PROTOBUF_CONTENT_TYPE } from '../../../../functions/api/protobuf/index.ts';
import { BadRequestError, toStatus } from '../../../../functions/core/errors.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';

const magic = [0x6b, 0x38, 0x73, 0x00];

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web' }, creationTimestamp: '2024-01-02T03:04:05Z' },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }], resources: { limits: { cpu: '1' } } }] },
    },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
  },
  status: {},
} as unknown as KubeObject;

function envelope(fields: { apiVersion?: string; kind?: string; raw?: Uint8Array; contentEncoding?: string; contentType?: string }): Uint8Array {
  const writer = protobuf.Writer.create();
  if (fields.apiVersion !== undefined || fields.kind !== undefined) {
    writer.uint32(0x0a).fork();
    if (fields.apiVersion !== undefined) writer.uint32(0x0a).string(fields.apiVersion);
    if (fields.kind !== undefined) writer.uint32(0x12).string(fields.kind);
    writer.ldelim();
  }
  if (fields.raw) writer.uint32(0x12).bytes(fields.raw);
  if (fields.contentEncoding !== undefined) writer.uint32(0x1a).string(fields.contentEncoding);
  if (fields.contentType !== undefined) writer.uint32(0x22).string(fields.contentType);
  return Uint8Array.from([...magic, ...writer.finish()]);
}

function assertBadRequest(action: () => unknown, message?: RegExp): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof BadRequestError, `expected BadRequestError, got ${String(error)}`);
    const status = toStatus(error);
    assert.equal(status.code, 400);
    assert.equal(status.reason, 'BadRequest');
    if (message) assert.match(status.message ?? '', message);
    return true;
  });
}

describe('rejecting bad protobuf bodies', () => {
  const cases: { name: string; body: Uint8Array; message: RegExp }[] = [
    { name: 'an empty body', body: new Uint8Array(), message: /does not start with the "k8s\\0" prefix/ },
    { name: 'a JSON body sent as protobuf', body: new TextEncoder().encode('{"kind":"Namespace"}'), message: /prefix/ },
    { name: 'a prefix without the NUL byte', body: Uint8Array.from([0x6b, 0x38, 0x73, 0x01]), message: /prefix/ },
    { name: 'the magic prefix alone', body: Uint8Array.from(magic), message: /does not name the object's apiVersion and kind/ },
    { name: 'an envelope without a kind', body: envelope({ apiVersion: 'v1', raw: new Uint8Array() }), message: /apiVersion and kind/ },
    {
      name: 'a kind Skiff does not serve',
      body: envelope({ apiVersion: 'example.com/v1', kind: 'Widget', raw: new Uint8Array() }),
      message: /cannot decode Widget \(example.com\/v1\) from protobuf/,
    },
    {
      name: 'a served kind in another version',
      body: envelope({ apiVersion: 'apps/v1beta2', kind: 'Deployment', raw: new Uint8Array() }),
      message: /cannot decode Deployment/,
    },
    {
      name: 'a gzip content encoding',
      body: envelope({ apiVersion: 'v1', kind: 'Namespace', raw: new Uint8Array(), contentEncoding: 'gzip' }),
      message: /content encoding "gzip"/,
    },
    {
      name: 'YAML content inside the envelope',
      body: envelope({ apiVersion: 'v1', kind: 'Namespace', raw: new TextEncoder().encode('a: b'), contentType: 'application/yaml' }),
      message: /"application\/yaml" content/,
    },
    {
      name: 'JSON content that does not parse',
      body: envelope({ apiVersion: 'v1', kind: 'Namespace', raw: new TextEncoder().encode('{nope'), contentType: 'application/json' }),
      message: /does not parse/,
    },
    { name: 'an envelope cut in the middle', body: encodeProtobufObject(deployment).subarray(0, 20), message: /cannot decode the runtime.Unknown envelope/ },
    {
      name: 'a raw object cut in the middle',
      body: envelope({ apiVersion: 'v1', kind: 'Namespace', raw: Uint8Array.from([0x0a, 0x10, 0x0a, 0x03]) }),
      message: /cannot decode the Namespace message/,
    },
    {
      name: 'a field with an invalid wire type',
      body: envelope({ apiVersion: 'v1', kind: 'Namespace', raw: Uint8Array.from([0x0f, 0x00]) }),
      message: /cannot decode the Namespace message/,
    },
  ];
  for (const { name, body, message } of cases) {
    it(`answers 400 for ${name}`, () => assertBadRequest(() => decodeProtobufObject(body), message));
  }

  it('answers 400 or decodes, never anything else, for every truncation of a real body', () => {
    const bytes = encodeProtobufObject(deployment);
    for (let length = 0; length < bytes.length; length++) {
      try {
        decodeProtobufObject(bytes.subarray(0, length));
      } catch (error) {
        assert.ok(error instanceof BadRequestError, `length ${length}: ${String(error)}`);
      }
    }
  });

  it('answers 400 or decodes, never anything else, for every single-byte corruption of a real body', () => {
    const bytes = encodeProtobufObject(deployment);
    for (let index = magic.length; index < bytes.length; index++) {
      for (const flip of [0x01, 0x80, 0xff]) {
        const corrupted = Uint8Array.from(bytes);
        corrupted[index] = corrupted[index]! ^ flip;
        try {
          decodeProtobufObject(corrupted);
        } catch (error) {
          assert.ok(error instanceof BadRequestError, `byte ${index} ^ ${flip}: ${String(error)}`);
        }
      }
    }
  });
});

describe('rejecting objects that cannot be encoded', () => {
  const cases: { name: string; object: unknown; message: RegExp }[] = [
    { name: 'a kind Skiff does not serve', object: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: {} }, message: /cannot encode Widget/ },
    { name: 'an object without a kind', object: { apiVersion: 'v1', metadata: {} }, message: /apiVersion and kind/ },
    { name: 'replicas given as a string', object: { ...deployment, spec: { replicas: 'two' } }, message: /^spec\.replicas: expected an integer/ },
    {
      name: 'a fractional port',
      object: { apiVersion: 'v1', kind: 'Service', metadata: {}, spec: { ports: [{ port: 80.5 }] } },
      message: /^spec\.ports\[0\]\.port: expected an integer/,
    },
    {
      name: 'a timestamp that is not RFC 3339',
      object: { apiVersion: 'v1', kind: 'Namespace', metadata: { creationTimestamp: 'yesterday' } },
      message: /^metadata\.creationTimestamp: expected an RFC 3339 time/,
    },
    {
      name: 'secret data that is not base64',
      object: { apiVersion: 'v1', kind: 'Secret', metadata: {}, data: { k: 'not base64!' } },
      message: /^data\[k\]: expected base64 data/,
    },
    {
      name: 'labels that are not a map',
      object: { apiVersion: 'v1', kind: 'Namespace', metadata: { labels: ['a'] } },
      message: /^metadata\.labels: expected an object/,
    },
    {
      name: 'containers that are not a list',
      object: { apiVersion: 'v1', kind: 'Pod', metadata: {}, spec: { containers: { name: 'x' } } },
      message: /^spec\.containers: expected an array/,
    },
    {
      name: 'a target port that is neither number nor string',
      object: { apiVersion: 'v1', kind: 'Service', metadata: {}, spec: { ports: [{ port: 80, targetPort: true }] } },
      message: /targetPort: expected an integer or a string/,
    },
  ];
  for (const { name, object, message } of cases) {
    it(`answers 400 for ${name}`, () => assertBadRequest(() => encodeProtobufObject(object as KubeObject), message));
  }
});

describe('recognising the protobuf media type', () => {
  const cases: [string | undefined, boolean][] = [
    [PROTOBUF_CONTENT_TYPE, true],
    ['application/vnd.kubernetes.protobuf; charset=utf-8', true],
    ['Application/VND.Kubernetes.Protobuf', true],
    ['application/vnd.kubernetes.protobuf;stream=watch', true],
    ['application/json', false],
    ['application/vnd.kubernetes.protobuf+json', false],
    ['', false],
    [undefined, false],
  ];
  for (const [contentType, expected] of cases) {
    it(`${expected ? 'accepts' : 'rejects'} ${JSON.stringify(contentType)}`, () => assert.equal(isProtobufContentType(contentType), expected));
  }
});
