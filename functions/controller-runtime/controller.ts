/**
 * The shape every control loop has. A stream record only names an object that changed; a
 * controller turns that into the keys it must look at (`keysFor`) and brings each key's world
 * to its desired state from a fresh read (`reconcile`). Reconcile must be idempotent: the same
 * key may be reconciled twice, late, or out of order, and must converge to the same state.
 */

import type { KubeObject } from '../../schemas/meta.ts';
import type { ResourceType } from '../../schemas/registry.ts';
import type { Admission } from '../domain/object-admission/admission.ts';
import type { Log } from '../logging/log.ts';
import type { ObjectReader } from '../store/store.ts';
import type { EventRecorder } from './events.ts';

/** One changed object, as parsed from a stream record (or synthesised by a resync). */
export interface ObjectChange {
  readonly typeId: string;
  readonly namespace?: string;
  readonly name: string;
  readonly oldObject?: KubeObject;
  readonly newObject?: KubeObject;
}

/** What a controller reconciles: usually an object, identified like one. */
export interface ReconcileKey {
  readonly typeId: string;
  readonly namespace?: string;
  readonly name: string;
  /** Set when the key is about one incarnation of a name (the garbage collector's owners). */
  readonly uid?: string;
}

export interface ControllerContext {
  /** Reads. A controller writes objects only through `admission`, as the API's clients do. */
  readonly store: ObjectReader;
  /** The admission path of the API server's writes (defaults, per-kind strategy, validation, NamespaceLifecycle). */
  readonly admission: Admission;
  readonly events: EventRecorder;
  readonly log: Log;
  /** The clock; tests pin it. */
  now(): Date;
}

export interface Controller {
  readonly name: string;
  /**
   * The types a resync lists: each of their objects is fed to `keysFor` as if just written,
   * so a lost stream record is repaired within one resync period.
   */
  readonly resyncTypes: readonly ResourceType[];
  /**
   * Its answer depends on objects only, never on time passing: between full passes an
   * incremental resync does not list its types, it feeds it the changes since its last pass
   * (as every controller gets them) — see `resyncAll`.
   */
  readonly resyncChangesOnly?: boolean;
  keysFor(change: ObjectChange): readonly ReconcileKey[];
  /**
   * Converges one key. Returns `requeueAfterSeconds` when time alone will change the answer
   * (minReadySeconds, progress deadlines): hosts that can wait call back then; the resync
   * catches it otherwise.
   */
  reconcile(key: ReconcileKey, ctx: ControllerContext): Promise<ReconcileResult | undefined>;
}

export interface ReconcileResult {
  readonly requeueAfterSeconds?: number;
  /**
   * Keys of this same controller to reconcile next, in the same batch, each under its own key (an
   * orphan's key names the owners that may adopt it: controller-runtime/owner-keys.ts). One that
   * fails is reported with the records that named this key.
   */
  readonly enqueue?: readonly ReconcileKey[];
}

export function keyToString(controller: string, key: ReconcileKey): string {
  return [controller, key.typeId, key.namespace ?? '', key.name, key.uid ?? ''].join('|');
}
