import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isApiError } from '../../../functions/core/errors.ts';
import { parseFieldSelector, selectableFields } from '../../../schemas/field-selector.ts';
import { types } from '../../../schemas/registry.ts';

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-1', namespace: 'default' },
  spec: { nodeName: 'node-1', schedulerName: 'default-scheduler' },
  status: { phase: 'Running' },
};
const pendingPod = { ...pod, metadata: { name: 'web-2', namespace: 'default' }, spec: {}, status: { phase: 'Pending' } };

describe('parseFieldSelector', () => {
  const cases: readonly [string, boolean, boolean][] = [
    // selector, matches the running pod, matches the pending pod
    ['', true, true],
    ['metadata.name=web-1', true, false],
    ['metadata.name==web-1', true, false],
    ['metadata.name!=web-1', false, true],
    ['metadata.namespace=default', true, true],
    ['spec.nodeName=node-1', true, false],
    ['spec.nodeName=', false, true],
    ['spec.nodeName!=', true, false],
    ['status.phase!=Running,status.phase!=Succeeded', false, true],
    ['status.phase=Running,spec.nodeName=node-1', true, false],
    ['spec.nodeName=node-1,status.phase=Running', true, false],
    ['spec.schedulerName=default-scheduler', true, false],
  ];
  for (const [selector, running, pending] of cases) {
    it(`selects pods with ${JSON.stringify(selector)}`, () => {
      const parsed = parseFieldSelector(types.pods, selector);
      assert.equal(parsed.matches(selectableFields(types.pods, pod)), running);
      assert.equal(parsed.matches(selectableFields(types.pods, pendingPod)), pending);
    });
  }

  it('rejects a field the kind does not index, as Kubernetes does', () => {
    assert.throws(
      () => parseFieldSelector(types.pods, 'spec.containers=x'),
      (error) => isApiError(error, 400) && error.message === 'field label not supported: spec.containers',
    );
    assert.throws(
      () => parseFieldSelector(types.configmaps, 'spec.nodeName=n1'),
      (error) => isApiError(error, 400),
    );
  });

  it('rejects a term without an operator', () => {
    assert.throws(
      () => parseFieldSelector(types.pods, 'metadata.name'),
      (error) => isApiError(error, 400),
    );
  });

  it('selects events by involved object, reason and type', () => {
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'e1', namespace: 'default' },
      involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'default', uid: 'u1' },
      reason: 'Scheduled',
      type: 'Normal',
      source: { component: 'default-scheduler' },
    };
    const fields = selectableFields(types.events, event);
    assert.equal(parseFieldSelector(types.events, 'involvedObject.kind=Pod,involvedObject.name=web-1,involvedObject.uid=u1').matches(fields), true);
    assert.equal(parseFieldSelector(types.events, 'reason=Scheduled,type=Normal,source=default-scheduler').matches(fields), true);
    assert.equal(parseFieldSelector(types.events, 'type=Warning').matches(fields), false);
  });

  it('selects nodes by spec.unschedulable, unset meaning false', () => {
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: {} };
    const cordoned = { ...node, spec: { unschedulable: true } };
    const selector = parseFieldSelector(types.nodes, 'spec.unschedulable=false');
    assert.equal(selector.matches(selectableFields(types.nodes, node)), true);
    assert.equal(selector.matches(selectableFields(types.nodes, cordoned)), false);
  });

  it('selects secrets by type', () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, type: 'kubernetes.io/tls' };
    assert.equal(parseFieldSelector(types.secrets, 'type=kubernetes.io/tls').matches(selectableFields(types.secrets, secret)), true);
  });

  it('unescapes commas and equals signs in values', () => {
    const odd = { ...pod, metadata: { name: 'a,b=c', namespace: 'default' } };
    assert.equal(parseFieldSelector(types.pods, 'metadata.name=a\\,b\\=c').matches(selectableFields(types.pods, odd)), true);
  });
});
