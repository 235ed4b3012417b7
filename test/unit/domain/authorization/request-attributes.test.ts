import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exactFieldValue, requestAttributes } from '../../../../functions/domain/authorization/request-attributes.ts';

const alice = { username: 'alice', groups: ['system:authenticated'] };

type Expected = { verb: string; resource?: string; subresource?: string; namespace?: string; name?: string; apiGroup?: string; resourceRequest?: boolean };

describe('requestAttributes', () => {
  const cases: [string, string, Expected][] = [
    ['GET', '/api/v1/namespaces/demo/pods', { verb: 'list', resource: 'pods', namespace: 'demo' }],
    ['GET', '/api/v1/namespaces/demo/pods?watch=true', { verb: 'watch', resource: 'pods', namespace: 'demo' }],
    ['GET', '/api/v1/namespaces/demo/pods?watch=1', { verb: 'watch', resource: 'pods', namespace: 'demo' }],
    ['GET', '/api/v1/namespaces/demo/pods/web', { verb: 'get', resource: 'pods', namespace: 'demo', name: 'web' }],
    ['GET', '/api/v1/namespaces/demo/pods/web/log', { verb: 'get', resource: 'pods', subresource: 'log', namespace: 'demo', name: 'web' }],
    ['POST', '/api/v1/namespaces/demo/pods/web/binding', { verb: 'create', resource: 'pods', subresource: 'binding', namespace: 'demo', name: 'web' }],
    ['PUT', '/api/v1/namespaces/demo/pods/web/status', { verb: 'update', resource: 'pods', subresource: 'status', namespace: 'demo', name: 'web' }],
    [
      'PATCH',
      '/apis/apps/v1/namespaces/demo/deployments/web/scale',
      { verb: 'patch', resource: 'deployments', subresource: 'scale', namespace: 'demo', name: 'web', apiGroup: 'apps' },
    ],
    ['POST', '/apis/apps/v1/namespaces/demo/deployments', { verb: 'create', resource: 'deployments', namespace: 'demo', apiGroup: 'apps' }],
    ['DELETE', '/apis/apps/v1/namespaces/demo/deployments/web', { verb: 'delete', resource: 'deployments', namespace: 'demo', name: 'web', apiGroup: 'apps' }],
    ['DELETE', '/apis/apps/v1/namespaces/demo/deployments', { verb: 'deletecollection', resource: 'deployments', namespace: 'demo', apiGroup: 'apps' }],
    ['GET', '/api/v1/pods', { verb: 'list', resource: 'pods' }],
    ['GET', '/api/v1/pods?fieldSelector=metadata.name%3Dweb', { verb: 'list', resource: 'pods', name: 'web' }],
    ['GET', '/api/v1/pods?fieldSelector=metadata.name!%3Dweb', { verb: 'list', resource: 'pods' }],
    ['GET', '/api/v1/nodes/n1', { verb: 'get', resource: 'nodes', name: 'n1' }],
    // The Namespace object is in its own namespace (RoleBindings there may grant reading it).
    ['GET', '/api/v1/namespaces/demo', { verb: 'get', resource: 'namespaces', namespace: 'demo', name: 'demo' }],
    ['PUT', '/api/v1/namespaces/demo/finalize', { verb: 'update', resource: 'namespaces', subresource: 'finalize', namespace: 'demo', name: 'demo' }],
    ['GET', '/api/v1/namespaces', { verb: 'list', resource: 'namespaces' }],
    [
      'POST',
      '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      { verb: 'create', resource: 'clusterrolebindings', apiGroup: 'rbac.authorization.k8s.io' },
    ],
    ['GET', '/api/v1/watch/namespaces/demo/pods', { verb: 'watch', resource: 'pods', namespace: 'demo' }],
    ['GET', '/version', { verb: 'get', resourceRequest: false }],
    ['GET', '/api', { verb: 'get', resourceRequest: false }],
    ['GET', '/api/v1', { verb: 'get', resourceRequest: false }],
    ['GET', '/apis/apps/v1', { verb: 'get', resourceRequest: false }],
    ['POST', '/logs', { verb: 'post', resourceRequest: false }],
  ];
  for (const [method, url, expected] of cases) {
    it(`reads ${method} ${url} as ${expected.verb} ${expected.resource ?? 'path'}`, () => {
      const parsed = new URL(url, 'https://server');
      const attributes = requestAttributes(alice, { method, path: parsed.pathname, query: parsed.searchParams });
      assert.deepEqual(
        {
          verb: attributes.verb,
          resource: attributes.resource,
          subresource: attributes.subresource,
          namespace: attributes.namespace,
          name: attributes.name,
          apiGroup: attributes.apiGroup,
          resourceRequest: attributes.resourceRequest,
        },
        { resource: '', subresource: '', namespace: '', name: '', apiGroup: '', resourceRequest: true, ...expected },
      );
      assert.equal(attributes.user, alice);
    });
  }

  it('keeps the path of a non-resource request for nonResourceURLs rules', () => {
    const attributes = requestAttributes(alice, { method: 'GET', path: '/healthz/ping', query: new URLSearchParams() });
    assert.equal(attributes.path, '/healthz/ping');
  });
});

describe('exactFieldValue', () => {
  const cases: [string | undefined, string, string | undefined][] = [
    ['spec.nodeName=n1', 'spec.nodeName', 'n1'],
    ['spec.nodeName==n1,status.phase!=Failed', 'spec.nodeName', 'n1'],
    ['status.phase!=Failed', 'spec.nodeName', undefined],
    ['spec.nodeName!=n1', 'spec.nodeName', undefined],
    ['spec.nodeName=n1,spec.nodeName=n2', 'spec.nodeName', undefined],
    ['metadata.name=a\\,b', 'metadata.name', 'a,b'],
    [undefined, 'metadata.name', undefined],
  ];
  for (const [selector, field, expected] of cases) {
    it(`finds ${String(expected)} for ${field} in ${String(selector)}`, () => assert.equal(exactFieldValue(selector, field), expected));
  }
});
