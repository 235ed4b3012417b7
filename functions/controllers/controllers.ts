/**
 * The control loops the controller-manager Lambda (and the local host) runs, in the order their
 * keys are reconciled within a batch. Adding a controller is adding it here.
 */

import type { Controller } from '../controller-runtime/controller.ts';
import type { NodeStatsSource } from '../domain/metrics/node-stats.ts';
import type { IngressLoadBalancers } from '../domain/services/load-balancers.ts';
import { clusterRoleAggregationController } from './clusterrole-aggregation/clusterrole-aggregation-controller.ts';
import { cronJobController } from './cronjob/cronjob-controller.ts';
import { customResourceDefinitionController } from './custom-resource-definition/custom-resource-definition-controller.ts';
import { daemonSetController } from './daemonset/daemonset-controller.ts';
import { deploymentController } from './deployment/deployment-controller.ts';
import { disruptionController } from './disruption/disruption-controller.ts';
import { endpointsController } from './endpoints/endpoints-controller.ts';
import { garbageCollector } from './garbage-collector/garbage-collector.ts';
import { horizontalPodAutoscalerController } from './horizontal-pod-autoscaler/horizontal-pod-autoscaler-controller.ts';
import { ingressController } from './ingress/ingress-controller.ts';
import { jobController } from './job/job-controller.ts';
import { type KubernetesServiceOptions, kubernetesServiceController } from './kubernetes-service/kubernetes-service-controller.ts';
import { namespaceController } from './namespaces/namespace-controller.ts';
import { systemNamespacesController } from './namespaces/system-namespaces-controller.ts';
import { type NodeLifecycleOptions, nodeLifecycleController } from './node-lifecycle/node-lifecycle-controller.ts';
import { type LocalVolumes, persistentVolumeController } from './persistent-volume/persistent-volume-controller.ts';
import { replicaSetController, replicationControllerManager } from './replicaset/replicaset-controller.ts';
import { resourceQuotaController } from './resource-quota/resource-quota-controller.ts';
import { rootCaPublisher } from './root-ca-publisher/root-ca-publisher.ts';
import { serviceAllocationRepairController } from './service-allocation-repair/service-allocation-repair-controller.ts';
import { type ServiceDirectory, serviceDiscoveryController } from './service-discovery/service-discovery-controller.ts';
import { type LoadBalancers, serviceLoadBalancerController } from './service-load-balancer/service-load-balancer-controller.ts';
import { serviceAccountController } from './serviceaccounts/service-account-controller.ts';
import { statefulSetController } from './statefulset/statefulset-controller.ts';
import { pvcProtectionController, pvProtectionController } from './volume-protection/volume-protection-controllers.ts';

export const controllers: readonly Controller[] = [
  deploymentController,
  replicaSetController,
  replicationControllerManager,
  daemonSetController,
  jobController(),
  cronJobController,
  statefulSetController,
  persistentVolumeController(),
  pvcProtectionController,
  pvProtectionController,
  resourceQuotaController,
  disruptionController,
  garbageCollector,
  namespaceController,
  systemNamespacesController,
  endpointsController,
  nodeLifecycleController(),
  serviceAllocationRepairController(),
  clusterRoleAggregationController,
  serviceAccountController,
  kubernetesServiceController(),
  customResourceDefinitionController,
];

export interface ControllerOptions extends NodeLifecycleOptions {
  /** A load balancer provider: when given, `type: LoadBalancer` Services get one (local: `createLocalLoadBalancers()`, AWS: `createAlbLoadBalancers()`). */
  readonly loadBalancers?: LoadBalancers;
  /** An Ingress provider: when given, Ingresses of Skiff's IngressClasses are served (local: `createLocalIngressRouters()`, AWS: `createAlbIngressLoadBalancers()`). */
  readonly ingressLoadBalancers?: IngressLoadBalancers;
  /** The CA of the API's serving certificate: when given, published as `kube-root-ca.crt` in every namespace. */
  readonly rootCaPem?: string;
  /** A directory of Service names outside the cluster (AWS Cloud Map): when given, kept in step with Services (docs/adr/146). */
  readonly serviceDirectory?: ServiceDirectory;
  /** The service range and where the API server listens, for the `kubernetes` Service and its endpoints. */
  readonly kubernetesService?: KubernetesServiceOptions;
  /** Where local persistent volumes live: when given, the default StorageClass's claims get a directory each. */
  readonly localVolumes?: LocalVolumes;
  /** Where the nodes' usage figures come from: when given, HorizontalPodAutoscalers act on them. */
  readonly nodeStats?: NodeStatsSource;
  /** Seconds between syncs of each HorizontalPodAutoscaler. @default 15 */
  readonly autoscalerSyncSeconds?: number;
}

/**
 * The list with the node lifecycle controller's timing set (`skiff up --node-grace-seconds N`)
 * and, when providers are given, the service load balancer and ingress controllers.
 */
export function controllersWith(options: ControllerOptions): readonly Controller[] {
  const configured = [
    nodeLifecycleController(options),
    kubernetesServiceController(options.kubernetesService),
    persistentVolumeController(options.localVolumes),
  ];
  const list = controllers.map((controller) => configured.find((c) => c.name === controller.name) ?? controller);
  return [
    ...list,
    ...(options.loadBalancers ? [serviceLoadBalancerController(options.loadBalancers)] : []),
    ...(options.ingressLoadBalancers ? [ingressController(options.ingressLoadBalancers)] : []),
    ...(options.rootCaPem ? [rootCaPublisher(options.rootCaPem)] : []),
    ...(options.nodeStats
      ? [
          horizontalPodAutoscalerController({
            nodeStats: options.nodeStats,
            ...(options.autoscalerSyncSeconds !== undefined ? { syncSeconds: options.autoscalerSyncSeconds } : {}),
          }),
        ]
      : []),
    ...(options.serviceDirectory ? [serviceDiscoveryController(options.serviceDirectory)] : []),
  ];
}
