/**
 * The ingress controller: the Ingresses of every IngressClass whose `spec.controller` is
 * Skiff's (`skiff.io/ingress-controller`; the class `skiff` is created as the cluster's default
 * when there is none) become one group, handed to the provider — one shared ALB per class on
 * AWS (more when the rules pass one ALB's limit), one router per Ingress locally. Each Ingress
 * gets its address in `status.loadBalancer.ingress`; what cannot be served (a missing Service or
 * port, a TLS Secret that is not `kubernetes.io/tls`) is a Warning Event and a
 * `skiff.io/LoadBalancerReady=False` condition on that Ingress, and the rest of the group is
 * served regardless. Backend pods carry the class's `target-health.skiff.io/ingress.<class>`
 * condition (docs/adr/094-zero-downtime-targets.md, docs/adr/095-ingress-as-alb-rules.md).
 *
 * Keys: an IngressClass change names the class; an Ingress change names its class (old and new);
 * a Service, pod or Secret change names its namespace, whose Ingresses name their classes.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import type { Controller, ControllerContext, ObjectChange, ReconcileKey, ReconcileResult } from '../../controller-runtime/controller.ts';
import { canonicalJson } from '../../controller-runtime/stable-hash.ts';
import { AlreadyExistsError } from '../../core/errors.ts';
import {
  classOf,
  defaultClassAnnotation,
  defaultClassOf,
  defaultIngressClassName,
  type IngressGroup,
  type IngressModel,
  isOurClass,
  planIngressGroup,
  skiffIngressController,
} from '../../domain/ingress/ingress-routes.ts';
import type { BackendPod } from '../../domain/services/load-balancer-backends.ts';
import {
  type EnsuredIngressGroup,
  type IngressLoadBalancers,
  LoadBalancerConfigurationError,
  type LoadBalancerProblem,
} from '../../domain/services/load-balancers.ts';
import { ingressTargetHealthType, isTargetHealthType } from '../../domain/services/target-health.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';
import { withReadyCondition } from '../service-load-balancer/service-load-balancer-controller.ts';
import { planTargetConditions, writePodCondition } from '../service-load-balancer/target-conditions.ts';

const component = 'ingress-controller';
/** The key of "whatever class is the default": Ingresses without a class. */
const defaultClassKey = '';

export function defaultIngressClass(): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: defaultIngressClassName, annotations: { [defaultClassAnnotation]: 'true' } },
    spec: { controller: skiffIngressController },
  };
}

function podFingerprint(pod: KubeObject | undefined): string {
  if (!pod) return '';
  const conditions = ((pod.status as { conditions?: { type?: string; status?: string }[] } | undefined)?.conditions ?? [])
    .filter((c) => typeof c.type === 'string' && !isTargetHealthType(c.type))
    .map((c) => `${c.type}=${c.status}`)
    .sort();
  const status = (pod.status ?? {}) as { podIP?: unknown; phase?: unknown };
  return canonicalJson([pod.metadata.labels ?? {}, pod.metadata.deletionTimestamp ?? '', status.podIP ?? '', status.phase ?? '', conditions]);
}

const tlsSecretType = 'kubernetes.io/tls';

/** Fills the TLS entries' PEM from their Secrets; problems for the ones that cannot serve. */
async function withTlsMaterial(ctx: ControllerContext, model: IngressModel): Promise<IngressModel> {
  if (model.tls.length === 0) return model;
  const problems: LoadBalancerProblem[] = [...model.problems];
  const namespace = model.object.metadata.namespace ?? 'default';
  const tls = [];
  for (const entry of model.tls) {
    if (!entry.secretName) {
      tls.push(entry);
      continue;
    }
    const secret = await getIfExists(ctx.store, types.secrets, namespace, entry.secretName);
    const data = (secret?.data ?? {}) as Record<string, unknown>;
    if (!secret) {
      problems.push({ reason: 'TLSSecretNotFound', message: `secret "${entry.secretName}" not found` });
    } else if (secret.type !== tlsSecretType || typeof data['tls.crt'] !== 'string' || typeof data['tls.key'] !== 'string') {
      problems.push({ reason: 'InvalidTLSSecret', message: `secret "${entry.secretName}" is not of type ${tlsSecretType} with tls.crt and tls.key` });
    } else {
      tls.push({
        ...entry,
        certificatePem: Buffer.from(data['tls.crt'], 'base64').toString('utf8'),
        privateKeyPem: Buffer.from(data['tls.key'], 'base64').toString('utf8'),
      });
      continue;
    }
    tls.push(entry);
  }
  return { ...model, tls, problems };
}

function statusIngress(object: KubeObject): unknown {
  return (object.status as { loadBalancer?: { ingress?: unknown } } | undefined)?.loadBalancer?.ingress ?? [];
}

export function ingressController(provider: IngressLoadBalancers): Controller {
  async function classKeysOfNamespace(ctx: ControllerContext, namespace: string): Promise<string[]> {
    const ingresses = await listAll(ctx.store, types.ingresses, { namespace });
    return [...new Set(ingresses.map((i) => classOf(i) ?? defaultClassKey))];
  }

  async function reconcileClass(requested: string, ctx: ControllerContext): Promise<ReconcileResult | undefined> {
    let classes = await listAll(ctx.store, types.ingressclasses);
    if (!classes.some(isOurClass)) {
      // A cluster starts with Skiff's class as its default, as an ingress controller's install would add it.
      try {
        await ctx.admission.create(types.ingressclasses, defaultIngressClass());
      } catch (error) {
        if (!(error instanceof AlreadyExistsError)) throw error;
      }
      classes = await listAll(ctx.store, types.ingressclasses);
    }
    const fallback = defaultClassOf(classes);
    const className = requested === defaultClassKey ? fallback : requested;
    if (!className) return undefined;
    const ingressClass = classes.find((c) => c.metadata.name === className);
    if (!ingressClass || !isOurClass(ingressClass)) {
      // Not (or no longer) ours: whatever Skiff made for it goes.
      return (await provider.removeGroup(className)) ? undefined : { requeueAfterSeconds: 10 };
    }
    const all = await listAll(ctx.store, types.ingresses);
    const ingresses = all.filter((i) => !i.metadata.deletionTimestamp && (classOf(i) ?? fallback) === className);
    if (ingresses.length === 0) return (await provider.removeGroup(className)) ? undefined : { requeueAfterSeconds: 10 };
    const namespaces = [...new Set(ingresses.map((i) => i.metadata.namespace ?? 'default'))].sort();
    const services: KubeObject[] = [];
    const pods: KubeObject[] = [];
    for (const namespace of namespaces) {
      services.push(...(await listAll(ctx.store, types.services, { namespace })));
      pods.push(...(await listAll(ctx.store, types.pods, { namespace })));
    }
    const planned = planIngressGroup({ className, ingresses, services, pods });
    const models: IngressModel[] = [];
    for (const model of planned.ingresses) models.push(await withTlsMaterial(ctx, model));
    const group: IngressGroup = { ...planned, ingresses: models };

    const type = ingressTargetHealthType(className);
    const backends = new Map<string, BackendPod>();
    for (const backend of group.backends.values()) for (const pod of backend.pods) backends.set(pod.uid, pod);

    let ensured: EnsuredIngressGroup;
    try {
      ensured = await provider.ensureGroup(group);
    } catch (error) {
      const message = `Error syncing load balancer: ${error instanceof Error ? error.message : String(error)}`;
      for (const model of models)
        await ctx.events.record({ involvedObject: model.object, type: 'Warning', reason: 'SyncLoadBalancerFailed', message, component });
      if (!(error instanceof LoadBalancerConfigurationError)) throw error;
      for (const model of models) await writeIngressStatus(ctx, model, undefined, [{ reason: error.reason, message: error.message }]);
      for (const write of planTargetConditions(type, [...backends.values()], new Map(), pods, `ingress class ${className}`))
        await writePodCondition(ctx, write, ctx.now());
      return { requeueAfterSeconds: 60 };
    }
    for (const write of planTargetConditions(type, [...backends.values()], ensured.targets, pods, `ingress class ${className}`)) {
      await writePodCondition(ctx, write, ctx.now());
    }
    for (const model of models) {
      const result = ensured.ingresses.get(model.key);
      const problems = [...model.problems, ...ensured.problems, ...(result?.problems ?? [])];
      for (const problem of problems)
        await ctx.events.record({ involvedObject: model.object, type: 'Warning', reason: problem.reason, message: problem.message, component });
      await writeIngressStatus(ctx, model, result?.ingress, problems);
    }
    return ensured.recheckAfterSeconds !== undefined ? { requeueAfterSeconds: ensured.recheckAfterSeconds } : undefined;
  }

  async function writeIngressStatus(
    ctx: ControllerContext,
    model: IngressModel,
    ingress: readonly unknown[] | undefined,
    problems: readonly LoadBalancerProblem[],
  ): Promise<void> {
    const current = model.object;
    const status = (current.status as Record<string, unknown> | undefined) ?? {};
    let next: KubeObject = current;
    if (ingress !== undefined && canonicalJson(statusIngress(current)) !== canonicalJson(ingress)) {
      next = { ...next, status: { ...status, loadBalancer: ingress.length > 0 ? { ingress } : {} } };
    }
    next = withReadyCondition(next, problems, ctx.now());
    const conditionOf = (o: KubeObject) =>
      canonicalJson(
        ((o.status as { conditions?: { type?: string; lastTransitionTime?: unknown }[] } | undefined)?.conditions ?? []).map(
          ({ lastTransitionTime: _t, ...c }) => c,
        ),
      );
    if (canonicalJson(statusIngress(next)) === canonicalJson(statusIngress(current)) && conditionOf(next) === conditionOf(current)) return;
    const firstAddress = canonicalJson(statusIngress(current)) === '[]' && ingress !== undefined && ingress.length > 0;
    await ctx.admission.update(types.ingresses, next, current);
    if (firstAddress) await ctx.events.record({ involvedObject: current, type: 'Normal', reason: 'Sync', message: 'Scheduled for sync', component });
  }

  return {
    name: component,
    resyncTypes: [types.ingressclasses, types.ingresses, types.namespaces],
    keysFor(change: ObjectChange): ReconcileKey[] {
      const classKey = (name: string): ReconcileKey => ({ typeId: types.ingressclasses.id, name });
      switch (change.typeId) {
        case types.ingressclasses.id:
          return [classKey(change.name)];
        case types.ingresses.id:
          return [
            ...new Set([change.oldObject, change.newObject].filter((o): o is KubeObject => o !== undefined).map((o) => classOf(o) ?? defaultClassKey)),
          ].map(classKey);
        case types.pods.id:
          if (change.oldObject && change.newObject && podFingerprint(change.oldObject) === podFingerprint(change.newObject)) return [];
          return change.namespace ? [{ typeId: types.namespaces.id, name: change.namespace }] : [];
        case types.services.id:
        case types.secrets.id:
          return change.namespace ? [{ typeId: types.namespaces.id, name: change.namespace }] : [];
        case types.namespaces.id:
          // The resync's pass over namespaces makes sure the default class exists on a new cluster.
          return change.name === 'default' ? [classKey(defaultClassKey)] : [];
        default:
          return [];
      }
    },
    async reconcile(key, ctx) {
      if (key.typeId === types.ingressclasses.id) return reconcileClass(key.name, ctx);
      let requeue: number | undefined;
      for (const className of await classKeysOfNamespace(ctx, key.name)) {
        const result = await reconcileClass(className, ctx);
        if (result?.requeueAfterSeconds !== undefined) requeue = Math.min(requeue ?? result.requeueAfterSeconds, result.requeueAfterSeconds);
      }
      return requeue !== undefined ? { requeueAfterSeconds: requeue } : undefined;
    },
  };
}
