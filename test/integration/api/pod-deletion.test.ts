/**
 * Deleting pods as kube-apiserver's pod strategy does, over the local HTTPS server and DynamoDB
 * Local: a pod no node has taken, or one that has terminated, is removed at once whatever grace
 * period the client asks for (nobody would ever finish its deletion); a running pod on a node is
 * only marked for its agent to finish.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jsonRequest, type RawAnswer } from '../../support/raw-https.ts';
import { startTestApi, type TestApi } from '../../support/test-api.ts';

const pods = '/api/v1/namespaces/default/pods';

describe('pod deletion and grace periods', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi();
  });
  after(() => api.stop());

  const send = (method: string, path: string, body?: unknown): Promise<RawAnswer> => jsonRequest(api, method, path, body);

  const pod = (name: string, nodeName?: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...(nodeName ? { nodeName } : {}) },
  });

  it('removes a pod that was never scheduled at once, even when the client asks for a grace period', async () => {
    assert.equal((await send('POST', pods, pod('unscheduled'))).status, 201);
    const deleted = await send('DELETE', `${pods}/unscheduled`, { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 30 });
    assert.equal(deleted.status, 200, deleted.text);
    assert.equal((await send('GET', `${pods}/unscheduled`)).status, 404, 'not left Terminating');

    assert.equal((await send('POST', pods, pod('unscheduled-query'))).status, 201);
    assert.equal((await send('DELETE', `${pods}/unscheduled-query?gracePeriodSeconds=60`)).status, 200);
    assert.equal((await send('GET', `${pods}/unscheduled-query`)).status, 404);
  });

  it('removes a pod that has terminated at once, and only marks a running pod on a node', async () => {
    const created = await send('POST', pods, pod('finished', 'node-a'));
    assert.equal(created.status, 201, created.text);
    const status = await send('PUT', `${pods}/finished/status`, { ...created.json, status: { phase: 'Succeeded' } });
    assert.equal(status.status, 200, status.text);
    assert.equal((await send('DELETE', `${pods}/finished`, { gracePeriodSeconds: 30 })).status, 200);
    assert.equal((await send('GET', `${pods}/finished`)).status, 404);

    assert.equal((await send('POST', pods, pod('running', 'node-a'))).status, 201);
    assert.equal((await send('DELETE', `${pods}/running`, { gracePeriodSeconds: 30 })).status, 200);
    const marked = await send('GET', `${pods}/running`);
    assert.equal(marked.status, 200);
    const metadata = marked.json?.metadata as { deletionTimestamp?: string; deletionGracePeriodSeconds?: number };
    assert.ok(metadata.deletionTimestamp, 'a pod on a node waits for its agent');
    assert.equal(metadata.deletionGracePeriodSeconds, 30);
  });
});
