/**
 * The watch channel's server core (docs/adr/073): what `$connect`, `$disconnect` and each client
 * message do, whoever hosts it (API Gateway's WebSocket API and a Lambda on AWS, the local
 * host's `ws` server locally). Changes committed later reach subscribers through the fan-out
 * (fan-out.ts); this core registers subscriptions and sends each one what it missed.
 *
 * A subscription is registered before its catch-up reads the change log, and the fan-out reads
 * registrations after the change it fans out was committed: every change is sent at least once
 * — by the catch-up, or by the fan-out, or by both (the client drops what it already has, by
 * resourceVersion). The catch-up ends at the first BOOKMARK of its watch: everything up to that
 * version was sent, and the client's `synced` position is where it resumes after a reconnect.
 */

import type { KubeObject } from '../../schemas/meta.ts';
import { findType, types } from '../../schemas/registry.ts';
import { channelTypes, clientMessage, type NodeStatsMessage, type RenewLeaseMessage, type SubscribeMessage } from '../../schemas/watch-channel.ts';
import {
  ApiError,
  BadRequestError,
  ConflictError,
  ForbiddenError,
  GoneError,
  MethodNotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
  toStatus,
} from '../core/errors.ts';
import { bearerToken, type TokenAuthenticator } from '../domain/authentication/token-authenticators.ts';
import { type Authorizer, requireAccess, resourceAttributes } from '../domain/authorization/authorizer.ts';
import { nodeNameOf, type UserInfo } from '../domain/authorization/user-info.ts';
import { type StatsSummary, statsSummarySchema } from '../domain/metrics/node-stats.ts';
import { type Log, silentLog } from '../logging/log.ts';
import type { ObjectStore } from '../store/store.ts';
import type { ChannelRegistry } from './channel-registry.ts';
import { type ConnectionPoster, GoneConnectionError } from './connection-poster.ts';
import { errorMessage, eventMessage, syncedMessage } from './event-messages.ts';

export interface ChannelDependencies {
  readonly registry: ChannelRegistry;
  /** The store Lease renewals write through. */
  readonly store: ObjectStore;
  /** A store whose watches send a BOOKMARK as soon as they have caught up (the catch-up ends there). */
  readonly catchUpStore: Pick<ObjectStore, 'watch'>;
  /** The API's authenticators, chained (docs/adr/120): bearer token → user. */
  readonly authenticate: TokenAuthenticator;
  /**
   * The API's authorizer: a subscription is allowed as the list/watch of the same resource with
   * the same selectors would be (a node watches its own pods), a Lease renewal as its update.
   */
  readonly authorizer: Authorizer;
  readonly now?: () => Date;
  readonly log?: Log;
  /** A catch-up that has not reached its end by then is given up: the client lists again. @default 20000 (API Gateway waits 29 s for a route) */
  readonly catchUpDeadlineMs?: number;
  /** Where the nodes' figures are kept (docs/adr/193); without it a `nodeStats` message is answered 503. */
  readonly nodeStats?: { record(nodeName: string, summary: StatsSummary): Promise<void> };
}

export interface Channel {
  /** `$connect`: 200 lets the connection open, 401 refuses it. */
  connect(connectionId: string, headers: Readonly<Record<string, string | undefined>>): Promise<{ readonly statusCode: number }>;
  /** `$disconnect`. */
  disconnect(connectionId: string): Promise<void>;
  /** A message from the client; answers go out through `poster`. */
  receive(connectionId: string, body: string, poster: ConnectionPoster): Promise<void>;
}

const channelTypeIds = new Set<string>(channelTypes.map((type) => type.id));
const nodeLeaseNamespace = 'kube-node-lease';

/** Kubernetes' MicroTime, as a Lease's renewTime carries it. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function createChannel(deps: ChannelDependencies): Channel {
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? silentLog;
  const deadlineMs = deps.catchUpDeadlineMs ?? 20_000;
  /** Users of connections this container has seen: a connection's user never changes. */
  const users = new Map<string, UserInfo>();
  /** The Lease each node last renewed through this container: a renewal then needs no read. */
  const leases = new Map<string, KubeObject>();

  async function userOf(connectionId: string): Promise<UserInfo | undefined> {
    const known = users.get(connectionId);
    if (known) return known;
    const connection = await deps.registry.connection(connectionId);
    if (connection) {
      if (users.size > 10_000) users.delete(users.keys().next().value ?? '');
      users.set(connectionId, connection.user);
    }
    return connection?.user;
  }

  async function send(poster: ConnectionPoster, connectionId: string, message: string): Promise<void> {
    await poster.post(connectionId, message);
  }

  async function subscribe(connectionId: string, user: UserInfo, message: SubscribeMessage, poster: ConnectionPoster): Promise<void> {
    const type = findType(message.group, message.version, message.resource);
    if (!type) throw new NotFoundError({ resource: message.resource, group: message.group, name: '' }, 'the server could not find the requested resource');
    if (!channelTypeIds.has(type.id)) {
      throw new MethodNotAllowedError(
        `${type.plural} are not served over the watch channel (only ${channelTypes.map((t) => t.plural).join(', ')}); watch them through the API`,
      );
    }
    await requireAccess(
      deps.authorizer,
      resourceAttributes(user, {
        verb: 'watch',
        resource: type.plural,
        apiGroup: type.group,
        apiVersion: type.version,
        namespace: type.namespaced ? (message.namespace ?? '') : '',
        ...(message.fieldSelector ? { fieldSelector: message.fieldSelector } : {}),
        ...(message.labelSelector ? { labelSelector: message.labelSelector } : {}),
      }),
    );
    const selectors = {
      ...(message.namespace ? { namespace: message.namespace } : {}),
      ...(message.labelSelector ? { labelSelector: message.labelSelector } : {}),
      ...(message.fieldSelector ? { fieldSelector: message.fieldSelector } : {}),
    };
    const registered = await deps.registry.subscribe({ connectionId, id: message.id, typeId: type.id, ...selectors });
    if (!registered) return;

    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), deadlineMs);
    try {
      for await (const event of deps.catchUpStore.watch(type, {
        ...selectors,
        resourceVersion: message.resourceVersion,
        allowBookmarks: true,
        signal: abort.signal,
      })) {
        if (event.type === 'BOOKMARK') {
          await send(poster, connectionId, syncedMessage(message.id, event.object.metadata.resourceVersion ?? message.resourceVersion));
          return;
        }
        await send(poster, connectionId, eventMessage(message.id, event, { catchUp: true }));
      }
      throw new GoneError('the catch-up did not finish in time; list again');
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
  }

  async function renewLease(user: UserInfo, message: RenewLeaseMessage): Promise<void> {
    await requireAccess(
      deps.authorizer,
      resourceAttributes(user, {
        verb: 'update',
        resource: types.leases.plural,
        apiGroup: types.leases.group,
        apiVersion: types.leases.version,
        namespace: nodeLeaseNamespace,
        name: message.nodeName,
      }),
    );
    for (let attempt = 0; attempt < 3; attempt++) {
      const lease = leases.get(message.nodeName) ?? (await deps.store.get(types.leases, nodeLeaseNamespace, message.nodeName));
      const spec = (lease.spec ?? {}) as { leaseDurationSeconds?: number };
      const renewed: KubeObject = {
        ...lease,
        spec: {
          ...spec,
          holderIdentity: message.nodeName,
          leaseDurationSeconds: message.leaseDurationSeconds ?? spec.leaseDurationSeconds ?? 40,
          renewTime: microTime(now()),
        },
      };
      try {
        const stored = await deps.store.update(types.leases, renewed);
        if (leases.size > 10_000) leases.delete(leases.keys().next().value ?? '');
        leases.set(message.nodeName, stored);
        return;
      } catch (error) {
        leases.delete(message.nodeName);
        // Someone else wrote the Lease (the agent over REST, another container): read it again.
        if (!(error instanceof ConflictError) && !(error instanceof NotFoundError)) throw error;
        if (error instanceof NotFoundError && attempt > 0) throw error;
      }
    }
    throw new ConflictError({ resource: 'leases', group: 'coordination.k8s.io', name: message.nodeName }, 'the lease kept changing; renew it again');
  }

  /**
   * A node's figures: allowed as the update of its Node's status would be, and only for its own
   * Node when the sender is a node (NodeRestriction's rule for node status); kept as sent.
   */
  async function nodeStats(user: UserInfo, message: NodeStatsMessage): Promise<void> {
    await requireAccess(
      deps.authorizer,
      resourceAttributes(user, { verb: 'update', resource: 'nodes', subresource: 'status', apiVersion: 'v1', name: message.nodeName }),
    );
    const sender = nodeNameOf(user);
    if (sender !== undefined && sender !== message.nodeName) throw new ForbiddenError(`node "${sender}" is not allowed to modify node "${message.nodeName}"`);
    const parsed = statsSummarySchema.safeParse(message.summary);
    if (!parsed.success) {
      throw new BadRequestError(`invalid nodeStats message: ${parsed.error.issues.map((i) => `summary.${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    if (parsed.data.node.nodeName !== message.nodeName) {
      throw new BadRequestError(`invalid nodeStats message: summary.node.nodeName "${parsed.data.node.nodeName}" is not the node "${message.nodeName}"`);
    }
    if (!deps.nodeStats) throw new ServiceUnavailableError('this channel does not keep node figures');
    await deps.nodeStats.record(message.nodeName, parsed.data);
  }

  return {
    async connect(connectionId, headers) {
      const token = bearerToken(headers.authorization);
      const user = token ? await deps.authenticate(token) : undefined;
      if (!user) return { statusCode: 401 };
      await deps.registry.addConnection({ connectionId, user, connectedAt: now().getTime() });
      users.set(connectionId, user);
      return { statusCode: 200 };
    },

    async disconnect(connectionId) {
      users.delete(connectionId);
      await deps.registry.removeConnection(connectionId);
    },

    async receive(connectionId, body, poster) {
      let id: string | undefined;
      try {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          throw new BadRequestError('a channel message is a JSON object');
        }
        const result = clientMessage.safeParse(parsed);
        if (!result.success) {
          const action = typeof parsed === 'object' && parsed !== null ? (parsed as { action?: unknown }).action : undefined;
          throw new BadRequestError(
            `invalid ${typeof action === 'string' ? `${action} ` : ''}message: ${result.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ')}`,
          );
        }
        const message = result.data;
        if (message.action === 'ping') return;
        if (message.action === 'subscribe' || message.action === 'unsubscribe') id = message.id;
        const user = await userOf(connectionId);
        // The connection was forgotten (expired, or $disconnect raced this message): nothing to answer.
        if (!user) return;
        switch (message.action) {
          case 'subscribe':
            return await subscribe(connectionId, user, message, poster);
          case 'unsubscribe':
            return await deps.registry.unsubscribe(connectionId, message.id);
          case 'renewLease':
            id = `lease/${message.nodeName}`;
            return await renewLease(user, message);
          case 'nodeStats':
            id = `stats/${message.nodeName}`;
            return await nodeStats(user, message);
        }
      } catch (error) {
        if (error instanceof GoneConnectionError) {
          users.delete(connectionId);
          await deps.registry.removeConnection(connectionId);
          return;
        }
        if (!(error instanceof ApiError) || error.code >= 500)
          log.error('channel message failed', { connectionId, error: error instanceof Error ? error.stack : String(error) });
        try {
          await poster.post(connectionId, errorMessage(toStatus(error), id));
        } catch (postError) {
          if (!(postError instanceof GoneConnectionError)) throw postError;
          await deps.registry.removeConnection(connectionId);
        }
      }
    },
  };
}
