/**
 * The service controller (load balancer part): every `type: LoadBalancer` Service gets a load
 * balancer from the provider, its address in `status.loadBalancer.ingress`, and the finalizer
 * `service.kubernetes.io/load-balancer-cleanup`, so deleting the Service (or changing its type)
 * removes the load balancer before the Service goes — as in Kubernetes. Endpoints changes
 * re-ensure the Service of the same name, so the balancer follows its ready pods.
 */

import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { storedService } from '../../../schemas/stored-objects.ts';
import type { Controller, ObjectChange, ReconcileKey } from '../../controller-runtime/controller.ts';
import { canonicalJson } from '../../controller-runtime/stable-hash.ts';
import { viewService } from '../../domain/services/service-view.ts';
import { getIfExists } from '../../store/list-all.ts';
import type { LoadBalancers } from './load-balancers.ts';

export type { LoadBalancerIngress, LoadBalancers } from './load-balancers.ts';

const component = 'service-controller';
export const loadBalancerCleanupFinalizer = 'service.kubernetes.io/load-balancer-cleanup';

function isLoadBalancer(service: KubeObject): boolean {
  try {
    return viewService(service).type === 'LoadBalancer';
  } catch {
    return false;
  }
}

function ingressOf(service: KubeObject): unknown {
  return storedService(service).status?.loadBalancer?.ingress ?? [];
}

function withStatusIngress(service: KubeObject, ingress: readonly unknown[]): KubeObject {
  return { ...service, status: { ...storedService(service).status, loadBalancer: ingress.length > 0 ? { ingress } : {} } };
}

function withFinalizers(service: KubeObject, finalizers: readonly string[]): KubeObject {
  const { finalizers: _old, ...metadata } = service.metadata;
  return { ...service, metadata: finalizers.length > 0 ? { ...metadata, finalizers } : metadata };
}

export function serviceLoadBalancerController(loadBalancers: LoadBalancers): Controller {
  return {
    name: component,
    resyncTypes: [types.services],
    keysFor(change: ObjectChange): ReconcileKey[] {
      if (change.typeId === types.services.id || change.typeId === types.endpoints.id) {
        return [{ typeId: types.services.id, namespace: change.namespace, name: change.name }];
      }
      return [];
    },
    async reconcile(key, ctx) {
      const namespace = key.namespace ?? 'default';
      const service = await getIfExists(ctx.store, types.services, namespace, key.name);
      if (!service) {
        await loadBalancers.remove({ apiVersion: 'v1', kind: 'Service', metadata: { namespace, name: key.name } });
        return;
      }
      const finalizers = service.metadata.finalizers ?? [];
      const hasFinalizer = finalizers.includes(loadBalancerCleanupFinalizer);
      if (!isLoadBalancer(service) || service.metadata.deletionTimestamp) {
        await loadBalancers.remove(service);
        let next = service;
        if (!service.metadata.deletionTimestamp && canonicalJson(ingressOf(service)) !== '[]') next = withStatusIngress(next, []);
        if (hasFinalizer)
          next = withFinalizers(
            next,
            finalizers.filter((f) => f !== loadBalancerCleanupFinalizer),
          );
        if (next !== service) {
          await ctx.store.update(types.services, next);
          if (hasFinalizer) {
            await ctx.events.record({ involvedObject: service, type: 'Normal', reason: 'DeletedLoadBalancer', message: 'Deleted load balancer', component });
          }
        }
        return;
      }
      let current = service;
      if (!hasFinalizer) current = await ctx.store.update(types.services, withFinalizers(service, [...finalizers, loadBalancerCleanupFinalizer]));
      const endpoints = await getIfExists(ctx.store, types.endpoints, namespace, key.name);
      const firstTime = canonicalJson(ingressOf(current)) === '[]';
      if (firstTime) {
        await ctx.events.record({ involvedObject: current, type: 'Normal', reason: 'EnsuringLoadBalancer', message: 'Ensuring load balancer', component });
      }
      const ingress = await loadBalancers.ensure(current, endpoints);
      if (canonicalJson(ingressOf(current)) !== canonicalJson(ingress)) {
        await ctx.store.update(types.services, withStatusIngress(current, ingress));
      }
      if (firstTime) {
        await ctx.events.record({ involvedObject: current, type: 'Normal', reason: 'EnsuredLoadBalancer', message: 'Ensured load balancer', component });
      }
    },
  };
}
