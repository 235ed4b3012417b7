/**
 * The load balancer ports: what the service load balancer controller asks of a provider for each
 * `type: LoadBalancer` Service, and what the ingress controller asks for the Ingresses of an
 * IngressClass. Providers: `local` (an embedded TCP proxy and HTTP router on the loopback range,
 * `functions/local/`) and `alb` (Application and Network Load Balancers through the ELBv2 API,
 * `functions/aws/`).
 *
 * Both speak in targets: the pods behind a Service (`BackendPod`), registered once their
 * containers are ready, deregistered and drained when they leave. Each provider reports where
 * every pod stands so the controllers can keep the pods' target-health conditions, the readiness
 * gates and termination holds of docs/adr/094-zero-downtime-targets.md.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import type { IngressGroup } from '../ingress/ingress-routes.ts';
import type { BackendPod } from './load-balancer-backends.ts';

/** One entry of `status.loadBalancer.ingress`. */
export interface LoadBalancerIngress {
  readonly ip?: string;
  readonly hostname?: string;
  readonly ipMode?: 'VIP' | 'Proxy';
  readonly ports?: readonly { readonly port: number; readonly protocol: string; readonly error?: string }[];
}

/** Where one pod stands in a provider's target groups (the worst of its ports). */
export type TargetState = 'registering' | 'healthy' | 'unhealthy' | 'draining';

/** Something of the spec the provider cannot serve: an Event and a status condition, not a retry. */
export interface LoadBalancerProblem {
  /** CamelCase, used as the Event's and the condition's reason: `UnsupportedProtocol`, `TooManyListeners`... */
  readonly reason: string;
  readonly message: string;
}

export interface EnsuredLoadBalancer {
  readonly ingress: readonly LoadBalancerIngress[];
  /** Pods (by uid) the load balancer routes to or still drains. A pod not listed is not a target. */
  readonly targets: ReadonlyMap<string, TargetState>;
  readonly problems: readonly LoadBalancerProblem[];
  /** Seconds after which it is worth looking again (health checks pending, targets draining). */
  readonly recheckAfterSeconds?: number;
}

/**
 * An error the provider cannot get past by retrying (a name owned by someone else, a refused
 * permission, an invalid subnet): the controller reports it and waits for the next resync.
 */
export class LoadBalancerConfigurationError extends Error {
  override readonly name = 'LoadBalancerConfigurationError';
  constructor(
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface LoadBalancers {
  /** `local` or `alb`, for messages. */
  readonly provider: string;
  /**
   * Creates or updates the Service's load balancer so that it serves the Service's ports and
   * forwards to its serving backends, deregisters and drains the others; returns where clients
   * reach it and where each pod stands. Idempotent.
   */
  ensure(service: KubeObject, backends: readonly BackendPod[]): Promise<EnsuredLoadBalancer>;
  /** Removes everything the Service's load balancer is made of. True once nothing is left. Idempotent. */
  remove(service: KubeObject): Promise<boolean>;
}

/** What one Ingress of a group gets back. */
export interface EnsuredIngress {
  readonly ingress: readonly LoadBalancerIngress[];
  readonly problems: readonly LoadBalancerProblem[];
}

export interface EnsuredIngressGroup {
  /** By Ingress `namespace/name`. */
  readonly ingresses: ReadonlyMap<string, EnsuredIngress>;
  /** Pods (by uid) any of the group's load balancers routes to or drains. */
  readonly targets: ReadonlyMap<string, TargetState>;
  /** Problems of the group as a whole (no Ingress to pin them on). */
  readonly problems: readonly LoadBalancerProblem[];
  readonly recheckAfterSeconds?: number;
}

export interface IngressLoadBalancers {
  readonly provider: string;
  /** Brings the load balancers of one IngressClass in step with its Ingresses. Idempotent. */
  ensureGroup(group: IngressGroup): Promise<EnsuredIngressGroup>;
  /** Removes every load balancer of the class. True once nothing is left. */
  removeGroup(className: string): Promise<boolean>;
}
