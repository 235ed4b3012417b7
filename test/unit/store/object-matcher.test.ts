import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ChangeRecord, objectMatcher, projection, watchEvent } from '../../../functions/store/object-matcher.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';

const pod = (nodeName: string | undefined, labels: Record<string, string>, namespace = 'default'): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace, labels },
    spec: { containers: [{ name: 'c', image: 'x' }], ...(nodeName ? { nodeName } : {}) },
    status: { phase: 'Pending' },
  }) as KubeObject;

describe('watchEvent', () => {
  const matchers = {
    'every pod': objectMatcher(types.pods, undefined, undefined, undefined),
    'node-1 by field': objectMatcher(types.pods, undefined, undefined, 'spec.nodeName=node-1'),
    'not node-1 by field': objectMatcher(types.pods, 'default', undefined, 'spec.nodeName!=node-1'),
    'app=web by label': objectMatcher(types.pods, undefined, 'app=web', undefined),
    'label and field in other': objectMatcher(types.pods, 'other', 'app=web', 'spec.nodeName=node-1'),
  };
  const unbound = pod(undefined, { app: 'web' });
  const bound = pod('node-1', { app: 'web' });
  const elsewhere = pod('node-2', { app: 'db' });
  const inOther = pod('node-1', { app: 'web' }, 'other');
  const change = (type: ChangeRecord['type'], object: KubeObject, before?: KubeObject): ChangeRecord => ({
    typeId: types.pods.id,
    revision: 7,
    type,
    object,
    ...(before ? { prior: projection(types.pods, before) } : {}),
    retainedUntil: 0,
  });
  const changes = {
    'created unbound': change('ADDED', unbound),
    'bound to node-1': change('MODIFIED', bound, unbound),
    'moved to node-2 and relabelled': change('MODIFIED', elsewhere, bound),
    'deleted from node-1': change('DELETED', bound, bound),
    'created in another namespace': change('ADDED', inOther),
    'modified with no prior': change('MODIFIED', bound),
  };

  it('answers the same with the changed object read once for every watcher as with each watcher reading it', () => {
    const seen = new Set<string>();
    for (const [what, record] of Object.entries(changes)) {
      const current = projection(types.pods, record.object);
      for (const [who, matcher] of Object.entries(matchers)) {
        const alone = watchEvent(record, matcher);
        assert.deepEqual(watchEvent(record, matcher, current), alone, `${what}, for ${who}`);
        seen.add(alone?.type ?? 'none');
      }
    }
    // The table reaches every answer a watcher can get.
    assert.deepEqual([...seen].sort(), ['ADDED', 'DELETED', 'MODIFIED', 'none']);
  });
});
