/**
 * Where a webhook's review is POSTed: its `clientConfig.url`, or a ready endpoint of its
 * `clientConfig.service` (the way the API server reaches pods in this cluster), with the CA its
 * certificate is verified against and the name it must be for (`<service>.<namespace>.svc`, as
 * kube-apiserver verifies a Service's webhook). The URL carries `?timeout=<n>s`, as
 * kube-apiserver's client adds it.
 */
import type { WebhookClientConfig } from '../../../schemas/admission-registration.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { getIfExists } from '../../store/list-all.ts';
import type { ObjectReader } from '../../store/store.ts';
import { readyBackendsByPortName, viewService } from '../services/service-view.ts';

export interface WebhookTarget {
  readonly url: URL;
  /** PEM from `caBundle`; the system roots verify the server when absent. */
  readonly ca?: string;
  /** The name the server's certificate must carry when it is not the URL's host. */
  readonly serverName?: string;
}

function caOf(config: WebhookClientConfig): string | undefined {
  return config.caBundle ? Buffer.from(config.caBundle, 'base64').toString('utf8') : undefined;
}

/** A ready address of the Service's port, by its Endpoints (ready addresses only); the first in order, so calls are repeatable. */
function readyBackend(service: KubeObject, endpoints: KubeObject | undefined, port: number): { ip: string; port: number } | undefined {
  const servicePort = viewService(service).ports.find((p) => p.port === port);
  if (!servicePort) return undefined;
  return readyBackendsByPortName(endpoints).get(servicePort.name ?? '')?.[0];
}

export async function resolveWebhookTarget(store: ObjectReader, config: WebhookClientConfig, timeoutSeconds: number): Promise<WebhookTarget> {
  const ca = caOf(config);
  let url: URL;
  let serverName: string | undefined;
  if (config.url !== undefined) {
    url = new URL(config.url);
  } else if (config.service) {
    const { namespace, name, port, path } = config.service;
    const service = await getIfExists(store, types.services, namespace, name);
    if (!service) throw new Error(`service "${name}" not found`);
    const backend = readyBackend(service, await getIfExists(store, types.endpoints, namespace, name), port);
    if (!backend) throw new Error(`no endpoints available for service "${name}"`);
    const host = backend.ip.includes(':') ? `[${backend.ip}]` : backend.ip;
    url = new URL(`https://${host}:${backend.port}${path ?? ''}`);
    serverName = `${name}.${namespace}.svc`;
  } else {
    throw new Error('webhook has no url and no service');
  }
  url.searchParams.set('timeout', `${timeoutSeconds}s`);
  return { url, ...(ca !== undefined ? { ca } : {}), ...(serverName !== undefined ? { serverName } : {}) };
}
