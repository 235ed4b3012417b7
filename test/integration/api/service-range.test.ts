/**
 * A configured service range (`--service-cidr`, kube-apiserver's `--service-cluster-ip-range`)
 * over the local HTTPS server and DynamoDB Local: ClusterIPs are allocated from it, requests
 * outside it are refused with kube-apiserver's message, and a data dir keeps its range.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cidrContains, parseCidr } from '../../../functions/core/ipv4-range.ts';
import { dataDirServiceCidr } from '../../../functions/local/host.ts';
import { jsonRequest, type RawAnswer, rawRequest } from '../../support/raw-https.ts';
import { startTestApi, type TestApi } from '../../support/test-api.ts';

const services = '/api/v1/namespaces/default/services';

describe('a configured service range', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi({ admissionSettings: { serviceCidr: '172.20.0.0/16' } });
  });
  after(() => api.stop());

  const create = (name: string, spec: Record<string, unknown>): Promise<RawAnswer> => {
    return jsonRequest(api, 'POST', services, { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ port: 80 }], ...spec } });
  };

  it('allocates ClusterIPs from the range', async () => {
    const range = parseCidr('172.20.0.0/16');
    assert.ok(range);
    for (const name of ['ranged-a', 'ranged-b', 'ranged-c']) {
      const answer = await create(name, {});
      assert.equal(answer.status, 201, answer.text);
      const ip = (answer.json?.spec as { clusterIP?: string } | undefined)?.clusterIP ?? '';
      assert.ok(cidrContains(range, ip), `${ip} is in 172.20.0.0/16`);
      assert.notEqual(ip, '172.20.0.1', 'the first address is the kubernetes Service’s');
    }
  });

  it('takes a requested address inside the range and refuses one outside it as kube-apiserver does', async () => {
    const inside = await create('ranged-fixed', { clusterIP: '172.20.33.44' });
    assert.equal(inside.status, 201, inside.text);
    assert.equal((inside.json?.spec as { clusterIP?: string } | undefined)?.clusterIP, '172.20.33.44');

    const outside = await create('ranged-outside', { clusterIP: '10.96.0.50' });
    assert.equal(outside.status, 422, outside.text);
    assert.equal(outside.json?.reason, 'Invalid');
    const causes = (outside.json?.details as { causes?: { field: string; message: string }[] } | undefined)?.causes;
    assert.deepEqual(causes, [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.clusterIPs',
        message:
          'Invalid value: []string{"10.96.0.50"}: failed to allocate IP 10.96.0.50: the provided IP (10.96.0.50) is not in the valid range. The range of valid IPs is 172.20.0.0/16',
      },
    ]);
    const missing = await rawRequest(api.url, { path: `${services}/ranged-outside`, token: api.token });
    assert.equal(missing.status, 404, 'nothing stored');
  });
});

describe('the service range of a data dir', () => {
  it('is kept from the first start, refused when another is asked for, and checked as kube-apiserver checks it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skiff-service-range-'));
    try {
      assert.equal(await dataDirServiceCidr(dir, '172.20.0.0/16'), '172.20.0.0/16');
      assert.equal((await readFile(join(dir, 'service-cidr'), 'utf8')).trim(), '172.20.0.0/16');
      assert.equal(await dataDirServiceCidr(dir, undefined), '172.20.0.0/16', 'a later start without the flag keeps it');
      assert.equal(await dataDirServiceCidr(dir, '172.20.0.0/16'), '172.20.0.0/16');
      await assert.rejects(dataDirServiceCidr(dir, '10.100.0.0/16'), /was started with the service range 172\.20\.0\.0\/16/);
      await assert.rejects(dataDirServiceCidr(dir, '10.0.0.0/8'), /mask must be >= 12/);
      const fresh = await mkdtemp(join(tmpdir(), 'skiff-service-range-'));
      try {
        assert.equal(await dataDirServiceCidr(fresh, undefined), '10.96.0.0/12');
      } finally {
        await rm(fresh, { recursive: true, force: true });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
