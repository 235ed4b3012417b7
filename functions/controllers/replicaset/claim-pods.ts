/**
 * Which pods of its namespace a ReplicaSet (or ReplicationController) claims: the shared claim rules
 * (controller-runtime/claims.ts) over its pod selector, which for a ReplicationController is a plain
 * label map.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { type Claims, claimBySelector, specSelectorOf } from '../../controller-runtime/claims.ts';
import { type LabelSelector, labelSelectorFromObject } from '../../core/label-selector.ts';

/** A ReplicaSet's `LabelSelector`, or a ReplicationController's plain label map. */
export function podSelectorOf(owner: KubeObject): LabelSelector {
  if (owner.kind !== 'ReplicationController') return specSelectorOf(owner);
  const selector = (owner.spec as { selector?: Readonly<Record<string, string>> } | undefined)?.selector;
  return labelSelectorFromObject({ matchLabels: selector ?? {} });
}

export function claimPods(owner: KubeObject, pods: readonly KubeObject[]): Claims {
  return claimBySelector(owner, pods, podSelectorOf(owner));
}
