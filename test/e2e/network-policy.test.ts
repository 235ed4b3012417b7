/**
 * NetworkPolicy with the real kubectl (docs/adr/209): `kubectl apply` of a networking.k8s.io/v1
 * NetworkPolicy, its columns, `kubectl describe` and `kubectl explain`, and kube-apiserver's
 * validation as 422s.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';

describe('NetworkPolicy with kubectl', { timeout: 180_000 }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startTestCluster({ nodes: 0 });
  });
  after(async () => {
    await cluster?.stop();
  });

  const apply = (object: Record<string, unknown>) => cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(object) });
  const policy = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name }, spec });

  it('applies a policy, lists it with its pod selector and describes its rules', async () => {
    const applied = await apply(
      policy('db-access', {
        podSelector: { matchLabels: { role: 'db' } },
        ingress: [
          {
            from: [{ ipBlock: { cidr: '172.17.0.0/16', except: ['172.17.1.0/24'] } }, { podSelector: { matchLabels: { role: 'frontend' } } }],
            ports: [{ protocol: 'TCP', port: 6379 }],
          },
        ],
      }),
    );
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /networkpolicy\.networking\.k8s\.io\/db-access created/);
    assert.equal((await apply(policy('deny-all', { podSelector: {} }))).code, 0);

    const listed = await cluster.kubectlOk(['get', 'netpol']);
    assert.match(listed, /^NAME\s+POD-SELECTOR\s+AGE$/m);
    assert.match(listed, /^db-access\s+role=db\s+\S+$/m);
    assert.match(listed, /^deny-all\s+<none>\s+\S+$/m);

    const described = await cluster.kubectlOk(['describe', 'networkpolicy', 'db-access']);
    assert.match(described, /PodSelector:\s+role=db/);
    assert.match(described, /Allowing ingress traffic:/);
    assert.match(described, /To Port: 6379\/TCP/);
    assert.match(described, /IPBlock:\s+CIDR: 172\.17\.0\.0\/16\s+Except: 172\.17\.1\.0\/24/);
    assert.match(described, /PodSelector: role=frontend/);
    assert.match(described, /Policy Types: Ingress/);

    const explained = await cluster.kubectlOk(['explain', 'networkpolicy.spec.ingress.ports']);
    assert.match(explained, /endPort/);
  });

  it('refuses an invalid policy with kube-apiserver’s field errors', async () => {
    const refused = await apply(
      policy('bad', {
        podSelector: {},
        ingress: [{ ports: [{ protocol: 'ICMP', port: 'http', endPort: 90 }], from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.1.0.0/24'] } }] }],
      }),
    );
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /The NetworkPolicy "bad" is invalid/);
    assert.match(refused.stderr, /spec\.ingress\[0\]\.ports\[0\]\.protocol: Unsupported value: "ICMP"/);
    assert.match(refused.stderr, /spec\.ingress\[0\]\.ports\[0\]\.endPort: Invalid value: 90: may not be specified when `port` is non-numeric/);
    assert.match(refused.stderr, /spec\.ingress\[0\]\.from\[0\]\.ipBlock\.except\[0\]: Invalid value: "10\.1\.0\.0\/24": must be a strict subset of `cidr`/);
  });
});
