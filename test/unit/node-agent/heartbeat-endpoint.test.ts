/**
 * The agent's end of the node heartbeat endpoint (docs/adr/196): the SigV4 signature it sends to
 * an AWS_IAM function URL, checked here by recomputing it from what arrived (the canonical
 * request and signing key of AWS's Signature Version 4 documentation), the bearer token it sends
 * to a local endpoint, which answers are the API's and which send the write through the API, and
 * the KubeClient's fallback to the API.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { awsIamSigner, HeartbeatEndpoint, HeartbeatUnavailableError } from '../../../node-agent/heartbeat-endpoint.ts';
import { KubeApiError, KubeClient } from '../../../node-agent/kube-client.ts';
import { types } from '../../../schemas/registry.ts';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const credentials = {
  accessKeyId: 'ASIAHEARTBEATTEST01',
  secretAccessKey: 'heartbeat/test/secret/key/0000000000000',
  sessionToken: 'IQoJb3JpZ2luX2VjHEARTBEAT',
};
const region = 'eu-west-1';
const lease = {
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name: 'i-0abc', namespace: 'kube-node-lease', resourceVersion: '41' },
  spec: { holderIdentity: 'i-0abc', leaseDurationSeconds: 40, renewTime: '2026-11-28T23:00:00.000000Z' },
};
const leasePath = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/i-0abc';

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** Recomputes a SigV4 signature of a received request (AWS's documented steps) and says whether it matches. */
function verifySigV4(request: Received, secretAccessKey: string): { ok: boolean; scope: string; signedHeaders: string[] } {
  const authorization = String(request.headers.authorization ?? '');
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
    authorization,
  );
  assert.ok(match, `an AWS4-HMAC-SHA256 authorization header: ${authorization}`);
  const [, , date = '', signedRegion = '', service = '', signedHeaderList = '', signature = ''] = match;
  const signedHeaders = signedHeaderList.split(';');
  const url = new URL(request.url, 'http://placeholder');
  const query = [...url.searchParams]
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .sort()
    .join('&');
  const canonicalHeaders = signedHeaders
    .map(
      (name) =>
        `${name}:${String(request.headers[name] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const canonicalRequest = [request.method, url.pathname, query, canonicalHeaders, signedHeaderList, sha256(request.body)].join('\n');
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  const scope = `${date}/${signedRegion}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), signedRegion), service), 'aws4_request');
  return { ok: createHmac('sha256', key).update(stringToSign).digest('hex') === signature, scope, signedHeaders };
}

describe('node heartbeat endpoint, agent side', () => {
  let server: http.Server;
  let base = '';
  const received: Received[] = [];
  let answer: (request: Received) => { status: number; body: string } = () => ({ status: 200, body: JSON.stringify(lease) });

  before(async () => {
    server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const got = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
        received.push(got);
        const { status, body } = answer(got);
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    received.length = 0;
    answer = () => ({ status: 200, body: JSON.stringify(lease) });
  });

  it('signs a renewal with SigV4 for service lambda in the URL region, over the path, headers and body sent', async () => {
    const endpoint = new HeartbeatEndpoint({
      config: { url: `${base}/`, awsIam: { region } },
      token: async () => 'never-sent',
      signer: awsIamSigner(region, credentials),
    });
    const stored = await endpoint.put(leasePath, lease);
    endpoint.close();
    assert.deepEqual(stored, lease);
    const [request] = received;
    assert.ok(request);
    assert.equal(request.method, 'PUT');
    assert.equal(request.url, leasePath);
    assert.deepEqual(JSON.parse(request.body), lease);
    assert.equal(request.headers['x-amz-security-token'], credentials.sessionToken);
    assert.match(String(request.headers['x-amz-date']), /^\d{8}T\d{6}Z$/);
    assert.ok(!String(request.headers.authorization).startsWith('Bearer'), 'no bearer token next to the signature');
    const verified = verifySigV4(request, credentials.secretAccessKey);
    assert.equal(verified.ok, true, 'the signature verifies with the secret key');
    assert.match(verified.scope, new RegExp(`^\\d{8}/${region}/lambda/aws4_request$`));
    for (const header of ['host', 'x-amz-date', 'content-type', 'x-amz-security-token'])
      assert.ok(verified.signedHeaders.includes(header), `${header} is signed`);
    assert.equal(verifySigV4(request, 'another-secret').ok, false, 'a check that can fail');
    // A body changed on the way no longer matches the signature.
    assert.equal(verifySigV4({ ...request, body: request.body.replace('i-0abc', 'i-0xyz') }, credentials.secretAccessKey).ok, false);
  });

  it('sends the bearer token to an endpoint without aws-iam auth', async () => {
    const endpoint = new HeartbeatEndpoint({ config: { url: `${base}/skiff-heartbeat` }, token: async () => 'node-token-1' });
    await endpoint.put(leasePath, lease);
    endpoint.close();
    assert.equal(received[0]?.url, `/skiff-heartbeat${leasePath}`);
    assert.equal(received[0]?.headers.authorization, 'Bearer node-token-1');
  });

  it("takes a Kubernetes Status as the API's answer, and anything else as the endpoint failing", async () => {
    const endpoint = new HeartbeatEndpoint({ config: { url: base }, token: async () => 't' });
    answer = () => ({
      status: 409,
      body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Conflict', code: 409, message: 'stale' }),
    });
    await assert.rejects(endpoint.put(leasePath, lease), (error: unknown) => error instanceof KubeApiError && error.code === 409);
    // Lambda's own refusal of a signature or a permission, its throttle, its failure.
    for (const [status, body] of [
      [403, '{"Message":"Forbidden"}'],
      [429, '{"Message":"Rate Exceeded."}'],
      [502, '{"Message":"Internal Server Error"}'],
      [500, 'not json'],
    ] as const) {
      answer = () => ({ status, body });
      await assert.rejects(endpoint.put(leasePath, lease), HeartbeatUnavailableError, `HTTP ${status}`);
    }
    endpoint.close();
    const nobody = new HeartbeatEndpoint({ config: { url: 'http://127.0.0.1:1' }, token: async () => 't' });
    await assert.rejects(nobody.put(leasePath, lease), HeartbeatUnavailableError);
    nobody.close();
  });

  it('KubeClient: renews through the endpoint, falls back to the API when it fails, and leaves it alone a while', async () => {
    answer = (request) => {
      if (request.url.startsWith('/hb/')) return { status: 502, body: '{"Message":"Internal Server Error"}' };
      return { status: 200, body: JSON.stringify({ ...lease, metadata: { ...lease.metadata, resourceVersion: '42' } }) };
    };
    const client = new KubeClient({ server: base, token: 'node-token-2', heartbeat: { url: `${base}/hb` } });
    const first = await client.heartbeatUpdate(types.leases, lease);
    assert.equal(first.metadata.resourceVersion, '42');
    assert.deepEqual(
      received.map((r) => `${r.method} ${r.url}`),
      [`PUT /hb${leasePath}`, `PUT ${leasePath}`],
    );
    received.length = 0;
    await client.heartbeatUpdate(types.leases, lease);
    assert.deepEqual(
      received.map((r) => `${r.method} ${r.url}`),
      [`PUT ${leasePath}`],
      'the endpoint is left alone after a failure',
    );
    client.close();

    // A conflict from the endpoint is the answer: the caller reads the Lease again, nothing is sent twice.
    received.length = 0;
    answer = () => ({
      status: 409,
      body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Conflict', code: 409, message: 'stale' }),
    });
    const again = new KubeClient({ server: base, token: 'node-token-2', heartbeat: { url: `${base}/hb` } });
    await assert.rejects(again.heartbeatUpdate(types.leases, lease), (error: unknown) => error instanceof KubeApiError && error.code === 409);
    assert.deepEqual(
      received.map((r) => r.url),
      [`/hb${leasePath}`],
    );
    again.close();
  });
});
