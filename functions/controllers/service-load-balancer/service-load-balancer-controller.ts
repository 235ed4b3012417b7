/**
 * The service controller (load balancer part): every `type: LoadBalancer` Service gets a load
 * balancer from the provider, its address in `status.loadBalancer.ingress`, and the finalizer
 * `service.kubernetes.io/load-balancer-cleanup`, so deleting the Service (or changing its type)
 * removes the load balancer before the Service goes — as in Kubernetes. A Service whose
 * `spec.loadBalancerClass` names another implementation is left to it.
 *
 * Targets follow the Service's pods, not its Endpoints: a pod is registered once its containers
 * are ready, and its `target-health.skiff.io/<service>` condition (a readiness gate, and the node
 * agent's signal to stop it) follows what the provider reports (docs/adr/094-zero-downtime-targets.md).
 * Pod changes name their namespace, so one batch of them costs one pass over its Services.
 * What the provider cannot serve (a UDP port on an ALB, too many listeners) is a Warning Event
 * and a `skiff.io/LoadBalancerReady=False` condition on the Service, never a retry loop.
 */

import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { storedService } from '../../../schemas/stored-objects.ts';
import type { Controller, ControllerContext, ObjectChange, ReconcileKey, ReconcileResult } from '../../controller-runtime/controller.ts';
import { canonicalJson } from '../../controller-runtime/stable-hash.ts';
import { backendsOf } from '../../domain/services/load-balancer-backends.ts';
import {
  type EnsuredLoadBalancer,
  LoadBalancerConfigurationError,
  type LoadBalancerProblem,
  type LoadBalancers,
} from '../../domain/services/load-balancers.ts';
import { viewService } from '../../domain/services/service-view.ts';
import { isTargetHealthType, serviceTargetHealthType } from '../../domain/services/target-health.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';
import { planTargetConditions, writePodCondition } from './target-conditions.ts';

export type { LoadBalancerIngress, LoadBalancers } from '../../domain/services/load-balancers.ts';

const component = 'service-controller';
export const loadBalancerCleanupFinalizer = 'service.kubernetes.io/load-balancer-cleanup';
/** The condition this controller keeps on Services (and the ingress controller on Ingresses). */
export const loadBalancerReadyCondition = 'skiff.io/LoadBalancerReady';
/** Seconds before a Service the provider refused is tried again (sooner if it changes). */
const configurationRetrySeconds = 60;
/** Seconds before a removal the provider has not finished is looked at again. */
const removalRetrySeconds = 10;

/** True for a Service this controller (rather than another `loadBalancerClass`) balances. */
export function isOurLoadBalancer(service: KubeObject): boolean {
  try {
    const view = viewService(service);
    return view.type === 'LoadBalancer' && !view.spec.loadBalancerClass;
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

interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: string;
  readonly observedGeneration?: number;
}

function conditionsOf(object: KubeObject): Condition[] {
  return ((object.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).filter((c) => typeof c?.type === 'string');
}

/** The object with its `skiff.io/LoadBalancerReady` condition set from the problems (removed when `problems` is undefined). */
export function withReadyCondition(object: KubeObject, problems: readonly LoadBalancerProblem[] | undefined, now: Date): KubeObject {
  const others = conditionsOf(object).filter((c) => c.type !== loadBalancerReadyCondition);
  const status = (object.status as Record<string, unknown> | undefined) ?? {};
  if (problems === undefined) {
    const { conditions: _drop, ...rest } = status;
    return { ...object, status: others.length > 0 ? { ...rest, conditions: others } : rest };
  }
  const before = conditionsOf(object).find((c) => c.type === loadBalancerReadyCondition);
  const ok = problems.length === 0;
  const next: Condition = {
    type: loadBalancerReadyCondition,
    status: ok ? 'True' : 'False',
    reason: ok ? 'Ensured' : (problems[0]?.reason ?? 'Failed'),
    message: ok ? 'the load balancer serves every port' : problems.map((p) => p.message).join('; '),
    lastTransitionTime:
      before && before.status === (ok ? 'True' : 'False') && before.lastTransitionTime ? before.lastTransitionTime : `${now.toISOString().slice(0, 19)}Z`,
    ...(object.metadata.generation !== undefined ? { observedGeneration: object.metadata.generation } : {}),
  };
  return { ...object, status: { ...status, conditions: [...others, next] } };
}

function sameCondition(a: KubeObject, b: KubeObject): boolean {
  const pick = (o: KubeObject) => conditionsOf(o).find((c) => c.type === loadBalancerReadyCondition);
  const x = pick(a);
  const y = pick(b);
  return x?.status === y?.status && x?.reason === y?.reason && x?.message === y?.message && x?.observedGeneration === y?.observedGeneration;
}

/** What of a pod the load balancer depends on; status heartbeats and our own condition writes are skipped. */
function podFingerprint(pod: KubeObject | undefined): string {
  if (!pod) return '';
  const conditions = ((pod.status as { conditions?: { type?: string; status?: string }[] } | undefined)?.conditions ?? [])
    .filter((c) => typeof c.type === 'string' && !isTargetHealthType(c.type))
    .map((c) => `${c.type}=${c.status}`)
    .sort();
  const status = (pod.status ?? {}) as { podIP?: unknown; phase?: unknown };
  return canonicalJson([pod.metadata.labels ?? {}, pod.metadata.deletionTimestamp ?? '', status.podIP ?? '', status.phase ?? '', conditions]);
}

/** Writes every planned pod condition; returns the pods whose write failed (they are retried on the next pass). */
async function writeTargetConditions(
  ctx: ControllerContext,
  type: string,
  ensured: Pick<EnsuredLoadBalancer, 'targets'>,
  backends: ReturnType<typeof backendsOf>,
  pods: readonly KubeObject[],
  owner: string,
): Promise<void> {
  const writes = planTargetConditions(type, backends, ensured.targets, pods, owner);
  for (const write of writes) await writePodCondition(ctx, write, ctx.now());
}

export function serviceLoadBalancerController(loadBalancers: LoadBalancers): Controller {
  const owner = (service: KubeObject) => `load balancer of service ${service.metadata.namespace ?? 'default'}/${service.metadata.name ?? ''}`;

  async function release(ctx: ControllerContext, service: KubeObject, namespace: string): Promise<void> {
    const pods = await listAll(ctx.store, types.pods, { namespace });
    const type = serviceTargetHealthType(service.metadata.name ?? '');
    await writeTargetConditions(ctx, type, { targets: new Map() }, [], pods, owner(service));
  }

  async function reconcileService(namespace: string, name: string, ctx: ControllerContext): Promise<ReconcileResult | undefined> {
    const service = await getIfExists(ctx.store, types.services, namespace, name);
    // A Service is only removed after its finalizer went, and that waits for the load balancer to be gone.
    if (!service) return undefined;
    const finalizers = service.metadata.finalizers ?? [];
    const hasFinalizer = finalizers.includes(loadBalancerCleanupFinalizer);
    if (!isOurLoadBalancer(service) || service.metadata.deletionTimestamp) {
      // Nothing was ever made for a Service that never carried the finalizer, unless it is a LoadBalancer one.
      if (!hasFinalizer && canonicalJson(ingressOf(service)) === '[]' && !isOurLoadBalancer(service)) return undefined;
      if (!(await loadBalancers.remove(service))) return { requeueAfterSeconds: removalRetrySeconds };
      await release(ctx, service, namespace);
      let next = service;
      if (!service.metadata.deletionTimestamp && canonicalJson(ingressOf(service)) !== '[]') next = withStatusIngress(next, []);
      if (!service.metadata.deletionTimestamp) next = withReadyCondition(next, undefined, ctx.now());
      if (hasFinalizer)
        next = withFinalizers(
          next,
          finalizers.filter((f) => f !== loadBalancerCleanupFinalizer),
        );
      if (canonicalJson(next) !== canonicalJson(service)) {
        await ctx.admission.update(types.services, next, service);
        if (hasFinalizer) {
          await ctx.events.record({ involvedObject: service, type: 'Normal', reason: 'DeletedLoadBalancer', message: 'Deleted load balancer', component });
        }
      }
      return undefined;
    }
    let current = service;
    if (!hasFinalizer) current = await ctx.admission.update(types.services, withFinalizers(service, [...finalizers, loadBalancerCleanupFinalizer]), service);
    const pods = await listAll(ctx.store, types.pods, { namespace });
    const backends = backendsOf(viewService(current), pods);
    const firstTime = canonicalJson(ingressOf(current)) === '[]';
    if (firstTime) {
      await ctx.events.record({ involvedObject: current, type: 'Normal', reason: 'EnsuringLoadBalancer', message: 'Ensuring load balancer', component });
    }
    let ensured: EnsuredLoadBalancer;
    try {
      ensured = await loadBalancers.ensure(current, backends);
    } catch (error) {
      const message = `Error syncing load balancer: ${error instanceof Error ? error.message : String(error)}`;
      await ctx.events.record({ involvedObject: current, type: 'Warning', reason: 'SyncLoadBalancerFailed', message, component });
      if (!(error instanceof LoadBalancerConfigurationError)) throw error;
      const failed = withReadyCondition(current, [{ reason: error.reason, message: error.message }], ctx.now());
      if (!sameCondition(failed, current)) await ctx.admission.update(types.services, failed, current);
      // The load balancer cannot route to the pods: their gates must not wait on it.
      await writeTargetConditions(ctx, serviceTargetHealthType(name), { targets: new Map() }, backends, pods, owner(current));
      return { requeueAfterSeconds: configurationRetrySeconds };
    }
    await writeTargetConditions(ctx, serviceTargetHealthType(name), ensured, backends, pods, owner(current));
    for (const problem of ensured.problems) {
      await ctx.events.record({ involvedObject: current, type: 'Warning', reason: problem.reason, message: problem.message, component });
    }
    let next = withReadyCondition(current, ensured.problems, ctx.now());
    if (canonicalJson(ingressOf(current)) !== canonicalJson(ensured.ingress)) next = withStatusIngress(next, ensured.ingress);
    if (canonicalJson(ingressOf(next)) !== canonicalJson(ingressOf(current)) || !sameCondition(next, current)) {
      await ctx.admission.update(types.services, next, current);
    }
    if (firstTime && ensured.ingress.length > 0) {
      await ctx.events.record({ involvedObject: current, type: 'Normal', reason: 'EnsuredLoadBalancer', message: 'Ensured load balancer', component });
    }
    return ensured.recheckAfterSeconds !== undefined ? { requeueAfterSeconds: ensured.recheckAfterSeconds } : undefined;
  }

  return {
    name: component,
    resyncTypes: [types.services],
    keysFor(change: ObjectChange): ReconcileKey[] {
      if (change.typeId === types.services.id || change.typeId === types.endpoints.id) {
        return [{ typeId: types.services.id, namespace: change.namespace, name: change.name }];
      }
      if (change.typeId === types.pods.id && change.namespace) {
        if (change.oldObject && change.newObject && podFingerprint(change.oldObject) === podFingerprint(change.newObject)) return [];
        return [{ typeId: types.namespaces.id, name: change.namespace }];
      }
      return [];
    },
    async reconcile(key, ctx) {
      if (key.typeId !== types.namespaces.id) return reconcileService(key.namespace ?? 'default', key.name, ctx);
      const services = await listAll(ctx.store, types.services, { namespace: key.name });
      let requeue: number | undefined;
      for (const service of services) {
        if (!isOurLoadBalancer(service) && !(service.metadata.finalizers ?? []).includes(loadBalancerCleanupFinalizer)) continue;
        const result = await reconcileService(key.name, service.metadata.name ?? '', ctx);
        if (result?.requeueAfterSeconds !== undefined) requeue = Math.min(requeue ?? result.requeueAfterSeconds, result.requeueAfterSeconds);
      }
      return requeue !== undefined ? { requeueAfterSeconds: requeue } : undefined;
    },
  };
}
