/**
 * The bad inputs of issue 9 against the API over the local HTTPS server and DynamoDB Local:
 * each gets its status, nothing is stored, and the server keeps serving.
 */
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { encodeProtobufObject } from '../../../functions/api/protobuf/index.ts';
import { MAX_REQUEST_BYTES } from '../../../functions/api/request-body.ts';
import { isApiError } from '../../../functions/core/errors.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { inChunksOf16KiB, type RawAnswer, rawRequest } from '../../support/raw-https.ts';
import { startTestApi, type TestApi } from '../../support/test-api.ts';

const configMaps = '/api/v1/namespaces/default/configmaps';

/** A ConfigMap whose JSON (or YAML, or protobuf) encoding is exactly `size` bytes. */
function configMapOfSize(name: string, size: number, encode: (object: KubeObject) => Buffer): Buffer {
  const encoded = (length: number) => encode({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { padding: 'x'.repeat(length) } });
  let length = size;
  for (let attempt = 0; attempt < 10; attempt++) {
    const body = encoded(length);
    if (body.length === size) return body;
    length += size - body.length;
  }
  throw new Error(`no padding gives a body of exactly ${size} bytes`);
}

const asJson = (object: KubeObject) => Buffer.from(JSON.stringify(object));
const asYaml = (object: KubeObject) =>
  Buffer.from(
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${object.metadata.name}\ndata:\n  padding: ${(object.data as { padding: string }).padding || "''"}\n`,
  );

describe('request limits and malformed requests', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi();
  });
  after(() => api?.stop());

  async function assertStillServing(): Promise<void> {
    const answer = await rawRequest(api.url, { path: configMaps, token: api.token });
    assert.equal(answer.status, 200, answer.text);
  }

  async function assertNotStored(name: string): Promise<void> {
    await assert.rejects(api.store.get(types.configmaps, 'default', name), (error: unknown) => isApiError(error, 404));
  }

  function assertStatus(answer: RawAnswer, code: number, message?: RegExp): void {
    assert.equal(answer.status, code, answer.text.slice(0, 500));
    assert.equal(answer.json?.kind, 'Status', answer.text.slice(0, 500));
    assert.equal(answer.json?.code, code);
    if (message) assert.match(answer.json?.message ?? '', message);
  }

  for (const [format, contentType, encode] of [
    ['JSON', 'application/json', asJson],
    ['YAML', 'application/yaml', asYaml],
    ['protobuf', 'application/vnd.kubernetes.protobuf', (object: KubeObject) => Buffer.from(encodeProtobufObject(object))],
  ] as const) {
    it(`refuses a ${format} body of the limit + 1 byte sent in 16 KiB chunks with 413 and stores nothing`, async () => {
      const name = `too-big-${format.toLowerCase()}`;
      const body = configMapOfSize(name, MAX_REQUEST_BYTES + 1, encode);
      const answer = await rawRequest(api.url, {
        method: 'POST',
        path: configMaps,
        token: api.token,
        headers: { 'content-type': contentType },
        chunks: inChunksOf16KiB(body),
      });
      assertStatus(answer, 413, new RegExp(`limit is ${MAX_REQUEST_BYTES}`));
      await assertNotStored(name);
      await assertStillServing();
    });
  }

  it('answers a Content-Length over the limit without a token with 401, before any of the body is sent', async () => {
    const answer = await rawRequest(api.url, {
      method: 'POST',
      path: configMaps,
      headers: { 'content-type': 'application/json', 'content-length': '10000000' },
      withholdBody: true,
    });
    assertStatus(answer, 401);
    await assertStillServing();
  });

  it('answers a Content-Length over the limit with a token with 413, before any of the body is sent', async () => {
    const answer = await rawRequest(api.url, {
      method: 'POST',
      path: configMaps,
      token: api.token,
      headers: { 'content-type': 'application/json', 'content-length': '10000000' },
      withholdBody: true,
    });
    assertStatus(answer, 413, /limit is 3145728/);
    await assertStillServing();
  });

  it('does not read a body before the caller is authenticated', async () => {
    // A small body that is never sent: an answer can only come if nothing waited for it.
    const answer = await rawRequest(api.url, {
      method: 'PUT',
      path: `${configMaps}/unread`,
      token: 'not-a-token',
      headers: { 'content-type': 'application/json', 'content-length': '100' },
      withholdBody: true,
    });
    assertStatus(answer, 401);
  });

  it('refuses a JSON patch of 30 copies of a copy with 422 and leaves the object as it was', async () => {
    await api.store.create(types.configmaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'copied', namespace: 'default' },
      data: { a: 'x'.repeat(100) },
    });
    const before = await api.store.get(types.configmaps, 'default', 'copied');
    const operations = [{ op: 'add', path: '/metadata/annotations', value: { seed: 'y'.repeat(100) } }];
    for (let i = 0; i < 30; i++) operations.push({ op: 'copy', path: `/metadata/annotations/c${i}`, from: '/metadata/annotations' } as never);
    const answer = await rawRequest(api.url, {
      method: 'PATCH',
      path: `${configMaps}/copied`,
      token: api.token,
      headers: { 'content-type': 'application/json-patch+json' },
      chunks: [JSON.stringify(operations)],
    });
    assertStatus(answer, 422);
    assert.match(JSON.stringify(answer.json), /accumulated size increase of copy is \d+, exceeding the limit 3145728/);
    assert.equal((await api.store.get(types.configmaps, 'default', 'copied')).metadata.resourceVersion, before.metadata.resourceVersion);
    await assertStillServing();
  });

  it('refuses a JSON patch of more than 10,000 operations with 413', async () => {
    const operations = Array.from({ length: 10_001 }, () => ({ op: 'test', path: '/kind', value: 'ConfigMap' }));
    const answer = await rawRequest(api.url, {
      method: 'PATCH',
      path: `${configMaps}/copied`,
      token: api.token,
      headers: { 'content-type': 'application/json-patch+json' },
      chunks: [JSON.stringify(operations)],
    });
    assertStatus(answer, 413, /maximum operations in a JSON patch is 10000, got 10001/);
  });

  for (const [what, method, path, contentType, body] of [
    [
      'a create',
      'POST',
      configMaps,
      'application/json',
      `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"data":${'['.repeat(200_000)}${']'.repeat(200_000)}}`,
    ],
    ['a merge patch', 'PATCH', `${configMaps}/copied`, 'application/merge-patch+json', `{"metadata":${'{"a":'.repeat(200_000)}1${'}'.repeat(200_000)}}`],
    [
      'a YAML create',
      'POST',
      configMaps,
      'application/yaml',
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: ${'['.repeat(200_000)}${']'.repeat(200_000)}\n`,
    ],
  ] as const) {
    it(`refuses 200,000-deep JSON in ${what} with 400`, async () => {
      const answer = await rawRequest(api.url, { method, path, token: api.token, headers: { 'content-type': contentType }, chunks: [body] });
      assertStatus(answer, 400);
      await assertNotStored('deep');
      await assertStillServing();
    });
  }

  it('refuses probes Node could not send (header `bad name`, a value with a line break, host `a b`) with 422 and stores no pod', async () => {
    const probes: [string, Record<string, unknown>][] = [
      ['header-name', { httpGet: { port: 80, httpHeaders: [{ name: 'bad name', value: 'x' }] } }],
      ['header-value', { httpGet: { port: 80, httpHeaders: [{ name: 'X-A', value: 'a\nInjected: 1' }] } }],
      ['host', { httpGet: { port: 80, host: 'a b' } }],
    ];
    for (const [name, probe] of probes) {
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `probe-${name}` },
        spec: { containers: [{ name: 'c', image: 'nginx', livenessProbe: probe }] },
      };
      const answer = await rawRequest(api.url, {
        method: 'POST',
        path: '/api/v1/namespaces/default/pods',
        token: api.token,
        headers: { 'content-type': 'application/json' },
        chunks: [Buffer.from(JSON.stringify(pod))],
      });
      assertStatus(answer, 422, /livenessProbe\.httpGet/);
      await assert.rejects(api.store.get(types.pods, 'default', `probe-${name}`), (error: unknown) => isApiError(error, 404));
    }
    await assertStillServing();
  });

  it('answers a malformed escape in the path with 400, and with 401 without a token', async () => {
    const path = '/api/v1/namespaces/default/configmaps/%E0%A4%A';
    assertStatus(await rawRequest(api.url, { path, token: api.token }), 400);
    assertStatus(await rawRequest(api.url, { path }), 401);
    await assertStillServing();
  });

  it('answers an empty namespace segment with 404 instead of listing every namespace', async () => {
    assertStatus(await rawRequest(api.url, { path: '/api/v1/namespaces//pods', token: api.token }), 404);
    assertStatus(await rawRequest(api.url, { path: '/api/v1/namespaces//configmaps/x', token: api.token }), 404);
  });

  it('answers limit=-1 and resourceVersion=abc with 400, on lists and watches', async () => {
    for (const query of ['limit=-1', 'limit=abc', 'resourceVersion=abc', 'watch=true&resourceVersion=abc', 'watch=true&timeoutSeconds=soon']) {
      assertStatus(await rawRequest(api.url, { path: `${configMaps}?${query}`, token: api.token }), 400);
    }
    await assertStillServing();
  });

  it('runs a watch with timeoutSeconds=99999999 (clamped) instead of failing', async () => {
    const controller = new AbortController();
    const answer = await new Promise<{ status: number; firstLine: string }>((resolve, reject) => {
      const url = new URL(api.url);
      const outgoing = httpsRequest(
        {
          host: url.hostname,
          port: url.port,
          path: `${configMaps}?watch=true&timeoutSeconds=99999999`,
          headers: { authorization: `Bearer ${api.token}` },
          rejectUnauthorized: false,
          signal: controller.signal,
        },
        (response) => {
          response.setEncoding('utf8');
          let text = '';
          response.on('data', (chunk: string) => {
            text += chunk;
            if (text.includes('\n')) resolve({ status: response.statusCode ?? 0, firstLine: text.slice(0, text.indexOf('\n')) });
          });
        },
      );
      outgoing.on('error', (error) => {
        if (!controller.signal.aborted) reject(error);
      });
      outgoing.end();
    });
    controller.abort();
    assert.equal(answer.status, 200);
    assert.equal(JSON.parse(answer.firstLine).type, 'ADDED');
    await assertStillServing();
  });

  it('answers garbage, tampered and cross-namespace continue tokens with 400', async () => {
    for (let i = 0; i < 3; i++) {
      await api.store.create(types.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `page-${i}`, namespace: 'kube-public' } });
    }
    const first = await rawRequest(api.url, { path: '/api/v1/namespaces/kube-public/configmaps?limit=1', token: api.token });
    assert.equal(first.status, 200);
    const token = (first.json?.metadata as { continue?: string } | undefined)?.continue ?? '';
    assert.ok(token, 'the first page has a continue token');
    const tampered = `${token.slice(0, 5)}${token[5] === 'A' ? 'B' : 'A'}${token.slice(6)}`;
    for (const [path, what] of [
      ['/api/v1/namespaces/kube-public/configmaps?limit=1&continue=%%%garbage', 'garbage'],
      [`/api/v1/namespaces/kube-public/configmaps?limit=1&continue=${encodeURIComponent(tampered)}`, 'tampered'],
      [`/api/v1/namespaces/default/configmaps?limit=1&continue=${encodeURIComponent(token)}`, 'another namespace'],
    ] as const) {
      const answer = await rawRequest(api.url, { path, token: api.token });
      assert.equal(answer.status, 400, `${what}: ${answer.text}`);
    }
    await assertStillServing();
  });
});
