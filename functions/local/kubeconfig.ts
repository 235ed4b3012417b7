/** Writes kubeconfig files for the local cluster (admin, nodes). */
import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

export interface KubeconfigSpec {
  readonly server: string;
  readonly caCertPem: string;
  readonly token: string;
  readonly user: string;
  readonly clusterName?: string;
  /** The watch channel's WebSocket URL, for node agents (a cluster extension kubectl ignores). */
  readonly watchChannel?: string;
  /** The node heartbeat endpoint (docs/adr/196), for node agents: renewals and status with the node's bearer token. */
  readonly heartbeat?: string;
}

export function renderKubeconfig(spec: KubeconfigSpec): string {
  const cluster = spec.clusterName ?? 'skiff';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: cluster,
        cluster: {
          server: spec.server,
          'certificate-authority-data': Buffer.from(spec.caCertPem).toString('base64'),
          ...(spec.watchChannel || spec.heartbeat
            ? {
                extensions: [
                  ...(spec.watchChannel ? [{ name: 'skiff.io/watch-channel', extension: { url: spec.watchChannel } }] : []),
                  ...(spec.heartbeat ? [{ name: 'skiff.io/heartbeat', extension: { url: spec.heartbeat } }] : []),
                ],
              }
            : {}),
        },
      },
    ],
    users: [{ name: spec.user, user: { token: spec.token } }],
    contexts: [{ name: cluster, context: { cluster, user: spec.user, namespace: 'default' } }],
    'current-context': cluster,
    preferences: {},
  });
}

export async function writeKubeconfig(path: string, spec: KubeconfigSpec): Promise<void> {
  await writeFile(path, renderKubeconfig(spec), { mode: 0o600 });
}
