/**
 * Which pods of its namespace a ReplicaSet (or ReplicationController) claims, as
 * kube-controller-manager's ControllerRefManager decides for both: the pods it controls that its
 * selector still matches are its own; a pod it controls that the selector no longer matches is
 * released (a pod relabelled out of a ReplicaSet to look at it, which the ReplicaSet replaces);
 * a pod nobody controls that the selector matches is adopted (the pods a ReplicaSet deleted with
 * `--cascade=orphan` left, taken up by the next one). A ReplicaSet being deleted does neither.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { controllerRefOf } from '../../controller-runtime/owner-references.ts';
import { type LabelSelector, type LabelSelectorObject, labelSelectorFromObject } from '../../core/label-selector.ts';

export interface PodClaims {
  /** Controlled by the ReplicaSet and matched by its selector. */
  readonly owned: readonly KubeObject[];
  /** Controlled by nothing, matched by the selector, not being deleted: to be adopted. */
  readonly adopt: readonly KubeObject[];
  /** Controlled by the ReplicaSet but no longer matched by its selector: to be released. */
  readonly release: readonly KubeObject[];
}

/** A ReplicaSet's `LabelSelector`, or a ReplicationController's plain label map. */
export function podSelectorOf(owner: KubeObject): LabelSelector {
  const selector = (owner.spec as { selector?: unknown } | undefined)?.selector;
  if (owner.kind === 'ReplicationController') {
    return labelSelectorFromObject({ matchLabels: (selector ?? {}) as Readonly<Record<string, string>> });
  }
  return labelSelectorFromObject(selector as LabelSelectorObject | undefined);
}

export function claimPods(owner: KubeObject, pods: readonly KubeObject[]): PodClaims {
  const selector = podSelectorOf(owner);
  const deleting = owner.metadata.deletionTimestamp !== undefined;
  const owned: KubeObject[] = [];
  const adopt: KubeObject[] = [];
  const release: KubeObject[] = [];
  for (const pod of pods) {
    const ref = controllerRefOf(pod);
    const matches = selector.matches(pod.metadata.labels);
    if (ref) {
      if (owner.metadata.uid === undefined || ref.uid !== owner.metadata.uid) continue;
      if (matches) owned.push(pod);
      else if (!deleting) release.push(pod);
    } else if (matches && !deleting && !pod.metadata.deletionTimestamp) {
      adopt.push(pod);
    }
  }
  return { owned, adopt, release };
}
