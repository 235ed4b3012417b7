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
import { coalescedRewrites } from './coalesced-rewrites.ts';
import { revisionOf } from './routing-release.ts';
import type { ServiceProxySource } from './service-proxy.ts';

export interface ClusterIpRoutingOptions extends RuleTarget {
  readonly client: ServiceProxySource;
  readonly nft: string;
  readonly log?: Log;
  /** Called after each write of the table with the EndpointSlices revision it was built from. */
  readonly onApplied?: (slicesRevision: bigint) => void;
}

export interface ClusterIpRouting {
  /** Resolves once a rule set built from complete lists of both kinds is in the kernel. */
  readonly ready: Promise<void>;
  /** How many times the table was written. */
  applied(): number;
  /** Whether the table in the kernel sends new connections to this address (it is an endpoint there). */
  routes(ip: string): boolean;
  /**
   * The EndpointSlices revision the table in the kernel was built from: it follows every
   * EndpointSlice change up to it (docs/adr/170). 0 before the first write.
   */
  appliedRevision(): bigint;
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
  /** The newest EndpointSlices revision received (a list's, or a watch event's), and the one applied. */
  let slicesSeen = 0n;
  let slicesApplied = 0n;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolvePromise) => {
    markReady = resolvePromise;
  });
  const rewrites = coalescedRewrites(
    async () => {
      const builtFrom = slicesSeen;
      const routes = routedServices(services.values(), slices.values());
      const script = clusterIpRuleset(options, routes);
      try {
        await applyNftScript(options.nft, script);
        writes += 1;
        routed = new Set(routes.flatMap((service) => service.ports.flatMap((port) => port.endpoints.map((endpoint) => endpoint.ip))));
        if (builtFrom > slicesApplied) slicesApplied = builtFrom;
        options.onApplied?.(slicesApplied);
        if (listed.services && listed.slices) markReady();
      } catch (error) {
        options.log?.warn('ClusterIP rules not applied', { error: error instanceof Error ? error.message : String(error) });
      }
    },
    { signal: abort.signal, canStart: () => listed.services && listed.slices },
  );
  const changed = rewrites.request;
  // Revisions of one type only grow, and a watch delivers them in order: the table built after
  // the newest one received follows every change up to it.
  const saw = (kind: keyof typeof listed, resourceVersion: string | undefined) => {
    const revision = revisionOf(resourceVersion);
    if (kind === 'slices' && revision !== undefined && revision > slicesSeen) slicesSeen = revision;
  };
  const handlers = (objects: Map<string, KubeObject>, kind: keyof typeof listed) => ({
    onList(items: readonly KubeObject[], resourceVersion?: string) {
      objects.clear();
      for (const item of items) {
        objects.set(keyOf(item), item);
        saw(kind, item.metadata.resourceVersion);
      }
      saw(kind, resourceVersion);
      listed[kind] = true;
      changed();
    },
    onEvent(event: { readonly type: string; readonly object: KubeObject }) {
      saw(kind, event.object.metadata.resourceVersion);
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
    routes: (ip) => routed.has(ip),
    appliedRevision: () => slicesApplied,
    async stop() {
      abort.abort();
      await Promise.all(loops);
      await rewrites.current();
    },
  };
}
