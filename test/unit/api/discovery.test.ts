import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AGGREGATED_DISCOVERY_CONTENT_TYPE,
  aggregatedDiscovery,
  aggregatedDiscoveryContentType,
  aggregatedDiscoveryVersion,
  apiGroup,
  apiResourceList,
  legacyApiGroupList,
  legacyApiVersions,
  rootDiscovery,
  storageVersionHash,
  wantsAggregatedDiscovery,
} from '../../../functions/api/discovery.ts';
import { resourceTypes } from '../../../schemas/registry.ts';

interface ResourceDiscovery {
  resource: string;
  responseKind: { group: string; version: string; kind: string };
  scope: string;
  singularResource: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  subresources?: Array<{ subresource: string; responseKind: { group: string; version: string; kind: string }; verbs: string[] }>;
}
interface GroupDiscovery {
  metadata: { name: string };
  versions: Array<{ version: string; freshness: string; resources: ResourceDiscovery[] }>;
}
interface DiscoveryList {
  kind: string;
  apiVersion: string;
  items: GroupDiscovery[];
}

/** Round-trips through JSON, as the API sends it. */
function wire<T>(value: object | undefined): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function allResources(): Map<string, ResourceDiscovery> {
  const found = new Map<string, ResourceDiscovery>();
  for (const scope of ['api', 'apis'] as const) {
    for (const group of wire<DiscoveryList>(aggregatedDiscovery(scope)).items) {
      for (const version of group.versions) {
        for (const resource of version.resources) found.set(`${group.metadata.name || 'core'}/${resource.resource}`, resource);
      }
    }
  }
  return found;
}

describe('aggregated discovery', () => {
  it('lists the core group alone under /api and every named group under /apis', () => {
    const api = wire<DiscoveryList>(aggregatedDiscovery('api'));
    const apis = wire<DiscoveryList>(aggregatedDiscovery('apis'));
    assert.equal(api.kind, 'APIGroupDiscoveryList');
    assert.equal(api.apiVersion, 'apidiscovery.k8s.io/v2');
    assert.deepEqual(
      api.items.map((g) => g.metadata.name),
      [''],
    );
    assert.deepEqual(apis.items.map((g) => g.metadata.name).sort(), [
      'admissionregistration.k8s.io',
      'apiextensions.k8s.io',
      'apps',
      'authentication.k8s.io',
      'authorization.k8s.io',
      'autoscaling',
      'batch',
      'coordination.k8s.io',
      'discovery.k8s.io',
      'metrics.k8s.io',
      'networking.k8s.io',
      'policy',
      'rbac.authorization.k8s.io',
      'scheduling.k8s.io',
      'storage.k8s.io',
    ]);
    for (const group of [...api.items, ...apis.items]) {
      assert.deepEqual(
        group.versions.map((v) => [v.version, v.freshness]),
        group.metadata.name === 'metrics.k8s.io'
          ? [['v1beta1', 'Current']]
          : group.metadata.name === 'autoscaling'
            ? [
                ['v2', 'Current'],
                ['v1', 'Current'],
              ]
            : [['v1', 'Current']],
      );
    }
  });

  it('lists every served resource exactly once', () => {
    assert.deepEqual([...allResources().keys()].sort(), resourceTypes.map((t) => t.id).sort());
  });

  const shortNames: Array<[string, string[] | undefined]> = [
    ['core/pods', ['po']],
    ['core/services', ['svc']],
    ['apps/deployments', ['deploy']],
    ['apps/replicasets', ['rs']],
    ['core/namespaces', ['ns']],
    ['core/nodes', ['no']],
    ['core/configmaps', ['cm']],
    ['core/endpoints', ['ep']],
    ['core/events', ['ev']],
    ['networking.k8s.io/ingresses', ['ing']],
    ['core/secrets', undefined],
  ];
  for (const [id, expected] of shortNames) {
    it(`gives ${id} the short names ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(allResources().get(id)?.shortNames, expected);
    });
  }

  it('puts exactly pods, replicationcontrollers, services, deployments, replicasets, statefulsets, daemonsets, jobs, cronjobs and horizontalpodautoscalers in the all category', () => {
    const inAll = [...allResources().entries()].filter(([, r]) => r.categories?.includes('all')).map(([id]) => id);
    assert.deepEqual(inAll.sort(), [
      'apps/daemonsets',
      'apps/deployments',
      'apps/replicasets',
      'apps/statefulsets',
      'autoscaling/horizontalpodautoscalers',
      'batch/cronjobs',
      'batch/jobs',
      'core/pods',
      'core/replicationcontrollers',
      'core/services',
    ]);
  });

  it('describes a resource with its kind, scope, singular name and verbs', () => {
    const deployments = allResources().get('apps/deployments');
    assert.deepEqual(deployments?.responseKind, { group: 'apps', version: 'v1', kind: 'Deployment' });
    assert.equal(deployments?.scope, 'Namespaced');
    assert.equal(deployments?.singularResource, 'deployment');
    assert.deepEqual(deployments?.verbs, ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']);
    assert.equal(allResources().get('core/nodes')?.scope, 'Cluster');
    assert.equal(allResources().get('core/namespaces')?.scope, 'Cluster');
  });

  it('describes subresources with what they return and accept', () => {
    const subresources = (id: string) =>
      Object.fromEntries((allResources().get(id)?.subresources ?? []).map((s) => [s.subresource, [s.responseKind, s.verbs]]));
    assert.deepEqual(subresources('apps/deployments'), {
      status: [{ group: 'apps', version: 'v1', kind: 'Deployment' }, ['get', 'patch', 'update']],
      scale: [{ group: 'autoscaling', version: 'v1', kind: 'Scale' }, ['get', 'patch', 'update']],
    });
    assert.deepEqual(subresources('core/pods'), {
      status: [{ group: '', version: 'v1', kind: 'Pod' }, ['get', 'patch', 'update']],
      binding: [{ group: '', version: 'v1', kind: 'Binding' }, ['create']],
      log: [{ group: '', version: 'v1', kind: 'Pod' }, ['get']],
      eviction: [{ group: 'policy', version: 'v1', kind: 'Eviction' }, ['create']],
      exec: [{ group: '', version: 'v1', kind: 'PodExecOptions' }, ['create', 'get']],
      attach: [{ group: '', version: 'v1', kind: 'PodAttachOptions' }, ['create', 'get']],
      portforward: [{ group: '', version: 'v1', kind: 'PodPortForwardOptions' }, ['create', 'get']],
      ephemeralcontainers: [{ group: '', version: 'v1', kind: 'Pod' }, ['get', 'patch', 'update']],
    });
  });

  it('answers v2beta1 clients with the v2beta1 apiVersion', () => {
    assert.equal(wire<DiscoveryList>(aggregatedDiscovery('apis', 'v2beta1')).apiVersion, 'apidiscovery.k8s.io/v2beta1');
  });
});

describe('aggregated discovery negotiation', () => {
  const kubectl =
    'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
  const cases: Array<[string | undefined, 'v2' | 'v2beta1' | undefined]> = [
    [kubectl, 'v2'],
    ['application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json', 'v2beta1'],
    ['application/json; as=APIGroupDiscoveryList; v=v2; g=apidiscovery.k8s.io', 'v2'],
    ['application/json', undefined],
    ['application/json, */*', undefined],
    ['application/json,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList', undefined],
    ['application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,application/json', undefined],
    ['application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json', undefined],
    [undefined, undefined],
  ];
  for (const [accept, expected] of cases) {
    it(`picks ${expected ?? 'legacy discovery'} for Accept ${JSON.stringify(accept)}`, () => {
      assert.equal(aggregatedDiscoveryVersion(accept), expected);
      assert.equal(wantsAggregatedDiscovery(accept), expected !== undefined);
    });
  }

  it('names the exact content types kubectl requires', () => {
    assert.equal(AGGREGATED_DISCOVERY_CONTENT_TYPE, 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    assert.equal(aggregatedDiscoveryContentType('v2'), AGGREGATED_DISCOVERY_CONTENT_TYPE);
    assert.equal(aggregatedDiscoveryContentType('v2beta1'), 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList');
  });
});

describe('legacy discovery', () => {
  it('serves APIVersions at /api', () => {
    assert.deepEqual(wire(legacyApiVersions()), { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    assert.deepEqual(wire<{ serverAddressByClientCIDRs: unknown }>(legacyApiVersions('127.0.0.1:6443')).serverAddressByClientCIDRs, [
      { clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' },
    ]);
  });

  it('serves an APIGroupList at /apis with preferred versions', () => {
    const list = wire<{ kind: string; groups: Array<{ name: string; versions: unknown[]; preferredVersion: unknown }> }>(legacyApiGroupList());
    assert.equal(list.kind, 'APIGroupList');
    const apps = list.groups.find((g) => g.name === 'apps');
    assert.deepEqual(apps, {
      name: 'apps',
      versions: [{ groupVersion: 'apps/v1', version: 'v1' }],
      preferredVersion: { groupVersion: 'apps/v1', version: 'v1' },
    });
    assert.equal(
      list.groups.some((g) => g.name === ''),
      false,
    );
  });

  it('serves an APIGroup per named group and nothing for unknown ones', () => {
    assert.deepEqual(wire(apiGroup('networking.k8s.io')), {
      kind: 'APIGroup',
      apiVersion: 'v1',
      name: 'networking.k8s.io',
      versions: [{ groupVersion: 'networking.k8s.io/v1', version: 'v1' }],
      preferredVersion: { groupVersion: 'networking.k8s.io/v1', version: 'v1' },
    });
    assert.equal(apiGroup('example.com'), undefined);
    assert.equal(apiGroup(''), undefined);
  });

  it('serves APIResourceLists with resources, short names, categories and subresources', () => {
    const core = wire<{ kind: string; groupVersion: string; resources: Array<Record<string, unknown>> }>(apiResourceList('', 'v1'));
    assert.equal(core.kind, 'APIResourceList');
    assert.equal(core.groupVersion, 'v1');
    const byName = new Map(core.resources.map((r) => [r.name, r]));
    assert.deepEqual(byName.get('pods'), {
      name: 'pods',
      singularName: 'pod',
      namespaced: true,
      kind: 'Pod',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['po'],
      categories: ['all'],
      storageVersionHash: 'xPOwRZ+Yhw8=',
    });
    assert.deepEqual(byName.get('pods/eviction'), {
      name: 'pods/eviction',
      singularName: '',
      namespaced: true,
      group: 'policy',
      version: 'v1',
      kind: 'Eviction',
      verbs: ['create'],
    });
    assert.deepEqual(byName.get('pods/log'), { name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] });
    assert.equal(byName.get('nodes')?.namespaced, false);

    const apps = wire<{ groupVersion: string; resources: Array<Record<string, unknown>> }>(apiResourceList('apps', 'v1'));
    assert.equal(apps.groupVersion, 'apps/v1');
    assert.deepEqual(
      apps.resources.map((r) => r.name),
      [
        'deployments',
        'deployments/status',
        'deployments/scale',
        'replicasets',
        'replicasets/status',
        'replicasets/scale',
        'daemonsets',
        'daemonsets/status',
        'controllerrevisions',
        'statefulsets',
        'statefulsets/status',
        'statefulsets/scale',
      ],
    );
    assert.deepEqual(
      apps.resources.find((r) => r.name === 'deployments/scale'),
      {
        name: 'deployments/scale',
        singularName: '',
        namespaced: true,
        group: 'autoscaling',
        version: 'v1',
        kind: 'Scale',
        verbs: ['get', 'patch', 'update'],
      },
    );
  });

  it('gives every stored resource the storageVersionHash kube-apiserver computes, and subresources and review kinds none', () => {
    // Values a kube-apiserver 1.32 serves for these resources.
    const known: Record<string, string> = {
      'v1 pods': 'xPOwRZ+Yhw8=',
      'v1 services': '0/CO1lhkEBI=',
      'v1 configmaps': 'qFsyl6wFWjQ=',
      'v1 namespaces': 'Q3oi5N2YM8M=',
      'v1 nodes': 'XwShjMxG9Fs=',
      'apps/v1 deployments': '8aSe+NMegvE=',
    };
    for (const [key, hash] of Object.entries(known)) {
      const [groupVersion = '', plural] = key.split(' ');
      const [group, version] = groupVersion.includes('/') ? groupVersion.split('/') : ['', groupVersion];
      const list = wire<{ resources: Array<Record<string, unknown>> }>(apiResourceList(group ?? '', version ?? ''));
      assert.equal(list.resources.find((r) => r.name === plural)?.storageVersionHash, hash, key);
    }
    for (const type of resourceTypes) {
      const list = wire<{ resources: Array<Record<string, unknown>> }>(apiResourceList(type.group, type.version));
      for (const resource of list.resources) {
        const name = String(resource.name);
        if (name.includes('/') || !type.persisted || name !== type.plural) continue;
        assert.match(String(resource.storageVersionHash), /^[A-Za-z0-9+/]{11}=$/, `${type.id} has a storageVersionHash`);
      }
      const own = list.resources.find((r) => r.name === type.plural);
      if (!type.persisted) assert.equal(own?.storageVersionHash, undefined, `${type.id} is never stored`);
      for (const sub of list.resources.filter((r) => String(r.name).startsWith(`${type.plural}/`))) {
        assert.equal(sub.storageVersionHash, undefined, `${String(sub.name)} is a subresource`);
      }
    }
    assert.equal(storageVersionHash({ group: '', version: 'v1', kind: 'Pod' }), 'xPOwRZ+Yhw8=');
    // A custom resource served as v2 and stored as v1 hashes its storage version.
    assert.equal(
      storageVersionHash({ group: 'example.com', version: 'v2', kind: 'Widget', custom: { storageVersion: 'v1' } }),
      storageVersionHash({ group: 'example.com', version: 'v1', kind: 'Widget' }),
    );
  });

  it('serves HorizontalPodAutoscaler at autoscaling/v2, preferred, and at v1 (kubectl autoscale posts v1)', () => {
    assert.deepEqual(wire<{ preferredVersion: unknown; versions: unknown[] }>(apiGroup('autoscaling')).preferredVersion, {
      groupVersion: 'autoscaling/v2',
      version: 'v2',
    });
    for (const version of ['v2', 'v1']) {
      const list = wire<{ groupVersion: string; resources: Array<Record<string, unknown>> }>(apiResourceList('autoscaling', version));
      assert.equal(list.groupVersion, `autoscaling/${version}`);
      assert.deepEqual(
        list.resources.map((r) => [r.name, r.kind, r.namespaced]),
        [
          ['horizontalpodautoscalers', 'HorizontalPodAutoscaler', true],
          ['horizontalpodautoscalers/status', 'HorizontalPodAutoscaler', true],
        ],
      );
      assert.deepEqual(list.resources[0]?.shortNames, ['hpa']);
    }
  });

  it('serves nothing for a group version that is not served', () => {
    assert.equal(apiResourceList('apps', 'v1beta1'), undefined);
    assert.equal(apiResourceList('example.com', 'v1'), undefined);
  });
});

describe('rootDiscovery', () => {
  const cases: Array<[string, 'api' | 'apis', string | undefined, string, string]> = [
    [
      'kubectl 1.32 gets aggregated v2',
      'apis',
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json',
      AGGREGATED_DISCOVERY_CONTENT_TYPE,
      'APIGroupDiscoveryList',
    ],
    [
      'a v2beta1-only client gets v2beta1 with its content type',
      'api',
      'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json',
      'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList',
      'APIGroupDiscoveryList',
    ],
    ['a plain JSON client gets APIVersions at /api', 'api', 'application/json, */*', 'application/json', 'APIVersions'],
    ['a plain JSON client gets APIGroupList at /apis', 'apis', undefined, 'application/json', 'APIGroupList'],
  ];
  for (const [name, scope, accept, contentType, kind] of cases) {
    it(name, () => {
      const answer = rootDiscovery(scope, accept);
      assert.equal(answer.contentType, contentType);
      assert.equal((answer.body as { kind: string }).kind, kind);
    });
  }

  it('labels a v2beta1 body with the v2beta1 apiVersion', () => {
    const answer = rootDiscovery('apis', 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList');
    assert.equal((answer.body as { apiVersion: string }).apiVersion, 'apidiscovery.k8s.io/v2beta1');
  });
});
