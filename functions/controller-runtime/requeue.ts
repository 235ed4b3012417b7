/**
 * Delayed requeues for hosts that cannot keep a timer (docs/adr/138): a reconcile that returns
 * `requeueAfterSeconds` becomes a message `{ controller, key }` delivered after that delay, and a
 * delivered message reconciles its key again from a fresh read. The queue itself is the host's
 * (an SQS queue on AWS); this module is what the message says and how a batch of them is run.
 */
import { z } from 'zod';
import { type Log, silentLog } from '../logging/log.ts';
import { type Controller, keyToString, type ReconcileKey } from './controller.ts';
import { type ControllerRuntime, reconcileKeys } from './run-controllers.ts';

/** One requeue a reconcile asked for. */
export interface RequeueRequest {
  readonly controller: string;
  readonly key: ReconcileKey;
  readonly afterSeconds: number;
}

const requeueMessage = z
  .object({
    controller: z.string().min(1),
    key: z
      .object({
        typeId: z.string().min(1),
        namespace: z.string().min(1).optional(),
        name: z.string().min(1),
        uid: z.string().min(1).optional(),
      })
      .strict(),
  })
  .strict();

/** The body of a requeue message: the controller's name and the key, nothing else (the reconcile reads afresh). */
export function requeueMessageBody(request: Pick<RequeueRequest, 'controller' | 'key'>): string {
  const { typeId, namespace, name, uid } = request.key;
  return JSON.stringify({
    controller: request.controller,
    key: { typeId, ...(namespace ? { namespace } : {}), name, ...(uid ? { uid } : {}) },
  });
}

/** Reads a message body back; undefined for a body that is not a requeue message. */
export function parseRequeueMessage(body: string): { controller: string; key: ReconcileKey } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  const parsed = requeueMessage.safeParse(value);
  if (!parsed.success) return undefined;
  const { typeId, namespace, name, uid } = parsed.data.key;
  return { controller: parsed.data.controller, key: { typeId, ...(namespace ? { namespace } : {}), name, ...(uid ? { uid } : {}) } };
}

/**
 * Collects the requeues of one invocation for `ControllerRuntime.onRequeue`: one per controller
 * and key, with the shortest delay asked for (a later reconcile of the key sees everything an
 * earlier one would).
 */
export function requeueCollector(): { onRequeue(controller: Controller, key: ReconcileKey, afterSeconds: number): void; requests(): RequeueRequest[] } {
  const pending = new Map<string, RequeueRequest>();
  return {
    onRequeue(controller, key, afterSeconds) {
      const id = keyToString(controller.name, key);
      const known = pending.get(id);
      if (!known || afterSeconds < known.afterSeconds) pending.set(id, { controller: controller.name, key, afterSeconds });
    },
    requests: () => [...pending.values()],
  };
}

/** A delivered message: its id (what a failure is reported by) and its body. */
export interface RequeueDelivery {
  readonly id: string;
  readonly body: string;
}

/**
 * Reconciles the keys of a batch of delivered requeue messages, each key once however many
 * messages name it. Returns the ids of the messages whose key failed (to be delivered again). A
 * message that is not a requeue, or names a controller this host does not run, is logged and
 * dropped: delivering it again would never help.
 */
export async function reconcileRequeued(deliveries: readonly RequeueDelivery[], runtime: ControllerRuntime): Promise<string[]> {
  const log: Log = runtime.log ?? silentLog;
  const byName = new Map(runtime.controllers.map((controller) => [controller.name, controller]));
  const keys = new Map<string, { controller: Controller; key: ReconcileKey; ids: string[] }>();
  for (const delivery of deliveries) {
    const message = parseRequeueMessage(delivery.body);
    const controller = message && byName.get(message.controller);
    if (!message || !controller) {
      log.warn('requeue message dropped', { id: delivery.id, reason: message ? `no controller ${message.controller}` : 'not a requeue message' });
      continue;
    }
    const id = keyToString(controller.name, message.key);
    const entry = keys.get(id) ?? { controller, key: message.key, ids: [] };
    entry.ids.push(delivery.id);
    keys.set(id, entry);
  }
  const failed = await Promise.all(
    [...keys.values()].map(async (entry) => ((await reconcileKeys(runtime, [{ controller: entry.controller, key: entry.key }])) > 0 ? entry.ids : [])),
  );
  return failed.flat();
}
