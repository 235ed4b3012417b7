/**
 * metadata.generation per kind, as kube-apiserver 1.32's registry strategies keep it
 * (docs/adr/204): which kinds have one, what moves it on update, and what a delete does to it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changesGeneration, planCreate, planDelete, planUpdate, type StoredObject } from '../../../functions/store/object-lifecycle.ts';
import { parseCustomResourceDefinition, storageTypeOf } from '../../../schemas/custom-resource-definition.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { type GenerationRule, persistedTypes, type ResourceType, types } from '../../../schemas/registry.ts';

const now = new Date('2026-01-02T03:04:05.678Z');

function stored(object: KubeObject, revision = 7): StoredObject {
  return {
    key: `${object.metadata.namespace ?? ''}/${object.metadata.name}`,
    revision,
    object: { ...object, metadata: { ...object.metadata, resourceVersion: String(revision) } },
  };
}

/** The object `incoming` becomes when it replaces `current` (the store's own planning). */
function updated(type: ResourceType, current: KubeObject, incoming: KubeObject): KubeObject {
  const write = planUpdate(type, stored(current), incoming, undefined);
  return write?.object ?? current;
}

function created(type: ResourceType, object: KubeObject): KubeObject {
  return planCreate(type, object, object.metadata.name ?? 'x', 'uid-1', now).object;
}

function widgetType(statusSubresource: boolean): ResourceType {
  const crd = parseCustomResourceDefinition({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          ...(statusSubresource ? { subresources: { status: {} } } : {}),
        },
      ],
    },
  });
  assert.ok(crd);
  const type = storageTypeOf(crd);
  assert.ok(type);
  return type;
}

describe('the kinds that keep a generation', () => {
  it('are the built-in kinds whose 1.32 strategy sets one, and no other', () => {
    const expected: Record<string, GenerationRule> = {
      'core/replicationcontrollers': 'spec',
      'apps/deployments': 'spec',
      'apps/replicasets': 'spec',
      'apps/daemonsets': 'spec',
      'apps/statefulsets': 'spec',
      'batch/jobs': 'spec',
      'batch/cronjobs': 'spec',
      'networking.k8s.io/ingresses': 'spec',
      'networking.k8s.io/ingressclasses': 'spec',
      'networking.k8s.io/networkpolicies': 'spec',
      'apiextensions.k8s.io/customresourcedefinitions': 'spec',
      'policy/poddisruptionbudgets': 'spec',
      'discovery.k8s.io/endpointslices': 'content-or-labels',
      'admissionregistration.k8s.io/mutatingwebhookconfigurations': 'content',
      'admissionregistration.k8s.io/validatingwebhookconfigurations': 'content',
    };
    const actual = Object.fromEntries(persistedTypes.filter((type) => type.generation !== undefined).map((type) => [type.id, type.generation]));
    assert.deepEqual(actual, expected);
    for (const kind of [types.pods, types.services, types.nodes, types.persistentvolumeclaims, types.horizontalpodautoscalers, types.namespaces]) {
      assert.equal(kind.generation, undefined, kind.id);
    }
  });

  it('include custom resources: all but metadata moves it, and status too unless the CRD has a status subresource', () => {
    assert.equal(widgetType(true).generation, 'content-but-status');
    assert.equal(widgetType(false).generation, 'content');
  });
});

describe('generation on create', () => {
  const deployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'ns', generation: 7 },
    spec: { replicas: 1 },
  };

  it('is 1 for a kind that keeps one, whatever the client sent', () => {
    assert.equal(created(types.deployments, deployment).metadata.generation, 1);
    assert.equal(
      created(types.endpointslices, { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 's', namespace: 'ns' } }).metadata.generation,
      1,
    );
    assert.equal(created(widgetType(true), { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'ns' } }).metadata.generation, 1);
  });

  it('is none for a pod, a Service or a Node with a spec', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [] } };
    assert.equal(created(types.pods, pod).metadata.generation, undefined);
    assert.equal(
      created(types.services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'ns' }, spec: {} }).metadata.generation,
      undefined,
    );
    assert.equal(created(types.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, spec: {} }).metadata.generation, undefined);
  });

  it('keeps what the client sent for a kind without one, as BeforeCreate does', () => {
    assert.equal(
      created(types.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns', generation: 5 } }).metadata.generation,
      5,
    );
  });
});

describe('generation on update', () => {
  const deployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'ns', uid: 'u', generation: 3, labels: { app: 'web' } },
    spec: { replicas: 2, template: { metadata: { labels: { app: 'web' } } } },
    status: { replicas: 2 },
  };
  const slice: KubeObject = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-abc', namespace: 'ns', uid: 'u', generation: 2, labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.0.0.1'] }],
  };
  const widget: KubeObject = {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { name: 'w', namespace: 'ns', uid: 'u', generation: 4 },
    spec: { size: 1 },
    data: { colour: 'red' },
    status: { ready: false },
  };
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns', uid: 'u' },
    spec: { containers: [{ name: 'c', image: 'i' }] },
  };
  const webhooks: KubeObject = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'guard', uid: 'u', generation: 1 },
    webhooks: [{ name: 'guard.example.com', sideEffects: 'None', admissionReviewVersions: ['v1'], clientConfig: { url: 'https://guard.example.com' } }],
  };

  const cases: readonly { name: string; type: ResourceType; from: KubeObject; to: KubeObject; generation: number | undefined }[] = [
    {
      name: 'a Deployment moves on a spec change',
      type: types.deployments,
      from: deployment,
      to: { ...deployment, spec: { ...(deployment.spec as object), replicas: 3 } },
      generation: 4,
    },
    {
      name: 'a Deployment stays on a label change',
      type: types.deployments,
      from: deployment,
      to: { ...deployment, metadata: { ...deployment.metadata, labels: { app: 'web', tier: 'a' } } },
      generation: 3,
    },
    {
      name: 'a Deployment stays on a status change',
      type: types.deployments,
      from: deployment,
      to: { ...deployment, status: { replicas: 2, readyReplicas: 2 } },
      generation: 3,
    },
    {
      name: 'a Deployment ignores a generation the client sent',
      type: types.deployments,
      from: deployment,
      to: { ...deployment, metadata: { ...deployment.metadata, generation: 40 } },
      generation: 3,
    },
    {
      name: 'an EndpointSlice moves on a label change',
      type: types.endpointslices,
      from: slice,
      to: { ...slice, metadata: { ...slice.metadata, labels: { 'kubernetes.io/service-name': 'web', x: 'y' } } },
      generation: 3,
    },
    { name: 'an EndpointSlice moves on new endpoints', type: types.endpointslices, from: slice, to: { ...slice, endpoints: [] }, generation: 3 },
    {
      name: 'an EndpointSlice stays on an annotation change',
      type: types.endpointslices,
      from: slice,
      to: { ...slice, metadata: { ...slice.metadata, annotations: { a: 'b' } } },
      generation: 2,
    },
    {
      name: 'a custom resource with /status moves on a change beside its spec',
      type: widgetType(true),
      from: widget,
      to: { ...widget, data: { colour: 'blue' } },
      generation: 5,
    },
    {
      name: 'a custom resource with /status stays on a status change',
      type: widgetType(true),
      from: widget,
      to: { ...widget, status: { ready: true } },
      generation: 4,
    },
    {
      name: 'a custom resource without /status moves on a status change',
      type: widgetType(false),
      from: widget,
      to: { ...widget, status: { ready: true } },
      generation: 5,
    },
    {
      name: 'a custom resource stays on a label change',
      type: widgetType(false),
      from: widget,
      to: { ...widget, metadata: { ...widget.metadata, labels: { a: 'b' } } },
      generation: 4,
    },
    {
      name: 'a webhook configuration moves on a webhook change',
      type: types.validatingwebhookconfigurations,
      from: webhooks,
      to: { ...webhooks, webhooks: [] },
      generation: 2,
    },
    {
      name: 'a webhook configuration stays on a label change',
      type: types.validatingwebhookconfigurations,
      from: webhooks,
      to: { ...webhooks, metadata: { ...webhooks.metadata, labels: { a: 'b' } } },
      generation: 1,
    },
    {
      name: 'a pod bound to a node keeps none',
      type: types.pods,
      from: pod,
      to: { ...pod, spec: { ...(pod.spec as object), nodeName: 'n1' } },
      generation: undefined,
    },
    {
      name: 'a pod stored with a generation keeps it through a spec change',
      type: types.pods,
      from: { ...pod, metadata: { ...pod.metadata, generation: 1 } },
      to: { ...pod, metadata: { ...pod.metadata, generation: 9 }, spec: { ...(pod.spec as object), nodeName: 'n1' } },
      generation: 1,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(updated(c.type, c.from, c.to).metadata.generation, c.generation);
    });
  }

  it('compares content whatever its key order', () => {
    assert.equal(changesGeneration('content', widget, { ...widget, data: { colour: 'red' }, spec: { size: 1 } }), false);
    assert.equal(changesGeneration('content', widget, { ...widget, apiVersion: 'example.com/v1beta1' }), false);
    assert.equal(changesGeneration('content-or-labels', slice, { ...slice, metadata: { ...slice.metadata, labels: {} } }), true);
  });
});

describe('generation on delete', () => {
  const job: KubeObject = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'j', namespace: 'ns', uid: 'u', generation: 2, finalizers: ['f'] },
    spec: {},
  };
  const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', uid: 'u' }, spec: { nodeName: 'n1' } };

  it('moves one the object keeps when the delete marks it', () => {
    assert.equal(planDelete(types.jobs, stored(job), undefined, now).write?.object.metadata.generation, 3);
  });

  it('gives none to a pod marked for graceful deletion', () => {
    const marked = planDelete(types.pods, stored(pod), { gracePeriodSeconds: 30 }, now).write?.object;
    assert.ok(marked?.metadata.deletionTimestamp);
    assert.equal(marked.metadata.generation, undefined);
  });
});
