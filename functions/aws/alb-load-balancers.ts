/**
 * The `alb` provider of the load balancer port for `type: LoadBalancer` Services: an Application
 * Load Balancer per Service (a Network Load Balancer with
 * `service.beta.kubernetes.io/aws-load-balancer-type: nlb`), a listener per port, an `ip` target
 * group per listener holding the Service's serving pods, health checks from their readiness probe,
 * the security groups the CDK app made, and `status.loadBalancer.ingress[].hostname` = its DNS
 * name (docs/adr/096-alb-provider.md).
 *
 * Every resource is named from the cluster and the Service and tagged with both, so a reconcile
 * that stopped half-way finds what it made (by name, ownership proven by the tags) instead of
 * making it twice, and removal sweeps whatever of the Service is left, by name prefix and tags.
 * A resource already gone counts as deleted; throttling is retried (`elbv2-client.ts`).
 */
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  type ElasticLoadBalancingV2Client,
  type Listener,
  type LoadBalancer,
  ModifyListenerCommand,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { KubeObject } from '../../schemas/meta.ts';
import { type BackendPod, probeForPort } from '../domain/services/load-balancer-backends.ts';
import {
  type EnsuredLoadBalancer,
  LoadBalancerConfigurationError,
  type LoadBalancerProblem,
  type LoadBalancers,
  type TargetState,
} from '../domain/services/load-balancers.ts';
import { type ServicePort, viewService } from '../domain/services/service-view.ts';
import { type Elbv2, elbv2, isNotFound, type RetryPolicy } from './elbv2-client.ts';
import { type LoadBalancerKind, loadBalancerName, type Owner, ownedBy, ownerPrefix, ownerTags, type Scheme, targetGroupName } from './elbv2-names.ts';
import {
  type DesiredTarget,
  ensureTargetGroup,
  healthCheckFor,
  mergeStates,
  serviceHealthCheckAnnotations,
  syncTargets,
  type TargetProtocol,
  targetGroupAttributes,
} from './target-groups.ts';

/** Where load balancers go: the cluster's VPC, subnets and security groups (from the CDK app). */
export interface AlbNetwork {
  readonly clusterName: string;
  readonly vpcId: string;
  /** Subnets of internet-facing load balancers (public, one per zone). */
  readonly publicSubnets: readonly string[];
  /** Subnets of internal load balancers (private, one per zone). */
  readonly privateSubnets: readonly string[];
  /** Security groups every load balancer gets (they let clients in, and the pods let them through). */
  readonly securityGroups: readonly string[];
}

export interface AlbProviderOptions extends AlbNetwork {
  readonly client: ElasticLoadBalancingV2Client;
  readonly retry?: RetryPolicy;
}

const annotation = {
  type: 'service.beta.kubernetes.io/aws-load-balancer-type',
  scheme: 'service.beta.kubernetes.io/aws-load-balancer-scheme',
  internal: 'service.beta.kubernetes.io/aws-load-balancer-internal',
  sslCert: 'service.beta.kubernetes.io/aws-load-balancer-ssl-cert',
  sslPorts: 'service.beta.kubernetes.io/aws-load-balancer-ssl-ports',
  sslPolicy: 'service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy',
  targetGroupAttributes: 'service.beta.kubernetes.io/aws-load-balancer-target-group-attributes',
} as const;

/** ELBv2's limit of listeners per load balancer. */
export const maxListeners = 50;
const defaultSslPolicy = 'ELBSecurityPolicy-TLS13-1-2-2021-06';
/** Seconds between looks while targets register or drain (ELBv2 health checks run every 5 s at the fastest). */
const recheckSeconds = 15;

/** Errors AWS will repeat however often it is asked: reported, not retried. */
const terminalErrors = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'InvalidConfigurationRequestException',
  'InvalidSubnetException',
  'SubnetNotFoundException',
  'InvalidSecurityGroupException',
  'InvalidSchemeException',
  'CertificateNotFoundException',
  'UnsupportedProtocolException',
  'IncompatibleProtocolsException',
  'SSLPolicyNotFoundException',
  'TooManyLoadBalancersException',
  'TooManyTargetGroupsException',
  'TooManyListenersException',
  'TooManyRulesException',
  'TooManyCertificatesException',
  'ValidationError',
]);

export function asConfigurationError(error: unknown): unknown {
  if (error instanceof Error && terminalErrors.has(error.name)) {
    return new LoadBalancerConfigurationError(error.name.replace(/Exception$/, ''), `${error.name}: ${error.message}`, { cause: error });
  }
  return error;
}

export interface ServiceListener {
  readonly port: number;
  readonly protocol: 'HTTP' | 'HTTPS' | 'TCP' | 'UDP' | 'TCP_UDP' | 'TLS';
  readonly targetProtocol: TargetProtocol;
  /** The Service port behind it (the TCP one of a TCP_UDP pair). */
  readonly servicePort: ServicePort;
  readonly certificateArns: readonly string[];
}

export function loadBalancerKindOf(service: KubeObject): LoadBalancerKind {
  const type = service.metadata.annotations?.[annotation.type];
  return type === 'nlb' || type === 'external' || type === 'nlb-ip' ? 'network' : 'application';
}

export function schemeOf(annotations: Readonly<Record<string, string>>): Scheme {
  if (annotations[annotation.scheme] === 'internal' || annotations[annotation.internal] === 'true') return 'internal';
  return 'internet-facing';
}

/** The listeners a Service asks for, and what of it cannot be served (pure). */
export function planServiceListeners(service: KubeObject, kind: LoadBalancerKind): { listeners: ServiceListener[]; problems: LoadBalancerProblem[] } {
  const view = viewService(service);
  const annotations = service.metadata.annotations ?? {};
  const certificates = (annotations[annotation.sslCert] ?? '')
    .split(',')
    .map((arn) => arn.trim())
    .filter(Boolean);
  const sslPorts = (annotations[annotation.sslPorts] ?? '*')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const secure = (port: ServicePort) =>
    certificates.length > 0 && (sslPorts.includes('*') || sslPorts.includes(String(port.port)) || (port.name !== undefined && sslPorts.includes(port.name)));
  const problems: LoadBalancerProblem[] = [];
  const listeners: ServiceListener[] = [];
  const byPort = new Map<number, ServicePort[]>();
  for (const port of view.ports) byPort.set(port.port, [...(byPort.get(port.port) ?? []), port]);
  for (const [number, ports] of [...byPort].sort(([a], [b]) => a - b)) {
    const tcp = ports.find((p) => (p.protocol ?? 'TCP') === 'TCP');
    if (kind === 'application') {
      for (const port of ports.filter((p) => (p.protocol ?? 'TCP') !== 'TCP')) {
        problems.push({
          reason: 'UnsupportedProtocol',
          message: `port ${port.port}/${port.protocol}: an Application Load Balancer serves HTTP and HTTPS only (annotate ${annotation.type}: nlb for a Network Load Balancer)`,
        });
      }
      if (tcp) {
        const https = secure(tcp);
        listeners.push({
          port: number,
          protocol: https ? 'HTTPS' : 'HTTP',
          targetProtocol: 'HTTP',
          servicePort: tcp,
          certificateArns: https ? certificates : [],
        });
      }
      continue;
    }
    for (const port of ports.filter((p) => p.protocol === 'SCTP')) {
      problems.push({ reason: 'UnsupportedProtocol', message: `port ${port.port}/SCTP: a Network Load Balancer serves TCP, UDP and TLS only` });
    }
    const udp = ports.find((p) => p.protocol === 'UDP');
    if (tcp && udp) {
      listeners.push({ port: number, protocol: 'TCP_UDP', targetProtocol: 'TCP_UDP', servicePort: tcp, certificateArns: [] });
      if (secure(tcp)) problems.push({ reason: 'UnsupportedProtocol', message: `port ${number}: TLS cannot be combined with UDP on one port` });
    } else if (tcp) {
      const tls = secure(tcp);
      listeners.push({ port: number, protocol: tls ? 'TLS' : 'TCP', targetProtocol: 'TCP', servicePort: tcp, certificateArns: tls ? certificates : [] });
    } else if (udp) {
      listeners.push({ port: number, protocol: 'UDP', targetProtocol: 'UDP', servicePort: udp, certificateArns: [] });
    }
  }
  if (listeners.length > maxListeners) {
    problems.push({
      reason: 'TooManyListeners',
      message: `${listeners.length} ports: a load balancer has at most ${maxListeners} listeners; ports ${listeners
        .slice(maxListeners)
        .map((l) => l.port)
        .join(', ')} are not served`,
    });
    listeners.length = maxListeners;
  }
  if ((service.spec as { loadBalancerSourceRanges?: unknown[] } | undefined)?.loadBalancerSourceRanges?.length) {
    problems.push({ reason: 'UnsupportedField', message: 'spec.loadBalancerSourceRanges is not applied: the load balancer uses the cluster security group' });
  }
  return { listeners, problems };
}

/** Targets of one Service port: its serving pods at the pod port the Service port resolves to. */
export function desiredTargets(backends: readonly BackendPod[], portName: string): DesiredTarget[] {
  return backends.flatMap((pod) => {
    const port = pod.ports.get(portName);
    return pod.state === 'serving' && port !== undefined ? [{ uid: pod.uid, ip: pod.ip, port }] : [];
  });
}

/** The shared sweep: deletes every load balancer and target group of an owner but the ones to keep. True when nothing else is left. */
export async function sweepOwner(
  api: Elbv2,
  clusterName: string,
  owner: Owner,
  keep: {
    readonly loadBalancers?: ReadonlySet<string>;
    /** Load balancers kept by name: the one a reconcile is about to make, which a concurrent one may just have made. */
    readonly loadBalancerNames?: ReadonlySet<string>;
    readonly targetGroups?: ReadonlySet<string>;
  } = {},
): Promise<boolean> {
  const prefix = ownerPrefix(clusterName, owner);
  const loadBalancers = (await api.loadBalancersStartingWith(prefix)).filter(
    (lb) => !keep.loadBalancers?.has(lb.LoadBalancerArn ?? '') && !keep.loadBalancerNames?.has(lb.LoadBalancerName ?? ''),
  );
  const targetGroups = (await api.targetGroupsStartingWith(prefix)).filter((tg) => !keep.targetGroups?.has(tg.TargetGroupArn ?? ''));
  const arns = [...loadBalancers.map((lb) => lb.LoadBalancerArn ?? ''), ...targetGroups.map((tg) => tg.TargetGroupArn ?? '')].filter(Boolean);
  if (arns.length === 0) return true;
  const tags = await api.tags(arns);
  let done = true;
  for (const lb of loadBalancers) {
    const arn = lb.LoadBalancerArn ?? '';
    if (!ownedBy(tags.get(arn), clusterName, owner)) continue;
    await api.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn }));
    // Its listeners go with it; its target groups stay "in use" until that has happened.
    done = false;
  }
  for (const tg of targetGroups) {
    const arn = tg.TargetGroupArn ?? '';
    if (!ownedBy(tags.get(arn), clusterName, owner)) continue;
    if (!(await deleteTargetGroup(api, arn))) done = false;
  }
  return done;
}

/** Deletes a target group; false while a listener or rule still uses it (retried later). */
export async function deleteTargetGroup(api: Elbv2, arn: string): Promise<boolean> {
  try {
    await api.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn }));
    return true;
  } catch (error) {
    if (isNotFound(error)) return true;
    if (error instanceof Error && error.name === 'ResourceInUseException') return false;
    throw error;
  }
}

export async function deleteListener(api: Elbv2, arn: string): Promise<void> {
  try {
    await api.send(new DeleteListenerCommand({ ListenerArn: arn }));
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** The load balancer of that name if it is ours, undefined if there is none; throws when the name is someone else's. */
export async function ownedLoadBalancer(api: Elbv2, name: string, clusterName: string, owner: Owner): Promise<LoadBalancer | undefined> {
  const lb = await api.loadBalancerNamed(name);
  if (!lb?.LoadBalancerArn) return undefined;
  const tags = await api.tags([lb.LoadBalancerArn]);
  if (!ownedBy(tags.get(lb.LoadBalancerArn), clusterName, owner)) {
    throw new LoadBalancerConfigurationError(
      'LoadBalancerNameTaken',
      `a load balancer named ${name} exists and is not tagged as this cluster's for this object`,
    );
  }
  return lb;
}

/** The target group of that name if it is ours (one a crash left unattached), else undefined. */
export async function ownedTargetGroup(
  api: Elbv2,
  name: string,
  clusterName: string,
  owner: Owner,
  attached: readonly TargetGroup[],
): Promise<TargetGroup | undefined> {
  const known = attached.find((tg) => tg.TargetGroupName === name);
  if (known) return known;
  const found = await api.targetGroupNamed(name);
  if (!found?.TargetGroupArn) return undefined;
  const tags = await api.tags([found.TargetGroupArn]);
  if (!ownedBy(tags.get(found.TargetGroupArn), clusterName, owner)) {
    throw new LoadBalancerConfigurationError('TargetGroupNameTaken', `a target group named ${name} exists and is not tagged as this cluster's for this object`);
  }
  return found;
}

export interface CreateLoadBalancerInput {
  readonly name: string;
  readonly kind: LoadBalancerKind;
  readonly scheme: Scheme;
  readonly tags: ReturnType<typeof ownerTags>;
}

export async function createLoadBalancer(api: Elbv2, network: AlbNetwork, input: CreateLoadBalancerInput): Promise<LoadBalancer> {
  const subnets = input.scheme === 'internal' ? network.privateSubnets : network.publicSubnets;
  if (subnets.length === 0) {
    throw new LoadBalancerConfigurationError(
      'NoSubnets',
      `the cluster has no ${input.scheme === 'internal' ? 'private' : 'public'} subnets configured for ${input.scheme} load balancers`,
    );
  }
  const created = await api.send<{ LoadBalancers?: LoadBalancer[] }>(
    new CreateLoadBalancerCommand({
      Name: input.name,
      Type: input.kind,
      Scheme: input.scheme,
      IpAddressType: 'ipv4',
      Subnets: [...subnets],
      ...(network.securityGroups.length > 0 ? { SecurityGroups: [...network.securityGroups] } : {}),
      Tags: [...input.tags],
    }),
  );
  const lb = created.LoadBalancers?.[0];
  if (!lb?.LoadBalancerArn) throw new Error(`CreateLoadBalancer ${input.name} returned no load balancer`);
  return lb;
}

/**
 * Creates the load balancer; when a concurrent reconcile made it first (ELBv2 answers a create of
 * the same settings with the existing one, and `DuplicateLoadBalancerName` when they differ), uses
 * that one once its tags prove it ours.
 */
export async function createOrFindLoadBalancer(api: Elbv2, network: AlbNetwork, input: CreateLoadBalancerInput, owner: Owner): Promise<LoadBalancer> {
  try {
    return await createLoadBalancer(api, network, input);
  } catch (error) {
    if (!(error instanceof Error && error.name === 'DuplicateLoadBalancerNameException')) throw error;
    const found = await ownedLoadBalancer(api, input.name, network.clusterName, owner);
    if (!found) throw error;
    return found;
  }
}

function sameCertificates(listener: Listener, arns: readonly string[]): boolean {
  const current = (listener.Certificates ?? []).map((c) => c.CertificateArn).filter(Boolean);
  return arns.length === 0 ? current.length === 0 : current[0] === arns[0];
}

export function createAlbLoadBalancers(options: AlbProviderOptions): LoadBalancers {
  const api = elbv2(options.client, options.retry);
  const cluster = options.clusterName;
  const ownerOf = (service: KubeObject): Owner => ({ kind: 'service', namespace: service.metadata.namespace ?? 'default', name: service.metadata.name ?? '' });

  async function ensure(service: KubeObject, backends: readonly BackendPod[]): Promise<EnsuredLoadBalancer> {
    const owner = ownerOf(service);
    const annotations = service.metadata.annotations ?? {};
    const kind = loadBalancerKindOf(service);
    const scheme = schemeOf(annotations);
    const { listeners: wanted, problems } = planServiceListeners(service, kind);
    if (wanted.length === 0) {
      await remove(service);
      return {
        ingress: [],
        targets: new Map(),
        problems: [...problems, { reason: 'NoServablePorts', message: 'no port of the Service can be served by the load balancer' }],
      };
    }
    const name = loadBalancerName(cluster, owner, kind, scheme);
    let lb = await ownedLoadBalancer(api, name, cluster, owner);
    if (!lb) {
      // A load balancer of another type or scheme (the annotations changed), or leftovers of an earlier Service of this name;
      // never the one of this name, which a concurrent reconcile (the resync beside the stream) may just have made.
      await sweepOwner(api, cluster, owner, { loadBalancerNames: new Set([name]) });
      lb = await createOrFindLoadBalancer(api, options, { name, kind, scheme, tags: ownerTags(cluster, owner, 'LoadBalancer') }, owner);
    }
    const lbArn = lb.LoadBalancerArn as string;
    const listeners = await api.listenersOf(lbArn);
    const attached = await api.targetGroupsOf(lbArn);
    const podOfIp = new Map(backends.map((b) => [b.ip, b.uid]));
    const targets = new Map<string, TargetState>();
    const keepListeners = new Set<string>();
    const keepGroups = new Set<string>();
    const attributes = targetGroupAttributes(annotations[annotation.targetGroupAttributes]);
    for (const listener of wanted) {
      const portName = listener.servicePort.name ?? '';
      const resource = `${listener.port}/${listener.protocol}`;
      const groupName = targetGroupName(cluster, owner, resource);
      const targetPort = typeof listener.servicePort.targetPort === 'number' ? listener.servicePort.targetPort : undefined;
      const existing = await ownedTargetGroup(api, groupName, cluster, owner, attached);
      const groupArn = await ensureTargetGroup(
        api,
        {
          name: groupName,
          protocol: listener.targetProtocol,
          port: targetPort ?? listener.servicePort.port,
          healthCheck: healthCheckFor(
            kind,
            probeForPort(backends, portName),
            targetPort ?? backends.find((b) => b.ports.has(portName))?.ports.get(portName),
            annotations,
            serviceHealthCheckAnnotations,
          ),
          attributes,
          tags: ownerTags(cluster, owner, resource),
        },
        options.vpcId,
        existing,
      );
      keepGroups.add(groupArn);
      const current = listeners.find((l) => l.Port === listener.port);
      const secure = listener.certificateArns.length > 0;
      const defaultActions = [{ Type: 'forward' as const, TargetGroupArn: groupArn }];
      if (!current?.ListenerArn) {
        const created = await api.send<{ Listeners?: Listener[] }>(
          new CreateListenerCommand({
            LoadBalancerArn: lbArn,
            Port: listener.port,
            Protocol: listener.protocol,
            DefaultActions: defaultActions,
            ...(secure
              ? { Certificates: [{ CertificateArn: listener.certificateArns[0] }], SslPolicy: annotations[annotation.sslPolicy] ?? defaultSslPolicy }
              : {}),
            Tags: ownerTags(cluster, owner, resource),
          }),
        );
        keepListeners.add(created.Listeners?.[0]?.ListenerArn ?? '');
      } else {
        keepListeners.add(current.ListenerArn);
        const forwardsTo = current.DefaultActions?.[0]?.TargetGroupArn;
        if (current.Protocol !== listener.protocol || forwardsTo !== groupArn || !sameCertificates(current, listener.certificateArns)) {
          await api.send(
            new ModifyListenerCommand({
              ListenerArn: current.ListenerArn,
              Port: listener.port,
              Protocol: listener.protocol,
              DefaultActions: defaultActions,
              ...(secure
                ? { Certificates: [{ CertificateArn: listener.certificateArns[0] }], SslPolicy: annotations[annotation.sslPolicy] ?? defaultSslPolicy }
                : {}),
            }),
          );
        }
      }
      mergeStates(targets, await syncTargets(api, groupArn, desiredTargets(backends, portName), podOfIp));
    }
    // Ports the Service no longer has: their listeners first, then the target groups they used.
    let removed = false;
    for (const listener of listeners) {
      if (listener.ListenerArn && !keepListeners.has(listener.ListenerArn)) {
        await deleteListener(api, listener.ListenerArn);
        removed = true;
      }
    }
    for (const group of attached) {
      if (group.TargetGroupArn && !keepGroups.has(group.TargetGroupArn)) await deleteTargetGroup(api, group.TargetGroupArn);
    }
    // A crash between deleting a listener and its target group leaves the group unattached: find it by tags.
    if (removed) await sweepOwner(api, cluster, owner, { loadBalancers: new Set([lbArn]), targetGroups: keepGroups });
    const settling = [...targets.values()].some((state) => state !== 'healthy');
    return {
      ingress: lb.DNSName ? [{ hostname: lb.DNSName }] : [],
      targets,
      problems,
      ...(settling ? { recheckAfterSeconds: recheckSeconds } : {}),
    };
  }

  async function remove(service: KubeObject): Promise<boolean> {
    return sweepOwner(api, cluster, ownerOf(service));
  }

  return {
    provider: 'alb',
    async ensure(service, backends) {
      try {
        return await ensure(service, backends);
      } catch (error) {
        throw asConfigurationError(error);
      }
    },
    async remove(service) {
      try {
        return await remove(service);
      } catch (error) {
        throw asConfigurationError(error);
      }
    },
  };
}
