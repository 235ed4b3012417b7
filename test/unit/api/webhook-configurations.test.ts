/**
 * ValidatingWebhookConfiguration and MutatingWebhookConfiguration over the memory store:
 * kube-apiserver's defaults, its validation (as 422 with field causes) and its Table columns.
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
const validating = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';
const mutating = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';

const webhook = (extra: Record<string, unknown> = {}) => ({
  name: 'deny.example.com',
  clientConfig: { url: 'https://127.0.0.1:8443/validate' },
  rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
  sideEffects: 'None',
  admissionReviewVersions: ['v1'],
  ...extra,
});
const configuration = (kind: string, webhooks: unknown[]) => ({
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind,
  metadata: { name: 'policy' },
  webhooks,
});

beforeEach(async () => {
  world = await memoryCluster();
  api = adminApi({ store: world.store });
});
afterEach(() => world.close());

describe('webhook configurations', () => {
  it('stores a validating configuration with kube-apiserver’s defaults', async () => {
    const response = await call(validating, { method: 'POST', body: configuration('ValidatingWebhookConfiguration', [webhook()]) });
    assert.equal(response.status, 201, String(response.body));
    const [hook] = json(response).webhooks;
    assert.deepEqual(
      [hook.failurePolicy, hook.matchPolicy, hook.timeoutSeconds, hook.namespaceSelector, hook.objectSelector, hook.rules[0].scope],
      ['Fail', 'Equivalent', 10, {}, {}, '*'],
    );
    assert.equal(hook.reinvocationPolicy, undefined);
  });

  it('defaults a mutating webhook’s reinvocationPolicy and a service port', async () => {
    const service = { clientConfig: { service: { namespace: 'hooks', name: 'injector', path: '/mutate' } } };
    const response = await call(mutating, { method: 'POST', body: configuration('MutatingWebhookConfiguration', [webhook(service)]) });
    assert.equal(response.status, 201, String(response.body));
    const [hook] = json(response).webhooks;
    assert.deepEqual([hook.reinvocationPolicy, hook.clientConfig.service.port], ['Never', 443]);
  });

  it('prints the number of webhooks', async () => {
    await call(mutating, { method: 'POST', body: configuration('MutatingWebhookConfiguration', [webhook(), webhook({ name: 'second.example.com' })]) });
    const table = json(await call(`${mutating}/policy`, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' }));
    assert.deepEqual(
      table.columnDefinitions.map((c: { name: string }) => c.name),
      ['Name', 'Webhooks', 'Age'],
    );
    assert.deepEqual(table.rows[0].cells.slice(0, 2), ['policy', 2]);
  });

  const refusals: { name: string; webhooks: unknown[]; causes: [string, string][] }[] = [
    {
      name: 'a webhook without sideEffects or admissionReviewVersions',
      webhooks: [webhook({ sideEffects: undefined, admissionReviewVersions: undefined })],
      causes: [
        ['webhooks[0].sideEffects', 'Required value: must specify one of None, NoneOnDryRun'],
        ['webhooks[0].admissionReviewVersions', 'Required value: must specify one of v1, v1beta1'],
      ],
    },
    {
      name: 'a side effect class v1 no longer allows',
      webhooks: [webhook({ sideEffects: 'Some' })],
      causes: [['webhooks[0].sideEffects', 'Unsupported value: "Some": supported values: "None", "NoneOnDryRun"']],
    },
    {
      name: 'a name that is not fully qualified, and a duplicate name',
      webhooks: [webhook({ name: 'deny' }), webhook(), webhook()],
      causes: [
        ['webhooks[0].name', 'Invalid value: "deny": should be a domain with at least three segments separated by dots'],
        ['webhooks[2].name', 'Duplicate value: "deny.example.com"'],
      ],
    },
    {
      name: 'both url and service',
      webhooks: [webhook({ clientConfig: { url: 'https://a.example.com', service: { namespace: 'a', name: 'b' } } })],
      causes: [['webhooks[0].clientConfig', 'Required value: exactly one of url or service is required']],
    },
    {
      name: 'an http url with user, query and fragment',
      webhooks: [webhook({ clientConfig: { url: 'http://me@hooks.example.com/x?a=1#top' } })],
      causes: [
        ['webhooks[0].clientConfig.url', 'Invalid value: "http": \'https\' is the only allowed URL scheme; desired format: https://host[/path]'],
        ['webhooks[0].clientConfig.url', 'Invalid value: "me": user information is not permitted in the URL'],
        ['webhooks[0].clientConfig.url', 'Invalid value: "top": fragments are not permitted in the URL'],
        ['webhooks[0].clientConfig.url', 'Invalid value: "a=1": query parameters are not permitted in the URL'],
      ],
    },
    {
      name: 'a service path without a leading slash and a port out of range',
      webhooks: [webhook({ clientConfig: { service: { namespace: 'a', name: 'b', path: 'x', port: 70000 } } })],
      causes: [
        ['webhooks[0].clientConfig.service.port', 'Invalid value: 70000: port is not valid: must be between 1 and 65535, inclusive'],
        ['webhooks[0].clientConfig.service.path', 'Invalid value: "x": must start with a \'/\''],
      ],
    },
    {
      name: 'rules with no operations, an unknown operation, wildcards mixed in and an unknown scope',
      webhooks: [
        webhook({
          rules: [
            { operations: [], apiGroups: ['*', 'apps'], apiVersions: ['v1'], resources: ['*', 'pods'] },
            { operations: ['PATCH'], apiGroups: [''], apiVersions: ['v1'], resources: ['*/*', 'pods'], scope: 'Everywhere' },
          ],
        }),
      ],
      causes: [
        ['webhooks[0].rules[0].operations', 'Required value'],
        ['webhooks[0].rules[0].apiGroups', 'Invalid value: []string{"*", "apps"}: if \'*\' is present, must not specify other API groups'],
        ['webhooks[0].rules[0].resources', 'Invalid value: []string{"*", "pods"}: if \'*\' is present, must not specify other resources without subresources'],
        ['webhooks[0].rules[1].operations[0]', 'Unsupported value: "PATCH": supported values: "*", "CONNECT", "CREATE", "DELETE", "UPDATE"'],
        ['webhooks[0].rules[1].resources', 'Invalid value: []string{"*/*", "pods"}: if \'*/*\' is present, must not specify other resources'],
        ['webhooks[0].rules[1].scope', 'Unsupported value: "Everywhere": supported values: "*", "Cluster", "Namespaced"'],
      ],
    },
    {
      name: 'a timeout above 30 s and an unknown failure policy',
      webhooks: [webhook({ timeoutSeconds: 31, failurePolicy: 'Retry' })],
      causes: [
        ['webhooks[0].failurePolicy', 'Unsupported value: "Retry": supported values: "Fail", "Ignore"'],
        ['webhooks[0].timeoutSeconds', 'Invalid value: 31: the timeout value must be between 1 and 30 seconds'],
      ],
    },
    {
      name: 'review versions without v1 or v1beta1',
      webhooks: [webhook({ admissionReviewVersions: ['v2'] })],
      causes: [['webhooks[0].admissionReviewVersions', 'Invalid value: []string{"v2"}: must include at least one of v1, v1beta1']],
    },
    {
      name: 'CEL match conditions, which Skiff cannot evaluate',
      webhooks: [webhook({ matchConditions: [{ name: 'not-system', expression: "!request.userInfo.username.startsWith('system:')" }] })],
      causes: [
        [
          'webhooks[0].matchConditions',
          'Forbidden: CEL match conditions are not supported by this server (Skiff has no CEL evaluator); remove matchConditions',
        ],
      ],
    },
  ];
  for (const refusal of refusals) {
    it(`refuses ${refusal.name} with 422`, async () => {
      const response = await call(validating, { method: 'POST', body: configuration('ValidatingWebhookConfiguration', refusal.webhooks) });
      assert.equal(response.status, 422, String(response.body));
      assert.deepEqual(
        json(response).details.causes.map((c: { field: string; message: string }) => [c.field, c.message]),
        refusal.causes,
      );
    });
  }
});
