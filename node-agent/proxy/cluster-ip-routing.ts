/**
 * Keeps the node's nftables table in step with the cluster's Services and EndpointSlices
 * (docs/adr/137): every change rewrites the whole table in one `nft -f` transaction, so a
 * connection never sees half a rule set. Changes that come together are applied once.
 */
import { spawn } from 'node:child_process';
import type { Log } from '../../functions/logging/log.ts';
import type { KubeObject } from '../../schemas/meta.ts';
import { types } from '../../schemas/registry.ts';
import { clusterIpRuleset, type RuleTarget, routedServices } from './cluster-ip-rules.ts';
import type { ServiceProxySource } from './service-proxy.ts';

/** How long after an address leaves this node's rules the other nodes' rules are given to follow. */
export const routingSettleMs = 1000;

export interface ClusterIpRoutingOptions extends RuleTarget {
  readonly client: ServiceProxySource;
  readonly nft: string;
  readonly log?: Log;
}

export interface ClusterIpRouting {
  /** Resolves once a rule set built from complete lists of both kinds is in the kernel. */
  readonly ready: Promise<void>;
  /** How many times the table was written. */
  applied(): number;
  /**
   * Until when a pod leaving the rules should keep serving: while its address is an endpoint in
   * the table, a moment from now (to look again); once it left, `settleMs` after it left, for the
   * other nodes' tables that apply the same change; undefined after that or if it never was one.
   */
  holdFor(ip: string, nowMs: number): number | undefined;
  stop(): Promise<void>;
}

export function applyNftScript(nft: string, script: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(nft, ['-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`nft -f failed (${code}): ${stderr.trim()}`))));
    child.stdin.end(script);
  });
}

function keyOf(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`;
}

export function startClusterIpRouting(options: ClusterIpRoutingOptions): ClusterIpRouting {
  const abort = new AbortController();
  const services = new Map<string, KubeObject>();
  const slices = new Map<string, KubeObject>();
  const listed = { services: false, slices: false };
  let writes = 0;
  let routed = new Set<string>();
  const leftAt = new Map<string, number>();
  let dirty = false;
  let running: Promise<void> | undefined;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolvePromise) => {
    markReady = resolvePromise;
  });
  const apply = async () => {
    while (dirty && !abort.signal.aborted) {
      dirty = false;
      const routes = routedServices(services.values(), slices.values());
      const script = clusterIpRuleset(options, routes);
      try {
        await applyNftScript(options.nft, script);
        writes += 1;
        const now = Date.now();
        const next = new Set(routes.flatMap((service) => service.ports.flatMap((port) => port.endpoints.map((endpoint) => endpoint.ip))));
        for (const ip of routed) if (!next.has(ip)) leftAt.set(ip, now);
        for (const ip of next) leftAt.delete(ip);
        for (const [ip, at] of leftAt) if (now - at > 10 * routingSettleMs) leftAt.delete(ip);
        routed = next;
        if (listed.services && listed.slices) markReady();
      } catch (error) {
        options.log?.warn('ClusterIP rules not applied', { error: error instanceof Error ? error.message : String(error) });
      }
    }
  };
  const changed = () => {
    if (!listed.services || !listed.slices) return;
    dirty = true;
    if (running) return;
    running = new Promise<void>((resolvePromise) => setImmediate(resolvePromise)).then(apply).finally(() => {
      running = undefined;
      if (dirty) changed();
    });
  };
  const handlers = (objects: Map<string, KubeObject>, kind: keyof typeof listed) => ({
    onList(items: readonly KubeObject[]) {
      objects.clear();
      for (const item of items) objects.set(keyOf(item), item);
      listed[kind] = true;
      changed();
    },
    onEvent(event: { readonly type: string; readonly object: KubeObject }) {
      if (event.type === 'DELETED') objects.delete(keyOf(event.object));
      else if (event.type === 'ADDED' || event.type === 'MODIFIED') objects.set(keyOf(event.object), event.object);
      else return;
      changed();
    },
    onError: (error: unknown) => options.log?.warn('ClusterIP routing watch error', { error: error instanceof Error ? error.message : String(error) }),
  });
  const loops = [
    options.client.listAndWatch(types.services, {}, handlers(services, 'services'), abort.signal),
    options.client.listAndWatch(types.endpointslices, {}, handlers(slices, 'slices'), abort.signal),
  ].map((loop) => loop.catch(() => undefined));
  return {
    ready,
    applied: () => writes,
    holdFor(ip, nowMs) {
      if (routed.has(ip)) return nowMs + 200;
      const left = leftAt.get(ip);
      return left !== undefined && nowMs < left + routingSettleMs ? left + routingSettleMs : undefined;
    },
    async stop() {
      abort.abort();
      await Promise.all(loops);
      await running;
    },
  };
}
