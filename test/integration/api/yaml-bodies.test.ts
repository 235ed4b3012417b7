/**
 * YAML on the wire, as kube-apiserver takes and gives it: `Content-Type: application/yaml`
 * bodies on create, update, subresources and delete options, and `Accept: application/yaml`
 * answered in YAML (objects, lists and Status errors alike), over the local HTTPS server and
 * DynamoDB Local.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { type RawAnswer, rawRequest } from '../../support/raw-https.ts';
import { startTestApi, type TestApi } from '../../support/test-api.ts';

const configMaps = '/api/v1/namespaces/default/configmaps';
const yamlBody = { 'content-type': 'application/yaml' };

describe('YAML request and response bodies', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi();
  });
  after(() => api.stop());

  const send = (method: string, path: string, body: string | undefined, headers: Record<string, string> = {}): Promise<RawAnswer> =>
    rawRequest(api.url, {
      method,
      path,
      token: api.token,
      // A Content-Length: Node's client frames no DELETE body by itself.
      headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      ...(body === undefined ? {} : { chunks: [body] }),
    });

  it('creates and replaces an object from a YAML body', async () => {
    const created = await send(
      'POST',
      configMaps,
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yaml-one\ndata:\n  greeting: hello\n  count: "3"\n',
      yamlBody,
    );
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.json?.data, { greeting: 'hello', count: '3' });
    const resourceVersion = (created.json?.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;

    const replaced = await send(
      'PUT',
      `${configMaps}/yaml-one`,
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yaml-one\n  resourceVersion: "${resourceVersion}"\ndata:\n  greeting: bye\n`,
      { 'content-type': 'application/yaml; charset=utf-8' },
    );
    assert.equal(replaced.status, 200, replaced.text);
    assert.deepEqual(replaced.json?.data, { greeting: 'bye' });
  });

  it('refuses broken YAML with a 400 Status and stores nothing', async () => {
    const answer = await send('POST', configMaps, 'apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n', yamlBody);
    assert.equal(answer.status, 400, answer.text);
    assert.equal(answer.json?.kind, 'Status');
    assert.equal(answer.json?.reason, 'BadRequest');
  });

  it('takes YAML delete options: a wrong uid precondition is a Conflict and the object stays', async () => {
    assert.equal((await send('POST', configMaps, 'metadata:\n  name: yaml-kept\n', yamlBody)).status, 201);
    const refused = await send('DELETE', `${configMaps}/yaml-kept`, 'apiVersion: v1\nkind: DeleteOptions\npreconditions:\n  uid: not-its-uid\n', yamlBody);
    assert.equal(refused.status, 409, refused.text);
    assert.equal((await send('GET', `${configMaps}/yaml-kept`, undefined)).status, 200);
  });

  it('answers in YAML when the client prefers it, with the same object the JSON answer holds', async () => {
    assert.equal((await send('POST', configMaps, 'metadata:\n  name: yaml-read\ndata:\n  "on": "yes"\n  list: "[1, 2]"\n', yamlBody)).status, 201);
    const asJson = await send('GET', `${configMaps}/yaml-read`, undefined);
    const asYaml = await send('GET', `${configMaps}/yaml-read`, undefined, { accept: 'application/yaml' });
    assert.equal(asYaml.status, 200);
    assert.equal(asYaml.headers['content-type'], 'application/yaml');
    assert.ok(asYaml.text.startsWith('apiVersion: v1\ndata:\n'), `keys in sorted order, as kube-apiserver writes them:\n${asYaml.text}`);
    // A Go (YAML 1.1) reader must get strings back: `on` and `yes` quoted.
    assert.match(asYaml.text, /"on": "yes"/);
    assert.deepEqual(parseYaml(asYaml.text), asJson.json);

    const list = await send('GET', configMaps, undefined, { accept: 'application/yaml, application/json' });
    assert.equal(list.headers['content-type'], 'application/yaml');
    const parsed = parseYaml(list.text) as { kind: string; items: Array<{ metadata: { name: string } }> };
    assert.equal(parsed.kind, 'ConfigMapList');
    assert.ok(parsed.items.some((item) => item.metadata.name === 'yaml-read'));
    assert.match(list.text, /\nitems:\n- /, 'sequences not indented under their key, as go-yaml writes them');
  });

  it('answers errors in YAML too, and JSON whenever JSON comes first', async () => {
    const missing = await send('GET', `${configMaps}/nowhere`, undefined, { accept: 'application/yaml' });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['content-type'], 'application/yaml');
    assert.deepEqual((parseYaml(missing.text) as { reason: string; code: number }).reason, 'NotFound');

    for (const accept of ['application/json, application/yaml', 'application/vnd.kubernetes.protobuf, application/json', '*/*']) {
      const answer = await send('GET', `${configMaps}/yaml-read`, undefined, { accept });
      assert.equal(answer.headers['content-type'], 'application/json', accept);
    }
  });
});
