/**
 * The watch channel's wire protocol (docs/adr/073): JSON text messages over one WebSocket per
 * node agent — API Gateway's WebSocket API on AWS, the local host's `ws` server locally. The
 * agent lists over REST, then subscribes here from the list's resourceVersion; the server sends
 * what changed since (the catch-up), then `synced`, then every change as it is committed.
 *
 * Client → server (API Gateway routes on `action`):
 *   { action: 'subscribe', id, group, version, resource, namespace?, labelSelector?, fieldSelector?, resourceVersion }
 *   { action: 'unsubscribe', id }
 *   { action: 'renewLease', nodeName, leaseDurationSeconds? }      the node's heartbeat (docs/adr/074)
 *   { action: 'ping' }                                            keeps an otherwise quiet connection open
 *   { action: 'nodeStats', nodeName, summary }                     the node's resource figures, on AWS (docs/adr/193)
 * Server → client:
 *   { type: 'event', id, event: { type, object }, catchUp? }      a watch event, as a REST watch sends it
 *   { type: 'event', id, event: { type, object: null }, ref }      one too large for a message: GET it
 *   { type: 'synced', id, resourceVersion }                       the catch-up is done: everything up to here was sent
 *
 * Catch-up events (`catchUp: true`) come in order; changes pushed as they are committed may
 * arrive during the catch-up too, some of them already in it. The client applies the catch-up,
 * then what was pushed meanwhile, dropping what it already has (by resourceVersion): it sees
 * what a REST watch from the same resourceVersion would, in the same order.
 *   { type: 'error', id?, status }                                a Kubernetes Status (410: list again)
 */
import { z } from 'zod';
import type { KubeObject } from './meta.ts';
import { types } from './registry.ts';

/** API Gateway's limit on one WebSocket message; a larger event travels as a reference. */
export const maxMessageBytes = 128 * 1024;
/** API Gateway's limit on one WebSocket frame: a larger message from a client goes in several frames. */
export const maxFrameBytes = 32 * 1024;

/**
 * The types agents follow over the channel: their pods, and what the Service proxy needs. Other
 * types are refused (their changes are not fanned out: the stack filters the stream to these).
 */
export const channelTypes = [types.pods, types.services, types.endpoints, types.endpointslices] as const;

const subscriptionId = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9][a-z0-9.-]*$/, 'a DNS label-like id');

export const subscribeMessage = z.object({
  action: z.literal('subscribe'),
  id: subscriptionId,
  group: z.string(),
  version: z.string().min(1),
  resource: z.string().min(1),
  namespace: z.string().min(1).optional(),
  labelSelector: z.string().optional(),
  fieldSelector: z.string().optional(),
  /** Where the subscriber's list (or last sync) left off; changes after it are sent first. */
  resourceVersion: z.string().regex(/^\d+$/, 'a resourceVersion from a list'),
});
export type SubscribeMessage = z.infer<typeof subscribeMessage>;

export const unsubscribeMessage = z.object({ action: z.literal('unsubscribe'), id: subscriptionId });

export const renewLeaseMessage = z.object({
  action: z.literal('renewLease'),
  nodeName: z.string().min(1).max(253),
  leaseDurationSeconds: z.number().int().min(1).max(3600).optional(),
});
export type RenewLeaseMessage = z.infer<typeof renewLeaseMessage>;

export const pingMessage = z.object({ action: z.literal('ping') });

/**
 * A node's latest resource figures (the kubelet Summary API's shape, checked in full by the
 * server): on AWS the API cannot reach the agents, so they send what `/stats/summary` serves.
 */
export const nodeStatsMessage = z.object({
  action: z.literal('nodeStats'),
  nodeName: z.string().min(1).max(253),
  summary: z.custom<object>((value) => typeof value === 'object' && value !== null && !Array.isArray(value), 'an object'),
});
export type NodeStatsMessage = z.infer<typeof nodeStatsMessage>;

export const clientMessage = z.discriminatedUnion('action', [subscribeMessage, unsubscribeMessage, renewLeaseMessage, pingMessage, nodeStatsMessage]);
export type ClientMessage = z.infer<typeof clientMessage>;

const statusSchema = z.object({ kind: z.literal('Status'), code: z.number(), reason: z.string().optional(), message: z.string().optional() }).passthrough();
const objectSchema = z.custom<KubeObject>((value) => typeof value === 'object' && value !== null && 'metadata' in value);

export const eventMessage = z.object({
  type: z.literal('event'),
  id: z.string(),
  event: z.object({ type: z.enum(['ADDED', 'MODIFIED', 'DELETED']), object: objectSchema.nullable() }),
  /** Present when `object` is null: the object was too large for one message. */
  ref: z.object({ namespace: z.string().optional(), name: z.string(), resourceVersion: z.string() }).optional(),
  /** Sent by the catch-up of a subscribe, not pushed by the fan-out. */
  catchUp: z.literal(true).optional(),
});
export type EventMessage = z.infer<typeof eventMessage>;

export const syncedMessage = z.object({ type: z.literal('synced'), id: z.string(), resourceVersion: z.string() });
export const errorMessage = z.object({ type: z.literal('error'), id: z.string().optional(), status: statusSchema });

export const serverMessage = z.discriminatedUnion('type', [eventMessage, syncedMessage, errorMessage]);
export type ServerMessage = z.infer<typeof serverMessage>;
