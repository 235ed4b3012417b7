import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyPatch, listStrategyOf } from '../../../../functions/api/patch/index.ts';
import { isApiError } from '../../../../functions/core/errors.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';
import { frozen } from './frozen.ts';
import { deployment, node } from './objects.ts';

type Container = { name: string; image?: string; ports?: unknown[]; env?: unknown[]; command?: unknown[] };
const podSpecOf = (object: KubeObject) => (object.spec as { template: { spec: Record<string, unknown> & { containers: Container[] } } }).template.spec;
const containersOf = (object: KubeObject) => podSpecOf(object).containers;
const smp = (current: KubeObject, patch: unknown, type = types.deployments) => applyPatch(type, current, frozen(patch), 'strategic');

describe('strategic merge patch: the exact bodies kubectl sends', () => {
  it('kubectl set image: merges containers by name and keeps the others', () => {
    const body = JSON.parse(
      '{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"nginx"}],"containers":[{"image":"httpd","name":"nginx"}]}}}}',
    );
    const containers = containersOf(smp(deployment(), body));
    assert.deepEqual(
      containers.map((c) => [c.name, c.image]),
      [
        ['nginx', 'httpd'],
        ['sidecar', 'busybox'],
      ],
    );
    assert.deepEqual(containers[0]?.ports, [{ containerPort: 80, protocol: 'TCP' }], 'fields the patch does not name stay');
  });

  it('kubectl taint: replaces the Node taints list, which has no merge strategy', () => {
    const result = smp(node(), { spec: { taints: [{ effect: 'NoSchedule', key: 'key', value: 'value' }] } }, types.nodes);
    assert.deepEqual((result.spec as { taints: unknown[] }).taints, [{ effect: 'NoSchedule', key: 'key', value: 'value' }]);
  });

  it('client-side kubectl apply: new last-applied annotation, changed fields and element order', () => {
    const body = {
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"new":true}\n' } },
      spec: {
        replicas: 2,
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'nginx' }],
            containers: [{ name: 'nginx', image: 'nginx:1.28', '$setElementOrder/env': [{ name: 'B' }, { name: 'A' }], env: [{ name: 'A', value: '10' }] }],
          },
        },
      },
    };
    const result = smp(deployment(), body);
    assert.equal(result.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'], '{"new":true}\n');
    assert.equal((result.spec as { replicas: number }).replicas, 2);
    const containers = containersOf(result);
    assert.deepEqual(
      containers.map((c) => c.name),
      ['sidecar', 'nginx'],
    );
    assert.deepEqual(containers[1]?.env, [
      { name: 'B', value: '2' },
      { name: 'A', value: '10' },
    ]);
  });
});

describe('strategic merge patch: list strategies', () => {
  const cases: { name: string; patch: unknown; check: (result: KubeObject) => void }[] = [
    {
      name: 'a new container is appended',
      patch: { spec: { template: { spec: { containers: [{ name: 'third', image: 'redis' }] } } } },
      check: (result) =>
        assert.deepEqual(
          containersOf(result).map((c) => c.name),
          ['nginx', 'sidecar', 'third'],
        ),
    },
    {
      name: 'container ports merge by containerPort',
      patch: { spec: { template: { spec: { containers: [{ name: 'nginx', ports: [{ containerPort: 443 }, { containerPort: 80, name: 'http' }] }] } } } },
      check: (result) => assert.deepEqual(containersOf(result)[0]?.ports, [{ containerPort: 80, protocol: 'TCP', name: 'http' }, { containerPort: 443 }]),
    },
    {
      name: 'env merges by name',
      patch: {
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'nginx',
                  env: [
                    { name: 'B', value: 'two' },
                    { name: 'C', value: '3' },
                  ],
                },
              ],
            },
          },
        },
      },
      check: (result) =>
        assert.deepEqual(containersOf(result)[0]?.env, [
          { name: 'A', value: '1' },
          { name: 'B', value: 'two' },
          { name: 'C', value: '3' },
        ]),
    },
    {
      name: 'tolerations have no strategy and are replaced',
      patch: { spec: { template: { spec: { tolerations: [{ key: 'other', operator: 'Exists' }] } } } },
      check: (result) => assert.deepEqual(podSpecOf(result).tolerations, [{ key: 'other', operator: 'Exists' }]),
    },
    {
      name: 'command is atomic and replaced',
      patch: { spec: { template: { spec: { containers: [{ name: 'sidecar', command: ['true'] }] } } } },
      check: (result) => assert.deepEqual(containersOf(result)[1]?.command, ['true']),
    },
    {
      name: 'finalizers merge as a set of primitives',
      patch: { metadata: { finalizers: ['example.com/b', 'example.com/a'] } },
      check: (result) => assert.deepEqual(result.metadata.finalizers, ['example.com/a', 'example.com/b']),
    },
    {
      name: 'ownerReferences merge by uid',
      patch: { metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u1' }] } },
      check: (result) => assert.deepEqual(result.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u1' }]),
    },
    {
      name: 'status conditions merge by type',
      patch: {
        status: {
          conditions: [
            { type: 'Progressing', status: 'True' },
            { type: 'Available', status: 'False' },
          ],
        },
      },
      check: (result) =>
        assert.deepEqual((result.status as { conditions: unknown[] }).conditions, [
          { type: 'Available', status: 'False' },
          { type: 'Progressing', status: 'True' },
        ]),
    },
    {
      name: 'null deletes a field inside a list item',
      patch: { spec: { template: { spec: { containers: [{ name: 'sidecar', command: null }] } } } },
      check: (result) => assert.deepEqual(containersOf(result)[1], { name: 'sidecar', image: 'busybox' }),
    },
  ];
  for (const { name, patch, check } of cases) {
    it(name, () => check(smp(deployment(), patch)));
  }

  it('Node status addresses merge by type', () => {
    const result = smp(node(), { status: { addresses: [{ type: 'Hostname', address: 'node1' }] } }, types.nodes);
    assert.deepEqual((result.status as { addresses: unknown[] }).addresses, [
      { type: 'InternalIP', address: '10.0.0.1' },
      { type: 'Hostname', address: 'node1' },
    ]);
  });

  it('Service ports merge by port', () => {
    const service = frozen({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80, targetPort: 8080 }] } });
    const result = smp(service, { spec: { ports: [{ port: 80, name: 'http' }, { port: 443 }] } }, types.services);
    assert.deepEqual((result.spec as { ports: unknown[] }).ports, [{ port: 80, targetPort: 8080, name: 'http' }, { port: 443 }]);
  });

  const table: [string, string[], string][] = [
    ['Pod', ['spec', 'containers'], 'map:name'],
    ['Pod', ['spec', 'initContainers', 'volumeMounts'], 'map:mountPath'],
    ['Pod', ['spec', 'volumes'], 'map:name'],
    ['Pod', ['spec', 'imagePullSecrets'], 'map:name'],
    ['Pod', ['spec', 'hostAliases'], 'map:ip'],
    ['Pod', ['spec', 'tolerations'], 'atomic'],
    ['Deployment', ['spec', 'template', 'spec', 'containers', 'ports'], 'map:containerPort'],
    ['ReplicaSet', ['spec', 'template', 'metadata', 'ownerReferences'], 'map:uid'],
    ['Node', ['spec', 'taints'], 'atomic'],
    ['Node', ['spec', 'podCIDRs'], 'set'],
    ['Service', ['spec', 'ports'], 'map:port'],
    ['ConfigMap', ['metadata', 'finalizers'], 'set'],
    ['EndpointSlice', ['endpoints'], 'atomic'],
  ];
  for (const [kind, path, expected] of table) {
    it(`the merge-key table says ${kind} ${path.join('.')} is ${expected}`, () => {
      const strategy = listStrategyOf(kind, path);
      assert.equal(strategy.type === 'map' ? `map:${strategy.key}` : strategy.type, expected);
    });
  }
});

describe('strategic merge patch: directives', () => {
  it('$patch: delete in a list item removes the item with that key', () => {
    const result = smp(deployment(), { spec: { template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } } } });
    assert.deepEqual(
      containersOf(result).map((c) => c.name),
      ['nginx'],
    );
  });

  it('$patch: replace as a list element replaces the whole list', () => {
    const result = smp(deployment(), { spec: { template: { spec: { containers: [{ $patch: 'replace' }, { name: 'solo', image: 'x' }] } } } });
    assert.deepEqual(containersOf(result), [{ name: 'solo', image: 'x' }]);
  });

  it('$patch: replace in a map replaces the map', () => {
    const result = smp(deployment(), { metadata: { labels: { $patch: 'replace', only: 'this' } } });
    assert.deepEqual(result.metadata.labels, { only: 'this' });
  });

  it('$patch: delete in a map deletes the map', () => {
    const result = smp(deployment(), { spec: { selector: { $patch: 'delete' } } });
    assert.equal((result.spec as Record<string, unknown>).selector, undefined);
  });

  it('$patch: merge in a map merges as usual', () => {
    const result = smp(deployment(), { metadata: { labels: { $patch: 'merge', more: 'x' } } });
    assert.deepEqual(result.metadata.labels, { app: 'web', more: 'x' });
  });

  it('$retainKeys keeps only the listed fields of the original', () => {
    const current = frozen({
      ...deployment(),
      spec: { ...(deployment().spec as object), strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } },
    });
    const result = smp(current, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } });
    assert.deepEqual((result.spec as Record<string, unknown>).strategy, { type: 'Recreate' });
  });

  it('$retainKeys that misses a field the patch sets is 422', () => {
    assert.throws(
      () => smp(deployment(), { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: { maxSurge: 1 } } } }),
      (error: unknown) => isApiError(error, 422),
    );
  });

  it('$deleteFromPrimitiveList removes values from a primitive list', () => {
    const result = smp(deployment(), { metadata: { '$deleteFromPrimitiveList/finalizers': ['example.com/a'] } });
    assert.deepEqual(result.metadata.finalizers, []);
  });

  it('$setElementOrder alone reorders the list and keeps server-only items in place', () => {
    const three = deployment({
      containers: [
        { name: 'a', image: '1' },
        { name: 'server-only', image: '2' },
        { name: 'c', image: '3' },
      ],
    });
    const result = smp(three, { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'c' }, { name: 'a' }] } } } });
    assert.deepEqual(
      containersOf(result).map((c) => c.name),
      ['c', 'server-only', 'a'],
    );
  });

  it('$setElementOrder orders a primitive set list', () => {
    const result = smp(deployment(), { metadata: { '$setElementOrder/finalizers': ['example.com/b', 'example.com/a'], finalizers: ['example.com/b'] } });
    assert.deepEqual(result.metadata.finalizers, ['example.com/b', 'example.com/a']);
  });

  it('directives inside new items are processed, not stored', () => {
    const result = smp(deployment(), {
      spec: { template: { spec: { containers: [{ name: 'new', image: 'x', '$setElementOrder/env': [{ name: 'E' }], env: [{ name: 'E', value: '1' }] }] } } },
    });
    assert.deepEqual(containersOf(result)[2], { name: 'new', image: 'x', env: [{ name: 'E', value: '1' }] });
  });

  const errors: [string, unknown, number][] = [
    ['a list item without its merge key', { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }, 422],
    ['an unknown $patch value', { metadata: { labels: { $patch: 'explode' } } }, 400],
    ['$deleteFromPrimitiveList that is not a list', { metadata: { '$deleteFromPrimitiveList/finalizers': 'a' } }, 400],
    ['$setElementOrder that is not a list', { metadata: { '$setElementOrder/finalizers': 'a' } }, 400],
    ['$retainKeys that is not a list of strings', { spec: { strategy: { $retainKeys: [1] } } }, 400],
    ['deleting the whole object', { $patch: 'delete' }, 400],
  ];
  for (const [what, patch, code] of errors) {
    it(`answers ${code} for ${what}`, () => {
      assert.throws(
        () => smp(deployment(), patch),
        (error: unknown) => isApiError(error, code),
      );
    });
  }
});
