import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildLease, buildNode, kubeletVersion, nodeStatus } from '../../../node-agent/node-object.ts';

const settings = {
  name: 'skiff-node-1',
  address: '127.0.1.1',
  podCidr: '127.64.1.0/24',
  cpu: '2',
  memory: '4Gi',
  pods: 50,
  kubeletPort: 41234,
  containerRuntimeVersion: 'skiff-process://1',
};

describe('buildNode', () => {
  const node = buildNode(settings, '2026-01-01T00:00:00Z') as Record<string, any>;

  it('registers capacity and allocatable from the settings', () => {
    assert.deepEqual(node.status.capacity, { cpu: '2', memory: '4Gi', pods: '50', 'ephemeral-storage': '20Gi' });
    assert.deepEqual(node.status.allocatable, node.status.capacity);
  });

  it('gives the InternalIP, Hostname, podCIDR and the kubelet port', () => {
    assert.deepEqual(node.status.addresses, [
      { type: 'InternalIP', address: '127.0.1.1' },
      { type: 'Hostname', address: 'skiff-node-1' },
    ]);
    assert.equal(node.spec.podCIDR, '127.64.1.0/24');
    assert.deepEqual(node.spec.podCIDRs, ['127.64.1.0/24']);
    assert.equal(node.status.daemonEndpoints.kubeletEndpoint.Port, 41234);
  });

  it('reports the Skiff kubelet version and the runtime', () => {
    assert.equal(node.status.nodeInfo.kubeletVersion, kubeletVersion);
    assert.equal(node.status.nodeInfo.containerRuntimeVersion, 'skiff-process://1');
    assert.equal(node.status.nodeInfo.operatingSystem, 'linux');
    assert.equal(node.metadata.labels['kubernetes.io/hostname'], 'skiff-node-1');
  });

  it('is Ready with no pressure', () => {
    const byType = Object.fromEntries(node.status.conditions.map((c: { type: string; status: string }) => [c.type, c.status]));
    assert.deepEqual(byType, { Ready: 'True', MemoryPressure: 'False', DiskPressure: 'False', PIDPressure: 'False' });
  });
});

describe('nodeStatus', () => {
  it('keeps the transition time of a condition that stays the same and renews the heartbeat', () => {
    const status = nodeStatus(settings, '2026-01-01T00:05:00Z', [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }]) as Record<
      string,
      any
    >;
    const ready = status.conditions.find((c: { type: string }) => c.type === 'Ready');
    assert.equal(ready.lastTransitionTime, '2026-01-01T00:00:00Z');
    assert.equal(ready.lastHeartbeatTime, '2026-01-01T00:05:00Z');
  });

  it('moves the transition time when the node comes back from Unknown', () => {
    const status = nodeStatus(settings, '2026-01-01T00:05:00Z', [{ type: 'Ready', status: 'Unknown', lastTransitionTime: '2026-01-01T00:00:00Z' }]) as Record<
      string,
      any
    >;
    assert.equal(status.conditions.find((c: { type: string }) => c.type === 'Ready').lastTransitionTime, '2026-01-01T00:05:00Z');
  });
});

describe('buildLease', () => {
  it('is held by the node in kube-node-lease, owned by the Node, with a MicroTime renewTime', () => {
    const lease = buildLease('skiff-node-1', 'uid-1', 40, new Date('2026-01-01T00:00:00.123Z')) as Record<string, any>;
    assert.equal(lease.metadata.namespace, 'kube-node-lease');
    assert.equal(lease.spec.holderIdentity, 'skiff-node-1');
    assert.equal(lease.spec.leaseDurationSeconds, 40);
    assert.equal(lease.spec.renewTime, '2026-01-01T00:00:00.123000Z');
    assert.deepEqual(lease.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: 'skiff-node-1', uid: 'uid-1' }]);
  });
});
