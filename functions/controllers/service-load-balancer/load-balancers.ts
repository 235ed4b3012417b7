/**
 * The load balancer port: what the service load balancer controller asks of a provider for each
 * `type: LoadBalancer` Service. Providers: `local` (an embedded TCP proxy on the loopback range,
 * `functions/local/load-balancer.ts`) and, later, `alb` (an Application Load Balancer per Service
 * through the ELBv2 API).
 */
import type { KubeObject } from '../../../schemas/meta.ts';

/** One entry of `status.loadBalancer.ingress`. */
export interface LoadBalancerIngress {
  readonly ip?: string;
  readonly hostname?: string;
  readonly ipMode?: 'VIP' | 'Proxy';
  readonly ports?: readonly { readonly port: number; readonly protocol: string; readonly error?: string }[];
}

export interface LoadBalancers {
  /**
   * Creates or updates the Service's load balancer so that it serves the Service's ports and
   * forwards to the ready endpoints; returns where clients reach it. Idempotent.
   */
  ensure(service: KubeObject, endpoints: KubeObject | undefined): Promise<readonly LoadBalancerIngress[]>;
  /** Removes the Service's load balancer, if there is one. Idempotent. */
  remove(service: KubeObject): Promise<void>;
}
