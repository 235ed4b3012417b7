/**
 * The `alb` provider of the Ingress port: the Ingresses of one IngressClass share Application
 * Load Balancers (one per scheme to start with). Each Ingress's rules become listener rules in the
 * priority order of the shared model (`functions/domain/ingress/ingress-routes.ts`), forwarding
 * to an `ip` target group per backend Service port. An ALB takes 100 rules; when the class's
 * rules would pass that, the next Ingress goes to a further ALB of the class instead of failing
 * the group — an Ingress stays on the ALB its status names while it fits, so adding Ingresses
 * never moves the others' addresses (docs/adr/096-alb-provider.md).
 *
 * Listeners: HTTP 80, or HTTPS 443 with the ACM certificates of
 * `alb.ingress.kubernetes.io/certificate-arn`, or what `alb.ingress.kubernetes.io/listen-ports`
 * lists — the AWS Load Balancer Controller's annotations. A listener's default action is the
 * oldest `defaultBackend` of its Ingresses, else a 404.
 */
import {
  type Action,
  AddListenerCertificatesCommand,
  type Certificate,
  CreateListenerCommand,
  CreateRuleCommand,
  DeleteLoadBalancerCommand,
  DeleteRuleCommand,
  DescribeListenerCertificatesCommand,
  type Listener,
  type LoadBalancer,
  ModifyListenerCommand,
  ModifyRuleCommand,
  RemoveListenerCertificatesCommand,
  type Rule,
  type RuleCondition,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { type IngressGroup, type IngressModel, type IngressRoute, mergeRoutes, notFoundBody, unresolvedBody } from '../domain/ingress/ingress-routes.ts';
import { probeForPort } from '../domain/services/load-balancer-backends.ts';
import type {
  EnsuredIngress,
  EnsuredIngressGroup,
  IngressLoadBalancers,
  LoadBalancerIngress,
  LoadBalancerProblem,
  TargetState,
} from '../domain/services/load-balancers.ts';
import {
  type AlbProviderOptions,
  asConfigurationError,
  createOrFindLoadBalancer,
  deleteListener,
  deleteTargetGroup,
  desiredTargets,
  ownedLoadBalancer,
  ownedTargetGroup,
  sweepOwner,
} from './alb-load-balancers.ts';
import { type Elbv2, elbv2 } from './elbv2-client.ts';
import { loadBalancerName, type Owner, ownerTags, type Scheme, targetGroupName } from './elbv2-names.ts';
import { ensureTargetGroup, healthCheckFor, ingressHealthCheckAnnotations, mergeStates, syncTargets, targetGroupAttributes } from './target-groups.ts';

/** ELBv2's limit of rules per Application Load Balancer, default rules not counted. */
export const maxRulesPerLoadBalancer = 100;
const defaultSslPolicy = 'ELBSecurityPolicy-TLS13-1-2-2021-06';
const recheckSeconds = 15;

export interface ListenPort {
  readonly protocol: 'HTTP' | 'HTTPS';
  readonly port: number;
}

/** The listeners an Ingress is served on: `listen-ports`, else HTTPS 443 with a certificate, else HTTP 80. */
export function listenPortsOf(model: IngressModel): { ports: ListenPort[]; problems: LoadBalancerProblem[] } {
  const annotation = model.object.metadata.annotations?.['alb.ingress.kubernetes.io/listen-ports'];
  const problems: LoadBalancerProblem[] = [];
  let ports: ListenPort[] = model.certificateArns.length > 0 ? [{ protocol: 'HTTPS', port: 443 }] : [{ protocol: 'HTTP', port: 80 }];
  if (annotation) {
    try {
      const parsed = JSON.parse(annotation) as unknown;
      if (!Array.isArray(parsed)) throw new Error('not a list');
      ports = parsed.flatMap((entry: unknown) =>
        Object.entries(entry as Record<string, unknown>).flatMap(([protocol, port]) =>
          (protocol === 'HTTP' || protocol === 'HTTPS') && typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536
            ? [{ protocol, port } as ListenPort]
            : [],
        ),
      );
    } catch {
      problems.push({ reason: 'InvalidAnnotation', message: `alb.ingress.kubernetes.io/listen-ports must be a JSON list like [{"HTTP": 80}, {"HTTPS": 443}]` });
    }
  }
  if (ports.some((p) => p.protocol === 'HTTPS') && model.certificateArns.length === 0) {
    problems.push({ reason: 'NoCertificate', message: 'an HTTPS listener needs alb.ingress.kubernetes.io/certificate-arn (an ACM certificate)' });
    ports = ports.filter((p) => p.protocol !== 'HTTPS');
  }
  if (model.tls.length > 0 && model.certificateArns.length === 0) {
    problems.push({
      reason: 'NoCertificate',
      message: 'spec.tls is served with its Secret locally; on AWS the ALB needs alb.ingress.kubernetes.io/certificate-arn (an ACM certificate)',
    });
  }
  const seen = new Set<number>();
  return { ports: ports.filter((p) => (seen.has(p.port) ? false : seen.add(p.port))), problems };
}

export interface Placement {
  /** Ingress key → load balancer index (per scheme). */
  readonly index: ReadonlyMap<string, number>;
  /** Rules on each load balancer index. */
  readonly load: readonly number[];
  /** Ingresses that fit on no load balancer. */
  readonly tooLarge: ReadonlySet<string>;
}

/**
 * Spreads Ingresses (oldest first) over load balancers of at most `max` rules: each stays on the
 * one it is on (`current`) while it fits, the others go to the first that has room, else a new one.
 */
export function placeIngresses(costs: readonly { key: string; rules: number; current?: number }[], max = maxRulesPerLoadBalancer): Placement {
  const index = new Map<string, number>();
  const load: number[] = [];
  const tooLarge = new Set<string>();
  const room = (i: number, rules: number) => (load[i] ?? 0) + rules <= max;
  const put = (key: string, i: number, rules: number) => {
    index.set(key, i);
    while (load.length <= i) load.push(0);
    load[i] = (load[i] ?? 0) + rules;
  };
  const unplaced: (typeof costs)[number][] = [];
  for (const entry of costs) {
    if (entry.rules > max) tooLarge.add(entry.key);
    else if (entry.current !== undefined && room(entry.current, entry.rules)) put(entry.key, entry.current, entry.rules);
    else unplaced.push(entry);
  }
  for (const entry of unplaced) {
    let i = 0;
    while (!room(i, entry.rules)) i++;
    put(entry.key, i, entry.rules);
  }
  return { index, load, tooLarge };
}

interface DesiredRule {
  readonly conditions: RuleCondition[];
  readonly actions: Action[];
}

function conditionsOf(route: IngressRoute): RuleCondition[] {
  return [
    ...(route.host ? [{ Field: 'host-header', HostHeaderConfig: { Values: [route.host] } }] : []),
    { Field: 'path-pattern', PathPatternConfig: { Values: [...route.paths] } },
  ];
}

function fixedResponse(code: string, body: string): Action {
  return { Type: 'fixed-response', FixedResponseConfig: { StatusCode: code, ContentType: 'text/plain', MessageBody: body } };
}

/** A comparable form of rule conditions and actions, whatever fields AWS filled in. */
function ruleFingerprint(conditions: readonly RuleCondition[] | undefined, actions: readonly Action[] | undefined): string {
  const c = (conditions ?? []).map((condition) => {
    const values = condition.HostHeaderConfig?.Values ?? condition.PathPatternConfig?.Values ?? condition.Values ?? [];
    return `${condition.Field}=${[...values].join('|')}`;
  });
  const a = (actions ?? []).map((action) =>
    action.Type === 'forward'
      ? `forward:${action.TargetGroupArn ?? action.ForwardConfig?.TargetGroups?.[0]?.TargetGroupArn}`
      : `${action.Type}:${action.FixedResponseConfig?.StatusCode}:${action.FixedResponseConfig?.MessageBody ?? ''}`,
  );
  return JSON.stringify([c.sort(), a]);
}

export function createAlbIngressLoadBalancers(options: AlbProviderOptions): IngressLoadBalancers {
  const api: Elbv2 = elbv2(options.client, options.retry);
  const cluster = options.clusterName;

  /** Existing load balancers of a class and scheme: index 0, 1, ... until the first missing one. */
  async function existingLoadBalancers(owner: Owner, scheme: Scheme): Promise<LoadBalancer[]> {
    const found: LoadBalancer[] = [];
    for (let i = 0; ; i++) {
      const lb = await ownedLoadBalancer(api, loadBalancerName(cluster, owner, 'application', scheme, i), cluster, owner);
      if (!lb) return found;
      found.push(lb);
    }
  }

  async function syncRules(listenerArn: string, desired: readonly DesiredRule[], tags: ReturnType<typeof ownerTags>): Promise<void> {
    const existing = (await api.rulesOf(listenerArn)).filter((rule) => !rule.IsDefault);
    const byPriority = new Map<number, Rule>(existing.map((rule) => [Number(rule.Priority), rule]));
    for (const [i, rule] of desired.entries()) {
      const priority = i + 1;
      const current = byPriority.get(priority);
      if (current?.RuleArn) {
        if (ruleFingerprint(current.Conditions, current.Actions) !== ruleFingerprint(rule.conditions, rule.actions)) {
          await api.send(new ModifyRuleCommand({ RuleArn: current.RuleArn, Conditions: rule.conditions, Actions: rule.actions }));
        }
        byPriority.delete(priority);
      } else {
        await api.send(
          new CreateRuleCommand({ ListenerArn: listenerArn, Priority: priority, Conditions: rule.conditions, Actions: rule.actions, Tags: [...tags] }),
        );
      }
    }
    for (const rule of byPriority.values()) {
      if (!rule.RuleArn) continue;
      try {
        await api.send(new DeleteRuleCommand({ RuleArn: rule.RuleArn }));
      } catch (error) {
        if (!(error instanceof Error && error.name === 'RuleNotFoundException')) throw error;
      }
    }
  }

  async function syncCertificates(listenerArn: string, arns: readonly string[]): Promise<void> {
    const out = await api.send<{ Certificates?: Certificate[] }>(new DescribeListenerCertificatesCommand({ ListenerArn: listenerArn }));
    const present = new Set((out.Certificates ?? []).filter((c) => !c.IsDefault).map((c) => c.CertificateArn));
    const wanted = new Set(arns.slice(1));
    const add = [...wanted].filter((arn) => !present.has(arn));
    const drop = [...present].filter((arn): arn is string => arn !== undefined && !wanted.has(arn));
    if (add.length > 0)
      await api.send(new AddListenerCertificatesCommand({ ListenerArn: listenerArn, Certificates: add.map((CertificateArn) => ({ CertificateArn })) }));
    if (drop.length > 0)
      await api.send(new RemoveListenerCertificatesCommand({ ListenerArn: listenerArn, Certificates: drop.map((CertificateArn) => ({ CertificateArn })) }));
  }

  /** One load balancer of the class: its listeners, rules and target groups for the Ingresses placed on it. */
  async function reconcileLoadBalancer(
    group: IngressGroup,
    owner: Owner,
    scheme: Scheme,
    index: number,
    existing: LoadBalancer | undefined,
    models: readonly { model: IngressModel; ports: readonly ListenPort[] }[],
    problems: Map<string, LoadBalancerProblem[]>,
    targets: Map<string, TargetState>,
  ): Promise<LoadBalancer> {
    const name = loadBalancerName(cluster, owner, 'application', scheme, index);
    const lb =
      existing ??
      (await createOrFindLoadBalancer(
        api,
        options,
        { name, kind: 'application', scheme, tags: ownerTags(cluster, owner, `LoadBalancer/${scheme}/${index}`) },
        owner,
      ));
    const lbArn = lb.LoadBalancerArn as string;
    const listeners = await api.listenersOf(lbArn);
    const attached = await api.targetGroupsOf(lbArn);

    // Target groups: one per backend Service port used on this load balancer.
    const used = new Map<string, { first: IngressModel }>();
    for (const { model } of models) {
      for (const key of [...model.routes.map((r) => r.backend), model.defaultBackend ?? undefined]) {
        if (key && !used.has(key)) used.set(key, { first: model });
      }
    }
    const groupArns = new Map<string, string>();
    for (const [key, { first }] of [...used].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const backend = group.backends.get(key);
      if (!backend) continue;
      const resource = `${scheme}/${index}:${key}`;
      const groupName = targetGroupName(cluster, owner, resource);
      const targetPort = typeof backend.servicePort.targetPort === 'number' ? backend.servicePort.targetPort : undefined;
      const annotations = first.object.metadata.annotations ?? {};
      const arn = await ensureTargetGroup(
        api,
        {
          name: groupName,
          protocol: 'HTTP',
          port: targetPort ?? backend.servicePort.port,
          healthCheck: healthCheckFor(
            'application',
            probeForPort(backend.pods, backend.portName),
            targetPort ?? backend.pods.find((p) => p.ports.has(backend.portName))?.ports.get(backend.portName),
            annotations,
            ingressHealthCheckAnnotations,
          ),
          attributes: targetGroupAttributes(annotations['alb.ingress.kubernetes.io/target-group-attributes']),
          tags: ownerTags(cluster, owner, resource),
        },
        options.vpcId,
        await ownedTargetGroup(api, groupName, cluster, owner, attached),
      );
      groupArns.set(key, arn);
      const podOfIp = new Map(backend.pods.map((p) => [p.ip, p.uid]));
      mergeStates(targets, await syncTargets(api, arn, desiredTargets(backend.pods, backend.portName), podOfIp));
    }
    const actionFor = (key: string | null | undefined): Action => {
      const arn = key ? groupArns.get(key) : undefined;
      return arn ? { Type: 'forward', TargetGroupArn: arn } : fixedResponse('503', unresolvedBody);
    };

    // The default action: the oldest default backend on this load balancer.
    const withDefault = models.filter(({ model }) => model.defaultBackend !== undefined);
    for (const { model } of withDefault.slice(1)) {
      const list = problems.get(model.key) ?? [];
      list.push({
        reason: 'ConflictingDefaultBackend',
        message: `the load balancer this Ingress shares already uses the default backend of ${withDefault[0]?.model.key}; this one is not used there`,
      });
      problems.set(model.key, list);
    }
    const defaultAction = withDefault[0] ? actionFor(withDefault[0].model.defaultBackend) : fixedResponse('404', notFoundBody);

    const ports = new Map<number, ListenPort>();
    for (const { ports: list } of models) for (const port of list) ports.set(port.port, port);
    const keepListeners = new Set<string>();
    for (const port of [...ports.values()].sort((a, b) => a.port - b.port)) {
      const onPort = models.filter(({ ports: list }) => list.some((p) => p.port === port.port)).map(({ model }) => model);
      const certificates = [...new Set(onPort.flatMap((m) => m.certificateArns))];
      const secure = port.protocol === 'HTTPS';
      const tags = ownerTags(cluster, owner, `${scheme}/${index}:${port.protocol}:${port.port}`);
      const current = listeners.find((l) => l.Port === port.port);
      const tls =
        secure && certificates[0]
          ? {
              Certificates: [{ CertificateArn: certificates[0] }],
              SslPolicy: onPort[0]?.object.metadata.annotations?.['alb.ingress.kubernetes.io/ssl-policy'] ?? defaultSslPolicy,
            }
          : {};
      let listenerArn: string;
      if (!current?.ListenerArn) {
        const created = await api.send<{ Listeners?: Listener[] }>(
          new CreateListenerCommand({
            LoadBalancerArn: lbArn,
            Port: port.port,
            Protocol: port.protocol,
            DefaultActions: [defaultAction],
            ...tls,
            Tags: [...tags],
          }),
        );
        listenerArn = created.Listeners?.[0]?.ListenerArn ?? '';
      } else {
        listenerArn = current.ListenerArn;
        const sameDefault = ruleFingerprint([], current.DefaultActions) === ruleFingerprint([], [defaultAction]);
        const sameCertificate = !secure || current.Certificates?.[0]?.CertificateArn === certificates[0];
        if (current.Protocol !== port.protocol || !sameDefault || !sameCertificate) {
          await api.send(
            new ModifyListenerCommand({ ListenerArn: listenerArn, Port: port.port, Protocol: port.protocol, DefaultActions: [defaultAction], ...tls }),
          );
        }
      }
      keepListeners.add(listenerArn);
      if (secure) await syncCertificates(listenerArn, certificates);
      const rules = mergeRoutes(onPort).map((route) => ({ conditions: conditionsOf(route), actions: [actionFor(route.backend)] }));
      await syncRules(listenerArn, rules, tags);
    }
    for (const listener of listeners) if (listener.ListenerArn && !keepListeners.has(listener.ListenerArn)) await deleteListener(api, listener.ListenerArn);
    const keepGroups = new Set(groupArns.values());
    for (const tg of attached) if (tg.TargetGroupArn && !keepGroups.has(tg.TargetGroupArn)) await deleteTargetGroup(api, tg.TargetGroupArn);
    return lb;
  }

  async function ensureGroup(group: IngressGroup): Promise<EnsuredIngressGroup> {
    const owner: Owner = { kind: 'ingressclass', name: group.className };
    const results = new Map<string, EnsuredIngress>();
    const problems = new Map<string, LoadBalancerProblem[]>(group.ingresses.map((m) => [m.key, [...m.problems]]));
    const targets = new Map<string, TargetState>();
    const addresses = new Map<string, LoadBalancerIngress[]>();
    for (const scheme of ['internet-facing', 'internal'] as const) {
      const models = group.ingresses.filter((m) => m.scheme === scheme);
      const existing = await existingLoadBalancers(owner, scheme);
      if (models.length === 0) {
        for (const lb of existing) if (lb.LoadBalancerArn) await api.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
        continue;
      }
      const listen = new Map(models.map((m) => [m.key, listenPortsOf(m)]));
      for (const [key, { problems: more }] of listen) problems.get(key)?.push(...more);
      const costs = models.map((m) => {
        const hostname = (m.object.status as { loadBalancer?: { ingress?: { hostname?: string }[] } } | undefined)?.loadBalancer?.ingress?.[0]?.hostname;
        const current = existing.findIndex((lb) => lb.DNSName !== undefined && lb.DNSName === hostname);
        const ports = listen.get(m.key)?.ports.length ?? 1;
        return { key: m.key, rules: m.routes.length * Math.max(1, ports), ...(current >= 0 ? { current } : {}) };
      });
      const placement = placeIngresses(costs);
      for (const key of placement.tooLarge) {
        const rules = costs.find((c) => c.key === key)?.rules ?? 0;
        problems.get(key)?.push({
          reason: 'TooManyRules',
          message: `the Ingress needs ${rules} listener rules and an Application Load Balancer takes ${maxRulesPerLoadBalancer}: split it into smaller Ingresses`,
        });
      }
      for (let index = 0; index < placement.load.length; index++) {
        const placed = models.filter((m) => placement.index.get(m.key) === index).map((model) => ({ model, ports: listen.get(model.key)?.ports ?? [] }));
        if (placed.length === 0) continue;
        const lb = await reconcileLoadBalancer(group, owner, scheme, index, existing[index], placed, problems, targets);
        for (const { model } of placed) addresses.set(model.key, lb.DNSName ? [{ hostname: lb.DNSName }] : []);
      }
      // Trailing load balancers nothing is placed on any more go (a gap in the middle stays until then).
      for (let index = existing.length - 1; index >= placement.load.length; index--) {
        const arn = existing[index]?.LoadBalancerArn;
        if (arn) await api.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn }));
      }
    }
    for (const model of group.ingresses) results.set(model.key, { ingress: addresses.get(model.key) ?? [], problems: problems.get(model.key) ?? [] });
    const settling = [...targets.values()].some((state) => state !== 'healthy');
    return { ingresses: results, targets, problems: [], ...(settling ? { recheckAfterSeconds: recheckSeconds } : {}) };
  }

  return {
    provider: 'alb',
    async ensureGroup(group) {
      try {
        return await ensureGroup(group);
      } catch (error) {
        throw asConfigurationError(error);
      }
    },
    async removeGroup(className) {
      try {
        return await sweepOwner(api, cluster, { kind: 'ingressclass', name: className });
      } catch (error) {
        throw asConfigurationError(error);
      }
    },
  };
}
