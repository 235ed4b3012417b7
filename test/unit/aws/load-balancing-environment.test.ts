import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { albNetworkFromEnvironment, loadBalancerProvidersFromEnvironment } from '../../../functions/aws/load-balancing-environment.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { FakeElbv2 } from '../../support/fake-elbv2.ts';

const service: KubeObject = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop' },
  spec: { type: 'LoadBalancer', ports: [{ port: 80 }] },
};

describe('the load balancer providers from the Lambda environment', () => {
  it('reads the network the CDK app sets', () => {
    assert.deepEqual(
      albNetworkFromEnvironment({
        CLUSTER_NAME: 'prod',
        LB_VPC_ID: 'vpc-1',
        LB_PUBLIC_SUBNETS: 'subnet-a, subnet-b',
        LB_PRIVATE_SUBNETS: '',
        LB_SECURITY_GROUPS: 'sg-1',
      }),
      { clusterName: 'prod', vpcId: 'vpc-1', publicSubnets: ['subnet-a', 'subnet-b'], privateSubnets: [], securityGroups: ['sg-1'] },
    );
    assert.equal(albNetworkFromEnvironment({ CLUSTER_NAME: 'prod' }), undefined);
  });

  it('without a VPC, refuses with a reason the controllers report, and calls no AWS API', async () => {
    const fake = new FakeElbv2();
    const providers = loadBalancerProvidersFromEnvironment({}, fake.client);
    await assert.rejects(providers.loadBalancers.ensure(service, []), (error: Error & { reason?: string }) => error.reason === 'LoadBalancingNotConfigured');
    await assert.rejects(
      providers.ingressLoadBalancers.ensureGroup({ className: 'skiff', ingresses: [], backends: new Map() }),
      (error: Error & { reason?: string }) => error.reason === 'LoadBalancingNotConfigured',
    );
    assert.equal(await providers.loadBalancers.remove(service), true);
    assert.deepEqual(fake.calls(), []);
  });

  it('with a VPC, builds the alb providers on the given client', async () => {
    const fake = new FakeElbv2();
    const providers = loadBalancerProvidersFromEnvironment({ CLUSTER_NAME: 'prod', LB_VPC_ID: 'vpc-1', LB_PUBLIC_SUBNETS: 'subnet-a' }, fake.client);
    assert.equal(providers.loadBalancers.provider, 'alb');
    const result = await providers.loadBalancers.ensure(service, []);
    assert.match(result.ingress[0]?.hostname ?? '', /elb\.amazonaws\.com/);
  });
});
