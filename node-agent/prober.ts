/**
 * Runs one probe attempt against a running container: an HTTP GET (success is 200–399), a
 * TCP connect, or a command run inside the container (success is exit code 0). Each attempt
 * gives up after the probe's timeoutSeconds.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Container, Probe } from './pod-view.ts';
import type { ContainerRuntime } from './runtime/runtime.ts';

export interface ProbeOutcome {
  readonly ok: boolean;
  readonly message: string;
}

export interface ProbeTarget {
  readonly podIP: string;
  readonly container: Container;
  readonly containerId: string;
}

/** A named port (`http`) is looked up in the container's ports, as the kubelet does. */
export function resolvePort(container: Container, port: number | string): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports.find((p) => p.name === port)?.containerPort;
}

export async function runProbe(probe: Probe, target: ProbeTarget, runtime: ContainerRuntime): Promise<ProbeOutcome> {
  const timeoutMs = probe.timeoutSeconds * 1000;
  if (probe.exec) {
    const result = await runtime.exec(target.containerId, probe.exec.command, timeoutMs);
    return result.exitCode === 0
      ? { ok: true, message: '' }
      : { ok: false, message: `command ${JSON.stringify(probe.exec.command)} exited with ${result.exitCode}: ${result.output.trim().slice(0, 200)}` };
  }
  if (probe.httpGet) {
    const port = resolvePort(target.container, probe.httpGet.port);
    if (port === undefined) return { ok: false, message: `port ${JSON.stringify(probe.httpGet.port)} not found in the container's ports` };
    return httpProbe(probe.httpGet.scheme, probe.httpGet.host ?? target.podIP, port, probe.httpGet.path, probe.httpGet.httpHeaders, timeoutMs);
  }
  if (probe.tcpSocket) {
    const port = resolvePort(target.container, probe.tcpSocket.port);
    if (port === undefined) return { ok: false, message: `port ${JSON.stringify(probe.tcpSocket.port)} not found in the container's ports` };
    return tcpProbe(probe.tcpSocket.host ?? target.podIP, port, timeoutMs);
  }
  return { ok: false, message: 'probe has no handler (httpGet, tcpSocket or exec)' };
}

function httpProbe(
  scheme: 'HTTP' | 'HTTPS',
  host: string,
  port: number,
  path: string,
  headers: readonly { name: string; value: string }[],
  timeoutMs: number,
): Promise<ProbeOutcome> {
  const url = `${scheme === 'HTTPS' ? 'https' : 'http'}://${host}:${port}${path.startsWith('/') ? path : `/${path}`}`;
  const requestHeaders: Record<string, string> = { 'user-agent': 'kube-probe/1.32', accept: '*/*' };
  for (const header of headers) requestHeaders[header.name.toLowerCase()] = header.value;
  return new Promise((resolvePromise) => {
    const onResponse = (response: http.IncomingMessage) => {
      response.resume();
      const code = response.statusCode ?? 0;
      resolvePromise(code >= 200 && code < 400 ? { ok: true, message: '' } : { ok: false, message: `HTTP probe failed with statuscode: ${code}` });
    };
    // The kubelet does not verify certificates of HTTPS probes either: it checks liveness, not identity.
    let request: http.ClientRequest;
    try {
      request =
        scheme === 'HTTPS'
          ? https.get(url, { headers: requestHeaders, timeout: timeoutMs, rejectUnauthorized: false, agent: false }, onResponse)
          : http.get(url, { headers: requestHeaders, timeout: timeoutMs, agent: false }, onResponse);
    } catch (error) {
      // A header, host or path Node refuses to send (admission refuses them; an object stored
      // before that, or written around the API, must not take the agent down): the probe fails.
      resolvePromise({ ok: false, message: `Get "${url}": ${(error as Error).message}` });
      return;
    }
    request.on('timeout', () => request.destroy(new Error(`Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`)));
    request.on('error', (error) => resolvePromise({ ok: false, message: errorText(error, url) }));
  });
}

function errorText(error: Error & { code?: string }, url: string): string {
  if (error.code === 'ECONNREFUSED') return `Get "${url}": dial tcp ${URL.canParse(url) ? new URL(url).host : url}: connect: connection refused`;
  return error.message;
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolvePromise) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolvePromise({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
    }, timeoutMs);
    socket.on('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolvePromise({ ok: true, message: '' });
    });
    socket.on('error', (error: Error & { code?: string }) => {
      clearTimeout(timer);
      resolvePromise({
        ok: false,
        message: error.code === 'ECONNREFUSED' ? `dial tcp ${host}:${port}: connect: connection refused` : error.message,
      });
    });
  });
}
