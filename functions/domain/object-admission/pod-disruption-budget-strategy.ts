/** PodDisruptionBudget on create: the status starts empty whatever the client sent, as kube-apiserver's strategy clears it. */
import { initialBudgetStatus } from '../disruption/disruption-budget.ts';
import type { KindStrategy } from './kind-strategy.ts';

export const podDisruptionBudgetStrategy: KindStrategy = {
  prepareForCreate(pdb) {
    return { ...pdb, status: { ...initialBudgetStatus } };
  },
};
