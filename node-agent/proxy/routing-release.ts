/**
 * When every node's proxies have let a terminating pod go (docs/adr/170). Each node agent that
 * routes Service traffic to pod addresses (namespace mode: its ClusterIP rules and its NodePort
 * proxy) writes on its own Node the revisions of EndpointSlices and Endpoints its proxies have
 * applied. A terminating pod's agent notes the revisions at which its own proxies stopped routing
 * to the pod, and lets the pod's containers be signalled once every Ready node has applied at
 * least those: a node's proxies then follow a state in which the pod is no longer a ready
 * endpoint, and a terminating pod never becomes one again. Checked, not timed, never past the
 * pod's deletion deadline. Pure: `routing-peers.ts` gathers what it needs.
 */

/** The annotations on a Node with the revisions its proxies have applied (decimal strings). */
export const appliedSlicesAnnotation = 'proxy.skiff.io/endpointslices-applied';
export const appliedEndpointsAnnotation = 'proxy.skiff.io/endpoints-applied';

/** Revisions of the two kinds the proxies follow: EndpointSlices (ClusterIP rules), Endpoints (NodePort proxy). */
export interface Revisions {
  readonly slices: bigint;
  readonly endpoints: bigint;
}

/** A resourceVersion as a number to compare; undefined when it is not a revision (empty, not decimal). */
export function revisionOf(resourceVersion: string | undefined | null): bigint | undefined {
  return resourceVersion && /^\d{1,30}$/.test(resourceVersion) ? BigInt(resourceVersion) : undefined;
}

export interface PeerState {
  readonly node: string;
  /** The Node's `Ready` condition is `True`: its agent renews its status, so its proxies run. */
  readonly ready: boolean;
  /**
   * What its proxies have applied, from its annotations; undefined when the Node has none: its
   * agent routes no Service traffic to pod addresses (sim or loopback runtime, or on AWS).
   */
  readonly applied?: Revisions;
}

export interface ReleaseInput {
  readonly nowMs: number;
  /** The pod's `deletionTimestamp` in ms: it is let go then whatever the proxies say. */
  readonly deadlineMs: number;
  /**
   * This node's own proxies: `routes` while its ClusterIP rules or NodePort proxy may still send
   * the address new connections; else the revisions at which they had let it go.
   */
  readonly here: 'routes' | Revisions;
  /** The other nodes of the cluster, as this agent last saw them. */
  readonly peers: readonly PeerState[];
}

export type ReleaseDecision =
  | { readonly release: true; readonly reason: 'released' | 'deadline' }
  | { readonly release: false; readonly waitingFor: readonly string[] };

/**
 * Let go once this node's proxies no longer route to the address and every Ready node that
 * routes Service traffic has applied the revisions at which this node let it go; or at the
 * deadline. A node that is not Ready holds nothing: its agent no longer renews its status, and
 * a dead node must not keep pods from stopping (ADR 092 marks it within 40 s).
 */
export function routingRelease(input: ReleaseInput): ReleaseDecision {
  if (input.nowMs >= input.deadlineMs) return { release: true, reason: 'deadline' };
  if (input.here === 'routes') return { release: false, waitingFor: ['this node'] };
  const wanted = input.here;
  const waitingFor = input.peers
    .filter((peer) => peer.ready && peer.applied && (peer.applied.slices < wanted.slices || peer.applied.endpoints < wanted.endpoints))
    .map((peer) => peer.node);
  return waitingFor.length === 0 ? { release: true, reason: 'released' } : { release: false, waitingFor };
}

export interface NodeLike {
  readonly metadata?: { readonly name?: string; readonly annotations?: Readonly<Record<string, string>> | null };
  readonly status?: { readonly conditions?: readonly { readonly type?: string; readonly status?: string }[] | null };
}

/** One Node as the decision sees it. */
export function peerState(node: NodeLike): PeerState | undefined {
  const name = node.metadata?.name;
  if (!name) return undefined;
  const ready = (node.status?.conditions ?? []).some((condition) => condition.type === 'Ready' && condition.status === 'True');
  const annotations = node.metadata?.annotations ?? {};
  const slicesRaw = annotations[appliedSlicesAnnotation];
  const endpointsRaw = annotations[appliedEndpointsAnnotation];
  if (slicesRaw === undefined && endpointsRaw === undefined) return { node: name, ready };
  // An annotation that is there but unreadable holds as a revision of 0: the node says it routes.
  return { node: name, ready, applied: { slices: revisionOf(slicesRaw) ?? 0n, endpoints: revisionOf(endpointsRaw) ?? 0n } };
}

/** The annotations a node writes on its Node for what its proxies have applied. */
export function appliedAnnotations(applied: Revisions): Record<string, string> {
  return { [appliedSlicesAnnotation]: applied.slices.toString(), [appliedEndpointsAnnotation]: applied.endpoints.toString() };
}
