/**
 * NetworkPolicy over the memory store: the kind as kube-apiserver serves it (defaults, Table
 * columns, discovery) and its validation as 422s with kube-apiserver's field causes.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ApiHandler, ApiResponse } from '../../../functions/api/http.ts';
import { adminApi, apiCaller } from '../../support/api-calls.ts';
import { type MemoryCluster, memoryCluster } from '../../support/memory-cluster.ts';

let world: MemoryCluster;
let api: ApiHandler;
const call = apiCaller(() => api);

const json = (response: ApiResponse): Record<string, any> => JSON.parse(String(response.body));
const policies = '/apis/networking.k8s.io/v1/namespaces/apps/networkpolicies';
const policy = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name }, spec });

beforeEach(async () => {
  world = await memoryCluster();
  await world.namespace('apps');
  api = adminApi({ store: world.store, now: () => new Date('2026-11-29T12:00:00Z') });
});
afterEach(() => world.close());

describe('the NetworkPolicy kind', () => {
  it('is listed in discovery as networkpolicies with the short name netpol', async () => {
    const resources = json(await call('/apis/networking.k8s.io/v1')).resources as { name: string; shortNames?: string[]; namespaced: boolean }[];
    const entry = resources.find((r) => r.name === 'networkpolicies');
    assert.deepEqual([entry?.shortNames, entry?.namespaced], [['netpol'], true]);
  });

  it('defaults policyTypes to Ingress, and to Ingress and Egress when the policy has egress rules', async () => {
    const ingressOnly = json(await call(policies, { method: 'POST', body: policy('deny', { podSelector: {} }) }));
    assert.deepEqual(ingressOnly.spec.policyTypes, ['Ingress']);
    const both = json(await call(policies, { method: 'POST', body: policy('both', { egress: [{ ports: [{ port: 53 }] }] }) }));
    assert.deepEqual(both.spec.policyTypes, ['Ingress', 'Egress']);
    assert.deepEqual(both.spec.podSelector, {});
    assert.deepEqual(both.spec.egress[0].ports, [{ protocol: 'TCP', port: 53 }]);
    const egressOnly = json(await call(policies, { method: 'POST', body: policy('out', { podSelector: {}, policyTypes: ['Egress'] }) }));
    assert.deepEqual(egressOnly.spec.policyTypes, ['Egress']);
    assert.equal(egressOnly.metadata.generation, 1);
  });

  it('prints NAME, POD-SELECTOR and AGE as kube-apiserver does, <none> for a selector of every pod', async () => {
    await call(policies, { method: 'POST', body: policy('all', { podSelector: {} }) });
    await call(policies, {
      method: 'POST',
      body: policy('db', { podSelector: { matchLabels: { role: 'db' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['b', 'a'] }] } }),
    });
    const table = json(await call(policies, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' }));
    assert.deepEqual(
      table.columnDefinitions.map((c: { name: string }) => c.name),
      ['Name', 'Pod-Selector', 'Age'],
    );
    assert.deepEqual(
      table.rows.map((row: { cells: unknown[] }) => row.cells.slice(0, 2)),
      [
        ['all', '<none>'],
        ['db', 'role=db,tier notin (a,b)'],
      ],
    );
  });

  it('accepts the documented example with ipBlock except, namespace and pod selectors, named ports and endPort', async () => {
    const response = await call(policies, {
      method: 'POST',
      body: policy('example', {
        podSelector: { matchLabels: { role: 'db' } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          {
            from: [
              { ipBlock: { cidr: '172.17.0.0/16', except: ['172.17.1.0/24'] } },
              { namespaceSelector: { matchLabels: { project: 'myproject' } }, podSelector: { matchLabels: { role: 'frontend' } } },
            ],
            ports: [{ protocol: 'TCP', port: 6379 }, { port: 'http' }],
          },
        ],
        egress: [{ to: [{ ipBlock: { cidr: '2001:db8::/64', except: ['2001:db8::/96'] } }], ports: [{ protocol: 'UDP', port: 32000, endPort: 32768 }] }],
      }),
    });
    assert.equal(response.status, 201, String(response.body));
  });

  const refusals = [
    {
      name: 'an unknown protocol',
      spec: { ingress: [{ ports: [{ protocol: 'ICMP' }] }] },
      field: 'spec.ingress[0].ports[0].protocol',
      message: 'Unsupported value: "ICMP"',
    },
    {
      name: 'port 0',
      spec: { ingress: [{ ports: [{ port: 0 }] }] },
      field: 'spec.ingress[0].ports[0].port',
      message: 'must be between 1 and 65535, inclusive',
    },
    {
      name: 'an endPort below port',
      spec: { egress: [{ ports: [{ port: 80, endPort: 79 }] }] },
      field: 'spec.egress[0].ports[0].endPort',
      message: 'must be greater than or equal to `port`',
    },
    {
      name: 'an endPort with a named port',
      spec: { ingress: [{ ports: [{ port: 'http', endPort: 90 }] }] },
      field: 'spec.ingress[0].ports[0].endPort',
      message: 'may not be specified when `port` is non-numeric',
    },
    {
      name: 'an endPort without a port',
      spec: { ingress: [{ ports: [{ endPort: 90 }] }] },
      field: 'spec.ingress[0].ports[0].endPort',
      message: 'may not be specified when `port` is not specified',
    },
    { name: 'a bad port name', spec: { ingress: [{ ports: [{ port: 'no_such' }] }] }, field: 'spec.ingress[0].ports[0].port', message: 'alpha-numeric' },
    { name: 'an empty peer', spec: { ingress: [{ from: [{}] }] }, field: 'spec.ingress[0].from[0]', message: 'Required value: must specify a peer' },
    {
      name: 'an ipBlock beside a selector',
      spec: { egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] },
      field: 'spec.egress[0].to[0]',
      message: 'Forbidden: may not specify both ipBlock and another peer',
    },
    {
      name: 'an ipBlock without cidr',
      spec: { ingress: [{ from: [{ ipBlock: {} }] }] },
      field: 'spec.ingress[0].from[0].ipBlock.cidr',
      message: 'Required value',
    },
    {
      name: 'an invalid cidr',
      spec: { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] },
      field: 'spec.ingress[0].from[0].ipBlock.cidr',
      message: 'must be a valid CIDR value',
    },
    {
      name: 'an except outside the cidr',
      spec: { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.1.0.0/24'] } }] }] },
      field: 'spec.ingress[0].from[0].ipBlock.except[0]',
      message: 'must be a strict subset of `cidr`',
    },
    {
      name: 'an except as wide as the cidr',
      spec: { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.0.0/16'] } }] }] },
      field: 'spec.ingress[0].from[0].ipBlock.except[0]',
      message: 'must be a strict subset of `cidr`',
    },
    {
      name: 'a bad selector operator',
      spec: { podSelector: { matchExpressions: [{ key: 'a', operator: 'Near' }] } },
      field: 'spec.podSelector.matchExpressions[0].operator',
      message: 'Unsupported value',
    },
    {
      name: 'a bad namespace selector label',
      spec: { ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'bad key!': 'x' } } }] }] },
      field: 'spec.ingress[0].from[0].namespaceSelector.matchLabels',
      message: 'Invalid value',
    },
    { name: 'an unknown policy type', spec: { policyTypes: ['Sideways'] }, field: 'spec.policyTypes[0]', message: 'Unsupported value: "Sideways"' },
    {
      name: 'three policy types',
      spec: { policyTypes: ['Ingress', 'Egress', 'Ingress'] },
      field: 'spec.policyTypes',
      message: 'may not specify more than two policyTypes',
    },
  ];
  for (const refusal of refusals) {
    it(`refuses ${refusal.name} with 422 and the field cause`, async () => {
      const response = await call(policies, { method: 'POST', body: policy('bad', refusal.spec) });
      assert.equal(response.status, 422, String(response.body));
      const causes = json(response).details.causes as { field: string; message: string }[];
      assert.ok(
        causes.some((cause) => cause.field === refusal.field && cause.message.includes(refusal.message)),
        JSON.stringify(causes),
      );
    });
  }
});
