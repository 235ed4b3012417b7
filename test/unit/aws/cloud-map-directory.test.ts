import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DeregisterInstanceCommand,
  ListInstancesCommand,
  ListServicesCommand,
  RegisterInstanceCommand,
  ResourceInUse,
  ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';
import { mockClient } from 'aws-sdk-client-mock';
import { cloudMapDirectory } from '../../../functions/aws/cloud-map-directory.ts';

const namespaceId = 'ns-abcdef0123456789';
const filters = [{ Name: 'NAMESPACE_ID' as const, Values: [namespaceId], Condition: 'EQ' as const }];

describe('Service names in AWS Cloud Map', () => {
  const cloudMap = mockClient(ServiceDiscoveryClient);
  afterEach(() => cloudMap.reset());
  /** Every call, in order, as command name and input. */
  const calls = () => cloudMap.calls().map((call) => [call.args[0].constructor.name, call.args[0].input] as const);
  const directory = () => cloudMapDirectory({ client: new ServiceDiscoveryClient({ region: 'eu-west-1' }), namespaceId });

  it('creates the service of a new Kubernetes Service and registers one instance per ready pod IP', async () => {
    cloudMap.on(ListServicesCommand).resolves({ Services: [{ Id: 'srv-other', Name: 'other.default' }] });
    cloudMap.on(CreateServiceCommand).resolves({ Service: { Id: 'srv-backend' } });
    cloudMap.on(ListInstancesCommand).resolves({ Instances: [] });
    cloudMap.on(RegisterInstanceCommand).resolves({ OperationId: 'op' });
    await directory().publish('default', 'backend', ['10.0.1.7', '10.0.2.9']);
    assert.deepEqual(calls(), [
      ['ListServicesCommand', { Filters: filters }],
      [
        'CreateServiceCommand',
        {
          Name: 'backend.default',
          NamespaceId: namespaceId,
          CreatorRequestId: `skiff-${namespaceId}-backend.default`,
          Description: 'Kubernetes Service default/backend',
          DnsConfig: { RoutingPolicy: 'MULTIVALUE', DnsRecords: [{ Type: 'A', TTL: 5 }] },
          Tags: [{ Key: 'skiff.io/cluster', Value: namespaceId }],
        },
      ],
      ['ListInstancesCommand', { ServiceId: 'srv-backend' }],
      ['RegisterInstanceCommand', { ServiceId: 'srv-backend', InstanceId: '10.0.1.7', Attributes: { AWS_INSTANCE_IPV4: '10.0.1.7' } }],
      ['RegisterInstanceCommand', { ServiceId: 'srv-backend', InstanceId: '10.0.2.9', Attributes: { AWS_INSTANCE_IPV4: '10.0.2.9' } }],
    ]);
  });

  it('keeps an existing service in step: finds it on a later page, registers the new IP, deregisters the gone one', async () => {
    cloudMap
      .on(ListServicesCommand, { Filters: filters })
      .resolvesOnce({ Services: [{ Id: 'srv-a', Name: 'a.default' }], NextToken: 'page2' })
      .on(ListServicesCommand, { Filters: filters, NextToken: 'page2' })
      .resolves({ Services: [{ Id: 'srv-backend', Name: 'backend.default' }] });
    cloudMap.on(ListInstancesCommand).resolves({ Instances: [{ Id: '10.0.1.7' }, { Id: '10.0.3.3' }] });
    cloudMap.on(RegisterInstanceCommand).resolves({ OperationId: 'op' });
    cloudMap.on(DeregisterInstanceCommand).resolves({ OperationId: 'op' });
    await directory().publish('default', 'backend', ['10.0.1.7', '10.0.2.9']);
    assert.deepEqual(calls(), [
      ['ListServicesCommand', { Filters: filters }],
      ['ListServicesCommand', { Filters: filters, NextToken: 'page2' }],
      ['ListInstancesCommand', { ServiceId: 'srv-backend' }],
      ['RegisterInstanceCommand', { ServiceId: 'srv-backend', InstanceId: '10.0.2.9', Attributes: { AWS_INSTANCE_IPV4: '10.0.2.9' } }],
      ['DeregisterInstanceCommand', { ServiceId: 'srv-backend', InstanceId: '10.0.3.3' }],
    ]);
  });

  it('makes no change when the instances are already the ready IPs', async () => {
    cloudMap.on(ListServicesCommand).resolves({ Services: [{ Id: 'srv-backend', Name: 'backend.default' }] });
    cloudMap.on(ListInstancesCommand).resolves({ Instances: [{ Id: '10.0.1.7' }] });
    await directory().publish('default', 'backend', ['10.0.1.7']);
    assert.deepEqual(
      calls().map(([name]) => name),
      ['ListServicesCommand', 'ListInstancesCommand'],
    );
  });

  it('withdraws a Service: deregisters its instances first (not done yet), then deletes the service', async () => {
    cloudMap.on(ListServicesCommand).resolves({ Services: [{ Id: 'srv-backend', Name: 'backend.default' }] });
    cloudMap
      .on(ListInstancesCommand)
      .resolvesOnce({ Instances: [{ Id: '10.0.1.7' }] })
      .resolves({ Instances: [] });
    cloudMap.on(DeregisterInstanceCommand).resolves({ OperationId: 'op' });
    cloudMap.on(DeleteServiceCommand).resolves({});
    assert.equal(await directory().withdraw('default', 'backend'), false);
    assert.equal(await directory().withdraw('default', 'backend'), true);
    assert.deepEqual(calls(), [
      ['ListServicesCommand', { Filters: filters }],
      ['ListInstancesCommand', { ServiceId: 'srv-backend' }],
      ['DeregisterInstanceCommand', { ServiceId: 'srv-backend', InstanceId: '10.0.1.7' }],
      ['ListServicesCommand', { Filters: filters }],
      ['ListInstancesCommand', { ServiceId: 'srv-backend' }],
      ['DeleteServiceCommand', { Id: 'srv-backend' }],
    ]);
  });

  it('treats a service still in use as not withdrawn yet, and one never made as withdrawn', async () => {
    cloudMap
      .on(ListServicesCommand)
      .resolvesOnce({ Services: [{ Id: 'srv-backend', Name: 'backend.default' }] })
      .resolves({ Services: [] });
    cloudMap.on(ListInstancesCommand).resolves({ Instances: [] });
    cloudMap.on(DeleteServiceCommand).rejects(new ResourceInUse({ message: 'instances still registered', $metadata: {} }));
    assert.equal(await directory().withdraw('default', 'backend'), false);
    assert.equal(await directory().withdraw('default', 'backend'), true);
    assert.deepEqual(
      calls().map(([name]) => name),
      ['ListServicesCommand', 'ListInstancesCommand', 'DeleteServiceCommand', 'ListServicesCommand'],
    );
  });
});
