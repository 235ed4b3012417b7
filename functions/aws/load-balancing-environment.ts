/**
 * The ELBv2 providers as the Lambda hosts build them, from the environment the CDK app sets
 * (`cdk/load-balancing.ts`): `CLUSTER_NAME`, `LB_VPC_ID`, `LB_PUBLIC_SUBNETS` and
 * `LB_PRIVATE_SUBNETS` (comma-separated), `LB_SECURITY_GROUPS`. Without a VPC the providers
 * refuse every Service and Ingress with a clear reason (an Event and a condition), so pods gated
 * on them are released instead of waiting for a load balancer that cannot come.
 */
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { type IngressLoadBalancers, LoadBalancerConfigurationError, type LoadBalancers } from '../domain/services/load-balancers.ts';
import { createAlbIngressLoadBalancers } from './alb-ingress.ts';
import { type AlbNetwork, createAlbLoadBalancers } from './alb-load-balancers.ts';

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

export function albNetworkFromEnvironment(env: NodeJS.ProcessEnv = process.env): AlbNetwork | undefined {
  const clusterName = env.CLUSTER_NAME;
  const vpcId = env.LB_VPC_ID;
  if (!clusterName || !vpcId) return undefined;
  return {
    clusterName,
    vpcId,
    publicSubnets: list(env.LB_PUBLIC_SUBNETS),
    privateSubnets: list(env.LB_PRIVATE_SUBNETS),
    securityGroups: list(env.LB_SECURITY_GROUPS),
  };
}

export interface LoadBalancerProviders {
  readonly loadBalancers: LoadBalancers;
  readonly ingressLoadBalancers: IngressLoadBalancers;
}

function notConfigured(): never {
  throw new LoadBalancerConfigurationError(
    'LoadBalancingNotConfigured',
    'this cluster was deployed without a VPC for load balancers (CLUSTER_NAME and LB_VPC_ID are not set)',
  );
}

export function loadBalancerProvidersFromEnvironment(env: NodeJS.ProcessEnv = process.env, client?: ElasticLoadBalancingV2Client): LoadBalancerProviders {
  const network = albNetworkFromEnvironment(env);
  if (!network) {
    return {
      loadBalancers: { provider: 'alb', ensure: async () => notConfigured(), remove: async () => true },
      ingressLoadBalancers: { provider: 'alb', ensureGroup: async () => notConfigured(), removeGroup: async () => true },
    };
  }
  const elbv2 = client ?? new ElasticLoadBalancingV2Client({});
  return {
    loadBalancers: createAlbLoadBalancers({ ...network, client: elbv2 }),
    ingressLoadBalancers: createAlbIngressLoadBalancers({ ...network, client: elbv2 }),
  };
}
