/**
 * The agent's side of docs/adr/170. It writes on its own Node the EndpointSlices and Endpoints
 * revisions its proxies have applied (one merge patch at a time, the newest when it is sent),
 * follows the cluster's Nodes, and tells the pod worker how long a terminating pod must keep
 * serving: until every Ready node's proxies have applied the revisions at which this node's let
 * the pod go. `routing-release.ts` decides.
 */
import type { Log } from '../../functions/logging/log.ts';
import type { KubeObject } from '../../schemas/meta.ts';
import { types } from '../../schemas/registry.ts';
import { appliedAnnotations, type NodeLike, type PeerState, peerState, type Revisions, routingRelease } from './routing-release.ts';
import type { ServiceProxySource } from './service-proxy.ts';

export interface RoutingPeersClient extends ServiceProxySource {
  patch(type: (typeof types)['nodes'], namespace: undefined, name: string, patchType: 'merge', body: unknown): Promise<KubeObject>;
}

export interface RoutingPeersOptions {
  readonly client: RoutingPeersClient;
  readonly nodeName: string;
  /** This node's proxies: `routes` while they may still send the address new connections, else what they have applied. */
  readonly here: (ip: string) => 'routes' | Revisions;
  /** What this node's proxies have applied now. */
  readonly applied: () => Revisions;
  /** How often a held pod is looked at again (in memory, nothing is asked). @default 100 */
  readonly recheckMs?: number;
  /** How long after a failed write of the annotations it is tried again. @default 1000 */
  readonly retryMs?: number;
  readonly log?: Log;
}

export interface RoutingPeers {
  /** Resolves once the Node says this node routes (revisions 0 at first), before its proxies start. */
  readonly started: Promise<void>;
  /** The proxies applied something new: write it on the Node (coalesced). */
  publish(): void;
  /**
   * Until when a terminating pod with this address should keep serving (ms since the epoch): a
   * moment from now while some Ready node's proxies may still route to it; undefined once none
   * may, or at `deadlineMs`.
   */
  holdFor(ip: string, nowMs: number, deadlineMs: number): number | undefined;
  stop(): Promise<void>;
}

interface Held {
  readonly sinceMs: number;
  /** The revisions at which this node's proxies had let the address go, noted the first time they had. */
  threshold?: Revisions;
  /** When this node's proxies were first seen to have let it go. */
  releasedHereMs?: number;
  lastUsedMs: number;
}

const same = (a: Revisions | undefined, b: Revisions) => a !== undefined && a.slices === b.slices && a.endpoints === b.endpoints;

export function startRoutingPeers(options: RoutingPeersOptions): RoutingPeers {
  const abort = new AbortController();
  const recheckMs = options.recheckMs ?? 100;
  const retryMs = options.retryMs ?? 1000;
  const peers = new Map<string, PeerState>();
  const held = new Map<string, Held>();

  let published: Revisions | undefined;
  let writing: Promise<void> | undefined;
  let retry: NodeJS.Timeout | undefined;
  const write = async (revisions: Revisions) => {
    await options.client.patch(types.nodes, undefined, options.nodeName, 'merge', { metadata: { annotations: appliedAnnotations(revisions) } });
    published = revisions;
  };
  function publish() {
    if (writing || abort.signal.aborted) return;
    const next = options.applied();
    if (same(published, next)) return;
    writing = write(next)
      .catch((error: unknown) => {
        options.log?.warn('applied revisions not written on the Node', { error: error instanceof Error ? error.message : String(error) });
        clearTimeout(retry);
        retry = setTimeout(publish, retryMs);
        retry.unref();
      })
      .finally(() => {
        writing = undefined;
        // What was applied while the write was on its way goes in the next one.
        if (!same(published, options.applied())) publish();
      });
  }
  // Before the proxies start: from here on this node holds terminating pods until it catches up.
  // Later writes wait for this one, so the Node never goes back to an older revision.
  const started = write({ slices: 0n, endpoints: 0n }).catch((error: unknown) => {
    options.log?.warn('applied revisions not written on the Node', { error: error instanceof Error ? error.message : String(error) });
  });
  writing = started.finally(() => {
    writing = undefined;
    publish();
  });

  const loop = options.client
    .listAndWatch(
      types.nodes,
      {},
      {
        onList(items) {
          peers.clear();
          for (const item of items) {
            const peer = peerState(item as NodeLike);
            if (peer && peer.node !== options.nodeName) peers.set(peer.node, peer);
          }
        },
        onEvent(event) {
          const name = event.object.metadata.name;
          if (!name || name === options.nodeName) return;
          if (event.type === 'DELETED') peers.delete(name);
          else if (event.type === 'ADDED' || event.type === 'MODIFIED') {
            const peer = peerState(event.object as NodeLike);
            if (peer) peers.set(name, peer);
          }
        },
        onError: (error: unknown) => options.log?.warn('node watch error', { error: error instanceof Error ? error.message : String(error) }),
      },
      abort.signal,
    )
    .catch(() => undefined);

  return {
    started,
    publish,
    holdFor(ip, nowMs, deadlineMs) {
      for (const [key, state] of held) if (nowMs - state.lastUsedMs > 60_000) held.delete(key);
      let state = held.get(ip);
      if (!state) {
        state = { sinceMs: nowMs, lastUsedMs: nowMs };
        held.set(ip, state);
      }
      state.lastUsedMs = nowMs;
      if (!state.threshold) {
        const here = options.here(ip);
        if (here !== 'routes') {
          state.threshold = here;
          state.releasedHereMs = nowMs;
        }
      }
      const decision = routingRelease({ nowMs, deadlineMs, here: state.threshold ?? 'routes', peers: [...peers.values()] });
      if (decision.release) {
        held.delete(ip);
        const fields = {
          podIP: ip,
          waitedMs: nowMs - state.sinceMs,
          // What the other nodes took after this one: where the old hold gave them a fixed second.
          afterThisNodeMs: state.releasedHereMs === undefined ? undefined : nowMs - state.releasedHereMs,
          nodes: [...peers.values()].filter((peer) => peer.ready).length + 1,
        };
        if (decision.reason === 'deadline') options.log?.warn('a terminating pod was let go at its deadline while proxies may still route to it', fields);
        else if (fields.waitedMs > 0) options.log?.info('every proxy has let a terminating pod go', fields);
        return undefined;
      }
      return Math.min(nowMs + recheckMs, deadlineMs);
    },
    async stop() {
      abort.abort();
      clearTimeout(retry);
      await Promise.all([loop, started, writing]);
    },
  };
}
