import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRoute } from '../../../functions/api/routes.ts';
import { isApiError } from '../../../functions/core/errors.ts';

describe('parseRoute', () => {
  const resourceCases: [string, { type: string; namespace?: string; name?: string; subresource?: string }][] = [
    ['/api/v1/namespaces', { type: 'core/namespaces' }],
    ['/api/v1/namespaces/demo', { type: 'core/namespaces', name: 'demo' }],
    ['/api/v1/namespaces/demo/status', { type: 'core/namespaces', name: 'demo', subresource: 'status' }],
    ['/api/v1/namespaces/demo/pods', { type: 'core/pods', namespace: 'demo' }],
    ['/api/v1/namespaces/demo/pods/web-1', { type: 'core/pods', namespace: 'demo', name: 'web-1' }],
    ['/api/v1/namespaces/demo/pods/web-1/log', { type: 'core/pods', namespace: 'demo', name: 'web-1', subresource: 'log' }],
    ['/api/v1/namespaces/demo/pods/web-1/binding', { type: 'core/pods', namespace: 'demo', name: 'web-1', subresource: 'binding' }],
    ['/api/v1/pods', { type: 'core/pods' }],
    ['/api/v1/nodes/n1', { type: 'core/nodes', name: 'n1' }],
    ['/apis/apps/v1/namespaces/default/deployments/web/scale', { type: 'apps/deployments', namespace: 'default', name: 'web', subresource: 'scale' }],
    ['/apis/apps/v1/deployments', { type: 'apps/deployments' }],
    ['/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1', { type: 'coordination.k8s.io/leases', namespace: 'kube-node-lease', name: 'n1' }],
  ];
  for (const [path, expected] of resourceCases) {
    it(`addresses ${path}`, () => {
      const route = parseRoute(path);
      assert.equal(route.kind, 'resource');
      if (route.kind !== 'resource') return;
      assert.deepEqual(
        { type: route.type.id, namespace: route.namespace, name: route.name, subresource: route.subresource },
        { namespace: undefined, name: undefined, subresource: undefined, ...expected },
      );
    });
  }

  const otherCases: [string, string][] = [
    ['/version', 'version'],
    ['/healthz', 'healthz'],
    ['/readyz/', 'readyz'],
    ['/api', 'api-root'],
    ['/apis', 'apis-root'],
    ['/api/v1', 'api-resources'],
    ['/apis/apps/v1', 'api-resources'],
    ['/apis/apps', 'api-group'],
    ['/openapi/v3', 'openapi-v3-index'],
    ['/openapi/v3/apis/apps/v1', 'openapi-v3'],
  ];
  for (const [path, kind] of otherCases) {
    it(`routes ${path} to ${kind}`, () => assert.equal(parseRoute(path).kind, kind));
  }

  for (const path of [
    '/nope',
    '/api/v1/widgets',
    '/apis/apps/v1/namespaces/demo/pods',
    '/api/v1/namespaces/demo/nodes/n1',
    '/api/v1/namespaces/demo/configmaps/x/scale',
    '/api/v2/pods',
    '/api/v1/namespaces//pods',
    '/api//v1/pods',
  ]) {
    it(`answers 404 for ${path}`, () => {
      assert.throws(
        () => parseRoute(path),
        (error) => isApiError(error, 404),
      );
    });
  }

  it('answers 400 for a malformed percent escape', () => {
    assert.throws(
      () => parseRoute('/api/v1/namespaces/default/pods/%E0%A4%A'),
      (error) => isApiError(error, 400),
    );
  });
});
