import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openApiGroupVersion, openApiIndex } from '../../../functions/api/openapi.ts';
import { type ResourceType, resourceTypes } from '../../../schemas/registry.ts';

type Json = Record<string, any>;

function gvPath(type: ResourceType): string {
  return type.group ? `apis/${type.group}/${type.version}` : `api/${type.version}`;
}

function itemPath(type: ResourceType): string {
  const prefix = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  return type.namespaced ? `${prefix}/namespaces/{namespace}/${type.plural}/{name}` : `${prefix}/${type.plural}/{name}`;
}

function documentOf(type: ResourceType): Json {
  const document = openApiGroupVersion(gvPath(type));
  assert.ok(document, `no document for ${gvPath(type)}`);
  return document as Json;
}

const componentIds: Readonly<Record<string, string>> = {
  Namespace: 'io.k8s.api.core.v1.Namespace',
  Node: 'io.k8s.api.core.v1.Node',
  Pod: 'io.k8s.api.core.v1.Pod',
  Service: 'io.k8s.api.core.v1.Service',
  Endpoints: 'io.k8s.api.core.v1.Endpoints',
  ConfigMap: 'io.k8s.api.core.v1.ConfigMap',
  Secret: 'io.k8s.api.core.v1.Secret',
  Event: 'io.k8s.api.core.v1.Event',
  Deployment: 'io.k8s.api.apps.v1.Deployment',
  ReplicaSet: 'io.k8s.api.apps.v1.ReplicaSet',
  DaemonSet: 'io.k8s.api.apps.v1.DaemonSet',
  ControllerRevision: 'io.k8s.api.apps.v1.ControllerRevision',
  StatefulSet: 'io.k8s.api.apps.v1.StatefulSet',
  ResourceQuota: 'io.k8s.api.core.v1.ResourceQuota',
  LimitRange: 'io.k8s.api.core.v1.LimitRange',
  PersistentVolume: 'io.k8s.api.core.v1.PersistentVolume',
  PersistentVolumeClaim: 'io.k8s.api.core.v1.PersistentVolumeClaim',
  StorageClass: 'io.k8s.api.storage.v1.StorageClass',
  Job: 'io.k8s.api.batch.v1.Job',
  HorizontalPodAutoscaler: 'io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler',
  CronJob: 'io.k8s.api.batch.v1.CronJob',
  Lease: 'io.k8s.api.coordination.v1.Lease',
  Ingress: 'io.k8s.api.networking.v1.Ingress',
  IngressClass: 'io.k8s.api.networking.v1.IngressClass',
  NetworkPolicy: 'io.k8s.api.networking.v1.NetworkPolicy',
  PriorityClass: 'io.k8s.api.scheduling.v1.PriorityClass',
  MutatingWebhookConfiguration: 'io.k8s.api.admissionregistration.v1.MutatingWebhookConfiguration',
  ValidatingWebhookConfiguration: 'io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration',
  CustomResourceDefinition: 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition',
  EndpointSlice: 'io.k8s.api.discovery.v1.EndpointSlice',
  ReplicationController: 'io.k8s.api.core.v1.ReplicationController',
  PodDisruptionBudget: 'io.k8s.api.policy.v1.PodDisruptionBudget',
  ServiceAccount: 'io.k8s.api.core.v1.ServiceAccount',
  Role: 'io.k8s.api.rbac.v1.Role',
  ClusterRole: 'io.k8s.api.rbac.v1.ClusterRole',
  RoleBinding: 'io.k8s.api.rbac.v1.RoleBinding',
  ClusterRoleBinding: 'io.k8s.api.rbac.v1.ClusterRoleBinding',
  SelfSubjectReview: 'io.k8s.api.authentication.v1.SelfSubjectReview',
  TokenReview: 'io.k8s.api.authentication.v1.TokenReview',
  LocalSubjectAccessReview: 'io.k8s.api.authorization.v1.LocalSubjectAccessReview',
  SelfSubjectAccessReview: 'io.k8s.api.authorization.v1.SelfSubjectAccessReview',
  SelfSubjectRulesReview: 'io.k8s.api.authorization.v1.SelfSubjectRulesReview',
  SubjectAccessReview: 'io.k8s.api.authorization.v1.SubjectAccessReview',
};

/** Keywords of JSON Schema drafts that an OpenAPI 3.0 Schema Object does not have. */
const notInOpenApi30 = new Set(['$schema', '$id', '$defs', 'const', 'prefixItems', 'examples', 'dependentRequired', 'unevaluatedProperties']);

function walk(value: unknown, visit: (node: Json, path: string) => void, path = ''): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      walk(v, visit, `${path}[${i}]`);
    });
  } else if (value && typeof value === 'object') {
    visit(value as Json, path);
    for (const [k, v] of Object.entries(value)) walk(v, visit, `${path}/${k}`);
  }
}

describe('OpenAPI v3 index', () => {
  it('lists one document per served group-version, addressed by content hash', () => {
    const index = openApiIndex() as { paths: Record<string, { serverRelativeURL: string }> };
    const expected = [...new Set(resourceTypes.map(gvPath))].sort();
    assert.deepEqual(Object.keys(index.paths).sort(), expected);
    for (const [gv, entry] of Object.entries(index.paths)) {
      assert.match(entry.serverRelativeURL, new RegExp(`^/openapi/v3/${gv.replaceAll('.', '\\.')}\\?hash=[0-9A-F]{128}$`));
    }
  });

  it('gives each group-version a different hash and the same hash on every call', () => {
    const first = openApiIndex() as { paths: Record<string, { serverRelativeURL: string }> };
    const again = openApiIndex() as typeof first;
    assert.deepEqual(again, first);
    const hashes = Object.values(first.paths).map((p) => p.serverRelativeURL.split('hash=')[1]);
    assert.equal(new Set(hashes).size, hashes.length);
  });

  it('returns the same cached document on every call', () => {
    assert.equal(openApiGroupVersion('apis/apps/v1'), openApiGroupVersion('apis/apps/v1'));
  });

  it('has no document for a group-version it does not serve', () => {
    assert.equal(openApiGroupVersion('apis/example.com/v1'), undefined);
    assert.equal(openApiGroupVersion('api/v2'), undefined);
  });
});

describe('OpenAPI v3 group-version documents', () => {
  it('publishes the resource metrics as read-only: get and list, no writes', () => {
    for (const type of resourceTypes.filter((t) => t.group === 'metrics.k8s.io')) {
      const paths = documentOf(type).paths;
      const item = paths[itemPath(type)];
      assert.equal(item.get['x-kubernetes-action'], 'get');
      assert.deepEqual(item.get['x-kubernetes-group-version-kind'], { group: 'metrics.k8s.io', version: 'v1beta1', kind: type.kind });
      assert.equal(item.put, undefined);
      assert.equal(item.delete, undefined);
      assert.equal(paths[itemPath(type).replace(/\/\{name\}$/, '')].post, undefined);
    }
  });

  it('are OpenAPI 3.0 documents with paths and component schemas', () => {
    for (const gv of Object.keys((openApiIndex() as { paths: object }).paths)) {
      const document = openApiGroupVersion(gv) as Json;
      assert.match(document.openapi, /^3\.0\.\d+$/);
      assert.equal(typeof document.info.title, 'string');
      assert.ok(Object.keys(document.paths).length > 0);
      assert.ok(Object.keys(document.components.schemas).length > 0);
    }
  });

  for (const type of resourceTypes.filter((t) => !t.persisted && t.verbs.includes('create'))) {
    it(`publishes ${type.kind} as create-only, with its GVK`, () => {
      const paths = documentOf(type).paths;
      const collection = paths[itemPath(type).replace(/\/\{name\}$/, '')];
      assert.equal(collection.post['x-kubernetes-action'], 'post');
      assert.deepEqual(collection.post['x-kubernetes-group-version-kind'], { group: type.group, version: type.version, kind: type.kind });
      assert.equal(collection.get, undefined);
      assert.equal(paths[itemPath(type)], undefined);
      const id = componentIds[type.kind] ?? '';
      assert.deepEqual(documentOf(type).components.schemas[id]?.['x-kubernetes-group-version-kind'], [
        { group: type.group, version: type.version, kind: type.kind },
      ]);
    });
  }

  for (const type of resourceTypes.filter((t) => t.persisted)) {
    describe(`${type.kind} (${gvPath(type)})`, () => {
      it('has a PATCH operation whose own parameters declare fieldValidation and which carries its GVK', () => {
        const patch = documentOf(type).paths[itemPath(type)]?.patch;
        assert.ok(patch, `no patch operation at ${itemPath(type)}`);
        assert.ok(patch.parameters.some((p: Json) => p.name === 'fieldValidation' && p.in === 'query' && p.schema?.type === 'string'));
        assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: type.group, version: type.version, kind: type.kind });
        assert.equal(patch['x-kubernetes-action'], 'patch');
        assert.ok(patch.requestBody.content['application/strategic-merge-patch+json']);
        assert.ok(patch.requestBody.content['application/apply-patch+yaml']);
      });

      it('has get, replace, delete, list and create operations as its verbs allow', () => {
        const paths = documentOf(type).paths;
        const item = paths[itemPath(type)];
        const collection = paths[itemPath(type).replace(/\/\{name\}$/, '')];
        assert.equal(item.get['x-kubernetes-action'], 'get');
        assert.equal(item.put['x-kubernetes-action'], 'put');
        assert.equal(item.delete['x-kubernetes-action'], 'delete');
        assert.equal(collection.get['x-kubernetes-action'], 'list');
        assert.equal(collection.post['x-kubernetes-action'], 'post');
        assert.equal(collection.delete?.['x-kubernetes-action'], type.verbs.includes('deletecollection') ? 'deletecollection' : undefined);
        assert.ok(collection.post.parameters.some((p: Json) => p.name === 'fieldValidation'));
      });

      it(`names its component schema ${componentIds[type.kind]} with x-kubernetes-group-version-kind`, () => {
        const id = componentIds[type.kind] ?? '';
        const schemas = documentOf(type).components.schemas;
        assert.deepEqual(schemas[id]?.['x-kubernetes-group-version-kind'], [{ group: type.group, version: type.version, kind: type.kind }]);
        assert.equal(schemas[id]?.type, 'object');
        const list = schemas[`${id.slice(0, id.lastIndexOf('.'))}.${type.listKind}`];
        assert.deepEqual(list?.['x-kubernetes-group-version-kind'], [{ group: type.group, version: type.version, kind: type.listKind }]);
        assert.equal(documentOf(type).paths[itemPath(type)].get.responses['200'].content['application/json'].schema.$ref, `#/components/schemas/${id}`);
      });
    });
  }

  it('serves namespaced kinds at namespace and all-namespace paths, cluster kinds without namespace', () => {
    const core = openApiGroupVersion('api/v1') as Json;
    assert.ok(core.paths['/api/v1/namespaces/{namespace}/pods']);
    assert.ok(core.paths['/api/v1/pods']);
    assert.ok(core.paths['/api/v1/nodes/{name}']);
    assert.equal(core.paths['/api/v1/namespaces/{namespace}/nodes'], undefined);
    assert.ok(core.paths['/api/v1/namespaces/{namespace}/pods/{name}'].parameters.some((p: Json) => p.name === 'namespace' && p.in === 'path'));
  });

  it('declares scale subresources with the autoscaling/v1 Scale kind', () => {
    const apps = openApiGroupVersion('apis/apps/v1') as Json;
    const patch = apps.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'].patch;
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: 'autoscaling', version: 'v1', kind: 'Scale' });
    assert.ok(apps.components.schemas['io.k8s.api.autoscaling.v1.Scale']);
    assert.ok(apps.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status'].patch);
  });

  it('resolves every $ref inside the same document', () => {
    for (const gv of Object.keys((openApiIndex() as { paths: object }).paths)) {
      const document = openApiGroupVersion(gv) as Json;
      walk(document, (node, path) => {
        if (typeof node.$ref !== 'string') return;
        const id = node.$ref.replace('#/components/schemas/', '');
        assert.ok(document.components.schemas[id], `${gv}${path}: dangling ${node.$ref}`);
      });
    }
  });

  it('uses only OpenAPI 3.0 schema keywords and Kubernetes integer formats', () => {
    for (const gv of Object.keys((openApiIndex() as { paths: object }).paths)) {
      walk((openApiGroupVersion(gv) as Json).components.schemas, (node, path) => {
        for (const key of Object.keys(node)) assert.ok(!notInOpenApi30.has(key) || path.endsWith('/properties'), `${gv}${path}: ${key}`);
        if (node.type === 'integer') assert.ok(node.format === 'int32' || node.format === 'int64', `${gv}${path}: integer without format`);
        assert.ok(!Array.isArray(node.type), `${gv}${path}: type array`);
      });
    }
  });

  it('carries strategic merge patch keys for lists merged by name', () => {
    const schemas = (openApiGroupVersion('api/v1') as Json).components.schemas;
    const podSpec = schemas['io.k8s.api.core.v1.PodSpec'].properties;
    for (const list of ['containers', 'initContainers', 'volumes']) {
      assert.equal(podSpec[list]['x-kubernetes-patch-merge-key'], 'name');
      assert.equal(podSpec[list]['x-kubernetes-patch-strategy'], list === 'volumes' ? 'merge,retainKeys' : 'merge');
    }
    // kubectl apply's patches then carry $retainKeys, as for Kubernetes' own documents.
    assert.equal(
      (openApiGroupVersion('apis/apps/v1') as Json).components.schemas['io.k8s.api.apps.v1.DeploymentSpec'].properties.strategy['x-kubernetes-patch-strategy'],
      'retainKeys',
    );
    assert.equal(schemas['io.k8s.api.core.v1.Container'].properties.env['x-kubernetes-patch-merge-key'], 'name');
    assert.equal(schemas['io.k8s.api.core.v1.ServiceSpec'].properties.ports['x-kubernetes-patch-merge-key'], 'port');
  });

  it('publishes IntOrString and Quantity as Kubernetes does', () => {
    const schemas = (openApiGroupVersion('apis/apps/v1') as Json).components.schemas;
    assert.deepEqual(schemas['io.k8s.apimachinery.pkg.util.intstr.IntOrString'], {
      type: 'string',
      format: 'int-or-string',
      'x-kubernetes-int-or-string': true,
    });
    assert.equal(schemas['io.k8s.apimachinery.pkg.api.resource.Quantity'].type, 'string');
  });

  it('shows the Deployment defaults', () => {
    const spec = (openApiGroupVersion('apis/apps/v1') as Json).components.schemas['io.k8s.api.apps.v1.DeploymentSpec'].properties;
    assert.equal(spec.replicas.default, 1);
    assert.equal(spec.revisionHistoryLimit.default, 10);
    assert.equal(spec.progressDeadlineSeconds.default, 600);
  });
});
