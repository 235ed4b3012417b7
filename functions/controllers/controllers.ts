/**
 * The control loops the controller-manager Lambda (and the local host) runs, in the order their
 * keys are reconciled within a batch. Adding a controller is adding it here.
 */
import { deploymentController } from './deployment/deployment-controller.ts';
import { endpointsController } from './endpoints/endpoints-controller.ts';
import type { Controller } from './framework/controller.ts';
import { nodeLifecycleController, type NodeLifecycleOptions } from './node-lifecycle/node-lifecycle-controller.ts';
import { garbageCollector } from './garbage-collector/garbage-collector.ts';
import { namespaceController } from './namespaces/namespace-controller.ts';
import { replicaSetController } from './replicaset/replicaset-controller.ts';

export const controllers: readonly Controller[] = [
  deploymentController,
  replicaSetController,
  garbageCollector,
  namespaceController,
  endpointsController,
  nodeLifecycleController(),
];

/** The list with the node lifecycle controller's timings set (`skiff up --node-grace-seconds N --eviction-seconds N`). */
export function controllersWith(options: NodeLifecycleOptions): readonly Controller[] {
  const configured = nodeLifecycleController(options);
  return controllers.map((controller) => (controller.name === configured.name ? configured : controller));
}
