/**
 * Readiness gates for new pods (docs/adr/094-zero-downtime-targets.md): a pod that a load
 * balancer will route to gets a `target-health.skiff.io/...` gate in `spec.readinessGates`, so it
 * turns Ready — and a rolling update moves on — only once that load balancer has it healthy. The
 * AWS Load Balancer Controller does the same with a mutating webhook and
 * `target-health.elbv2.k8s.aws/...` gates; here it is a step of pod admission, for pods created
 * through the API and by the ReplicaSet controller alike.
 *
 * Which load balancers route to a pod: a `type: LoadBalancer` Service (without a foreign
 * `loadBalancerClass`) selecting it, and the load balancers of an IngressClass served by Skiff
 * whose Ingresses name a Service selecting it.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { listAll } from '../../store/list-all.ts';
import type { ObjectReader } from '../../store/store.ts';
import { classOf, defaultClassOf, isOurClass } from '../ingress/ingress-routes.ts';
import { viewService } from './service-view.ts';
import { ingressTargetHealthType, serviceTargetHealthType } from './target-health.ts';

function serviceNamesOfIngress(ingress: KubeObject): string[] {
  const spec = (ingress.spec ?? {}) as {
    defaultBackend?: { service?: { name?: unknown } };
    rules?: { http?: { paths?: { backend?: { service?: { name?: unknown } } }[] } }[];
  };
  const names = [spec.defaultBackend?.service?.name, ...(spec.rules ?? []).flatMap((r) => (r.http?.paths ?? []).map((p) => p.backend?.service?.name))];
  return names.filter((n): n is string => typeof n === 'string');
}

/** The gates a pod with these labels gets, from the Services, Ingresses and IngressClasses around it. */
export function targetHealthGatesFor(
  namespace: string,
  labels: Readonly<Record<string, string>>,
  services: readonly KubeObject[],
  ingresses: readonly KubeObject[],
  ingressClasses: readonly KubeObject[],
): string[] {
  const gates: string[] = [];
  const selecting = new Set<string>();
  for (const object of services) {
    if ((object.metadata.namespace ?? 'default') !== namespace) continue;
    let view: ReturnType<typeof viewService>;
    try {
      view = viewService(object);
    } catch {
      continue;
    }
    const selector = view.selector;
    if (!selector || !Object.entries(selector).every(([k, v]) => labels[k] === v)) continue;
    selecting.add(view.name);
    if (view.type === 'LoadBalancer' && !view.spec.loadBalancerClass && !object.metadata.deletionTimestamp) gates.push(serviceTargetHealthType(view.name));
  }
  if (selecting.size > 0 && ingresses.length > 0) {
    const ours = new Set(ingressClasses.filter(isOurClass).map((c) => c.metadata.name ?? ''));
    const fallback = defaultClassOf(ingressClasses);
    const classes = new Set<string>();
    for (const ingress of ingresses) {
      if ((ingress.metadata.namespace ?? 'default') !== namespace || ingress.metadata.deletionTimestamp) continue;
      const className = classOf(ingress) ?? fallback;
      if (!className || !ours.has(className)) continue;
      if (serviceNamesOfIngress(ingress).some((name) => selecting.has(name))) classes.add(className);
    }
    for (const className of [...classes].sort()) gates.push(ingressTargetHealthType(className));
  }
  return gates;
}

/** The pod with the gates it needs added to `spec.readinessGates` (existing gates kept). */
export function withGates(pod: KubeObject, gates: readonly string[]): KubeObject {
  if (gates.length === 0) return pod;
  const spec = (pod.spec ?? {}) as { readinessGates?: { conditionType: string }[] };
  const existing = spec.readinessGates ?? [];
  const missing = gates.filter((gate) => !existing.some((g) => g.conditionType === gate));
  if (missing.length === 0) return pod;
  return { ...pod, spec: { ...spec, readinessGates: [...existing, ...missing.map((conditionType) => ({ conditionType }))] } };
}

/** New pods of one namespace with their target-health gates: reads the namespace's Services (and Ingresses, if any Service selects a pod). */
export async function addTargetHealthGates(store: ObjectReader, namespace: string, pods: readonly KubeObject[]): Promise<KubeObject[]> {
  if (pods.length === 0) return [];
  const services = await listAll(store, types.services, { namespace });
  if (services.length === 0) return [...pods];
  const ingresses = await listAll(store, types.ingresses, { namespace });
  const ingressClasses = ingresses.length > 0 ? await listAll(store, types.ingressclasses) : [];
  return pods.map((pod) => withGates(pod, targetHealthGatesFor(namespace, pod.metadata.labels ?? {}, services, ingresses, ingressClasses)));
}
