/**
 * Ingresses: a new Ingress that names no class gets the default IngressClass (Kubernetes'
 * DefaultIngressClass admission plugin; see `../ingress/default-ingress-class.ts`).
 */
import { withDefaultIngressClass } from '../ingress/default-ingress-class.ts';
import type { KindStrategy } from './kind-strategy.ts';

export const ingressStrategy: KindStrategy = {
  async prepareCreateFromStore(store, _namespace, ingresses) {
    const classed = [];
    for (const ingress of ingresses) classed.push(await withDefaultIngressClass(store, ingress));
    return classed;
  },
};
