/**
 * Reads container logs from a node agent's HTTP endpoint, as kube-apiserver reads them from
 * the kubelet: the node's InternalIP and `status.daemonEndpoints.kubeletEndpoint.Port`.
 */
import { request as httpRequest } from 'node:http';
import { BadRequestError, NotFoundError } from '../core/errors.ts';
import { type NodeStatsSource, type StatsSummary, statsSummarySchema } from '../domain/metrics/node-stats.ts';
import type { PodLogRequest, PodLogSource } from '../domain/pods/pod-logs.ts';
import type { PodStreamLocator, PodStreamRequest } from '../domain/pods/pod-streams.ts';

interface NodeStatus {
  readonly addresses?: readonly { type: string; address: string }[];
  readonly daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
}

/** How long the node has to start answering a log request. */
const nodeAnswerMs = 30_000;

/** The bearer token the kubelet API of a node accepts: one for all, or each node's own. */
export type KubeletToken = string | ((nodeName: string) => string | undefined);

export function kubeletLogSource(options: { token?: KubeletToken } = {}): PodLogSource {
  return (request: PodLogRequest) => {
    const token = typeof options.token === 'function' ? options.token(request.node.metadata.name ?? '') : options.token;
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
    if (request.limitBytes !== undefined) query.set('limitBytes', String(request.limitBytes));
    const { namespace, name } = request.pod.metadata;
    const path = `/containerLogs/${encodeURIComponent(namespace ?? '')}/${encodeURIComponent(name ?? '')}/${encodeURIComponent(request.container)}?${query}`;
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest(
        { host: address, port, path, method: 'GET', signal: request.signal, headers: token ? { authorization: `Bearer ${token}` } : {} },
        (response) => {
          clearTimeout(headersTimer);
          if (response.statusCode !== 200) {
            // The node says why (a container waiting to start, no previous run, a pod it no longer
            // has): that text is the message, as kube-apiserver passes the kubelet's on.
            let text = '';
            response.setEncoding('utf8');
            response.on('data', (chunk: string) => {
              if (text.length < 4096) text += chunk;
            });
            response.on('end', () => {
              const message = text.trim() || `the node answered ${response.statusCode}`;
              reject(
                response.statusCode === 404 ? new NotFoundError({ resource: 'pods', group: '', name: name ?? '' }, message) : new BadRequestError(message),
              );
            });
            return;
          }
          resolve(response);
        },
      );
      // A node that accepts the connection and never answers must not hold the request forever.
      const headersTimer = setTimeout(() => outgoing.destroy(new Error(`no answer within ${nodeAnswerMs / 1000} s`)), nodeAnswerMs);
      outgoing.on('error', (error) => {
        clearTimeout(headersTimer);
        reject(new BadRequestError(`cannot reach the node's log endpoint: ${error.message}`));
      });
      outgoing.end();
    });
  };
}

/**
 * Where exec, attach and port-forward upgrades go: the node agent's streaming endpoints
 * (`/exec`, `/attach`, `/portForward`), with the node's token, as kube-apiserver reaches the
 * kubelet's (docs/adr/140).
 */
export function kubeletStreamLocator(options: { token?: KubeletToken } = {}): PodStreamLocator {
  return (request: PodStreamRequest) => {
    const token = typeof options.token === 'function' ? options.token(request.node.metadata.name ?? '') : options.token;
    const status = (request.node.status ?? {}) as NodeStatus;
    const address = status.addresses?.find((a) => a.type === 'InternalIP')?.address;
    const port = status.daemonEndpoints?.kubeletEndpoint?.Port;
    if (!address || !port) throw new BadRequestError(`node "${request.node.metadata.name}" has no kubelet endpoint to stream from`);
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const { namespace, name } = request.pod.metadata;
    const podPath = `${encodeURIComponent(namespace ?? '')}/${encodeURIComponent(name ?? '')}`;
    if (request.kind === 'portforward') return { url: `http://${address}:${port}/portForward/${podPath}`, headers };
    const query = new URLSearchParams();
    for (const command of request.query.getAll('command')) query.append('command', command);
    for (const flag of ['stdin', 'stdout', 'stderr', 'tty']) {
      const value = request.query.get(flag);
      if (value !== null) query.set(flag, value);
    }
    const path = `/${request.kind}/${podPath}/${encodeURIComponent(request.container ?? '')}?${query}`;
    return { url: `http://${address}:${port}${path}`, headers };
  };
}

/** How long a node has to give its figures before it is left out of a metrics answer. */
const statsAnswerMs = 5_000;

/**
 * Reads a node agent's Summary API (`/stats/summary`) with the node's token, as metrics-server
 * scrapes each kubelet. A node that does not answer, or answers other than 200, has no figures.
 */
export function kubeletStatsSource(options: { token?: KubeletToken } = {}): NodeStatsSource {
  return async (node) => {
    const token = typeof options.token === 'function' ? options.token(node.metadata.name ?? '') : options.token;
    const status = (node.status ?? {}) as NodeStatus;
    const address = status.addresses?.find((a) => a.type === 'InternalIP')?.address;
    const port = status.daemonEndpoints?.kubeletEndpoint?.Port;
    if (!address || !port) return undefined;
    const response = await fetch(`http://${address}:${port}/stats/summary`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(statsAnswerMs),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      return undefined;
    }
    return statsSummarySchema.parse(await response.json()) as StatsSummary;
  };
}
