import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeconfigError, parseKubeconfig } from '../../../node-agent/kubeconfig.ts';

const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown> = { token: 't0k' }): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'skiff',
    clusters: [{ name: 'local', cluster }],
    users: [{ name: 'node', user }],
    contexts: [{ name: 'skiff', context: { cluster: 'local', user: 'node' } }],
  });
}

describe('parseKubeconfig', () => {
  it('reads the server, the CA data and the token of the current context', () => {
    const credentials = parseKubeconfig(kubeconfig({ server: 'https://127.0.0.1:6443/', 'certificate-authority-data': Buffer.from(ca).toString('base64') }));
    assert.deepEqual(credentials, { server: 'https://127.0.0.1:6443', caPem: ca, token: 't0k' });
  });

  it('refuses insecure-skip-tls-verify rather than silently not verifying', () => {
    assert.throws(() => parseKubeconfig(kubeconfig({ server: 'https://x', 'insecure-skip-tls-verify': true })), KubeconfigError);
  });

  it('names a missing context', () => {
    const text = JSON.stringify({ 'current-context': 'nope', clusters: [], users: [], contexts: [] });
    assert.throws(() => parseKubeconfig(text), /no context "nope"/);
  });

  it('reads an exec credential plugin, resolving a relative command against the kubeconfig folder', () => {
    const user = {
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: './bin/skiff-token',
        args: ['token', '--cluster-id', 'prod'],
        env: [{ name: 'AWS_REGION', value: 'eu-west-1' }],
        interactiveMode: 'Never',
      },
    };
    const credentials = parseKubeconfig(kubeconfig({ server: 'https://abc.execute-api.eu-west-1.amazonaws.com/cluster' }, user), '/etc/skiff');
    assert.deepEqual(credentials, {
      server: 'https://abc.execute-api.eu-west-1.amazonaws.com/cluster',
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: '/etc/skiff/bin/skiff-token',
        args: ['token', '--cluster-id', 'prod'],
        env: { AWS_REGION: 'eu-west-1' },
      },
    });
  });

  it('runs a plugin named without a slash from the PATH, as kubectl does', () => {
    const credentials = parseKubeconfig(
      kubeconfig({ server: 'https://x' }, { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'skiff' } }),
    );
    assert.equal(credentials.exec?.command, 'skiff');
    assert.deepEqual(credentials.exec?.args, []);
  });
  it('reads the in-cluster server of the skiff.io/in-cluster-server extension as an origin, and refuses one with a path or not https', () => {
    const extensions = (url: string) => [{ name: 'skiff.io/in-cluster-server', extension: { url } }];
    const server = 'https://abc.execute-api.eu-west-1.amazonaws.com/cluster';
    const credentials = parseKubeconfig(kubeconfig({ server, extensions: extensions('https://xyz.lambda-url.eu-west-1.on.aws/') }));
    assert.deepEqual(credentials, { server, token: 't0k', inClusterServer: 'https://xyz.lambda-url.eu-west-1.on.aws' });
    for (const url of [
      'https://abc.execute-api.eu-west-1.amazonaws.com/cluster',
      'http://xyz.lambda-url.eu-west-1.on.aws/',
      'https://xyz.example/?a=1',
      'not a url',
    ]) {
      assert.throws(
        () => parseKubeconfig(kubeconfig({ server, extensions: extensions(url) })),
        /skiff\.io\/in-cluster-server extension needs an https:\/\/ url without a path/,
        url,
      );
    }
  });
});
