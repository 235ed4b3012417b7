/** Objects the patch tests start from, frozen so any mutation by the code under test throws. */
import type { KubeObject } from '../../../../schemas/meta.ts';
import { frozen } from './frozen.ts';

export function deployment(overrides: { containers?: unknown[]; labels?: Record<string, string>; replicas?: number } = {}): KubeObject {
  return frozen({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: '6a0c1b6e-1111-4d8b-9c1f-1d2a3b4c5d6e',
      resourceVersion: '7',
      generation: 1,
      creationTimestamp: '2026-11-22T03:00:00Z',
      labels: overrides.labels ?? { app: 'web' },
      finalizers: ['example.com/a'],
    },
    spec: {
      replicas: overrides.replicas ?? 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: overrides.containers ?? [
            {
              name: 'nginx',
              image: 'nginx:1.27',
              ports: [{ containerPort: 80, protocol: 'TCP' }],
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
              ],
            },
            { name: 'sidecar', image: 'busybox', command: ['sleep', '3600'] },
          ],
          tolerations: [{ key: 'k', operator: 'Exists' }],
        },
      },
    },
    status: { replicas: 1, conditions: [{ type: 'Available', status: 'True' }] },
  });
}

export function node(): KubeObject {
  return frozen({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node1', uid: 'u-node1', resourceVersion: '3' },
    spec: { taints: [{ key: 'old', value: 'x', effect: 'NoExecute' }] },
    status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }], conditions: [{ type: 'Ready', status: 'True' }] },
  });
}
