/**
 * Kubernetes' DefaultIngressClass admission: an Ingress created without `spec.ingressClassName`
 * (and without the legacy `kubernetes.io/ingress.class` annotation) gets the class annotated
 * `ingressclass.kubernetes.io/is-default-class: "true"`, the newest one if there are several.
 * Skiff's own default is the `skiff` class (ensured by the ingress controller).
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { listAll } from '../../store/list-all.ts';
import type { ObjectReader } from '../../store/store.ts';
import { classOf, defaultClassOf } from './ingress-routes.ts';

export async function withDefaultIngressClass(store: ObjectReader, ingress: KubeObject): Promise<KubeObject> {
  if (classOf(ingress)) return ingress;
  const name = defaultClassOf(await listAll(store, types.ingressclasses));
  if (!name) return ingress;
  return { ...ingress, spec: { ...((ingress.spec as Record<string, unknown> | undefined) ?? {}), ingressClassName: name } };
}
