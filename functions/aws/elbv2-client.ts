/**
 * The ELBv2 API as the providers use it: every call retried when AWS throttles (with capped,
 * jittered exponential back-off, as AWS's retry guidance describes), "not found" turned into
 * `undefined` where absence is an answer, paged describes gathered, tags read 20 resources at a
 * time (DescribeTags' limit). The SDK client is injected: tests mock it with aws-sdk-client-mock,
 * and `AWS_ENDPOINT_URL` points it at LocalStack or another endpoint.
 */
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
  type Listener,
  type LoadBalancer,
  type Rule,
  type TagDescription,
  type TargetGroup,
  type TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';

export interface RetryPolicy {
  /** Attempts in all, the first included. @default 8 */
  readonly attempts?: number;
  /** @default 200 */
  readonly baseDelayMs?: number;
  /** @default 5000 */
  readonly maxDelayMs?: number;
  /** Injected for tests. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Injected for tests. @default Math.random */
  readonly random?: () => number;
}

const throttlingNames = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'PriorRequestNotComplete',
  'PriorRequestNotCompleteException',
]);

export function isThrottling(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const meta = error as Error & { $metadata?: { httpStatusCode?: number }; $retryable?: { throttling?: boolean } };
  return throttlingNames.has(error.name) || meta.$retryable?.throttling === true || meta.$metadata?.httpStatusCode === 429;
}

/** True for the "it does not exist" errors of ELBv2: a resource already gone counts as deleted. */
export function isNotFound(error: unknown): boolean {
  return (
    error instanceof Error &&
    [
      'LoadBalancerNotFoundException',
      'TargetGroupNotFoundException',
      'ListenerNotFoundException',
      'RuleNotFoundException',
      'CertificateNotFoundException',
    ].includes(error.name)
  );
}

/** Any command of the ELBv2 client (the SDK's own union type is too narrow to name them all). */
type Sendable = { readonly input: object };

export interface Elbv2 {
  /** Sends one command, retrying throttling. */
  send<T>(command: Sendable): Promise<T>;
  /** The load balancer of that name, or undefined. */
  loadBalancerNamed(name: string): Promise<LoadBalancer | undefined>;
  /** The target group of that name, or undefined. */
  targetGroupNamed(name: string): Promise<TargetGroup | undefined>;
  /** Every load balancer of the account and region whose name starts with `prefix`. */
  loadBalancersStartingWith(prefix: string): Promise<LoadBalancer[]>;
  /** Every target group of the account and region whose name starts with `prefix`. */
  targetGroupsStartingWith(prefix: string): Promise<TargetGroup[]>;
  targetGroupsOf(loadBalancerArn: string): Promise<TargetGroup[]>;
  listenersOf(loadBalancerArn: string): Promise<Listener[]>;
  rulesOf(listenerArn: string): Promise<Rule[]>;
  targetHealth(targetGroupArn: string): Promise<TargetHealthDescription[]>;
  /** Tags by ARN, read 20 at a time. */
  tags(arns: readonly string[]): Promise<Map<string, TagDescription['Tags']>>;
}

export function elbv2(client: ElasticLoadBalancingV2Client, retry: RetryPolicy = {}): Elbv2 {
  const attempts = retry.attempts ?? 8;
  const base = retry.baseDelayMs ?? 200;
  const cap = retry.maxDelayMs ?? 5000;
  const sleep = retry.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = retry.random ?? Math.random;

  async function send<T>(command: Sendable): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await client.send(command as never)) as T;
      } catch (error) {
        if (!isThrottling(error) || attempt >= attempts) throw error;
        // "Full jitter": a random wait up to the doubled delay, so callers throttled together spread out.
        await sleep(Math.floor(random() * Math.min(cap, base * 2 ** (attempt - 1))));
      }
    }
  }

  async function orUndefined<T>(call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await call();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async function pages<T>(page: (marker: string | undefined) => Promise<{ items: T[]; next?: string }>): Promise<T[]> {
    const all: T[] = [];
    let marker: string | undefined;
    do {
      const result = await page(marker);
      all.push(...result.items);
      marker = result.next;
    } while (marker);
    return all;
  }

  return {
    send,
    async loadBalancerNamed(name) {
      const found = await orUndefined(() => send<{ LoadBalancers?: LoadBalancer[] }>(new DescribeLoadBalancersCommand({ Names: [name] })));
      return found?.LoadBalancers?.[0];
    },
    async targetGroupNamed(name) {
      const found = await orUndefined(() => send<{ TargetGroups?: TargetGroup[] }>(new DescribeTargetGroupsCommand({ Names: [name] })));
      return found?.TargetGroups?.[0];
    },
    async loadBalancersStartingWith(prefix) {
      const all = await pages(async (Marker) => {
        const out = await send<{ LoadBalancers?: LoadBalancer[]; NextMarker?: string }>(
          new DescribeLoadBalancersCommand({ PageSize: 400, ...(Marker ? { Marker } : {}) }),
        );
        return { items: out.LoadBalancers ?? [], ...(out.NextMarker ? { next: out.NextMarker } : {}) };
      });
      return all.filter((lb) => lb.LoadBalancerName?.startsWith(prefix));
    },
    async targetGroupsStartingWith(prefix) {
      const all = await pages(async (Marker) => {
        const out = await send<{ TargetGroups?: TargetGroup[]; NextMarker?: string }>(
          new DescribeTargetGroupsCommand({ PageSize: 400, ...(Marker ? { Marker } : {}) }),
        );
        return { items: out.TargetGroups ?? [], ...(out.NextMarker ? { next: out.NextMarker } : {}) };
      });
      return all.filter((tg) => tg.TargetGroupName?.startsWith(prefix));
    },
    async targetGroupsOf(loadBalancerArn) {
      const out = await orUndefined(() => send<{ TargetGroups?: TargetGroup[] }>(new DescribeTargetGroupsCommand({ LoadBalancerArn: loadBalancerArn })));
      return out?.TargetGroups ?? [];
    },
    async listenersOf(loadBalancerArn) {
      return pages(async (Marker) => {
        const out = await send<{ Listeners?: Listener[]; NextMarker?: string }>(
          new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn, ...(Marker ? { Marker } : {}) }),
        );
        return { items: out.Listeners ?? [], ...(out.NextMarker ? { next: out.NextMarker } : {}) };
      });
    },
    async rulesOf(listenerArn) {
      return pages(async (Marker) => {
        const out = await send<{ Rules?: Rule[]; NextMarker?: string }>(
          new DescribeRulesCommand({ ListenerArn: listenerArn, PageSize: 400, ...(Marker ? { Marker } : {}) }),
        );
        return { items: out.Rules ?? [], ...(out.NextMarker ? { next: out.NextMarker } : {}) };
      });
    },
    async targetHealth(targetGroupArn) {
      const out = await orUndefined(() =>
        send<{ TargetHealthDescriptions?: TargetHealthDescription[] }>(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn })),
      );
      return out?.TargetHealthDescriptions ?? [];
    },
    async tags(arns) {
      const result = new Map<string, TagDescription['Tags']>();
      for (let i = 0; i < arns.length; i += 20) {
        const chunk = arns.slice(i, i + 20);
        const out = await orUndefined(() => send<{ TagDescriptions?: TagDescription[] }>(new DescribeTagsCommand({ ResourceArns: chunk })));
        for (const description of out?.TagDescriptions ?? []) if (description.ResourceArn) result.set(description.ResourceArn, description.Tags ?? []);
      }
      return result;
    },
  };
}
