/**
 * What a workload controller claims among the objects of its namespace, as kube-controller-manager's
 * ControllerRefManager decides for every one of them (ReplicaSet and ReplicationController over
 * pods, Deployment over ReplicaSets, StatefulSet, DaemonSet and Job over pods): the objects it
 * controls that its selector still matches are its own; one it controls that the selector no longer
 * matches is released (relabelled out to be looked at, and replaced); one nobody controls that the
 * selector matches is adopted (what `--cascade=orphan` left, taken up by the next owner with the
 * same selector). An owner being deleted does neither.
 */
import type { KubeObject } from '../../schemas/meta.ts';
import type { ResourceType } from '../../schemas/registry.ts';
import { NotFoundError } from '../core/errors.ts';
import { type LabelSelector, type LabelSelectorObject, labelSelectorFromObject } from '../core/label-selector.ts';
import { getIfExists } from '../store/list-all.ts';
import type { ControllerContext } from './controller.ts';
import { controllerRefOf, withControllerRefTo, withoutReferenceTo } from './owner-references.ts';

export interface Claims {
  /** Controlled by the owner and matched by its selector. */
  readonly owned: readonly KubeObject[];
  /** Controlled by nothing, matched by the selector, not being deleted: to be adopted. */
  readonly adopt: readonly KubeObject[];
  /** Controlled by the owner but no longer matched by its selector: to be released. */
  readonly release: readonly KubeObject[];
}

/** The owner's `spec.selector`, a `LabelSelector` (every workload kind but ReplicationController). */
export function specSelectorOf(owner: KubeObject): LabelSelector {
  return labelSelectorFromObject((owner.spec as { selector?: LabelSelectorObject } | undefined)?.selector);
}

/**
 * Sorts `candidates` by the claim rules. `isMember` narrows the selector, as kube-controller-manager's
 * claim filters do: a StatefulSet only claims pods named for one of its ordinals.
 */
export function claimBySelector(
  owner: KubeObject,
  candidates: readonly KubeObject[],
  selector: LabelSelector,
  isMember: (candidate: KubeObject) => boolean = () => true,
): Claims {
  const deleting = owner.metadata.deletionTimestamp !== undefined;
  const owned: KubeObject[] = [];
  const adopt: KubeObject[] = [];
  const release: KubeObject[] = [];
  for (const candidate of candidates) {
    const ref = controllerRefOf(candidate);
    const matches = selector.matches(candidate.metadata.labels) && isMember(candidate);
    if (ref) {
      if (owner.metadata.uid === undefined || ref.uid !== owner.metadata.uid) continue;
      if (matches) owned.push(candidate);
      else if (!deleting) release.push(candidate);
    } else if (matches && !deleting && !candidate.metadata.deletionTimestamp) {
      adopt.push(candidate);
    }
  }
  return { owned, adopt, release };
}

/** What an adoption adds beside the controller reference and a release takes away with it. */
export interface ClaimWriteOptions {
  /** The Job's tracking finalizer: an adopted pod is counted like one the Job made, a released one is no longer held. */
  readonly finalizers?: readonly string[];
}

function withFinalizers(object: KubeObject, finalizers: readonly string[]): KubeObject {
  const missing = finalizers.filter((finalizer) => !(object.metadata.finalizers ?? []).includes(finalizer));
  if (missing.length === 0) return object;
  return { ...object, metadata: { ...object.metadata, finalizers: [...(object.metadata.finalizers ?? []), ...missing] } };
}

function withoutFinalizers(object: KubeObject, finalizers: readonly string[]): KubeObject {
  const kept = (object.metadata.finalizers ?? []).filter((finalizer) => !finalizers.includes(finalizer));
  if (kept.length === (object.metadata.finalizers ?? []).length) return object;
  const { finalizers: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata: kept.length > 0 ? { ...metadata, finalizers: kept } : metadata };
}

/**
 * Adopts the orphans, once a fresh read shows the owner is still this one and not being deleted
 * (a listed one may have been deleted and made again meanwhile), as kube-controller-manager checks
 * before adopting. Each write is conditional on the orphan as listed; one gone meanwhile is skipped.
 */
export async function adoptOrphans(
  ctx: ControllerContext,
  ownerType: ResourceType,
  owner: KubeObject,
  childType: ResourceType,
  orphans: readonly KubeObject[],
  options: ClaimWriteOptions = {},
): Promise<KubeObject[]> {
  if (orphans.length === 0) return [];
  const fresh = await getIfExists(ctx.store, ownerType, owner.metadata.namespace, owner.metadata.name ?? '');
  if (!fresh || fresh.metadata.uid !== owner.metadata.uid || fresh.metadata.deletionTimestamp) return [];
  const adopted: KubeObject[] = [];
  for (const orphan of orphans) {
    try {
      adopted.push(await ctx.admission.update(childType, withFinalizers(withControllerRefTo(orphan, owner), options.finalizers ?? []), orphan));
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }
  return adopted;
}

/** Lets go of the objects its selector no longer matches; they are no longer counted, so replacements follow. */
export async function releaseChildren(
  ctx: ControllerContext,
  owner: KubeObject,
  childType: ResourceType,
  children: readonly KubeObject[],
  options: ClaimWriteOptions = {},
): Promise<void> {
  for (const child of children) {
    try {
      await ctx.admission.update(childType, withoutFinalizers(withoutReferenceTo(child, owner.metadata.uid ?? ''), options.finalizers ?? []), child);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }
}
