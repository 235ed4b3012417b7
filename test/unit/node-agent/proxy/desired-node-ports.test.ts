import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readyBackendsByPortName } from '../../../../functions/domain/services/service-view.ts';
import { desiredNodePorts } from '../../../../node-agent/proxy/service-proxy.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';

function service(name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec };
}

describe('desiredNodePorts', () => {
  it('listens on every bind address for each TCP NodePort of NodePort and LoadBalancer Services', () => {
    const desired = desiredNodePorts(
      [
        service('np', {
          type: 'NodePort',
          ports: [
            { name: 'http', port: 80, nodePort: 30080 },
            { port: 53, protocol: 'UDP', nodePort: 30053 },
          ],
        }),
        service('lb', { type: 'LoadBalancer', ports: [{ port: 443, nodePort: 30443 }] }),
        service('cip', { type: 'ClusterIP', ports: [{ port: 80 }] }),
        service('ext', { type: 'ExternalName', externalName: 'example.com' }),
      ],
      ['127.0.1.1', '127.0.0.1', '127.0.1.1'],
    );
    assert.deepEqual([...desired.keys()].sort(), ['127.0.0.1:30080', '127.0.0.1:30443', '127.0.1.1:30080', '127.0.1.1:30443']);
    assert.deepEqual(desired.get('127.0.0.1:30080'), {
      address: '127.0.0.1',
      port: 30080,
      serviceKey: 'default/np',
      portName: 'http',
      description: 'default/np:80',
    });
  });

  it('skips a Service it cannot read rather than failing the others', () => {
    const desired = desiredNodePorts(
      [service('bad', { ports: 'nope' }), service('np', { type: 'NodePort', ports: [{ port: 80, nodePort: 30001 }] })],
      ['127.0.0.1'],
    );
    assert.deepEqual([...desired.keys()], ['127.0.0.1:30001']);
  });
});

describe('readyBackendsByPortName', () => {
  it('gives the ready addresses per service port name, ignoring not-ready ones and non-TCP ports', () => {
    const endpoints: KubeObject = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'web', namespace: 'default' },
      subsets: [
        {
          addresses: [{ ip: '127.1.0.3' }, { ip: '127.1.0.2' }],
          notReadyAddresses: [{ ip: '127.1.0.9' }],
          ports: [
            { name: 'http', port: 8080 },
            { name: 'dns', port: 53, protocol: 'UDP' },
          ],
        },
        { addresses: [{ ip: '127.1.1.2' }], ports: [{ name: 'http', port: 9090 }] },
      ],
    };
    const backends = readyBackendsByPortName(endpoints);
    assert.deepEqual(backends.get('http'), [
      { ip: '127.1.0.2', port: 8080 },
      { ip: '127.1.0.3', port: 8080 },
      { ip: '127.1.1.2', port: 9090 },
    ]);
    assert.equal(backends.get('dns'), undefined);
    assert.equal(readyBackendsByPortName(undefined).size, 0);
  });
});
