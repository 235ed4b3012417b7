/**
 * The control loops the controller-manager Lambda (and the local host) runs, in the order their
 * keys are reconciled within a batch. Adding a controller is adding it here.
 */

import type { Controller } from '../controller-runtime/controller.ts';
import { deploymentController } from './deployment/deployment-controller.ts';
import { endpointsController } from './endpoints/endpoints-controller.ts';
import { garbageCollector } from './garbage-collector/garbage-collector.ts';
import { namespaceController } from './namespaces/namespace-controller.ts';
import { type NodeLifecycleOptions, nodeLifecycleController } from './node-lifecycle/node-lifecycle-controller.ts';
import { replicaSetController } from './replicaset/replicaset-controller.ts';
import { serviceAllocationRepairController } from './service-allocation-repair/service-allocation-repair-controller.ts';
import { type LoadBalancers, serviceLoadBalancerController } from './service-load-balancer/service-load-balancer-controller.ts';

export const controllers: readonly Controller[] = [
  deploymentController,
  replicaSetController,
  garbageCollector,
  namespaceController,
  endpointsController,
  nodeLifecycleController(),
  serviceAllocationRepairController(),
];

export interface ControllerOptions extends NodeLifecycleOptions {
  /** A load balancer provider: when given, `type: LoadBalancer` Services get one (local: `createLocalLoadBalancers()`). */
  readonly loadBalancers?: LoadBalancers;
}

/**
 * The list with the node lifecycle controller's timings set (`skiff up --node-grace-seconds N
 * --eviction-seconds N`) and, when a provider is given, the service load balancer controller.
 */
export function controllersWith(options: ControllerOptions): readonly Controller[] {
  const configured = nodeLifecycleController(options);
  const list = controllers.map((controller) => (controller.name === configured.name ? configured : controller));
  return options.loadBalancers ? [...list, serviceLoadBalancerController(options.loadBalancers)] : list;
}
