import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeClient } from '../../../node-agent/kube-client.ts';

describe('KubeClient.url', () => {
  const cases: Array<[string, string, string]> = [
    ['https://127.0.0.1:6443', '/api/v1/nodes', 'https://127.0.0.1:6443/api/v1/nodes'],
    ['https://127.0.0.1:6443/', '/api/v1/nodes', 'https://127.0.0.1:6443/api/v1/nodes'],
    // API Gateway serves the API under its stage: the stage stays in every request's path.
    [
      'https://abc123.execute-api.eu-west-1.amazonaws.com/cluster',
      '/apis/apps/v1/namespaces/default/deployments',
      'https://abc123.execute-api.eu-west-1.amazonaws.com/cluster/apis/apps/v1/namespaces/default/deployments',
    ],
    ['https://abc123.execute-api.eu-west-1.amazonaws.com/cluster/', '/api/v1/pods', 'https://abc123.execute-api.eu-west-1.amazonaws.com/cluster/api/v1/pods'],
    ['https://k8s.example.com/a/b/', '/version', 'https://k8s.example.com/a/b/version'],
  ];
  for (const [server, path, expected] of cases) {
    it(`puts ${path} under ${server}`, () => {
      assert.equal(KubeClient.url(new URL(server), path).href, expected);
    });
  }
});
