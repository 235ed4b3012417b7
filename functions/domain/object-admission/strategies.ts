/** The strategy of each kind that has one; every other kind is written and deleted as it is. */
import { type ResourceType, types } from '../../../schemas/registry.ts';
import { customResourceDefinitionStrategy } from './custom-resource-definition-strategy.ts';
import { ingressStrategy } from './ingress-strategy.ts';
import { jobStrategy } from './job-strategy.ts';
import type { KindStrategy } from './kind-strategy.ts';
import { namespaceStrategy } from './namespace-strategy.ts';
import { persistentVolumeClaimStrategy, persistentVolumeStrategy } from './persistent-volume-claim-strategy.ts';
import { podDisruptionBudgetStrategy } from './pod-disruption-budget-strategy.ts';
import { podStrategy } from './pod-strategy.ts';
import { serviceStrategy } from './service-strategy.ts';

const strategiesById: ReadonlyMap<string, KindStrategy> = new Map([
  [types.pods.id, podStrategy],
  [types.services.id, serviceStrategy],
  [types.namespaces.id, namespaceStrategy],
  [types.ingresses.id, ingressStrategy],
  [types.jobs.id, jobStrategy],
  [types.persistentvolumeclaims.id, persistentVolumeClaimStrategy],
  [types.poddisruptionbudgets.id, podDisruptionBudgetStrategy],
  [types.customresourcedefinitions.id, customResourceDefinitionStrategy],
  [types.persistentvolumes.id, persistentVolumeStrategy],
]);

const plain: KindStrategy = {};

export function strategyOf(type: ResourceType): KindStrategy {
  return strategiesById.get(type.id) ?? plain;
}
