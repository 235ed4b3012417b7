/**
 * Custom resources through the API core over the memory store: a CRD written straight into the
 * store (as another API instance would) appears in discovery at the next request; its objects
 * take every verb with the kind's schema, subresources and printer columns; the CRD controller
 * establishes it and, on delete, removes its objects and then itself.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ApiHandler } from '../../../functions/api/http.ts';
import { customResourceDefinitionController } from '../../../functions/controllers/custom-resource-definition/custom-resource-definition-controller.ts';
import { garbageCollector } from '../../../functions/controllers/garbage-collector/garbage-collector.ts';
import { setCustomResourceDefinitions } from '../../../schemas/custom-resource-registry.ts';
import { types } from '../../../schemas/registry.ts';
import { adminApi, apiCaller, responseJson } from '../../support/api-calls.ts';
import { type MemoryCluster, memoryCluster } from '../../support/memory-cluster.ts';

let world: MemoryCluster;
let api: ApiHandler;
const call = apiCaller(() => api);
const json = responseJson;

const crd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    scope: 'Namespaced',
    names: { plural: 'widgets', kind: 'Widget', shortNames: ['wd'] },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: {
          status: {},
          scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
        },
        additionalPrinterColumns: [{ name: 'Color', type: 'string', jsonPath: '.spec.color' }],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['color'],
                properties: { color: { type: 'string' }, replicas: { type: 'integer', default: 1, maximum: 5 } },
              },
              status: { type: 'object', properties: { replicas: { type: 'integer' }, selector: { type: 'string' } } },
            },
          },
        },
      },
      { name: 'v1beta1', served: true, storage: false, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
    ],
  },
};

const widgets = '/apis/example.com/v1/namespaces/apps/widgets';
const widget = (name: string, spec: Record<string, unknown> = { color: 'red' }, labels: Record<string, string> = {}) => ({
  apiVersion: 'example.com/v1',
  kind: 'Widget',
  metadata: { name, labels },
  spec,
});

async function establish(): Promise<void> {
  await customResourceDefinitionController.reconcile({ typeId: types.customresourcedefinitions.id, name: 'widgets.example.com' }, world.controllerContext());
}

beforeEach(async () => {
  world = await memoryCluster();
  await world.namespace('apps');
  api = adminApi({
    store: world.store,
  });
});
afterEach(() => {
  world.close();
  setCustomResourceDefinitions([]);
});

describe('custom resources through the API', () => {
  it('learns of a CRD another instance wrote at the next discovery request, once it is Established', async () => {
    const groups = async () => json(await call('/apis')).groups.map((group: { name: string }) => group.name);
    assert.ok(!(await groups()).includes('example.com'));
    await world.raw.create(types.customresourcedefinitions, crd);
    assert.ok(!(await groups()).includes('example.com'), 'not served before it is Established');
    await establish();
    assert.ok((await groups()).includes('example.com'));
    const resources = json(await call('/apis/example.com/v1')).resources;
    assert.deepEqual(
      resources.map((r: { name: string; shortNames?: string[] }) => [r.name, r.shortNames ?? []]),
      [
        ['widgets', ['wd']],
        ['widgets/status', []],
        ['widgets/scale', []],
      ],
    );
    const stored = await world.raw.get(types.customresourcedefinitions, undefined, 'widgets.example.com');
    const conditions = (stored.status as { conditions: { type: string; status: string }[] }).conditions;
    assert.deepEqual(
      conditions.map((c) => `${c.type}=${c.status}`),
      ['NamesAccepted=True', 'Established=True'],
    );
  });

  it('publishes each served version in the OpenAPI v3 documents, with no strategic merge patch, and drops it with the CRD', async () => {
    const index = async () => json(await call('/openapi/v3')).paths as Record<string, { serverRelativeURL: string }>;
    assert.equal((await index())['apis/example.com/v1'], undefined);
    await world.raw.create(types.customresourcedefinitions, crd);
    await establish();
    const paths = await index();
    assert.ok(paths['apis/apps/v1'], 'the built-in documents stay');
    const url = paths['apis/example.com/v1']?.serverRelativeURL ?? '';
    assert.match(url, /^\/openapi\/v3\/apis\/example\.com\/v1\?hash=[0-9A-F]+$/);
    const document = json(await call(url));
    const kind = document.components.schemas['com.example.v1.Widget'];
    assert.deepEqual(kind['x-kubernetes-group-version-kind'], [{ group: 'example.com', version: 'v1', kind: 'Widget' }]);
    assert.deepEqual(kind.properties.spec.properties.color, { type: 'string' });
    assert.deepEqual(kind.properties.metadata.allOf, [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }]);
    assert.ok(document.components.schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'], 'the components it refers to come along');
    assert.ok(document.components.schemas['com.example.v1.WidgetList']);
    const item = document.paths['/apis/example.com/v1/namespaces/{namespace}/widgets/{name}'];
    assert.deepEqual(item.patch['x-kubernetes-group-version-kind'], { group: 'example.com', version: 'v1', kind: 'Widget' });
    assert.deepEqual(Object.keys(item.patch.requestBody.content).sort(), [
      'application/apply-patch+yaml',
      'application/json-patch+json',
      'application/merge-patch+json',
    ]);
    assert.ok(document.paths['/apis/example.com/v1/namespaces/{namespace}/widgets/{name}/scale']);
    const builtIn = json(await call(paths['apis/apps/v1']?.serverRelativeURL ?? ''));
    assert.ok('application/strategic-merge-patch+json' in builtIn.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch.requestBody.content);
    const beta = json(await call(paths['apis/example.com/v1beta1']?.serverRelativeURL ?? ''));
    assert.equal(beta.components.schemas['com.example.v1beta1.Widget']['x-kubernetes-preserve-unknown-fields'], true);

    await world.raw.delete(types.customresourcedefinitions, undefined, 'widgets.example.com');
    assert.equal((await index())['apis/example.com/v1'], undefined, 'gone with the CRD');
    assert.equal((await call('/openapi/v3/apis/example.com/v1')).status, 404);
  });

  it('serves every verb with the schema, the subresources and the printer columns', async () => {
    await call('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { method: 'POST', body: crd });
    await establish();

    const created = await call(widgets, { method: 'POST', body: widget('w1', { color: 'red', extra: 1 }, { tier: 'a' }) });
    assert.equal(created.status, 201, String(created.body));
    assert.deepEqual(json(created).spec, { color: 'red', replicas: 1 }, 'pruned and defaulted');
    assert.match(created.headers.warning ?? '', /unknown field .*spec.extra/);

    const strict = await call(`${widgets}?fieldValidation=Strict`, { method: 'POST', body: widget('w9', { color: 'red', extra: 1 }) });
    assert.equal(strict.status, 400);
    assert.match(json(strict).message, /strict decoding error: unknown field "spec.extra"/);

    const invalid = await call(widgets, { method: 'POST', body: widget('w2', { replicas: 9 }) });
    assert.equal(invalid.status, 422);
    assert.equal(
      json(invalid).message,
      'Widget.example.com "w2" is invalid: [spec.color: Required value, spec.replicas: Invalid value: 9: spec.replicas in body should be less than or equal to 5]',
    );
    assert.deepEqual(
      json(invalid).details.causes.map((c: { field: string }) => c.field),
      ['spec.color', 'spec.replicas'],
    );

    const generated = await call(widgets, { method: 'POST', body: { ...widget(''), metadata: { generateName: 'gen-' } } });
    assert.match(json(generated).metadata.name, /^gen-[a-z0-9]{5}$/);

    // selectors
    const labelled = json(await call(`${widgets}?labelSelector=tier%3Da`)).items.map((i: { metadata: { name: string } }) => i.metadata.name);
    assert.deepEqual(labelled, ['w1']);
    const named = json(await call(`/apis/example.com/v1/widgets?fieldSelector=metadata.name%3Dw1,metadata.namespace%3Dapps`)).items;
    assert.equal(named.length, 1);
    assert.equal((await call(`${widgets}?fieldSelector=spec.color%3Dred`)).status, 400);

    // update with a stale resourceVersion
    const w1 = json(await call(`${widgets}/w1`));
    const stale = await call(`${widgets}/w1`, {
      method: 'PUT',
      body: { ...w1, metadata: { ...w1.metadata, resourceVersion: String(Number(w1.metadata.resourceVersion) + 1000) } },
    });
    assert.equal(stale.status, 409);

    // patches
    assert.equal(
      (await call(`${widgets}/w1`, { method: 'PATCH', contentType: 'application/merge-patch+json', body: { spec: { color: 'blue' } } })).status,
      200,
    );
    const jsonPatched = await call(`${widgets}/w1`, {
      method: 'PATCH',
      contentType: 'application/json-patch+json',
      body: [{ op: 'replace', path: '/spec/replicas', value: 2 }],
    });
    assert.equal(json(jsonPatched).spec.replicas, 2);
    const strategic = await call(`${widgets}/w1`, { method: 'PATCH', contentType: 'application/strategic-merge-patch+json', body: { spec: { color: 'x' } } });
    assert.equal(strategic.status, 415);
    const applied = await call(`${widgets}/w3?fieldManager=test`, {
      method: 'PATCH',
      contentType: 'application/apply-patch+yaml',
      body: widget('w3', { color: 'green' }),
    });
    assert.equal(applied.status, 201, String(applied.body));

    // status: the main resource ignores it, the subresource takes only it
    await call(`${widgets}/w1`, { method: 'PATCH', contentType: 'application/merge-patch+json', body: { status: { replicas: 7 } } });
    assert.equal(json(await call(`${widgets}/w1`)).status, undefined);
    await call(`${widgets}/w1/status`, {
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      body: { status: { replicas: 2, selector: 'app=w' }, spec: { color: 'pink' } },
    });
    const afterStatus = json(await call(`${widgets}/w1`));
    assert.deepEqual([afterStatus.status.replicas, afterStatus.spec.color], [2, 'blue']);

    // scale
    const scale = json(await call(`${widgets}/w1/scale`));
    assert.deepEqual([scale.kind, scale.spec.replicas, scale.status.replicas, scale.status.selector], ['Scale', 2, 2, 'app=w']);
    const scaled = await call(`${widgets}/w1/scale`, { method: 'PATCH', contentType: 'application/merge-patch+json', body: { spec: { replicas: 4 } } });
    assert.equal(json(scaled).spec.replicas, 4);
    assert.equal(json(await call(`${widgets}/w1`)).spec.replicas, 4);
    const tooMany = await call(`${widgets}/w1/scale`, { method: 'PATCH', contentType: 'application/merge-patch+json', body: { spec: { replicas: 6 } } });
    assert.equal(tooMany.status, 422);

    // the Table
    const table = json(await call(widgets, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' }));
    assert.deepEqual(
      table.columnDefinitions.map((c: { name: string }) => c.name),
      ['Name', 'Color'],
    );
    assert.deepEqual(
      table.rows.map((r: { cells: unknown[] }) => r.cells),
      [
        [json(generated).metadata.name, 'red'],
        ['w1', 'blue'],
        ['w3', 'green'],
      ],
    );

    // a watch from the list's revision sees a change, as the version asked for
    const listed = json(await call('/apis/example.com/v1beta1/namespaces/apps/widgets'));
    const stop = new AbortController();
    const watched = await call(`/apis/example.com/v1beta1/namespaces/apps/widgets?watch=1&resourceVersion=${listed.metadata.resourceVersion}`, {
      signal: stop.signal,
    });
    await call(`${widgets}/w3`, { method: 'PATCH', contentType: 'application/merge-patch+json', body: { spec: { color: 'red' } } });
    for await (const line of watched.stream ?? []) {
      const event = JSON.parse(String(line));
      assert.deepEqual(
        [event.type, event.object.apiVersion, event.object.metadata.name, event.object.spec.color],
        ['MODIFIED', 'example.com/v1beta1', 'w3', 'red'],
      );
      break;
    }
    stop.abort();

    // another served version reads the same objects with its apiVersion
    const beta = json(await call('/apis/example.com/v1beta1/namespaces/apps/widgets/w1'));
    assert.equal(beta.apiVersion, 'example.com/v1beta1');
    assert.equal(beta.spec.color, 'blue');
  });

  it('deletes the objects of a deleted CRD, waiting for their finalizers, then the CRD', async () => {
    await call('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { method: 'POST', body: crd });
    await establish();
    await call(widgets, { method: 'POST', body: widget('plain') });
    await call(widgets, { method: 'POST', body: { ...widget('held'), metadata: { name: 'held', finalizers: ['example.com/hold'] } } });

    const deleted = await call('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com', { method: 'DELETE' });
    assert.deepEqual(json(deleted).metadata.finalizers, ['customresourcecleanup.apiextensions.k8s.io']);
    assert.equal((await call(widgets, { method: 'POST', body: widget('late') })).status, 405);

    const result = await customResourceDefinitionController.reconcile(
      { typeId: types.customresourcedefinitions.id, name: 'widgets.example.com' },
      world.controllerContext(),
    );
    assert.ok(result?.requeueAfterSeconds, 'waits for the object its finalizer holds');
    const held = json(await call(`${widgets}/held`));
    assert.ok(held.metadata.deletionTimestamp);
    assert.equal((await call(`${widgets}/plain`)).status, 404);

    await call(`${widgets}/held`, { method: 'PATCH', contentType: 'application/merge-patch+json', body: { metadata: { finalizers: null } } });
    await establish();
    assert.equal((await call('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com')).status, 404);
    assert.equal((await call(widgets)).status, 404, 'the kind is no longer served');
  });

  it('collects the dependents of a deleted custom resource, and custom resources whose owner is gone, in a process that had not read the CRDs', async () => {
    await call('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { method: 'POST', body: crd });
    await establish();
    const owner = json(await call(widgets, { method: 'POST', body: widget('owner') }));
    const ownedBy = (object: { apiVersion: string; kind: string; metadata: { name: string; uid: string } }) => [
      { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name, uid: object.metadata.uid },
    ];
    const child = json(
      await call('/api/v1/namespaces/apps/configmaps', {
        method: 'POST',
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'child', ownerReferences: ownedBy(owner) } },
      }),
    );
    const parent = json(
      await call('/api/v1/namespaces/apps/configmaps', { method: 'POST', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'parent' } } }),
    );
    await call(widgets, { method: 'POST', body: { ...widget('dependent'), metadata: { name: 'dependent', ownerReferences: ownedBy(parent) } } });

    const dependent = json(await call(`${widgets}/dependent`));
    assert.equal((await call(`${widgets}/owner`, { method: 'DELETE' })).status, 200);
    assert.equal((await call('/api/v1/namespaces/apps/configmaps/parent', { method: 'DELETE' })).status, 200);
    // A controller process that has not read the CRDs: the registry starts empty.
    setCustomResourceDefinitions([]);
    const ctx = world.controllerContext();
    const changes = [
      { typeId: 'example.com/widgets', namespace: 'apps', name: 'owner', oldObject: owner },
      { typeId: types.configmaps.id, namespace: 'apps', name: 'child', newObject: child },
      { typeId: 'example.com/widgets', namespace: 'apps', name: 'dependent', newObject: dependent },
    ];
    const keys = changes.flatMap((change) => garbageCollector.keysFor(change));
    for (const key of keys) await garbageCollector.reconcile(key, ctx);
    assert.equal((await call('/api/v1/namespaces/apps/configmaps/child')).status, 404, 'the custom resource owner took its ConfigMap');
    assert.equal((await call(`${widgets}/dependent`)).status, 404, 'the ConfigMap owner took its custom resource');
  });
});
