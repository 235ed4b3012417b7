/**
 * Service names in a directory outside the cluster (docs/adr/146): on AWS, an AWS Cloud Map
 * private DNS namespace `svc.cluster.local` in the VPC, where `<svc>.<ns>.svc.cluster.local`
 * answers with the A records of the Service's ready pod IPs. Every Service but ExternalName is
 * published, with its ready endpoints from its EndpointSlices; a Service that goes (or becomes
 * ExternalName) is withdrawn. The directory is a port; `functions/aws/cloud-map-directory.ts`
 * is its AWS adapter.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import type { Controller, ControllerContext, ObjectChange, ReconcileKey, ReconcileResult } from '../../controller-runtime/controller.ts';
import type { ServiceDirectory } from '../../domain/services/service-directory.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';

export type { ServiceDirectory };

const serviceNameLabel = 'kubernetes.io/service-name';
/** How soon a withdrawal that is still going on is looked at again. */
export const withdrawRetrySeconds = 10;

/** The ready IPv4 addresses of a Service's EndpointSlices, sorted, each once. */
export function readyAddresses(slices: readonly KubeObject[], serviceName: string): string[] {
  const addresses = new Set<string>();
  for (const slice of slices) {
    if (slice.metadata.labels?.[serviceNameLabel] !== serviceName) continue;
    if (((slice as { addressType?: string }).addressType ?? 'IPv4') !== 'IPv4') continue;
    const endpoints = (slice as { endpoints?: { addresses?: string[]; conditions?: { ready?: boolean | null } }[] | null }).endpoints ?? [];
    for (const endpoint of endpoints) {
      if (endpoint.conditions?.ready === false) continue;
      for (const address of endpoint.addresses ?? []) addresses.add(address);
    }
  }
  return [...addresses].sort();
}

export function serviceDiscoveryController(directory: ServiceDirectory): Controller {
  return {
    name: 'service-discovery-controller',
    resyncTypes: [types.services],
    keysFor(change: ObjectChange): ReconcileKey[] {
      if (change.typeId === types.services.id)
        return [{ typeId: types.services.id, ...(change.namespace ? { namespace: change.namespace } : {}), name: change.name }];
      if (change.typeId !== types.endpointslices.id) return [];
      const names = new Set(
        [change.newObject, change.oldObject].map((object) => object?.metadata.labels?.[serviceNameLabel]).filter((name): name is string => Boolean(name)),
      );
      return [...names].map((name) => ({ typeId: types.services.id, ...(change.namespace ? { namespace: change.namespace } : {}), name }));
    },
    async reconcile(key: ReconcileKey, ctx: ControllerContext): Promise<ReconcileResult | undefined> {
      const namespace = key.namespace ?? 'default';
      const service = await getIfExists(ctx.store, types.services, namespace, key.name);
      const type = (service?.spec as { type?: string } | undefined)?.type;
      if (!service || service.metadata.deletionTimestamp || type === 'ExternalName') {
        return (await directory.withdraw(namespace, key.name)) ? undefined : { requeueAfterSeconds: withdrawRetrySeconds };
      }
      const slices = await listAll(ctx.store, types.endpointslices, { namespace });
      await directory.publish(namespace, key.name, readyAddresses(slices, key.name));
      return undefined;
    },
  };
}
