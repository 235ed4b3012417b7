import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  appliedAnnotations,
  appliedEndpointsAnnotation,
  appliedSlicesAnnotation,
  type PeerState,
  peerState,
  type ReleaseDecision,
  type ReleaseInput,
  revisionOf,
  routingRelease,
} from '../../../../node-agent/proxy/routing-release.ts';

const at = (slices: number, endpoints: number) => ({ slices: BigInt(slices), endpoints: BigInt(endpoints) });
const peer = (node: string, ready: boolean, applied?: [number, number]): PeerState => ({ node, ready, ...(applied ? { applied: at(...applied) } : {}) });
const now = 1_000_000;
const deadline = now + 30_000;
const released: ReleaseDecision = { release: true, reason: 'released' };
const waiting = (...nodes: string[]): ReleaseDecision => ({ release: false, waitingFor: nodes });

describe('when every node has let a terminating pod go (routingRelease)', () => {
  const cases: [string, Partial<ReleaseInput>, ReleaseDecision][] = [
    ['this node still routes to it', { here: 'routes', peers: [peer('b', true, [90, 90])] }, waiting('this node')],
    ['this node still routes to it, and nobody else', { here: 'routes', peers: [] }, waiting('this node')],
    ['one node, let go here', { here: at(10, 20), peers: [] }, released],
    ['every Ready peer has applied exactly the revisions', { here: at(10, 20), peers: [peer('b', true, [10, 20]), peer('c', true, [10, 20])] }, released],
    ['every Ready peer is past them', { here: at(10, 20), peers: [peer('b', true, [11, 25])] }, released],
    [
      'a Ready peer behind on EndpointSlices (ClusterIP rules)',
      { here: at(10, 20), peers: [peer('b', true, [9, 20]), peer('c', true, [10, 20])] },
      waiting('b'),
    ],
    ['a Ready peer behind on Endpoints (NodePort proxy)', { here: at(10, 20), peers: [peer('b', true, [10, 19])] }, waiting('b')],
    ['two Ready peers behind', { here: at(10, 20), peers: [peer('b', true, [0, 0]), peer('c', true, [3, 30])] }, waiting('b', 'c')],
    ['a peer behind but not Ready holds nothing', { here: at(10, 20), peers: [peer('b', false, [1, 1]), peer('c', true, [10, 20])] }, released],
    ['a Ready peer that routes nothing (no annotations: sim, loopback, AWS) holds nothing', { here: at(10, 20), peers: [peer('b', true)] }, released],
    [
      'the deadline lets it go whatever the peers say',
      { nowMs: deadline, here: at(10, 20), peers: [peer('b', true, [1, 1])] },
      { release: true, reason: 'deadline' },
    ],
    ['the deadline lets it go while this node routes to it', { nowMs: deadline + 1, here: 'routes', peers: [] }, { release: true, reason: 'deadline' }],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => {
      assert.deepEqual(routingRelease({ nowMs: now, deadlineMs: deadline, here: 'routes', peers: [], ...input }), expected);
    });
  }
});

describe('a Node as the decision sees it (peerState)', () => {
  const node = (annotations: Record<string, string> | undefined, ready: string | undefined) => ({
    metadata: { name: 'n2', ...(annotations ? { annotations } : {}) },
    status: {
      conditions: ready
        ? [
            { type: 'MemoryPressure', status: 'False' },
            { type: 'Ready', status: ready },
          ]
        : [],
    },
  });
  it('reads readiness and the applied revisions', () => {
    assert.deepEqual(peerState(node(appliedAnnotations(at(12, 34)), 'True')), peer('n2', true, [12, 34]));
    assert.deepEqual(peerState(node(appliedAnnotations(at(12, 34)), 'Unknown')), peer('n2', false, [12, 34]));
    assert.deepEqual(peerState(node(undefined, undefined)), peer('n2', false));
    assert.deepEqual(peerState(node({ other: 'x' }, 'True')), peer('n2', true));
  });
  it('holds with revision 0 when an annotation is there but unreadable, or one of the two is missing', () => {
    assert.deepEqual(peerState(node({ [appliedSlicesAnnotation]: 'soon', [appliedEndpointsAnnotation]: '7' }, 'True')), peer('n2', true, [0, 7]));
    assert.deepEqual(peerState(node({ [appliedSlicesAnnotation]: '5' }, 'True')), peer('n2', true, [5, 0]));
  });
  it('skips a Node without a name', () => {
    assert.equal(peerState({ metadata: {} }), undefined);
  });
  it('compares revisions as numbers, not as text', () => {
    assert.equal(revisionOf('10')! > revisionOf('9')!, true);
    assert.equal(revisionOf('12345678901234567890'), 12345678901234567890n);
    for (const bad of ['', undefined, null, '-1', '1e3', 'abc', '1'.repeat(31)]) assert.equal(revisionOf(bad), undefined, String(bad));
  });
});
