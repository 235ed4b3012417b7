/**
 * Reads container logs from a node agent's HTTP endpoint, as kube-apiserver reads them from
 * the kubelet: the node's InternalIP and `status.daemonEndpoints.kubeletEndpoint.Port`.
 */
import { request as httpRequest } from 'node:http';
import type { PodLogRequest, PodLogSource } from '../api/resource-verbs.ts';
import { BadRequestError, NotFoundError } from '../core/errors.ts';

interface NodeStatus {
  readonly addresses?: readonly { type: string; address: string }[];
  readonly daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
}

export function kubeletLogSource(options: { token?: string } = {}): PodLogSource {
  return (request: PodLogRequest) => {
    const status = (request.node.status ?? {}) as NodeStatus;
    const address = status.addresses?.find((a) => a.type === 'InternalIP')?.address;
    const port = status.daemonEndpoints?.kubeletEndpoint?.Port;
    if (!address || !port) {
      throw new BadRequestError(`node "${request.node.metadata.name}" has no kubelet endpoint to read logs from`);
    }
    const query = new URLSearchParams();
    if (request.follow) query.set('follow', 'true');
    if (request.previous) query.set('previous', 'true');
    if (request.timestamps) query.set('timestamps', 'true');
    if (request.tailLines !== undefined) query.set('tailLines', String(request.tailLines));
    const { namespace, name } = request.pod.metadata;
    const path = `/containerLogs/${encodeURIComponent(namespace ?? '')}/${encodeURIComponent(name ?? '')}/${encodeURIComponent(request.container)}?${query}`;
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest(
        { host: address, port, path, method: 'GET', signal: request.signal, headers: options.token ? { authorization: `Bearer ${options.token}` } : {} },
        (response) => {
          if (response.statusCode === 404) {
            response.resume();
            reject(
              new NotFoundError(
                { resource: 'pods', group: '', name: name ?? '' },
                `previous terminated container "${request.container}" in pod "${name}" not found`,
              ),
            );
            return;
          }
          if (response.statusCode !== 200) {
            let text = '';
            response.setEncoding('utf8');
            response.on('data', (chunk: string) => (text += chunk));
            response.on('end', () => reject(new BadRequestError(text.trim() || `the node answered ${response.statusCode}`)));
            return;
          }
          resolve(response);
        },
      );
      outgoing.on('error', (error) => reject(new BadRequestError(`cannot reach the node's log endpoint: ${error.message}`)));
      outgoing.end();
    });
  };
}
