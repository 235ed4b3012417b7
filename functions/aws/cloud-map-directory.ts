/**
 * The service directory on AWS (docs/adr/146): one AWS Cloud Map service per Kubernetes
 * Service in the cluster's private DNS namespace (`svc.cluster.local`, made by the stack), named
 * `<svc>.<ns>` so its record is `<svc>.<ns>.svc.cluster.local`; MULTIVALUE A records with a 5 s
 * TTL (the cluster DNS's); one instance per ready pod IP, the IP as its id. Cloud Map services
 * are found by name in the namespace (ListServices, filtered by NAMESPACE_ID) and carry the tag
 * `skiff.io/cluster` with the namespace id, so nothing made by hand is touched.
 *
 * Calls, in order: publish — ListServices, CreateService when missing, ListInstances,
 * RegisterInstance for each new address, DeregisterInstance for each gone one; withdraw —
 * ListServices, then ListInstances and DeregisterInstance for each instance (done later by
 * Cloud Map: the withdrawal is retried) or, with no instance left, DeleteService.
 */
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DeregisterInstanceCommand,
  ListInstancesCommand,
  ListServicesCommand,
  RegisterInstanceCommand,
  ResourceInUse,
  ServiceDiscoveryClient,
  ServiceNotFound,
} from '@aws-sdk/client-servicediscovery';
import type { ServiceDirectory } from '../domain/services/service-directory.ts';
import type { Log } from '../logging/log.ts';

export interface CloudMapDirectoryOptions {
  readonly client: ServiceDiscoveryClient;
  /** The private DNS namespace's id (`ns-…`). */
  readonly namespaceId: string;
  /** @default 5 */
  readonly ttlSeconds?: number;
  readonly log?: Log;
}

/** The Cloud Map service name of a Kubernetes Service. */
export function cloudMapServiceName(namespace: string, name: string): string {
  return `${name}.${namespace}`;
}

export function cloudMapDirectory(options: CloudMapDirectoryOptions): ServiceDirectory {
  const { client, namespaceId } = options;

  async function findService(serviceName: string): Promise<string | undefined> {
    let nextToken: string | undefined;
    do {
      const page = await client.send(
        new ListServicesCommand({
          Filters: [{ Name: 'NAMESPACE_ID', Values: [namespaceId], Condition: 'EQ' }],
          ...(nextToken ? { NextToken: nextToken } : {}),
        }),
      );
      const found = page.Services?.find((service) => service.Name === serviceName);
      if (found?.Id) return found.Id;
      nextToken = page.NextToken;
    } while (nextToken);
    return undefined;
  }

  async function instanceIds(serviceId: string): Promise<string[]> {
    const ids: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await client.send(new ListInstancesCommand({ ServiceId: serviceId, ...(nextToken ? { NextToken: nextToken } : {}) }));
      for (const instance of page.Instances ?? []) if (instance.Id) ids.push(instance.Id);
      nextToken = page.NextToken;
    } while (nextToken);
    return ids.sort();
  }

  return {
    async publish(namespace, name, addresses) {
      const serviceName = cloudMapServiceName(namespace, name);
      let serviceId = await findService(serviceName);
      if (!serviceId) {
        const created = await client.send(
          new CreateServiceCommand({
            Name: serviceName,
            NamespaceId: namespaceId,
            // Idempotent: a retried creation of the same name is the same request.
            CreatorRequestId: `skiff-${namespaceId}-${serviceName}`.slice(0, 64),
            Description: `Kubernetes Service ${namespace}/${name}`,
            DnsConfig: { RoutingPolicy: 'MULTIVALUE', DnsRecords: [{ Type: 'A', TTL: options.ttlSeconds ?? 5 }] },
            Tags: [{ Key: 'skiff.io/cluster', Value: namespaceId }],
          }),
        );
        serviceId = created.Service?.Id;
        if (!serviceId) throw new Error(`Cloud Map did not return the id of service ${serviceName}`);
        options.log?.info('Cloud Map service created', { service: serviceName, id: serviceId });
      }
      const current = new Set(await instanceIds(serviceId));
      const wanted = new Set(addresses);
      for (const address of [...wanted].sort()) {
        if (current.has(address)) continue;
        await client.send(new RegisterInstanceCommand({ ServiceId: serviceId, InstanceId: address, Attributes: { AWS_INSTANCE_IPV4: address } }));
      }
      for (const id of [...current].sort()) {
        if (!wanted.has(id)) await client.send(new DeregisterInstanceCommand({ ServiceId: serviceId, InstanceId: id }));
      }
    },
    async withdraw(namespace, name) {
      const serviceName = cloudMapServiceName(namespace, name);
      const serviceId = await findService(serviceName);
      if (!serviceId) return true;
      const instances = await instanceIds(serviceId);
      if (instances.length > 0) {
        for (const id of instances) await client.send(new DeregisterInstanceCommand({ ServiceId: serviceId, InstanceId: id }));
        return false;
      }
      try {
        await client.send(new DeleteServiceCommand({ Id: serviceId }));
      } catch (error) {
        if (error instanceof ServiceNotFound) return true;
        if (error instanceof ResourceInUse) return false;
        throw error;
      }
      options.log?.info('Cloud Map service deleted', { service: serviceName, id: serviceId });
      return true;
    },
  };
}

/**
 * The directory as the Lambda hosts build it, from `SERVICE_DISCOVERY_NAMESPACE_ID` (the stack's
 * private DNS namespace): none without it, and then no service discovery controller runs.
 */
export function serviceDirectoryFromEnvironment(env: NodeJS.ProcessEnv = process.env, log?: Log): { serviceDirectory?: ServiceDirectory } {
  const namespaceId = env.SERVICE_DISCOVERY_NAMESPACE_ID;
  if (!namespaceId) return {};
  return { serviceDirectory: cloudMapDirectory({ client: new ServiceDiscoveryClient({}), namespaceId, ...(log ? { log } : {}) }) };
}
