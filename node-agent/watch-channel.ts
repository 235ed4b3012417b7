/**
 * The agent's end of the watch channel (docs/adr/073): one WebSocket to the cluster (API
 * Gateway's WebSocket API on AWS, the local host's stand-in locally) carrying every list+watch of
 * the agent instead of long-held REST watches. For each subscription the agent lists over REST,
 * subscribes from the list's resourceVersion, applies the catch-up and then the pushed changes;
 * after any reconnect (API Gateway ends connections after 2 hours, idle ones after 10 minutes) it
 * subscribes again from where it had got to, and relists when the server answers 410.
 *
 * Events are applied at most once per object version: one that is not newer than what the agent
 * already has for that object (a catch-up overlapping pushed changes, a batch the fan-out
 * delivered again) is dropped. Changes pushed during a catch-up wait until it is done, so the
 * agent sees what a REST watch from the same resourceVersion would see, in the same order.
 */
import WebSocket from 'ws';
import type { Log } from '../functions/logging/log.ts';
import type { KubeObject } from '../schemas/meta.ts';
import type { ResourceType } from '../schemas/registry.ts';
import { type ClientMessage, channelTypes, type EventMessage, maxFrameBytes, maxMessageBytes, serverMessage } from '../schemas/watch-channel.ts';
import { isNotFound, KubeApiError, type ListOptions, type ListWatchHandlers, type ObjectList, type WatchEvent } from './kube-api.ts';
import type { StatsSummary } from './metrics/resource-usage.ts';

export interface WatchChannelOptions {
  readonly url: string;
  readonly caPem?: string;
  /** The bearer token for the handshake (the same as the API's). */
  readonly token: () => Promise<string | undefined>;
  /** The REST calls the channel needs: the list it starts from, and objects too large for a message. */
  readonly rest: {
    list<T extends KubeObject>(type: ResourceType, options: ListOptions): Promise<ObjectList<T>>;
    get<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string): Promise<T>;
  };
  /** Send a ping after this long without sending anything (API Gateway closes idle connections after 10 minutes). @default 300000 */
  readonly pingIntervalMs?: number;
  readonly log?: Log;
  /** A renewLease the server refused (the Lease is gone, say): the agent renews over REST next time. */
  readonly onLeaseError?: (nodeName: string, error: KubeApiError) => void;
}

interface Subscription {
  readonly id: string;
  readonly type: ResourceType;
  readonly options: ListOptions;
  readonly handlers: ListWatchHandlers<KubeObject>;
  /** Where the agent resumes: everything up to here has been applied. Undefined: list first. */
  cursor?: string;
  /** The server's catch-up for the current connection is done. */
  synced: boolean;
  /** Listing over REST now: events that arrive meanwhile are left to the catch-up. */
  listing: boolean;
  /** The newest version applied since the last subscribe. */
  newest?: string;
  /** Changes pushed while the catch-up runs, applied after it. */
  pushed: EventMessage[];
  /** The version applied per object (`namespace/name`); deletions are kept as tombstones. */
  readonly applied: Map<string, string>;
  retry?: NodeJS.Timeout;
}

const served = new Set<string>(channelTypes.map((type) => type.id));

/** Version order of one type: numbers compare as numbers; anything else only as different. */
export function isNewer(candidate: string | undefined, current: string | undefined): boolean {
  if (current === undefined) return true;
  if (candidate === undefined) return false;
  if (/^\d+$/.test(candidate) && /^\d+$/.test(current)) return BigInt(candidate) > BigInt(current);
  return candidate !== current;
}

const keyOf = (object: KubeObject): string => `${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`;

export class WatchChannel {
  private socket: WebSocket | undefined;
  private readonly subscriptions = new Map<string, Subscription>();
  private sequence = 0;
  private closed = false;
  private failures = 0;
  /** When the current connection opened, and whether every subscription has caught up on it. */
  private openedAt = 0;
  private caughtUp = false;
  private lastSent = 0;
  private connecting: Promise<void> | undefined;
  private readonly pinger: NodeJS.Timeout;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Messages received and applied, for the agent's log and the tests. */
  readonly stats = { connects: 0, eventsApplied: 0, eventsDropped: 0, relists: 0, resubscribes: 0, reconnectDelayMs: 0 };

  constructor(private readonly options: WatchChannelOptions) {
    const pingIntervalMs = options.pingIntervalMs ?? 300_000;
    this.pinger = setInterval(
      () => {
        if (Date.now() - this.lastSent >= pingIntervalMs) this.send({ action: 'ping' });
      },
      Math.min(pingIntervalMs, 60_000),
    );
    this.pinger.unref();
  }

  /** Whether the channel serves this type (others are watched over REST). */
  static serves(type: ResourceType): boolean {
    return served.has(type.id);
  }

  get open(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** list+watch over the channel until `signal` aborts; handlers as for KubeClient.listAndWatch. */
  async listAndWatch<T extends KubeObject>(type: ResourceType, options: ListOptions, handlers: ListWatchHandlers<T>, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const id = `${type.plural}-${++this.sequence}`;
    const subscription: Subscription = {
      id,
      type,
      options,
      handlers: handlers as unknown as ListWatchHandlers<KubeObject>,
      synced: false,
      listing: false,
      applied: new Map(),
      pushed: [],
    };
    this.subscriptions.set(id, subscription);
    this.ensureConnected();
    if (this.open) void this.start(subscription);
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    clearTimeout(subscription.retry);
    this.subscriptions.delete(id);
    this.send({ action: 'unsubscribe', id });
  }

  /** Renews a node's Lease over the channel; false when the channel is not open (renew over REST). */
  renewLease(nodeName: string, leaseDurationSeconds: number): boolean {
    if (!this.open) return false;
    return this.send({ action: 'renewLease', nodeName, leaseDurationSeconds });
  }

  /**
   * Sends the node's resource figures (docs/adr/193); false when the channel is not open or the
   * message would be larger than API Gateway takes (128 KB). A message over one frame's 32 KB
   * goes in several frames of one message, as API Gateway's WebSocket API requires.
   */
  sendNodeStats(nodeName: string, summary: StatsSummary): boolean {
    if (!this.open || !this.socket) return false;
    const text = JSON.stringify({ action: 'nodeStats', nodeName, summary } satisfies ClientMessage);
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length > maxMessageBytes) {
      this.options.log?.warn('node figures too large for one channel message: not sent', { bytes: bytes.length });
      return false;
    }
    for (let offset = 0; offset < bytes.length; offset += maxFrameBytes) {
      const last = offset + maxFrameBytes >= bytes.length;
      this.socket.send(bytes.subarray(offset, offset + maxFrameBytes), { binary: false, fin: last });
    }
    this.lastSent = Date.now();
    return true;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.pinger);
    clearTimeout(this.reconnectTimer);
    for (const subscription of this.subscriptions.values()) clearTimeout(subscription.retry);
    this.socket?.terminate();
  }

  private send(message: ClientMessage): boolean {
    if (!this.open || !this.socket) return false;
    this.socket.send(JSON.stringify(message));
    this.lastSent = Date.now();
    return true;
  }

  private ensureConnected(): void {
    if (this.closed || this.socket || this.connecting) return;
    this.connecting = this.connect().finally(() => {
      this.connecting = undefined;
    });
  }

  private async connect(): Promise<void> {
    let token: string | undefined;
    try {
      token = await this.options.token();
    } catch (error) {
      this.options.log?.warn('no token for the watch channel', { error: String(error) });
      this.scheduleReconnect();
      return;
    }
    if (this.closed) return;
    const socket = new WebSocket(this.options.url, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(this.options.caPem ? { ca: this.options.caPem } : {}),
      handshakeTimeout: 15_000,
      maxPayload: 256 * 1024,
    });
    this.socket = socket;
    socket.on('open', () => {
      this.stats.connects++;
      this.lastSent = Date.now();
      this.options.log?.info('watch channel connected', { url: this.options.url });
      const opened = Date.now();
      this.openedAt = opened;
      this.caughtUp = false;
      socket.once('close', () => {
        // A connection that lasted is not a failure; one that drops at once backs off (unless it
        // caught up first: see receive).
        if (Date.now() - opened > 10_000) this.failures = 0;
      });
      for (const subscription of this.subscriptions.values()) void this.start(subscription);
    });
    socket.on('message', (data) => this.receive(data.toString()));
    socket.on('unexpected-response', (_request, response) => {
      this.options.log?.warn('watch channel refused the connection', { status: response.statusCode });
      socket.terminate();
    });
    socket.on('error', (error) => this.options.log?.warn('watch channel error', { error: String(error) }));
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
      for (const subscription of this.subscriptions.values()) {
        subscription.synced = false;
        subscription.pushed = [];
        clearTimeout(subscription.retry);
      }
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.closed || this.subscriptions.size === 0) return;
    this.failures++;
    const delay = Math.min(30_000, 250 * 2 ** Math.min(this.failures - 1, 7)) * (0.5 + Math.random() / 2);
    this.stats.reconnectDelayMs = delay;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.ensureConnected(), delay);
  }

  /** Lists (when there is no cursor) and subscribes from the cursor. */
  private async start(subscription: Subscription): Promise<void> {
    clearTimeout(subscription.retry);
    subscription.synced = false;
    subscription.newest = undefined;
    subscription.pushed = [];
    if (subscription.cursor === undefined) {
      subscription.listing = true;
      try {
        const list = await this.options.rest.list(subscription.type, subscription.options);
        if (!this.subscriptions.has(subscription.id)) return;
        subscription.applied.clear();
        for (const item of list.items) subscription.applied.set(keyOf(item), item.metadata.resourceVersion ?? '');
        subscription.cursor = list.metadata.resourceVersion ?? '0';
        subscription.handlers.onList(list.items, subscription.cursor);
      } catch (error) {
        subscription.handlers.onError?.(error);
        this.retryLater(subscription);
        return;
      } finally {
        subscription.listing = false;
      }
    } else {
      this.stats.resubscribes++;
    }
    const { group, version, plural } = subscription.type;
    const sent = this.send({
      action: 'subscribe',
      id: subscription.id,
      group,
      version,
      resource: plural,
      ...(subscription.options.namespace ? { namespace: subscription.options.namespace } : {}),
      ...(subscription.options.labelSelector ? { labelSelector: subscription.options.labelSelector } : {}),
      ...(subscription.options.fieldSelector ? { fieldSelector: subscription.options.fieldSelector } : {}),
      resourceVersion: subscription.cursor,
    });
    // Not connected: the next open subscribes again.
    if (!sent) return;
  }

  private retryLater(subscription: Subscription, ms = 2000): void {
    clearTimeout(subscription.retry);
    subscription.retry = setTimeout(() => {
      if (this.open && this.subscriptions.has(subscription.id)) void this.start(subscription);
    }, ms);
  }

  private receive(text: string): void {
    let message: ReturnType<typeof serverMessage.parse>;
    try {
      message = serverMessage.parse(JSON.parse(text));
    } catch (error) {
      this.options.log?.warn('unreadable watch channel message', { error: String(error) });
      return;
    }
    if (message.type === 'error') {
      const status = message.status;
      const error = new KubeApiError(status.code, status.reason ?? 'Unknown', status.message ?? 'watch channel error');
      if (message.id?.startsWith('lease/')) {
        this.options.onLeaseError?.(message.id.slice('lease/'.length), error);
        return;
      }
      const subscription = message.id ? this.subscriptions.get(message.id) : undefined;
      if (!subscription) {
        this.options.log?.warn('watch channel error', { id: message.id, code: status.code, message: status.message });
        return;
      }
      if (status.code === 410) {
        // The change log no longer reaches back to the cursor: list again.
        this.stats.relists++;
        subscription.cursor = undefined;
        void this.start(subscription);
        return;
      }
      subscription.handlers.onError?.(error);
      this.retryLater(subscription, 10_000);
      return;
    }
    const subscription = this.subscriptions.get(message.id);
    if (!subscription || subscription.listing) return;
    if (message.type === 'synced') {
      // The server took the subscription and answered it in full: this connection works, so the
      // next cut reconnects at once rather than after a back-off grown by earlier cuts (as
      // client-go's reflector backs off only from a watch that ended without delivering anything).
      this.failures = 0;
      // What was pushed meanwhile comes after the catch-up, in the order it was pushed.
      const pushed = subscription.pushed;
      subscription.pushed = [];
      for (const event of pushed) this.applyMessage(subscription, event);
      subscription.synced = true;
      // Resume from the catch-up's end, a version the store vouches for (everything up to it is
      // committed and was sent), never from a pushed change: the store hands out revisions before
      // it commits them (docs/adr/004), so a change pushed at version N does not mean every
      // change below N has been committed yet. What a later catch-up sends again is dropped
      // by the per-object versions.
      if (isNewer(message.resourceVersion, subscription.cursor)) subscription.cursor = message.resourceVersion;
      if (!this.caughtUp && [...this.subscriptions.values()].every((s) => s.synced)) {
        this.caughtUp = true;
        this.options.log?.info('watch channel caught up', { subscriptions: this.subscriptions.size, ms: Date.now() - this.openedAt });
      }
      return;
    }
    if (!subscription.synced && !message.catchUp) {
      subscription.pushed.push(message);
      return;
    }
    this.applyMessage(subscription, message);
  }

  private applyMessage(subscription: Subscription, message: EventMessage): void {
    const { event } = message;
    if (event.object) {
      this.apply(subscription, { type: event.type, object: event.object });
      return;
    }
    // Too large for a message: fetch it.
    const ref = message.ref;
    if (!ref) return;
    this.options.rest.get(subscription.type, ref.namespace, ref.name).then(
      (object) => this.apply(subscription, { type: event.type === 'ADDED' ? 'ADDED' : 'MODIFIED', object }),
      (error: unknown) => {
        // Gone since: its deletion comes as an event of its own.
        if (!isNotFound(error)) subscription.handlers.onError?.(error);
      },
    );
  }

  private apply(subscription: Subscription, event: WatchEvent<KubeObject>): void {
    const key = keyOf(event.object);
    const version = event.object.metadata.resourceVersion;
    if (!isNewer(version, subscription.applied.get(key))) {
      this.stats.eventsDropped++;
      return;
    }
    subscription.applied.set(key, version ?? '');
    if (isNewer(version, subscription.newest)) subscription.newest = version;
    this.stats.eventsApplied++;
    subscription.handlers.onEvent(event);
  }
}
