import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { namespaceLabels, networkPolicyRuleset, type PolicyPod, policyPods } from '../../../../node-agent/proxy/network-policy-rules.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';

const target = { table: 'skiffpol_n1', nodeName: 'n1' };

const pod = (
  name: string,
  ip: string,
  labels: Record<string, string>,
  options: { namespace?: string; node?: string; ports?: { name?: string; containerPort: number; protocol?: string }[]; phase?: string } = {},
): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: options.namespace ?? 'shop', labels },
    spec: { nodeName: options.node ?? 'n1', containers: [{ name: 'main', image: 'nginx', ports: options.ports ?? [] }] },
    status: { phase: options.phase ?? 'Running', podIP: ip },
  }) as KubeObject;

const namespace = (name: string, labels: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });

const policy = (name: string, spec: Record<string, unknown>, namespaceName = 'shop'): KubeObject =>
  ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: namespaceName }, spec }) as KubeObject;

function ruleset(pods: KubeObject[], policies: KubeObject[], namespaces: KubeObject[] = [namespace('shop'), namespace('ops', { team: 'ops' })]): string {
  return networkPolicyRuleset(target, { pods: policyPods(pods), namespaces: namespaceLabels(namespaces), policies });
}

const server = pod('server', '10.200.1.2', { app: 'server' }, { ports: [{ name: 'http', containerPort: 8080 }] });
const allowedClient = pod('allowed', '10.200.2.3', { app: 'client', role: 'allowed' }, { node: 'n2' });
const otherClient = pod('other', '10.200.1.4', { app: 'client' });

describe('NetworkPolicy rules', () => {
  it('writes an empty forward chain when no policy selects a pod of the node', () => {
    assert.equal(
      ruleset([server, allowedClient], []),
      [
        'table ip skiffpol_n1',
        'delete table ip skiffpol_n1',
        'table ip skiffpol_n1 {',
        '\tchain forward {',
        '\t\ttype filter hook forward priority filter; policy accept;',
        '\t\tct state established,related accept',
        '\t}',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('isolates the selected pods of the node for ingress: a default deny drops all but replies', () => {
    const script = ruleset([server, allowedClient, otherClient], [policy('deny', { podSelector: {}, policyTypes: ['Ingress'] })]);
    // Both pods of n1 are isolated; the pod of n2 is its own node's business.
    assert.match(script, /\t\tip daddr vmap \{ 10\.200\.1\.4 : jump ingress-0, 10\.200\.1\.2 : jump ingress-1 \}/);
    assert.match(script, /\tchain ingress-1 \{\n\t\tdrop comment "ingress of shop\/server"\n\t\}/);
    assert.doesNotMatch(script, /10\.200\.2\.3/);
    assert.doesNotMatch(script, /saddr vmap/);
    assert.ok(script.indexOf('ct state established,related accept') < script.indexOf('ip daddr vmap'));
  });

  it('allows the sources of a pod-label rule on the rule’s ports, a named port as the selected pod’s own', () => {
    const script = ruleset(
      [server, allowedClient, otherClient],
      [
        policy('allow-client', {
          podSelector: { matchLabels: { app: 'server' } },
          ingress: [
            {
              from: [{ podSelector: { matchLabels: { role: 'allowed' } } }],
              ports: [
                { protocol: 'TCP', port: 'http' },
                { protocol: 'UDP', port: 53 },
              ],
            },
          ],
        }),
      ],
    );
    assert.match(
      script,
      /\tchain ingress-0 \{\n\t\tip saddr @peers-0 udp dport \{ 53 \} accept comment "shop\/allow-client ingress\[0\]"\n\t\tip saddr @peers-0 tcp dport \{ 8080 \} accept comment "shop\/allow-client ingress\[0\]"\n\t\tdrop comment "ingress of shop\/server"\n\t\}/,
    );
    assert.match(script, /\tset peers-0 \{\n\t\ttype ipv4_addr\n\t\telements = \{ 10\.200\.2\.3 \}\n\t\}/);
    assert.match(script, /ip daddr vmap \{ 10\.200\.1\.2 : jump ingress-0 \}/);
  });

  it('unions the rules of every policy selecting a pod; a rule with no from or ports allows everything', () => {
    const script = ruleset(
      [server, allowedClient],
      [
        policy('a', { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ ports: [{ port: 80, endPort: 90 }, { port: 85 }, { port: 91 }] }] }),
        policy('b', { podSelector: {}, ingress: [{}] }),
      ],
    );
    assert.match(script, /\t\ttcp dport \{ 80-91 \} accept comment "shop\/a ingress\[0\]"/);
    assert.match(script, /\t\taccept comment "shop\/b ingress\[0\]"/);
  });

  it('selects peers by namespace labels, kubernetes.io/metadata.name included, and by both selectors together', () => {
    const opsPod = pod('tool', '10.200.3.5', { app: 'tool' }, { namespace: 'ops', node: 'n3' });
    const opsOther = pod('else', '10.200.3.6', { app: 'else' }, { namespace: 'ops', node: 'n3' });
    const script = ruleset(
      [server, opsPod, opsOther, allowedClient],
      [
        policy('ns', {
          podSelector: { matchLabels: { app: 'server' } },
          ingress: [
            { from: [{ namespaceSelector: { matchLabels: { team: 'ops' } } }] },
            { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ops' } }, podSelector: { matchLabels: { app: 'tool' } } }] },
          ],
        }),
      ],
    );
    assert.match(script, /ip saddr @peers-0 accept comment "shop\/ns ingress\[0\]"/);
    assert.match(script, /elements = \{ 10\.200\.3\.5, 10\.200\.3\.6 \}/);
    assert.match(script, /ip saddr @peers-1 accept comment "shop\/ns ingress\[1\]"/);
    assert.match(script, /elements = \{ 10\.200\.3\.5 \}/);
  });

  it('matches an ipBlock without its except ranges, merged; IPv6 blocks and peers matching no pod allow nothing', () => {
    const script = ruleset(
      [server],
      [
        policy('blocks', {
          podSelector: {},
          ingress: [
            { from: [{ ipBlock: { cidr: '172.17.0.1/16', except: ['172.17.1.0/24', '172.17.1.128/25', '172.17.9.0/24'] } }], ports: [{ port: 443 }] },
            { from: [{ ipBlock: { cidr: '2001:db8::/64' } }, { podSelector: { matchLabels: { app: 'nobody' } } }] },
          ],
        }),
      ],
    );
    assert.match(
      script,
      /\t\tip saddr 172\.17\.0\.0\/16 ip saddr != \{ 172\.17\.1\.0\/24, 172\.17\.9\.0\/24 \} tcp dport \{ 443 \} accept comment "shop\/blocks ingress\[0\]"/,
    );
    assert.doesNotMatch(script, /ingress\[1\]"/);
  });

  it('isolates a pod for egress: allowed destinations return so the destination’s ingress is still checked', () => {
    const script = ruleset(
      [server, allowedClient, otherClient],
      [
        policy('egress', {
          podSelector: { matchLabels: { app: 'client' } },
          policyTypes: ['Egress'],
          egress: [{ to: [{ podSelector: { matchLabels: { app: 'server' } } }], ports: [{ port: 'http' }] }, { ports: [{ protocol: 'UDP', port: 53 }] }],
        }),
      ],
    );
    assert.match(
      script,
      /\tchain egress-0 \{\n\t\tip daddr @peers-0 tcp dport \{ 8080 \} return comment "shop\/egress egress\[0\]"\n\t\tudp dport \{ 53 \} return comment "shop\/egress egress\[1\]"\n\t\tdrop comment "egress of shop\/other"\n\t\}/,
    );
    assert.match(script, /\tset peers-0 \{\n\t\ttype ipv4_addr\n\t\telements = \{ 10\.200\.1\.2 \}\n\t\}/);
    assert.match(script, /\t\tip saddr vmap \{ 10\.200\.1\.4 : jump egress-0 \}/);
    assert.doesNotMatch(script, /daddr vmap/);
  });

  it('writes each list of peer addresses once, as a named set every selected pod’s chain uses', () => {
    const script = ruleset(
      [server, otherClient, allowedClient],
      [policy('from-allowed', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'allowed' } } }] }] })],
    );
    assert.equal(script.match(/\tset peers-/g)?.length, 1);
    assert.equal(script.match(/ip saddr @peers-0 accept/g)?.length, 2);
  });

  it('defaults policyTypes as kube-apiserver does when a stored policy has none', () => {
    const script = ruleset([otherClient], [policy('implied', { podSelector: {}, egress: [{ ports: [{ port: 80 }] }] })]);
    assert.match(script, /ip saddr vmap \{ 10\.200\.1\.4 : jump egress-0 \}/);
    assert.match(script, /ip daddr vmap \{ 10\.200\.1\.4 : jump ingress-0 \}/);
  });

  it('leaves out pods of other namespaces, finished pods and pods without an IPv4 address', () => {
    const pods: PolicyPod[] = policyPods([
      server,
      pod('done', '10.200.1.7', { app: 'server' }, { phase: 'Succeeded' }),
      pod('v6', 'fd00::1', { app: 'server' }),
      pod('elsewhere', '10.200.1.8', { app: 'server' }, { namespace: 'ops' }),
    ]);
    assert.deepEqual(
      pods.map((p) => p.name),
      ['server', 'elsewhere'],
    );
    const script = networkPolicyRuleset(target, { pods, namespaces: new Map(), policies: [policy('deny', { podSelector: {} })] });
    assert.match(script, /ip daddr vmap \{ 10\.200\.1\.2 : jump ingress-0 \}/);
  });
});
