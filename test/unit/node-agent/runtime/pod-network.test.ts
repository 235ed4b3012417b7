import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePod, withListeningReadiness } from '../../../../node-agent/pod-view.ts';
import {
  bridgeMac,
  choosePodNetworkMode,
  namespacePodCidr,
  podHostsFile,
  podNetworkNames,
  podResolvConf,
  tmpfsMountedAt,
  vethName,
} from '../../../../node-agent/runtime/pod-network.ts';

describe('pod network (namespace mode)', () => {
  it('names every object after the cluster and the node, within the kernel limit of 15 characters', () => {
    const one = podNetworkNames('/data/a/nodes/n1');
    const two = podNetworkNames('/data/a/nodes/n2');
    const other = podNetworkNames('/data/b/nodes/n1');
    assert.equal(one.clusterBridgePrefix, two.clusterBridgePrefix);
    assert.notEqual(one.clusterBridgePrefix, other.clusterBridgePrefix);
    assert.notEqual(one.bridge, two.bridge);
    assert.ok(one.bridge.startsWith(one.clusterBridgePrefix));
    for (const name of [one.bridge, vethName(one.nodeTag, 'some-pod-uid')]) assert.ok(name.length <= 15, name);
    assert.notEqual(vethName(one.nodeTag, 'a'), vethName(two.nodeTag, 'a'));
    assert.match(one.table, /^skiff_[0-9a-f]{11}$/);
  });

  it("gives each bridge a fixed, locally administered unicast MAC of its own, so the pods' gateway never changes", () => {
    const one = podNetworkNames('/data/a/nodes/n1').bridge;
    const two = podNetworkNames('/data/a/nodes/n2').bridge;
    assert.match(bridgeMac(one), /^02(:[0-9a-f]{2}){5}$/);
    assert.equal(bridgeMac(one), bridgeMac(one));
    assert.notEqual(bridgeMac(one), bridgeMac(two));
  });

  it("gives node N a 10.B.N.0/24, moving on from a /24 the machine already routes, but not from the node's own bridge", () => {
    const stateDir = '/data/a/nodes/n1';
    const first = namespacePodCidr(1, stateDir, []);
    assert.match(first, /^10\.(1[2-9]\d|2[0-5]\d)\.1\.0\/24$/);
    const [a, b] = first.split('.').map(Number) as [number, number];
    const network = ((a << 24) | (b << 16) | (1 << 8)) >>> 0;
    assert.notEqual(namespacePodCidr(1, stateDir, [{ network, prefixLength: 24, iface: 'skbsomeoneelse' }]), first);
    assert.notEqual(namespacePodCidr(1, stateDir, [{ network: ((a << 24) | (b << 16)) >>> 0, prefixLength: 16, iface: 'eth1' }]), first);
    assert.equal(namespacePodCidr(1, stateDir, [{ network, prefixLength: 24, iface: podNetworkNames(stateDir).bridge }]), first);
  });

  it('keeps loopback mode for a loopback pod CIDR and when asked, and says why', () => {
    assert.equal(choosePodNetworkMode('auto', '127.64.1.0/24', 0).mode, 'loopback');
    assert.equal(choosePodNetworkMode('loopback', '10.200.1.0/24', 0).mode, 'loopback');
    assert.deepEqual(choosePodNetworkMode('auto', '10.200.1.0/24', 1000), {
      mode: 'loopback',
      reason: 'the node agent does not run as root: pods are host processes on loopback addresses of the pod CIDR',
    });
    assert.throws(() => choosePodNetworkMode('namespaces', '10.200.1.0/24', 1000), /cannot be honoured: the node agent does not run as root/);
  });

  it("writes the pod's resolv.conf with Kubernetes' search path and its hosts file as the kubelet does", () => {
    assert.equal(
      podResolvConf('shop', ['10.96.0.10']),
      'search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
    );
    const hosts = podHostsFile({ ip: '10.200.1.5', hostname: 'web-0', subdomain: 'web', namespace: 'shop' });
    assert.match(hosts, /^# Kubernetes-managed hosts file\.\n127\.0\.0\.1\tlocalhost\n/);
    assert.ok(hosts.endsWith('10.200.1.5\tweb-0.web.shop.svc.cluster.local\tweb-0\n'));
  });

  it('makes an image-table container with a TCP port ready once the port accepts, and leaves others alone', () => {
    const parsed = parsePod({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default', uid: 'u' },
      spec: {
        containers: [
          { name: 'web', image: 'nginx', ports: [{ containerPort: 80 }] },
          { name: 'own', image: 'busybox', command: ['sh'], ports: [{ containerPort: 81 }] },
          { name: 'probed', image: 'nginx', ports: [{ containerPort: 82 }], readinessProbe: { httpGet: { port: 82 } } },
          { name: 'quiet', image: 'nginx' },
        ],
      },
    });
    assert.ok(!('error' in parsed));
    const [web, own, probed, quiet] = withListeningReadiness(parsed).view.spec.containers;
    assert.deepEqual(web?.readinessProbe, {
      tcpSocket: { port: 80 },
      initialDelaySeconds: 0,
      periodSeconds: 1,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 1,
    });
    assert.equal(own?.readinessProbe, undefined);
    assert.ok(probed?.readinessProbe?.httpGet);
    assert.equal(quiet?.readinessProbe, undefined);
  });

  it('finds a tmpfs in a mount table by its mount point, escaped as the kernel writes it', () => {
    const table = [
      'proc /proc proc rw,nosuid 0 0',
      'skiff-emptydir /tmp/pods/u/volumes/cache tmpfs rw,relatime,size=16384k,mode=770 0 0',
      '/dev/sda1 /tmp/pods/u/volumes/disk ext4 rw 0 0',
      'skiff-emptydir /tmp/with\\040space tmpfs rw 0 0',
    ].join('\n');
    assert.equal(tmpfsMountedAt(table, '/tmp/pods/u/volumes/cache'), true);
    assert.equal(tmpfsMountedAt(table, '/tmp/pods/u/volumes/disk'), false);
    assert.equal(tmpfsMountedAt(table, '/tmp/pods/u/volumes'), false);
    assert.equal(tmpfsMountedAt(table, '/tmp/with space'), true);
  });
});
