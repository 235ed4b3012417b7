/**
 * The `alb` provider for Ingresses against ELBv2 as aws-sdk-client-mock answers it: host and path
 * rules as listener rules with the exact conditions and priorities, a further ALB when the
 * class's rules pass 100, HTTPS with ACM certificates, and the class's load balancers removed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateListenerCommand, CreateLoadBalancerCommand, CreateRuleCommand, CreateTargetGroupCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { createAlbIngressLoadBalancers, placeIngresses } from '../../../functions/aws/alb-ingress.ts';
import { loadBalancerName } from '../../../functions/aws/elbv2-names.ts';
import { planIngressGroup } from '../../../functions/domain/ingress/ingress-routes.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { FakeElbv2, testNetwork as network } from '../../support/fake-elbv2.ts';

function svc(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop' },
    spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] },
  };
}

function pod(name: string, app: string, ip: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'shop', uid: `uid-${name}`, labels: { app } },
    spec: { containers: [{ name: 'web', image: 'nginx' }] },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'ContainersReady', status: 'True' }] },
  };
}

function ingress(
  name: string,
  spec: Record<string, unknown>,
  options: { created?: string; annotations?: Record<string, string>; hostname?: string } = {},
): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name,
      namespace: 'shop',
      creationTimestamp: options.created ?? '2026-01-01T00:00:00Z',
      ...(options.annotations ? { annotations: options.annotations } : {}),
    },
    spec: { ingressClassName: 'skiff', ...spec },
    ...(options.hostname ? { status: { loadBalancer: { ingress: [{ hostname: options.hostname }] } } } : {}),
  };
}

const to = (service: string) => ({ service: { name: service, port: { number: 80 } } });
const services = [svc('front'), svc('api'), svc('docs')];
const pods = [pod('front-1', 'front', '10.0.1.5'), pod('api-1', 'api', '10.0.1.6'), pod('docs-1', 'docs', '10.0.1.7')];
const owner = { kind: 'ingressclass', name: 'skiff' } as const;

function provider(fake: FakeElbv2) {
  return createAlbIngressLoadBalancers({ ...network, client: fake.client });
}

describe('the alb provider for Ingresses', () => {
  it('turns host and path rules into listener rules with the exact conditions, actions and priorities', async () => {
    const fake = new FakeElbv2();
    const group = planIngressGroup({
      className: 'skiff',
      ingresses: [
        ingress('shop', {
          rules: [
            {
              host: 'shop.example.com',
              http: {
                paths: [
                  { path: '/', pathType: 'Prefix', backend: to('front') },
                  { path: '/api', pathType: 'Prefix', backend: to('api') },
                  { path: '/docs/index.html', pathType: 'Exact', backend: to('docs') },
                ],
              },
            },
            { host: '*.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: to('docs') }] } },
            { http: { paths: [{ path: '/missing', pathType: 'Prefix', backend: to('nosuch') }] } },
          ],
        }),
      ],
      services,
      pods,
    });
    const result = await provider(fake).ensureGroup(group);

    assert.deepEqual(fake.calls(), [
      'DescribeLoadBalancers', // internet-facing #0: none
      'CreateLoadBalancer',
      'DescribeListeners',
      'DescribeTargetGroups',
      // a target group per backend (api, docs, front), its targets registered
      'DescribeTargetGroups',
      'CreateTargetGroup',
      'DescribeTargetHealth',
      'RegisterTargets',
      'DescribeTargetGroups',
      'CreateTargetGroup',
      'DescribeTargetHealth',
      'RegisterTargets',
      'DescribeTargetGroups',
      'CreateTargetGroup',
      'DescribeTargetHealth',
      'RegisterTargets',
      'CreateListener',
      'DescribeRules',
      'CreateRule',
      'CreateRule',
      'CreateRule',
      'CreateRule',
      'CreateRule',
      'DescribeLoadBalancers', // internal #0: none, nothing to do
    ]);
    const arnOf = (service: string) =>
      [...fake.groups.values()].find((g) => g.tags.some((t) => t.Key === 'skiff.io/resource' && t.Value?.endsWith(`shop/${service}:80`)))?.group.TargetGroupArn;
    const forward = (service: string) => [{ Type: 'forward', TargetGroupArn: arnOf(service) }];
    const rules = fake.inputs<{ Priority: number; Conditions: unknown; Actions: unknown }>(CreateRuleCommand).map((r) => [r.Priority, r.Conditions, r.Actions]);
    const host = (value: string) => ({ Field: 'host-header', HostHeaderConfig: { Values: [value] } });
    const paths = (...values: string[]) => ({ Field: 'path-pattern', PathPatternConfig: { Values: values } });
    assert.deepEqual(rules, [
      [1, [host('shop.example.com'), paths('/docs/index.html')], forward('docs')],
      [2, [host('shop.example.com'), paths('/api', '/api/*')], forward('api')],
      [3, [host('shop.example.com'), paths('/*')], forward('front')],
      [4, [host('*.example.com'), paths('/*')], forward('docs')],
      [
        5,
        [paths('/missing', '/missing/*')],
        [
          {
            Type: 'fixed-response',
            FixedResponseConfig: {
              StatusCode: '503',
              ContentType: 'text/plain',
              MessageBody: 'Service Unavailable: the backend of this rule does not resolve\n',
            },
          },
        ],
      ],
    ]);
    const [listener] = fake.inputs<{ Port: number; Protocol: string; DefaultActions: unknown }>(CreateListenerCommand);
    assert.deepEqual(
      [listener?.Port, listener?.Protocol, listener?.DefaultActions],
      [80, 'HTTP', [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain', MessageBody: 'default backend - 404\n' } }]],
    );
    const shop = result.ingresses.get('shop/shop');
    assert.match(shop?.ingress[0]?.hostname ?? '', /\.elb\.amazonaws\.com$/);
    assert.deepEqual(
      shop?.problems.map((p) => p.reason),
      ['BackendServiceNotFound'],
    );
    assert.deepEqual([...result.targets].sort(), [
      ['uid-api-1', 'registering'],
      ['uid-docs-1', 'registering'],
      ['uid-front-1', 'registering'],
    ]);

    // The same model again: only reads.
    fake.reset();
    await provider(fake).ensureGroup(group);
    assert.deepEqual(
      fake.calls().filter((c) => !c.startsWith('Describe')),
      [],
    );
  });

  it('rewrites only the rules that changed, and deletes the ones no longer wanted', async () => {
    const fake = new FakeElbv2();
    const lb = provider(fake);
    const first = ingress('shop', {
      rules: [
        {
          http: {
            paths: [
              { path: '/a', pathType: 'Prefix', backend: to('front') },
              { path: '/b', pathType: 'Prefix', backend: to('api') },
            ],
          },
        },
      ],
    });
    await lb.ensureGroup(planIngressGroup({ className: 'skiff', ingresses: [first], services, pods }));
    fake.reset();
    const second = ingress('shop', { rules: [{ http: { paths: [{ path: '/a', pathType: 'Prefix', backend: to('docs') }] } }] });
    await lb.ensureGroup(planIngressGroup({ className: 'skiff', ingresses: [second], services, pods }));
    const writes = fake.calls().filter((c) => !c.startsWith('Describe'));
    assert.deepEqual(writes, ['CreateTargetGroup', 'RegisterTargets', 'ModifyRule', 'DeleteRule', 'DeleteTargetGroup', 'DeleteTargetGroup']);
  });

  it('spreads the rules of a class over a further ALB past 100 rules, keeping each Ingress where it is', async () => {
    const fake = new FakeElbv2();
    const lb = provider(fake);
    const many = (name: string, count: number, created: string, hostname?: string) =>
      ingress(
        name,
        {
          rules: [
            {
              host: `${name}.example.com`,
              http: { paths: Array.from({ length: count }, (_, i) => ({ path: `/p${i}`, pathType: 'Prefix', backend: to('front') })) },
            },
          ],
        },
        { created, ...(hostname ? { hostname } : {}) },
      );
    const a = many('a', 60, '2026-01-01T00:00:00Z');
    const b = many('b', 30, '2026-01-02T00:00:00Z');
    const first = await lb.ensureGroup(planIngressGroup({ className: 'skiff', ingresses: [a, b], services, pods }));
    assert.equal(fake.loadBalancers.size, 1);
    const one = first.ingresses.get('shop/a')?.ingress[0]?.hostname;
    assert.equal(first.ingresses.get('shop/b')?.ingress[0]?.hostname, one);

    // A third Ingress of 30 rules would make 120: it gets a second ALB of the class.
    const c = many('c', 30, '2026-01-03T00:00:00Z');
    fake.reset();
    const second = await lb.ensureGroup(
      planIngressGroup({
        className: 'skiff',
        ingresses: [many('a', 60, '2026-01-01T00:00:00Z', one), many('b', 30, '2026-01-02T00:00:00Z', one), c],
        services,
        pods,
      }),
    );
    assert.deepEqual(
      fake.inputs<{ Name: string }>(CreateLoadBalancerCommand).map((i) => i.Name),
      [loadBalancerName('prod', owner, 'application', 'internet-facing', 1)],
    );
    const two = second.ingresses.get('shop/c')?.ingress[0]?.hostname;
    assert.ok(two && two !== one, 'c is served by the second ALB');
    assert.equal(second.ingresses.get('shop/a')?.ingress[0]?.hostname, one, 'a stays');
    assert.equal(second.ingresses.get('shop/b')?.ingress[0]?.hostname, one, 'b stays');
    for (const entry of fake.loadBalancers.values()) {
      const rules = fake.listenersOf(entry.lb.LoadBalancerArn ?? '').flatMap((l) => fake.rulesOf(l.ListenerArn ?? ''));
      assert.ok(rules.length <= 100, `${entry.lb.LoadBalancerName} holds ${rules.length} rules`);
    }
    assert.deepEqual(
      [...second.ingresses.values()].flatMap((i) => i.problems),
      [],
      'nothing fails',
    );

    // An Ingress that alone needs more than an ALB takes is reported; the others are served.
    const huge = many('huge', 101, '2026-01-04T00:00:00Z');
    const third = await lb.ensureGroup(planIngressGroup({ className: 'skiff', ingresses: [a, b, c, huge], services, pods }));
    assert.deepEqual(
      third.ingresses.get('shop/huge')?.problems.map((p) => p.reason),
      ['TooManyRules'],
    );
    assert.deepEqual(third.ingresses.get('shop/huge')?.ingress, []);
  });

  it('places Ingresses first-fit, sticky, refusing what can never fit', () => {
    const placement = placeIngresses([
      { key: 'old', rules: 70, current: 1 },
      { key: 'x', rules: 50 },
      { key: 'y', rules: 40 },
      { key: 'z', rules: 150 },
    ]);
    assert.deepEqual(
      [...placement.index],
      [
        ['old', 1],
        ['x', 0],
        ['y', 0],
      ],
    );
    assert.deepEqual(placement.load, [90, 70]);
    assert.deepEqual([...placement.tooLarge], ['z']);
  });

  it('serves HTTPS with the ACM certificates of the annotation, extra certificates added to the listener', async () => {
    const fake = new FakeElbv2();
    const secure = ingress(
      'shop',
      { rules: [{ host: 'shop.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: to('front') }] } }] },
      {
        annotations: {
          'alb.ingress.kubernetes.io/certificate-arn': 'arn:aws:acm:eu-west-1:123456789012:certificate/one,arn:aws:acm:eu-west-1:123456789012:certificate/two',
          'alb.ingress.kubernetes.io/listen-ports': '[{"HTTP": 80}, {"HTTPS": 443}]',
        },
      },
    );
    await provider(fake).ensureGroup(planIngressGroup({ className: 'skiff', ingresses: [secure], services, pods }));
    assert.deepEqual(
      fake.inputs<{ Port: number; Protocol: string; Certificates?: unknown }>(CreateListenerCommand).map((l) => [l.Port, l.Protocol, l.Certificates]),
      [
        [80, 'HTTP', undefined],
        [443, 'HTTPS', [{ CertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/one' }]],
      ],
    );
    assert.ok(fake.calls().includes('AddListenerCertificates'));
    assert.equal(fake.inputs(CreateRuleCommand).length, 2, 'the rule on both listeners');
  });

  it('sends the oldest default backend to the listener default, telling the newer Ingress', async () => {
    const fake = new FakeElbv2();
    const result = await provider(fake).ensureGroup(
      planIngressGroup({
        className: 'skiff',
        ingresses: [
          ingress('first', { defaultBackend: to('front') }, { created: '2026-01-01T00:00:00Z' }),
          ingress('second', { defaultBackend: to('api') }, { created: '2026-01-02T00:00:00Z' }),
        ],
        services,
        pods,
      }),
    );
    const [listener] = fake.inputs<{ DefaultActions: { TargetGroupArn?: string }[] }>(CreateListenerCommand);
    const front = [...fake.groups.values()].find((g) => g.tags.some((t) => t.Value?.endsWith('shop/front:80')))?.group.TargetGroupArn;
    assert.equal(listener?.DefaultActions[0]?.TargetGroupArn, front);
    assert.deepEqual(
      result.ingresses.get('shop/second')?.problems.map((p) => p.reason),
      ['ConflictingDefaultBackend'],
    );
  });

  it('removes every load balancer and target group of the class, and nothing else', async () => {
    const fake = new FakeElbv2();
    const lb = provider(fake);
    await lb.ensureGroup(planIngressGroup({ className: 'skiff', ingresses: [ingress('shop', { defaultBackend: to('front') })], services, pods }));
    await createAlbIngressLoadBalancers({ ...network, client: fake.client }).ensureGroup(
      planIngressGroup({ className: 'other', ingresses: [ingress('x', { ingressClassName: 'other', defaultBackend: to('api') })], services, pods }),
    );
    const before = fake.resourceCount();
    assert.equal(await lb.removeGroup('skiff'), false);
    assert.equal(await lb.removeGroup('skiff'), true);
    assert.equal(fake.resourceCount(), before - 3, 'the class skiff had a load balancer, a listener and a target group');
    assert.ok(fake.inputs(CreateTargetGroupCommand).length >= 2);
  });
});
