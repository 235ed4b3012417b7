/**
 * NetworkPolicy with the real kubectl (docs/adr/209): `kubectl apply` of a networking.k8s.io/v1
 * NetworkPolicy, its columns, `kubectl describe` and `kubectl explain`, and kube-apiserver's
 * validation as 422s; then, in namespace mode (root with nftables; skipped with the reason
 * printed otherwise), the policies enforced between pods of two nodes: a default deny, an allow
 * rule by pod label and named port, an egress deny, and a policy holding from a new pod's first packet.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { choosePodNetworkMode } from '../../node-agent/runtime/pod-network.ts';
import { get } from '../integration/services/proxy-support.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { waitFor } from '../support/wait.ts';

const possible = choosePodNetworkMode('auto', '10.128.0.0/24');
if (possible.mode !== 'namespaces') console.log(`# NetworkPolicy enforcement e2e skipped: ${possible.reason}`);
const enforcing = possible.mode === 'namespaces';

let cluster: TestCluster;
before(async () => {
  cluster = await startTestCluster({ nodes: enforcing ? 2 : 0 });
});
after(async () => {
  await cluster?.stop();
});

describe('NetworkPolicy with kubectl', { timeout: 180_000 }, () => {
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

describe('NetworkPolicy enforced in namespace mode', { timeout: 240_000, skip: enforcing ? false : possible.reason }, () => {
  // A namespace of its own: the policies of the tests above do not select these pods.
  const namespace = 'enforced';
  const kubectl = (args: string[]) => cluster.kubectl(['-n', namespace, ...args]);
  const apply = (object: Record<string, unknown>) => cluster.kubectlOk(['-n', namespace, 'apply', '-f', '-'], { input: JSON.stringify(object) });
  const policy = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name }, spec });
  before(async () => {
    await cluster.kubectlOk(['create', 'namespace', namespace]);
  });
  const pod = (name: string, node: string, image: string, labels: Record<string, string>) =>
    apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels },
      spec: { nodeName: node, containers: [{ name: 'main', image, ...(image === 'nginx' ? { ports: [{ name: 'http', containerPort: 80 }] } : {}) }] },
    });
  const ipOf = (name: string) =>
    waitFor(
      `${name} running with an IP`,
      async () => {
        const out = await kubectl(['get', 'pod', name, '-o', 'jsonpath={.status.phase} {.status.podIP}']);
        const [phase, ip] = out.stdout.trim().split(' ');
        return phase === 'Running' && ip ? ip : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  /** The HTTP status a client pod gets from `ip` (000: no answer within a second). */
  const statusFrom = async (client: string, ip: string) =>
    (await kubectl(['exec', client, '--', 'curl', '-s', '-o', '/dev/null', '-m', '1', '-w', '%{http_code}', `http://${ip}/`])).stdout.trim();
  const reaches = (client: string, ip: string) =>
    waitFor(`${client} to reach ${ip}`, async () => (await statusFrom(client, ip)) === '200', { intervalMs: 200 });
  const blocked = (client: string, ip: string) =>
    waitFor(`${client} to be blocked from ${ip}`, async () => (await statusFrom(client, ip)) === '000', { intervalMs: 200 });

  let server = '';
  let open = '';
  it('a default deny blocks a client, an allow rule by pod label and named port lets one client through and not the other', async () => {
    // The server and one client share node 1's bridge (br_netfilter's path); the allowed client is on node 2.
    await pod('server', 'skiff-node-1', 'nginx', { app: 'server' });
    await pod('allowed', 'skiff-node-2', 'busybox', { role: 'allowed' });
    await pod('other', 'skiff-node-1', 'busybox', { role: 'other' });
    server = await ipOf('server');
    await Promise.all([ipOf('allowed'), ipOf('other')]);
    await reaches('allowed', server);
    await reaches('other', server);

    await apply(policy('server-deny', { podSelector: { matchLabels: { app: 'server' } }, policyTypes: ['Ingress'] }));
    await blocked('allowed', server);
    await blocked('other', server);
    // The node itself still reaches its pod (probes, NodePorts), as Kubernetes allows.
    assert.match(await get(server, 80), /Served by pod server/);

    await apply(
      policy('server-allow', {
        podSelector: { matchLabels: { app: 'server' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { role: 'allowed' } } }], ports: [{ port: 'http' }] }],
      }),
    );
    await reaches('allowed', server);
    // The table is written whole: once the allowed client passes, the rule set holds for the other.
    assert.equal(await statusFrom('other', server), '000');
  });

  it('an egress deny blocks a pod’s outbound connection and no other pod’s', async () => {
    await pod('open', 'skiff-node-2', 'nginx', { app: 'open' });
    open = await ipOf('open');
    await reaches('allowed', open);
    await reaches('other', open);
    await apply(policy('allowed-no-egress', { podSelector: { matchLabels: { role: 'allowed' } }, policyTypes: ['Egress'] }));
    await blocked('allowed', open);
    assert.equal(await statusFrom('other', open), '200');
    assert.equal((await kubectl(['delete', 'networkpolicy', 'allowed-no-egress'])).code, 0);
    await reaches('allowed', open);
  });

  it('holds for a new pod from its first packet: its containers start once the rules hold its address', async () => {
    await apply(
      policy('starters-no-egress', {
        podSelector: { matchExpressions: [{ key: 'role', operator: 'In', values: ['starter', 'other'] }] },
        policyTypes: ['Egress'],
      }),
    );
    // Node 1's table has the policy once the pod it already selects there is blocked.
    await blocked('other', open);
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'starter', labels: { role: 'starter' } },
      spec: {
        nodeName: 'skiff-node-1',
        restartPolicy: 'Never',
        containers: [
          { name: 'main', image: 'busybox', command: ['/bin/sh', '-c', `curl -s -o /dev/null -m 2 -w 'first=%{http_code}\\n' http://${open}/; sleep 3600`] },
        ],
      },
    });
    const log = await waitFor(
      'the starter to log its first request',
      async () => {
        const out = (await kubectl(['logs', 'starter'])).stdout;
        return /first=\d+/.test(out) ? out : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    assert.match(log, /first=000/);
  });
});
