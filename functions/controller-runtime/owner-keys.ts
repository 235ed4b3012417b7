/**
 * Which owners a changed child (a pod, a ReplicaSet) wakes, as kube-controller-manager's workload
 * controllers decide in their event handlers:
 *
 * - a child with a controller reference wakes that controller, and the one it named before when the
 *   reference changed (`ownerKeys`);
 * - an orphan (no controller reference) that is new, whose labels changed or that just lost its
 *   controller reference wakes every owner of its namespace whose selector matches it, so one adopts
 *   it at once rather than at the owners' next resync. `keysFor` stays synchronous and reads
 *   nothing: `orphanKeys` names the orphan itself (a key of the child's type). The controller's
 *   reconcile of such a key calls `ownersOfOrphan`, which lists the owners of its namespace (once a
 *   batch), reads the orphan again when one of them may match (adopted meanwhile, or gone: nothing
 *   to do) and returns the keys of those whose selector matches as `enqueue`: the runtime reconciles
 *   them next, each under its own key (never two plans of one owner at once), a failure reported
 *   with the records that named the orphan.
 * - an ordinary update of an orphan (its status: labels and controller reference unchanged) wakes
 *   nobody, nor does one being deleted: a bare pod's kubelet status writes must not make every pod
 *   owner list its namespace.
 *
 * For another owner kind (a Job over its pods, say):
 *
 *   keysFor(change) {
 *     if (change.typeId === types.jobs.id) return [{ typeId: types.jobs.id, namespace: change.namespace, name: change.name }];
 *     if (change.typeId !== types.pods.id) return [];
 *     return [...ownerKeys(change, 'Job', types.jobs.id), ...orphanKeys(change)];
 *   },
 *   async reconcile(key, ctx) {
 *     if (key.typeId === types.pods.id) return ownersOfOrphan(ctx, key, { childType: types.pods, ownerType: types.jobs, selectorOf: specSelectorOf });
 *     ...
 *   }
 */
import type { KubeObject } from '../../schemas/meta.ts';
import type { ResourceType } from '../../schemas/registry.ts';
import type { LabelSelector } from '../core/label-selector.ts';
import { getIfExists, listAll } from '../store/list-all.ts';
import type { ControllerContext, ObjectChange, ReconcileKey, ReconcileResult } from './controller.ts';
import { controllerRefOf } from './owner-references.ts';

/** Keys of the `kind` controllers of a changed object (old and new, in case the owner changed). */
export function ownerKeys(change: ObjectChange, kind: string, typeId: string): ReconcileKey[] {
  const keys = new Map<string, ReconcileKey>();
  for (const object of [change.oldObject, change.newObject]) {
    if (!object) continue;
    const ref = controllerRefOf(object);
    if (ref?.kind === kind) keys.set(ref.name, { typeId, namespace: change.namespace, name: ref.name });
  }
  return [...keys.values()];
}

/**
 * The orphan's own key when the change may have made it adoptable: it is new (or replayed without
 * its old image), its labels changed, or it just lost its controller reference. None for a child
 * with a controller reference, one being deleted, or an update that changed neither.
 */
export function orphanKeys(change: ObjectChange): ReconcileKey[] {
  const now = change.newObject;
  if (!now || now.metadata.deletionTimestamp || controllerRefOf(now)) return [];
  const before = change.oldObject;
  if (before && !controllerRefOf(before) && sameLabels(before.metadata.labels, now.metadata.labels)) return [];
  return [{ typeId: change.typeId, ...(change.namespace ? { namespace: change.namespace } : {}), name: change.name }];
}

export interface OrphanOwners {
  /** The orphan's type: the key's `typeId`. */
  readonly childType: ResourceType;
  /** The owners that may adopt it, listed in its namespace. */
  readonly ownerType: ResourceType;
  /** The owner's selector over children. */
  selectorOf(owner: KubeObject): LabelSelector;
}

/**
 * Reconciles an orphan's key: the keys of the owners of its namespace whose selector matches it, for
 * the runtime to reconcile next. An owner with an empty selector, or one being deleted, adopts
 * nothing and is not woken. The owners are listed first, once per namespace and type for the whole
 * batch: in a namespace with none (bare pods written by the thousand) an orphan costs no read.
 */
export async function ownersOfOrphan(ctx: ControllerContext, key: ReconcileKey, owners: OrphanOwners): Promise<ReconcileResult | undefined> {
  const candidates: { readonly name: string; readonly selector: LabelSelector }[] = [];
  for (const owner of await ownersListedOnce(ctx, owners.ownerType, key.namespace)) {
    if (owner.metadata.deletionTimestamp) continue;
    let selector: LabelSelector;
    try {
      selector = owners.selectorOf(owner);
    } catch {
      continue; // A selector admission should have refused matches nothing.
    }
    if (selector.requirements.length > 0) candidates.push({ name: owner.metadata.name ?? '', selector });
  }
  if (candidates.length === 0) return undefined;
  const orphan = await getIfExists(ctx.store, owners.childType, key.namespace, key.name);
  if (!orphan || orphan.metadata.deletionTimestamp || controllerRefOf(orphan)) return undefined;
  const enqueue = candidates
    .filter(({ selector }) => selector.matches(orphan.metadata.labels))
    .map(({ name }): ReconcileKey => ({ typeId: owners.ownerType.id, ...(key.namespace ? { namespace: key.namespace } : {}), name }));
  return enqueue.length > 0 ? { enqueue } : undefined;
}

/**
 * The owners' lists of one batch: a context is made per batch (or resync pass), and every record of
 * a batch was written before it was read, so a list taken during the batch is no older than any
 * orphan it names.
 */
const listsOfBatch = new WeakMap<ControllerContext, Map<string, Promise<readonly KubeObject[]>>>();

function ownersListedOnce(ctx: ControllerContext, ownerType: ResourceType, namespace: string | undefined): Promise<readonly KubeObject[]> {
  let lists = listsOfBatch.get(ctx);
  if (!lists) {
    lists = new Map();
    listsOfBatch.set(ctx, lists);
  }
  const id = `${ownerType.id}|${namespace ?? ''}`;
  let listed = lists.get(id);
  if (!listed) {
    listed = listAll(ctx.store, ownerType, namespace ? { namespace } : {});
    lists.set(id, listed);
    // A failed list is not kept: the keys' retries list again.
    const kept = listed;
    listed.catch(() => {
      if (lists?.get(id) === kept) lists.delete(id);
    });
  }
  return listed;
}

function sameLabels(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const left = Object.entries(a ?? {});
  if (left.length !== Object.keys(b ?? {}).length) return false;
  return left.every(([name, value]) => b?.[name] === value);
}
