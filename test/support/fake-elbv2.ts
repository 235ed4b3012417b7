/**
 * Elastic Load Balancing v2 as the `alb` providers see it, for tests (ELBv2 cannot run here): an
 * ElasticLoadBalancingV2Client whose calls are answered by aws-sdk-client-mock from a small
 * in-memory model that behaves as the API is documented to — names unique per region, load
 * balancers with a DNS name, listeners one per port, rules one per priority, target groups that
 * cannot be deleted while a listener or rule uses them (ResourceInUse), `ip` targets starting
 * `initial` and `draining` after deregistration, NotFound errors for what does not exist, paged
 * describes, tags, creates that answer the same settings with what exists. Every call stays recorded on `mock`, so tests assert the exact calls and their order.
 */
import {
  type Action,
  AddListenerCertificatesCommand,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteRuleCommand,
  DeleteTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeListenerCertificatesCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  DuplicateListenerException,
  DuplicateLoadBalancerNameException,
  DuplicateTargetGroupNameException,
  ElasticLoadBalancingV2Client,
  type Listener,
  ListenerNotFoundException,
  type LoadBalancer,
  LoadBalancerNotFoundException,
  ModifyListenerCommand,
  ModifyRuleCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  PriorityInUseException,
  RegisterTargetsCommand,
  RemoveListenerCertificatesCommand,
  ResourceInUseException,
  type Rule,
  RuleNotFoundException,
  type Tag,
  type TargetGroup,
  type TargetGroupAttribute,
  TargetGroupNotFoundException,
  TooManyRulesException,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';

interface FakeTarget {
  readonly id: string;
  readonly port: number;
  state: 'initial' | 'healthy' | 'unhealthy' | 'draining';
}

interface FakeGroup {
  group: TargetGroup;
  tags: Tag[];
  attributes: TargetGroupAttribute[];
  targets: FakeTarget[];
}

const meta = { $metadata: {} };

/** The network of the providers under test: cluster `prod`, two public and two private subnets, one security group. */
export const testNetwork = {
  clusterName: 'prod',
  vpcId: 'vpc-0abc',
  publicSubnets: ['subnet-pub-a', 'subnet-pub-b'],
  privateSubnets: ['subnet-priv-a', 'subnet-priv-b'],
  securityGroups: ['sg-lb'],
};

export class FakeElbv2 {
  readonly client = new ElasticLoadBalancingV2Client({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  readonly mock: AwsClientStub<ElasticLoadBalancingV2Client>;
  readonly loadBalancers = new Map<string, { lb: LoadBalancer; tags: Tag[]; subnets: string[] }>();
  readonly groups = new Map<string, FakeGroup>();
  readonly listeners = new Map<string, { listener: Listener; tags: Tag[]; certificates: string[] }>();
  readonly rules = new Map<string, { rule: Rule; listenerArn: string; tags: Tag[] }>();
  /** Rules an ALB may hold (ELBv2's quota, default rules not counted). */
  ruleLimit = 100;
  /** Errors the next calls of a command fail with (a crash, throttling), in order. */
  private readonly faults = new Map<string, Error[]>();
  private serial = 0;
  private readonly arnBase = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012';

  /**
   * @param everyClient mock every ElasticLoadBalancingV2Client the process makes (a Lambda
   * handler builds its own at import), not only `client`; call `restore()` after.
   */
  constructor(options: { everyClient?: boolean } = {}) {
    this.mock = options.everyClient ? mockClient(ElasticLoadBalancingV2Client) : mockClient(this.client);
    const m = this.mock;
    m.on(DescribeLoadBalancersCommand).callsFake(
      this.guard('DescribeLoadBalancers', (input) => {
        if (input.Names) {
          const found = [...this.loadBalancers.values()].filter((e) => input.Names?.includes(e.lb.LoadBalancerName ?? ''));
          if (found.length < input.Names.length) throw new LoadBalancerNotFoundException({ message: 'One or more load balancers not found', ...meta });
          return { LoadBalancers: found.map((e) => ({ ...e.lb })) };
        }
        return this.page(
          [...this.loadBalancers.values()].map((e) => ({ ...e.lb })),
          input.Marker,
          input.PageSize,
          'LoadBalancers',
        );
      }),
    );
    m.on(CreateLoadBalancerCommand).callsFake(
      this.guard('CreateLoadBalancer', (input) => {
        const same = [...this.loadBalancers.values()].find((e) => e.lb.LoadBalancerName === input.Name);
        if (same) {
          // Idempotent, as documented: the same settings answer with the existing load balancer.
          const settings = (lb: { Type?: string; Scheme?: string; subnets: readonly string[] }) =>
            JSON.stringify([lb.Type ?? 'application', lb.Scheme ?? 'internet-facing', [...lb.subnets].sort()]);
          if (settings({ ...input, subnets: input.Subnets ?? [] }) === settings({ ...same.lb, subnets: same.subnets }))
            return { LoadBalancers: [{ ...same.lb }] };
          throw new DuplicateLoadBalancerNameException({ message: 'A load balancer with the same name exists', ...meta });
        }
        const kind = input.Type === 'network' ? 'net' : 'app';
        const arn = `${this.arnBase}:loadbalancer/${kind}/${input.Name}/${this.id()}`;
        const lb: LoadBalancer = {
          LoadBalancerArn: arn,
          LoadBalancerName: input.Name,
          DNSName: `${input.Scheme === 'internal' ? 'internal-' : ''}${input.Name}-${this.id().slice(-6)}.eu-west-1.elb.amazonaws.com`,
          Type: input.Type ?? 'application',
          Scheme: input.Scheme ?? 'internet-facing',
          State: { Code: 'provisioning' },
          SecurityGroups: input.SecurityGroups ?? [],
        };
        this.loadBalancers.set(arn, { lb, tags: [...(input.Tags ?? [])], subnets: [...(input.Subnets ?? [])] });
        return { LoadBalancers: [{ ...lb }] };
      }),
    );
    m.on(DeleteLoadBalancerCommand).callsFake(
      this.guard('DeleteLoadBalancer', (input) => {
        const arn = input.LoadBalancerArn ?? '';
        // Deleting a load balancer that does not exist succeeds, as the API documents.
        for (const [listenerArn, entry] of [...this.listeners]) if (entry.listener.LoadBalancerArn === arn) this.dropListener(listenerArn);
        this.loadBalancers.delete(arn);
        return {};
      }),
    );
    m.on(DescribeTargetGroupsCommand).callsFake(
      this.guard('DescribeTargetGroups', (input) => {
        if (input.Names) {
          const found = [...this.groups.values()].filter((g) => input.Names?.includes(g.group.TargetGroupName ?? ''));
          if (found.length < input.Names.length) throw new TargetGroupNotFoundException({ message: 'One or more target groups not found', ...meta });
          return { TargetGroups: found.map((g) => this.describeGroup(g)) };
        }
        if (input.LoadBalancerArn) {
          if (!this.loadBalancers.has(input.LoadBalancerArn)) throw new LoadBalancerNotFoundException({ message: 'not found', ...meta });
          return {
            TargetGroups: [...this.groups.values()]
              .filter((g) => this.usersOf(g.group.TargetGroupArn ?? '').lb.has(input.LoadBalancerArn ?? ''))
              .map((g) => this.describeGroup(g)),
          };
        }
        return this.page(
          [...this.groups.values()].map((g) => this.describeGroup(g)),
          input.Marker,
          input.PageSize,
          'TargetGroups',
        );
      }),
    );
    m.on(CreateTargetGroupCommand).callsFake(
      this.guard('CreateTargetGroup', (input) => {
        const same = [...this.groups.values()].find((g) => g.group.TargetGroupName === input.Name);
        if (same) {
          // Idempotent, as documented: the same settings answer with the existing target group.
          const settings = (g: { Protocol?: string; Port?: number; VpcId?: string; TargetType?: string }) =>
            JSON.stringify([g.Protocol, g.Port, g.VpcId, g.TargetType ?? 'instance']);
          if (settings(input) === settings(same.group)) return { TargetGroups: [this.describeGroup(same)] };
          throw new DuplicateTargetGroupNameException({ message: 'A target group with the same name exists', ...meta });
        }
        const arn = `${this.arnBase}:targetgroup/${input.Name}/${this.id()}`;
        const { Tags, Name, ...rest } = input;
        this.groups.set(arn, { group: { ...rest, TargetGroupArn: arn, TargetGroupName: Name }, tags: [...(Tags ?? [])], attributes: [], targets: [] });
        return { TargetGroups: [{ ...rest, TargetGroupArn: arn, TargetGroupName: Name }] };
      }),
    );
    m.on(ModifyTargetGroupCommand).callsFake(
      this.guard('ModifyTargetGroup', (input) => {
        const group = this.group(input.TargetGroupArn);
        const { TargetGroupArn: _arn, ...changes } = input;
        group.group = { ...group.group, ...changes };
        return { TargetGroups: [this.describeGroup(group)] };
      }),
    );
    m.on(DescribeTargetGroupAttributesCommand).callsFake(
      this.guard('DescribeTargetGroupAttributes', (input) => ({ Attributes: [...this.group(input.TargetGroupArn).attributes] })),
    );
    m.on(ModifyTargetGroupAttributesCommand).callsFake(
      this.guard('ModifyTargetGroupAttributes', (input) => {
        const group = this.group(input.TargetGroupArn);
        for (const attribute of input.Attributes ?? []) {
          group.attributes = [...group.attributes.filter((a) => a.Key !== attribute.Key), attribute];
        }
        return { Attributes: group.attributes };
      }),
    );
    m.on(DeleteTargetGroupCommand).callsFake(
      this.guard('DeleteTargetGroup', (input) => {
        const arn = input.TargetGroupArn ?? '';
        this.group(arn);
        const users = this.usersOf(arn);
        if (users.listeners.size > 0)
          throw new ResourceInUseException({ message: `Target group '${arn}' is currently in use by a listener or a rule`, ...meta });
        this.groups.delete(arn);
        return {};
      }),
    );
    m.on(RegisterTargetsCommand).callsFake(
      this.guard('RegisterTargets', (input) => {
        const group = this.group(input.TargetGroupArn);
        for (const target of input.Targets ?? []) {
          const port = target.Port ?? group.group.Port ?? 0;
          const existing = group.targets.find((t) => t.id === target.Id && t.port === port);
          if (existing) {
            if (existing.state === 'draining') existing.state = 'initial';
          } else group.targets.push({ id: target.Id ?? '', port, state: 'initial' });
        }
        return {};
      }),
    );
    m.on(DeregisterTargetsCommand).callsFake(
      this.guard('DeregisterTargets', (input) => {
        const group = this.group(input.TargetGroupArn);
        for (const target of input.Targets ?? []) {
          const existing = group.targets.find((t) => t.id === target.Id && t.port === (target.Port ?? group.group.Port));
          if (existing) existing.state = 'draining';
        }
        return {};
      }),
    );
    m.on(DescribeTargetHealthCommand).callsFake(
      this.guard('DescribeTargetHealth', (input) => {
        const group = this.group(input.TargetGroupArn);
        return {
          TargetHealthDescriptions: group.targets.map((t) => ({
            Target: { Id: t.id, Port: t.port },
            HealthCheckPort: String(t.port),
            TargetHealth: { State: t.state, ...(t.state === 'initial' ? { Reason: 'Elb.RegistrationInProgress' } : {}) },
          })),
        };
      }),
    );
    m.on(DescribeListenersCommand).callsFake(
      this.guard('DescribeListeners', (input) => {
        if (!this.loadBalancers.has(input.LoadBalancerArn ?? '')) throw new LoadBalancerNotFoundException({ message: 'not found', ...meta });
        return {
          Listeners: [...this.listeners.values()].filter((l) => l.listener.LoadBalancerArn === input.LoadBalancerArn).map((l) => this.describeListener(l)),
        };
      }),
    );
    m.on(CreateListenerCommand).callsFake(
      this.guard('CreateListener', (input) => {
        const lb = this.loadBalancers.get(input.LoadBalancerArn ?? '');
        if (!lb) throw new LoadBalancerNotFoundException({ message: 'not found', ...meta });
        if ([...this.listeners.values()].some((l) => l.listener.LoadBalancerArn === input.LoadBalancerArn && l.listener.Port === input.Port)) {
          throw new DuplicateListenerException({ message: 'A listener already exists on this port', ...meta });
        }
        for (const action of input.DefaultActions ?? []) if (action.TargetGroupArn) this.group(action.TargetGroupArn);
        const kind = lb.lb.Type === 'network' ? 'net' : 'app';
        const arn = `${this.arnBase}:listener/${kind}/${lb.lb.LoadBalancerName}/${this.id()}/${this.id()}`;
        const { Tags, Certificates, ...rest } = input;
        const entry = {
          listener: { ...rest, ListenerArn: arn },
          tags: [...(Tags ?? [])],
          certificates: (Certificates ?? []).map((c: { CertificateArn?: string }) => c.CertificateArn ?? ''),
        };
        this.listeners.set(arn, entry);
        return { Listeners: [this.describeListener(entry)] };
      }),
    );
    m.on(ModifyListenerCommand).callsFake(
      this.guard('ModifyListener', (input) => {
        const entry = this.listener(input.ListenerArn);
        const { ListenerArn: _arn, Certificates, ...changes } = input;
        entry.listener = { ...entry.listener, ...changes };
        if (Certificates)
          entry.certificates = [(Certificates[0] as { CertificateArn?: string } | undefined)?.CertificateArn ?? '', ...entry.certificates.slice(1)];
        return { Listeners: [this.describeListener(entry)] };
      }),
    );
    m.on(DeleteListenerCommand).callsFake(
      this.guard('DeleteListener', (input) => {
        this.listener(input.ListenerArn);
        this.dropListener(input.ListenerArn ?? '');
        return {};
      }),
    );
    m.on(DescribeListenerCertificatesCommand).callsFake(
      this.guard('DescribeListenerCertificates', (input) => {
        const entry = this.listener(input.ListenerArn);
        return { Certificates: entry.certificates.map((arn, i) => ({ CertificateArn: arn, IsDefault: i === 0 })) };
      }),
    );
    m.on(AddListenerCertificatesCommand).callsFake(
      this.guard('AddListenerCertificates', (input) => {
        const entry = this.listener(input.ListenerArn);
        for (const c of input.Certificates ?? []) if (!entry.certificates.includes(c.CertificateArn ?? '')) entry.certificates.push(c.CertificateArn ?? '');
        return { Certificates: input.Certificates };
      }),
    );
    m.on(RemoveListenerCertificatesCommand).callsFake(
      this.guard('RemoveListenerCertificates', (input) => {
        const entry = this.listener(input.ListenerArn);
        entry.certificates = entry.certificates.filter(
          (arn, i) => i === 0 || !(input.Certificates ?? []).some((c: { CertificateArn?: string }) => c.CertificateArn === arn),
        );
        return {};
      }),
    );
    m.on(DescribeRulesCommand).callsFake(
      this.guard('DescribeRules', (input) => {
        const entry = this.listener(input.ListenerArn);
        const own = [...this.rules.values()].filter((r) => r.listenerArn === input.ListenerArn).map((r) => ({ ...r.rule }));
        const all: Rule[] = [
          ...own,
          {
            RuleArn: `${entry.listener.ListenerArn}/default`,
            Priority: 'default',
            IsDefault: true,
            Conditions: [],
            Actions: entry.listener.DefaultActions ?? [],
          },
        ];
        return this.page(all, input.Marker, input.PageSize, 'Rules');
      }),
    );
    m.on(CreateRuleCommand).callsFake(
      this.guard('CreateRule', (input) => {
        const entry = this.listener(input.ListenerArn);
        const lbArn = entry.listener.LoadBalancerArn;
        if ([...this.rules.values()].some((r) => r.listenerArn === input.ListenerArn && r.rule.Priority === String(input.Priority))) {
          throw new PriorityInUseException({ message: 'Priority is in use', ...meta });
        }
        const onLb = [...this.rules.values()].filter((r) => this.listeners.get(r.listenerArn)?.listener.LoadBalancerArn === lbArn).length;
        if (onLb >= this.ruleLimit) throw new TooManyRulesException({ message: 'You have reached the maximum number of rules per load balancer', ...meta });
        for (const action of input.Actions ?? []) if (action.TargetGroupArn) this.group(action.TargetGroupArn);
        const arn = `${this.arnBase}:listener-rule/app/${this.id()}`;
        const rule: Rule = {
          RuleArn: arn,
          Priority: String(input.Priority),
          Conditions: input.Conditions ?? [],
          Actions: input.Actions ?? [],
          IsDefault: false,
        };
        this.rules.set(arn, { rule, listenerArn: input.ListenerArn ?? '', tags: [...(input.Tags ?? [])] });
        return { Rules: [{ ...rule }] };
      }),
    );
    m.on(ModifyRuleCommand).callsFake(
      this.guard('ModifyRule', (input) => {
        const entry = this.rules.get(input.RuleArn ?? '');
        if (!entry) throw new RuleNotFoundException({ message: 'not found', ...meta });
        entry.rule = { ...entry.rule, ...(input.Conditions ? { Conditions: input.Conditions } : {}), ...(input.Actions ? { Actions: input.Actions } : {}) };
        return { Rules: [{ ...entry.rule }] };
      }),
    );
    m.on(DeleteRuleCommand).callsFake(
      this.guard('DeleteRule', (input) => {
        if (!this.rules.delete(input.RuleArn ?? '')) throw new RuleNotFoundException({ message: 'not found', ...meta });
        return {};
      }),
    );
    m.on(DescribeTagsCommand).callsFake(
      this.guard('DescribeTags', (input) => {
        if ((input.ResourceArns ?? []).length > 20) throw Object.assign(new Error('ResourceArns has more than 20 entries'), { name: 'ValidationError' });
        return {
          TagDescriptions: (input.ResourceArns ?? []).flatMap((arn: string) => {
            const tags = this.loadBalancers.get(arn)?.tags ?? this.groups.get(arn)?.tags ?? this.listeners.get(arn)?.tags ?? this.rules.get(arn)?.tags;
            return tags ? [{ ResourceArn: arn, Tags: tags }] : [];
          }),
        };
      }),
    );
  }

  /** The next `errors.length` calls of `command` (`CreateListener`...) fail with these errors, before touching anything. */
  failNext(command: string, ...errors: Error[]): void {
    this.faults.set(command, [...(this.faults.get(command) ?? []), ...errors]);
  }

  /** A handler that first fails with the errors `failNext` queued for its command. */
  private guard<I, O>(command: string, handler: (input: I) => O): (input: I) => O {
    return (input) => {
      const error = this.faults.get(command)?.shift();
      if (error) throw error;
      return handler(input);
    };
  }

  /** The names of the commands sent, in order. */
  calls(): string[] {
    return this.mock.calls().map((call) => (call.args[0] as { constructor: { name: string } }).constructor.name.replace(/Command$/, ''));
  }

  /** The inputs of every call of one command, in order. */
  inputs<T = Record<string, unknown>>(command: { name: string }): T[] {
    return this.mock
      .calls()
      .filter((call) => (call.args[0] as { constructor: { name: string } }).constructor.name === command.name)
      .map((call) => (call.args[0] as unknown as { input: T }).input);
  }

  reset(): void {
    this.mock.resetHistory();
  }

  /** Gives the client (or every client) its real `send` back. */
  restore(): void {
    this.mock.restore();
  }

  groupNamed(name: string): FakeGroup | undefined {
    return [...this.groups.values()].find((g) => g.group.TargetGroupName === name);
  }

  /** Sets the health of targets (all of a group, or those on `ip`). */
  setHealth(groupArn: string, state: FakeTarget['state'], ip?: string): void {
    for (const target of this.group(groupArn).targets) if ((!ip || target.id === ip) && target.state !== 'draining') target.state = state;
  }

  /** Every target group's draining targets finish their deregistration delay and go. */
  finishDraining(): void {
    for (const group of this.groups.values()) group.targets = group.targets.filter((t) => t.state !== 'draining');
  }

  targetsOf(groupArn: string): { id: string; port: number; state: string }[] {
    return this.group(groupArn).targets.map((t) => ({ ...t }));
  }

  rulesOf(listenerArn: string): Rule[] {
    return [...this.rules.values()]
      .filter((r) => r.listenerArn === listenerArn)
      .map((r) => r.rule)
      .sort((a, b) => Number(a.Priority) - Number(b.Priority));
  }

  listenersOf(lbArn: string): Listener[] {
    return [...this.listeners.values()].filter((l) => l.listener.LoadBalancerArn === lbArn).map((l) => l.listener);
  }

  /** Total resources of every kind: a clean account has none. */
  resourceCount(): number {
    return this.loadBalancers.size + this.groups.size + this.listeners.size + this.rules.size;
  }

  private id(): string {
    this.serial += 1;
    return this.serial.toString(16).padStart(16, '0');
  }

  private page<T, K extends string>(items: T[], marker: string | undefined, pageSize: number | undefined, key: K): Record<K, T[]> & { NextMarker?: string } {
    const start = marker ? Number(marker) : 0;
    const size = pageSize ?? 400;
    const slice = items.slice(start, start + size);
    const next = start + size < items.length ? String(start + size) : undefined;
    return { [key]: slice, ...(next ? { NextMarker: next } : {}) } as Record<K, T[]> & { NextMarker?: string };
  }

  private group(arn: string | undefined): FakeGroup {
    const group = this.groups.get(arn ?? '');
    if (!group) throw new TargetGroupNotFoundException({ message: `Target groups '${arn}' not found`, ...meta });
    return group;
  }

  private listener(arn: string | undefined) {
    const entry = this.listeners.get(arn ?? '');
    if (!entry) throw new ListenerNotFoundException({ message: 'One or more listeners not found', ...meta });
    return entry;
  }

  private dropListener(arn: string): void {
    this.listeners.delete(arn);
    for (const [ruleArn, rule] of [...this.rules]) if (rule.listenerArn === arn) this.rules.delete(ruleArn);
  }

  /** Listeners and load balancers whose actions forward to a group. */
  private usersOf(groupArn: string): { listeners: Set<string>; lb: Set<string> } {
    const listeners = new Set<string>();
    const lb = new Set<string>();
    const forwards = (actions: readonly Action[] | undefined) => (actions ?? []).some((a) => a.TargetGroupArn === groupArn);
    for (const [arn, entry] of this.listeners) {
      const viaRule = [...this.rules.values()].some((r) => r.listenerArn === arn && forwards(r.rule.Actions));
      if (forwards(entry.listener.DefaultActions) || viaRule) {
        listeners.add(arn);
        lb.add(entry.listener.LoadBalancerArn ?? '');
      }
    }
    return { listeners, lb };
  }

  private describeGroup(group: FakeGroup): TargetGroup {
    return { ...group.group, LoadBalancerArns: [...this.usersOf(group.group.TargetGroupArn ?? '').lb] };
  }

  private describeListener(entry: { listener: Listener; certificates: string[] }): Listener {
    return { ...entry.listener, ...(entry.certificates[0] ? { Certificates: [{ CertificateArn: entry.certificates[0] }] } : {}) };
  }
}
