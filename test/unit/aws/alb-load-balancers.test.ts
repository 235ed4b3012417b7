/**
 * The `alb` provider for `type: LoadBalancer` Services against ELBv2 as aws-sdk-client-mock
 * answers it (`test/support/fake-elbv2.ts`): the exact calls, in order, for a Service's creation,
 * scaling, deletion and type change, an NLB by annotation, a crash between two calls, throttling,
 * and resources already gone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  DeregisterTargetsCommand,
  ListenerNotFoundException,
  RegisterTargetsCommand,
  TargetGroupNotFoundException,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { createAlbLoadBalancers, planServiceListeners } from '../../../functions/aws/alb-load-balancers.ts';
import { elbv2 } from '../../../functions/aws/elbv2-client.ts';
import { clusterPrefix, loadBalancerName, ownerPrefix, targetGroupName } from '../../../functions/aws/elbv2-names.ts';
import { ensureTargetGroup, healthCheckFor, serviceHealthCheckAnnotations } from '../../../functions/aws/target-groups.ts';
import type { BackendPod } from '../../../functions/domain/services/load-balancer-backends.ts';
import type { LoadBalancers } from '../../../functions/domain/services/load-balancers.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { FakeElbv2, testNetwork as network } from '../../support/fake-elbv2.ts';

export function service(name: string, ports: unknown[], annotations: Record<string, string> = {}, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop', uid: `uid-${name}`, annotations },
    spec: { type: 'LoadBalancer', selector: { app: name }, ports, ...extra },
  };
}

export function backend(name: string, ip: string, state: BackendPod['state'] = 'serving', port = 8080, extra: Partial<BackendPod> = {}): BackendPod {
  return {
    namespace: 'shop',
    name,
    uid: `uid-${name}`,
    ip,
    state,
    creationTimestamp: '2026-01-01T00:00:00Z',
    ports: new Map([['', port]]),
    probes: new Map(),
    readinessGates: [],
    targetHealth: [],
    ...extra,
  };
}

function provider(fake: FakeElbv2, sleeps: number[] = []): LoadBalancers {
  return createAlbLoadBalancers({ ...network, client: fake.client, retry: { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 } });
}

const web = () => service('web', [{ port: 80, targetPort: 8080, protocol: 'TCP' }]);
const owner = { kind: 'service', namespace: 'shop', name: 'web' } as const;

describe('the alb provider for LoadBalancer Services', () => {
  it('creates an ALB, a target group per port and a listener, registers the serving pods and reports the DNS name', async () => {
    const fake = new FakeElbv2();
    const result = await provider(fake).ensure(web(), [backend('web-1', '10.0.1.5'), backend('web-2', '10.0.1.6'), backend('web-3', '10.0.1.7', 'notReady')]);

    assert.deepEqual(fake.calls(), [
      'DescribeLoadBalancers', // by name: none yet
      'DescribeLoadBalancers', // the sweep for leftovers of this Service
      'DescribeTargetGroups',
      'CreateLoadBalancer',
      'DescribeListeners',
      'DescribeTargetGroups', // attached to the new load balancer
      'DescribeTargetGroups', // by name: a crash may have left one
      'CreateTargetGroup',
      'CreateListener',
      'DescribeTargetHealth',
      'RegisterTargets',
    ]);
    const name = loadBalancerName('prod', owner, 'application', 'internet-facing');
    assert.match(name, new RegExp(`^${clusterPrefix('prod')}-[a-z0-9]{8}-ai0$`));
    assert.ok(name.length <= 32);
    const [created] = fake.inputs(CreateLoadBalancerCommand);
    assert.deepEqual(created, {
      Name: name,
      Type: 'application',
      Scheme: 'internet-facing',
      IpAddressType: 'ipv4',
      Subnets: ['subnet-pub-a', 'subnet-pub-b'],
      SecurityGroups: ['sg-lb'],
      Tags: [
        { Key: 'skiff.io/cluster', Value: 'prod' },
        { Key: 'skiff.io/owner', Value: 'service/shop/web' },
        { Key: 'skiff.io/resource', Value: 'LoadBalancer' },
      ],
    });
    const [group] = fake.inputs(CreateTargetGroupCommand);
    assert.deepEqual(group, {
      Name: targetGroupName('prod', owner, '80/HTTP'),
      Protocol: 'HTTP',
      Port: 8080,
      VpcId: 'vpc-0abc',
      TargetType: 'ip',
      HealthCheckEnabled: true,
      HealthCheckProtocol: 'HTTP',
      HealthCheckPort: 'traffic-port',
      HealthCheckPath: '/',
      HealthCheckIntervalSeconds: 15,
      HealthCheckTimeoutSeconds: 5,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2,
      Matcher: { HttpCode: '200' },
      Tags: [
        { Key: 'skiff.io/cluster', Value: 'prod' },
        { Key: 'skiff.io/owner', Value: 'service/shop/web' },
        { Key: 'skiff.io/resource', Value: '80/HTTP' },
      ],
    });
    const [listener] = fake.inputs<{ Port: number; Protocol: string; DefaultActions: unknown[] }>(CreateListenerCommand);
    assert.equal(listener?.Port, 80);
    assert.equal(listener?.Protocol, 'HTTP');
    assert.deepEqual(listener?.DefaultActions, [{ Type: 'forward', TargetGroupArn: fake.groupNamed(group?.Name as string)?.group.TargetGroupArn }]);
    assert.deepEqual(fake.inputs(RegisterTargetsCommand)[0], {
      TargetGroupArn: fake.groupNamed(group?.Name as string)?.group.TargetGroupArn,
      Targets: [
        { Id: '10.0.1.5', Port: 8080 },
        { Id: '10.0.1.6', Port: 8080 },
      ],
    });
    assert.match(result.ingress[0]?.hostname ?? '', /\.elb\.amazonaws\.com$/);
    assert.deepEqual(
      [...result.targets],
      [
        ['uid-web-1', 'registering'],
        ['uid-web-2', 'registering'],
      ],
    );
    assert.equal(result.recheckAfterSeconds, 15);
    assert.deepEqual(result.problems, []);
  });

  it('copies the readiness probe into the health check', async () => {
    const fake = new FakeElbv2();
    const probe = {
      kind: 'http' as const,
      path: '/healthz',
      port: 9090,
      scheme: 'HTTP' as const,
      periodSeconds: 3,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    };
    await provider(fake).ensure(web(), [backend('web-1', '10.0.1.5', 'serving', 8080, { probes: new Map([['', probe]]) })]);
    const [group] = fake.inputs<Record<string, unknown>>(CreateTargetGroupCommand);
    assert.deepEqual(
      [
        group?.HealthCheckPath,
        group?.HealthCheckPort,
        group?.HealthCheckIntervalSeconds,
        group?.HealthCheckTimeoutSeconds,
        group?.HealthyThresholdCount,
        group?.UnhealthyThresholdCount,
        group?.Matcher,
      ],
      ['/healthz', '9090', 5, 2, 2, 3, { HttpCode: '200-399' }],
    );
  });

  it('touches nothing but target health when nothing changed, and reports healthy targets as healthy', async () => {
    const fake = new FakeElbv2();
    const lb = provider(fake);
    const pods = [backend('web-1', '10.0.1.5')];
    await lb.ensure(web(), pods);
    const groupArn = fake.groupNamed(targetGroupName('prod', owner, '80/HTTP'))?.group.TargetGroupArn as string;
    fake.setHealth(groupArn, 'healthy');
    fake.reset();
    const again = await lb.ensure(web(), pods);
    assert.deepEqual(fake.calls(), ['DescribeLoadBalancers', 'DescribeTags', 'DescribeListeners', 'DescribeTargetGroups', 'DescribeTargetHealth']);
    assert.deepEqual([...again.targets], [['uid-web-1', 'healthy']]);
    assert.equal(again.recheckAfterSeconds, undefined);
  });

  it('scales: registers only the new pods, then deregisters only the ones leaving, and reports those draining', async () => {
    const fake = new FakeElbv2();
    const lb = provider(fake);
    await lb.ensure(web(), [backend('web-1', '10.0.1.5'), backend('web-2', '10.0.1.6')]);
    const groupArn = fake.groupNamed(targetGroupName('prod', owner, '80/HTTP'))?.group.TargetGroupArn as string;
    fake.setHealth(groupArn, 'healthy');
    fake.reset();
    const up = await lb.ensure(web(), [backend('web-1', '10.0.1.5'), backend('web-2', '10.0.1.6'), backend('web-3', '10.0.1.7'), backend('web-4', '10.0.1.8')]);
    assert.deepEqual(fake.inputs(RegisterTargetsCommand), [
      {
        TargetGroupArn: groupArn,
        Targets: [
          { Id: '10.0.1.7', Port: 8080 },
          { Id: '10.0.1.8', Port: 8080 },
        ],
      },
    ]);
    assert.deepEqual(fake.inputs(DeregisterTargetsCommand), []);
    assert.deepEqual([...up.targets].sort(), [
      ['uid-web-1', 'healthy'],
      ['uid-web-2', 'healthy'],
      ['uid-web-3', 'registering'],
      ['uid-web-4', 'registering'],
    ]);

    fake.setHealth(groupArn, 'healthy');
    fake.reset();
    const down = await lb.ensure(web(), [
      backend('web-1', '10.0.1.5'),
      backend('web-2', '10.0.1.6', 'terminating'),
      backend('web-3', '10.0.1.7', 'terminating'),
      backend('web-4', '10.0.1.8'),
    ]);
    assert.deepEqual(fake.calls(), [
      'DescribeLoadBalancers',
      'DescribeTags',
      'DescribeListeners',
      'DescribeTargetGroups',
      'DescribeTargetHealth',
      'DeregisterTargets',
    ]);
    assert.deepEqual(fake.inputs(DeregisterTargetsCommand), [
      {
        TargetGroupArn: groupArn,
        Targets: [
          { Id: '10.0.1.6', Port: 8080 },
          { Id: '10.0.1.7', Port: 8080 },
        ],
      },
    ]);
    assert.deepEqual([...down.targets].sort(), [
      ['uid-web-1', 'healthy'],
      ['uid-web-2', 'draining'],
      ['uid-web-3', 'draining'],
      ['uid-web-4', 'healthy'],
    ]);

    // While the deregistration delay runs the targets stay draining; after it they are gone.
    fake.reset();
    const still = await lb.ensure(web(), [backend('web-1', '10.0.1.5'), backend('web-2', '10.0.1.6', 'terminating'), backend('web-4', '10.0.1.8')]);
    assert.equal(still.targets.get('uid-web-2'), 'draining');
    assert.deepEqual(fake.inputs(DeregisterTargetsCommand), [], 'a draining target is not deregistered twice');
    fake.finishDraining();
    const done = await lb.ensure(web(), [backend('web-1', '10.0.1.5'), backend('web-2', '10.0.1.6', 'terminating'), backend('web-4', '10.0.1.8')]);
    assert.equal(done.targets.has('uid-web-2'), false);
  });

  it('deletes everything it made when the Service goes, leaving nothing behind', async () => {
    const fake = new FakeElbv2();
    const lb = provider(fake);
    await lb.ensure(
      service('web', [
        { name: 'http', port: 80, targetPort: 8080 },
        { name: 'admin', port: 9000, targetPort: 9000 },
      ]),
      [backend('web-1', '10.0.1.5')],
    );
    assert.equal(fake.resourceCount(), 5, 'a load balancer, two listeners, two target groups');
    fake.reset();
    assert.equal(await lb.remove(web()), false, 'the target groups wait for the load balancer to go');
    assert.deepEqual(fake.calls(), [
      'DescribeLoadBalancers',
      'DescribeTargetGroups',
      'DescribeTags',
      'DeleteLoadBalancer',
      'DeleteTargetGroup',
      'DeleteTargetGroup',
    ]);
    assert.equal(await lb.remove(web()), true);
    assert.equal(fake.resourceCount(), 0);
    assert.equal(await lb.remove(web()), true, 'removing again is a no-op');
  });

  it('leaves alone what another cluster or Service made, even under a matching name prefix', async () => {
    const fake = new FakeElbv2();
    const other = createAlbLoadBalancers({ ...network, clusterName: 'staging', client: fake.client });
    await other.ensure(web(), [backend('web-1', '10.0.1.5')]);
    await provider(fake).ensure(service('api', [{ port: 80, targetPort: 8080 }]), [backend('api-1', '10.0.1.9')]);
    const before = fake.resourceCount();
    assert.equal(await provider(fake).remove(web()), true);
    assert.equal(fake.resourceCount(), before, 'staging/web and prod/api are untouched');
    assert.notEqual(ownerPrefix('staging', owner), ownerPrefix('prod', owner));
  });

  it('replaces the load balancer when an annotation changes its type, and drops a port the Service no longer has', async () => {
    const fake = new FakeElbv2();
    const lb = provider(fake);
    await lb.ensure(
      service('web', [
        { name: 'http', port: 80, targetPort: 8080 },
        { name: 'admin', port: 9000, targetPort: 9000 },
      ]),
      [backend('web-1', '10.0.1.5')],
    );
    const first = [...fake.loadBalancers.values()][0]?.lb.LoadBalancerArn;

    fake.reset();
    await lb.ensure(service('web', [{ name: 'http', port: 80, targetPort: 8080 }]), [backend('web-1', '10.0.1.5')]);
    assert.deepEqual(fake.calls(), [
      'DescribeLoadBalancers',
      'DescribeTags',
      'DescribeListeners',
      'DescribeTargetGroups',
      'DescribeTargetHealth',
      'DeleteListener', // 9000 first,
      'DeleteTargetGroup', // then the group it used,
      'DescribeLoadBalancers', // then a look for anything else of this Service
      'DescribeTargetGroups',
    ]);
    assert.equal(fake.resourceCount(), 3);

    const nlb = service('web', [{ port: 80, targetPort: 8080 }], { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' });
    await lb.ensure(nlb, [backend('web-1', '10.0.1.5')]);
    const kinds = [...fake.loadBalancers.values()].map((e) => e.lb.Type);
    assert.deepEqual(kinds, ['network'], 'the ALB went, an NLB took its place');
    assert.notEqual([...fake.loadBalancers.values()][0]?.lb.LoadBalancerArn, first);
    assert.equal(await lb.remove(nlb), false);
    assert.equal(await lb.remove(nlb), true);
    assert.equal(fake.resourceCount(), 0);
  });

  it('gives an NLB for the nlb annotation: TCP, UDP and TCP_UDP listeners, internal when annotated', async () => {
    const fake = new FakeElbv2();
    const dns = service(
      'dns',
      [
        { name: 'dns-tcp', port: 53, targetPort: 5353, protocol: 'TCP' },
        { name: 'dns-udp', port: 53, targetPort: 5353, protocol: 'UDP' },
        { name: 'metrics', port: 9153, targetPort: 9153, protocol: 'TCP' },
        { name: 'syslog', port: 514, targetPort: 514, protocol: 'UDP' },
      ],
      { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb', 'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internal' },
    );
    const pod = backend('dns-1', '10.0.2.5', 'serving', 5353, {
      ports: new Map([
        ['dns-tcp', 5353],
        ['dns-udp', 5353],
        ['metrics', 9153],
        ['syslog', 514],
      ]),
    });
    const result = await provider(fake).ensure(dns, [pod]);
    const [created] = fake.inputs<Record<string, unknown>>(CreateLoadBalancerCommand);
    assert.deepEqual([created?.Type, created?.Scheme, created?.Subnets], ['network', 'internal', ['subnet-priv-a', 'subnet-priv-b']]);
    assert.deepEqual(
      fake.inputs<{ Port: number; Protocol: string }>(CreateListenerCommand).map((l) => `${l.Port}/${l.Protocol}`),
      ['53/TCP_UDP', '514/UDP', '9153/TCP'],
    );
    assert.deepEqual(
      fake.inputs<{ Protocol: string; HealthCheckProtocol: string }>(CreateTargetGroupCommand).map((g) => `${g.Protocol}:${g.HealthCheckProtocol}`),
      ['TCP_UDP:TCP', 'UDP:TCP', 'TCP:TCP'],
    );
    assert.deepEqual(result.problems, []);
  });

  it('reports a UDP port and more than 50 ports on an ALB as problems and serves the rest', () => {
    const ports = [{ name: 'dns', port: 53, protocol: 'UDP' }, ...Array.from({ length: 52 }, (_, i) => ({ name: `p${i}`, port: 8000 + i, protocol: 'TCP' }))];
    const { listeners, problems } = planServiceListeners(service('many', ports), 'application');
    assert.equal(listeners.length, 50);
    assert.deepEqual(
      problems.map((p) => p.reason),
      ['UnsupportedProtocol', 'TooManyListeners'],
    );
    assert.match(problems[0]?.message ?? '', /port 53\/UDP: an Application Load Balancer serves HTTP and HTTPS only/);
    assert.match(problems[1]?.message ?? '', /ports 8050, 8051 are not served/);
  });

  it('serves HTTPS with the certificate annotation on the ports it names', async () => {
    const fake = new FakeElbv2();
    const secure = service(
      'web',
      [
        { name: 'http', port: 80, targetPort: 8080 },
        { name: 'https', port: 443, targetPort: 8080 },
      ],
      {
        'service.beta.kubernetes.io/aws-load-balancer-ssl-cert': 'arn:aws:acm:eu-west-1:123456789012:certificate/abc',
        'service.beta.kubernetes.io/aws-load-balancer-ssl-ports': 'https',
      },
    );
    await provider(fake).ensure(secure, [
      backend('web-1', '10.0.1.5', 'serving', 8080, {
        ports: new Map([
          ['http', 8080],
          ['https', 8080],
        ]),
      }),
    ]);
    assert.deepEqual(
      fake
        .inputs<{ Port: number; Protocol: string; Certificates?: unknown; SslPolicy?: string }>(CreateListenerCommand)
        .map((l) => [l.Port, l.Protocol, l.Certificates, l.SslPolicy]),
      [
        [80, 'HTTP', undefined, undefined],
        [443, 'HTTPS', [{ CertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc' }], 'ELBSecurityPolicy-TLS13-1-2-2021-06'],
      ],
    );
  });

  it('recovers from a crash between two calls by finding what it made by name and tags, making nothing twice', async () => {
    const fake = new FakeElbv2();
    fake.failNext('CreateListener', Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));
    const lb = provider(fake);
    await assert.rejects(lb.ensure(web(), [backend('web-1', '10.0.1.5')]), /socket hang up/);
    assert.equal(fake.loadBalancers.size, 1);
    assert.equal(fake.groups.size, 1, 'the target group was made before the crash');
    fake.reset();
    const result = await lb.ensure(web(), [backend('web-1', '10.0.1.5')]);
    assert.deepEqual(fake.calls(), [
      'DescribeLoadBalancers',
      'DescribeTags', // the load balancer of that name is ours
      'DescribeListeners',
      'DescribeTargetGroups',
      'DescribeTargetGroups', // the unattached target group, by name
      'DescribeTags', // ... and ours
      'CreateListener',
      'DescribeTargetHealth',
      'RegisterTargets',
    ]);
    assert.equal(fake.loadBalancers.size, 1);
    assert.equal(fake.groups.size, 1);
    assert.ok(result.ingress[0]?.hostname);
  });

  it('lets two reconciles of one Service run at once (the resync beside the stream) without one deleting what the other made', async () => {
    const fake = new FakeElbv2();
    const lb = provider(fake);
    const pods = [backend('web-1', '10.0.1.5')];
    const results = await Promise.allSettled([lb.ensure(web(), pods), lb.ensure(web(), pods)]);
    assert.ok(
      results.some((r) => r.status === 'fulfilled'),
      'at least one finishes; the other may meet the listener the first made',
    );
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as Error).name, 'DuplicateListenerException');
    const again = await lb.ensure(web(), pods);
    assert.deepEqual(fake.inputs(DeleteLoadBalancerCommand), [], 'no load balancer was deleted');
    assert.deepEqual([fake.loadBalancers.size, fake.groups.size, fake.listeners.size], [1, 1, 1]);
    assert.equal(again.ingress[0]?.hostname, [...fake.loadBalancers.values()][0]?.lb.DNSName);
  });

  it('uses a target group a concurrent reconcile made with other settings once its tags prove it ours, never one of another owner', async () => {
    const fake = new FakeElbv2();
    const name = targetGroupName('prod', owner, '80/HTTP');
    const tags = (service: string) => [
      { Key: 'skiff.io/cluster', Value: 'prod' },
      { Key: 'skiff.io/owner', Value: service },
      { Key: 'skiff.io/resource', Value: '80/HTTP' },
    ];
    // The other pass made it with port 9090 (the Service's targetPort changed in between).
    const made = await fake.client.send(
      new CreateTargetGroupCommand({ Name: name, Protocol: 'HTTP', Port: 9090, VpcId: 'vpc-0abc', TargetType: 'ip', Tags: tags('service/shop/web') }),
    );
    const api = elbv2(fake.client);
    const spec = {
      name,
      protocol: 'HTTP' as const,
      port: 8080,
      healthCheck: healthCheckFor('application', undefined, 8080, {}, serviceHealthCheckAnnotations),
      attributes: [],
      tags: tags('service/shop/web'),
    };
    fake.reset();
    assert.equal(await ensureTargetGroup(api, spec, 'vpc-0abc', undefined), made.TargetGroups?.[0]?.TargetGroupArn);
    assert.deepEqual(fake.calls(), ['CreateTargetGroup', 'DescribeTargetGroups', 'DescribeTags']);
    assert.equal(fake.groups.size, 1);
    await assert.rejects(ensureTargetGroup(api, { ...spec, tags: tags('service/shop/other') }, 'vpc-0abc', undefined), {
      name: 'DuplicateTargetGroupNameException',
    });
  });

  it('refuses to take over a load balancer of its name that is not tagged as its own', async () => {
    const fake = new FakeElbv2();
    const name = loadBalancerName('prod', owner, 'application', 'internet-facing');
    await fake.client.send(new CreateLoadBalancerCommand({ Name: name, Type: 'application', Tags: [{ Key: 'team', Value: 'someone-else' }] }));
    await assert.rejects(
      provider(fake).ensure(web(), [backend('web-1', '10.0.1.5')]),
      (error: Error) => error.name === 'LoadBalancerConfigurationError' && /LoadBalancerNameTaken|not tagged/.test(error.message),
    );
  });

  it('retries a throttled call with backing off', async () => {
    const fake = new FakeElbv2();
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });
    // The first two CreateLoadBalancer calls are throttled; the provider waits and sends it again.
    fake.failNext('CreateLoadBalancer', throttled, throttled);
    const sleeps: number[] = [];
    const result = await provider(fake, sleeps).ensure(web(), [backend('web-1', '10.0.1.5')]);
    assert.equal(fake.calls().filter((c) => c === 'CreateLoadBalancer').length, 3);
    assert.deepEqual(sleeps, [100, 200], 'full jitter of 200 ms, then 400 ms');
    assert.equal(fake.loadBalancers.size, 1);
    assert.ok(result.ingress[0]?.hostname);
  });

  it('treats a target group already gone as deleted', async () => {
    const fake = new FakeElbv2();
    const lb = provider(fake);
    await lb.ensure(web(), [backend('web-1', '10.0.1.5')]);
    assert.equal(await lb.remove(web()), false);
    fake.failNext('DeleteTargetGroup', new TargetGroupNotFoundException({ message: 'gone', $metadata: {} }));
    assert.equal(await lb.remove(web()), true);
  });

  it('makes the load balancer again when someone deleted it, sweeping what it left and reporting the new DNS name', async () => {
    const fake = new FakeElbv2();
    const lb = provider(fake);
    const pods = [backend('web-1', '10.0.1.5')];
    const first = await lb.ensure(web(), pods);
    const [gone] = [...fake.loadBalancers.keys()];
    // Deleted in the console: its listener goes with it, its target group stays behind.
    await fake.client.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: gone }));
    assert.equal(fake.groups.size, 1);
    fake.reset();
    const again = await lb.ensure(web(), pods);
    assert.deepEqual(
      fake.calls().filter((c) => !c.startsWith('Describe')),
      ['DeleteTargetGroup', 'CreateLoadBalancer', 'CreateTargetGroup', 'CreateListener', 'RegisterTargets'],
    );
    assert.deepEqual([fake.loadBalancers.size, fake.groups.size, fake.listeners.size], [1, 1, 1]);
    assert.notEqual(again.ingress[0]?.hostname, first.ingress[0]?.hostname);
    assert.equal(again.ingress[0]?.hostname, [...fake.loadBalancers.values()][0]?.lb.DNSName);
  });

  it('treats a listener already gone as deleted when a port is dropped', async () => {
    const fake = new FakeElbv2();
    const lb = provider(fake);
    const two = service('web', [
      { name: 'http', port: 80, targetPort: 8080 },
      { name: 'admin', port: 9000, targetPort: 9000 },
    ]);
    await lb.ensure(two, [backend('web-1', '10.0.1.5')]);
    fake.failNext('DeleteListener', new ListenerNotFoundException({ message: 'gone', $metadata: {} }));
    await lb.ensure(service('web', [{ name: 'http', port: 80, targetPort: 8080 }]), [backend('web-1', '10.0.1.5')]);
    assert.equal(fake.calls().filter((c) => c === 'DeleteListener').length, 1);
  });

  it('refuses with a clear reason when the cluster has no subnets for the scheme', async () => {
    const fake = new FakeElbv2();
    const lb = createAlbLoadBalancers({ ...network, privateSubnets: [], client: fake.client });
    await assert.rejects(
      lb.ensure(service('web', [{ port: 80 }], { 'service.beta.kubernetes.io/aws-load-balancer-internal': 'true' }), []),
      (error: Error & { reason?: string }) => error.reason === 'NoSubnets' && /no private subnets/.test(error.message),
    );
    assert.deepEqual(
      fake.calls().filter((c) => c.startsWith('Create')),
      [],
    );
  });
});
