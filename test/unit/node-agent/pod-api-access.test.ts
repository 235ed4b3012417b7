import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { rootCertificates } from 'node:tls';
import { podApiAccess } from '../../../node-agent/agent.ts';
import { parseKubeconfig } from '../../../node-agent/kubeconfig.ts';
import { amazonTrustServicesRoots } from '../../../node-agent/public-roots.ts';

const localCa = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function certificates(bundle: string): X509Certificate[] {
  return [...bundle.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((match) => new X509Certificate(match[0]));
}

describe('podApiAccess: what pods get to reach the API', () => {
  it('on AWS, gives pods the function URL as KUBERNETES_SERVICE_HOST/_PORT, not the REST API whose base path they cannot carry, and Amazon roots as ca.crt', () => {
    // The kubeconfig the node group's user data writes (cdk/node-group.ts): no CA (system roots), exec sign-in.
    const credentials = parseKubeconfig(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'skiff',
        clusters: [
          {
            name: 'prod',
            cluster: {
              server: 'https://abc123.execute-api.eu-west-1.amazonaws.com/cluster/',
              extensions: [
                { name: 'skiff.io/watch-channel', extension: { url: 'wss://def456.execute-api.eu-west-1.amazonaws.com/cluster' } },
                { name: 'skiff.io/in-cluster-server', extension: { url: 'https://a1b2c3.lambda-url.eu-west-1.on.aws/' } },
              ],
            },
          },
        ],
        users: [
          {
            name: 'node',
            user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: '/usr/bin/node', args: ['/opt/skiff/skiff.mjs', 'token'] } },
          },
        ],
        contexts: [{ name: 'skiff', context: { cluster: 'prod', user: 'node' } }],
      }),
    );
    const access = podApiAccess(credentials);
    assert.deepEqual(access.apiServer, { host: 'a1b2c3.lambda-url.eu-west-1.on.aws', port: '443' });
    assert.equal(access.caPem, amazonTrustServicesRoots());
  });

  it('locally, gives pods the server the agent uses and the CA it trusts', () => {
    assert.deepEqual(podApiAccess({ server: 'https://127.0.0.1:6443', caPem: localCa }), { apiServer: { host: '127.0.0.1', port: '6443' }, caPem: localCa });
    assert.deepEqual(podApiAccess({ server: 'https://[::1]:6443', caPem: localCa }).apiServer, { host: '::1', port: '6443' });
  });
});

describe("amazonTrustServicesRoots: the roots of AWS's endpoint certificates", () => {
  it("holds Amazon Root CA 1-4 and Starfield Services Root G2 from Node.js' root store, each a self-signed CA, and nothing else", () => {
    const roots = certificates(amazonTrustServicesRoots());
    assert.deepEqual(
      roots.map((root) => root.subject.split('\n').find((part) => part.startsWith('CN='))),
      ['CN=Amazon Root CA 1', 'CN=Amazon Root CA 2', 'CN=Amazon Root CA 3', 'CN=Amazon Root CA 4', 'CN=Starfield Services Root Certificate Authority - G2'],
    );
    for (const root of roots) {
      assert.equal(root.ca, true);
      assert.equal(root.subject, root.issuer, 'a root signs itself');
      assert.ok(root.verify(root.publicKey), 'its self-signature holds');
      assert.ok(
        rootCertificates.some((pem) => new X509Certificate(pem).fingerprint256 === root.fingerprint256),
        'taken from the shipped store',
      );
    }
  });

  it('returns what a store has of them, in the same order', () => {
    const store = [...rootCertificates].reverse();
    assert.equal(amazonTrustServicesRoots(store), amazonTrustServicesRoots());
    const withoutAmazon = rootCertificates.filter((pem) => !new X509Certificate(pem).subject.includes('O=Amazon'));
    assert.deepEqual(
      certificates(amazonTrustServicesRoots(withoutAmazon)).map((root) => root.subject.includes('Starfield Services')),
      [true],
    );
  });
});
