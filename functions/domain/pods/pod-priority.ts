/**
 * Kubernetes' Priority admission plugin for new pods: `spec.priorityClassName` becomes the
 * class's value in `spec.priority` and its `preemptionPolicy`; a pod naming no class gets the
 * global default class, if there is one. A class that does not exist, or a priority or policy
 * the pod states that differs from its class's, is a 403 as kube-apiserver words it.
 *
 * Pods that name no class while no class is the global default keep what the pod defaults gave
 * them, `priority: 0` and `preemptionPolicy: PreemptLowerPriority`, as Kubernetes writes.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import type { PriorityClass } from '../../../schemas/priority-class.ts';
import { types } from '../../../schemas/registry.ts';
import { ForbiddenError, isApiError } from '../../core/errors.ts';
import type { ObjectReader } from '../../store/store.ts';

interface PodPriorityFields {
  readonly priorityClassName?: string;
  readonly priority?: number;
  readonly preemptionPolicy?: string;
}

function podForbidden(pod: KubeObject, message: string): ForbiddenError {
  const subject = pod.metadata.name ? `pods "${pod.metadata.name}" is forbidden` : 'pods is forbidden';
  return new ForbiddenError(`${subject}: ${message}`, { name: pod.metadata.name ?? '', group: '', kind: 'pods' });
}

/** The pod as the class it names (or the default class) makes it: the object to write, or the 403. */
export function withPriority(pod: KubeObject, named: PriorityClass | undefined, defaultClass: PriorityClass | undefined): KubeObject | ForbiddenError {
  const stated = (pod.spec ?? {}) as PodPriorityFields;
  // A pod naming no class has the defaults of no class (priority 0, PreemptLowerPriority) by now:
  // with a global default class, those are not the pod's own statement.
  const defaulted = !stated.priorityClassName && stated.priority === 0 && stated.preemptionPolicy === 'PreemptLowerPriority';
  const spec: PodPriorityFields = defaulted ? {} : stated;
  const priorityClass = stated.priorityClassName ? named : defaultClass;
  if (stated.priorityClassName && !named) return podForbidden(pod, `no PriorityClass with name ${stated.priorityClassName} was found`);
  if (!priorityClass) return pod;
  if (spec.priority !== undefined && spec.priority !== priorityClass.value) {
    return podForbidden(
      pod,
      `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${priorityClass.value} from the given PriorityClass name`,
    );
  }
  if (spec.preemptionPolicy !== undefined && spec.preemptionPolicy !== priorityClass.preemptionPolicy) {
    return podForbidden(
      pod,
      `the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${priorityClass.preemptionPolicy} from the given PriorityClass name`,
    );
  }
  return {
    ...pod,
    spec: {
      ...(pod.spec as object),
      priorityClassName: priorityClass.metadata.name,
      priority: priorityClass.value,
      preemptionPolicy: priorityClass.preemptionPolicy,
    },
  };
}

/** Priority admission for a batch of new pods: each class read once, the default class looked up only when a pod needs it. */
export async function admitPodsPriority(store: ObjectReader, pods: readonly (KubeObject | ForbiddenError)[]): Promise<(KubeObject | ForbiddenError)[]> {
  const classes = new Map<string, PriorityClass | undefined>();
  const read = async (name: string): Promise<PriorityClass | undefined> => {
    if (!classes.has(name)) {
      const found = await store.get(types.priorityclasses, undefined, name).catch((error: unknown) => {
        if (isApiError(error, 404)) return undefined;
        throw error;
      });
      classes.set(name, found as PriorityClass | undefined);
    }
    return classes.get(name);
  };
  let defaultClass: Promise<PriorityClass | undefined> | undefined;
  const findDefault = () => {
    defaultClass ??= store.list(types.priorityclasses, {}).then((result) => {
      const defaults = (result.items as PriorityClass[]).filter((priorityClass) => priorityClass.globalDefault === true);
      // Kubernetes takes the lowest value when several are marked (a race it allows).
      return defaults.sort((a, b) => a.value - b.value)[0];
    });
    return defaultClass;
  };
  const admitted: (KubeObject | ForbiddenError)[] = [];
  for (const pod of pods) {
    if (pod instanceof ForbiddenError) {
      admitted.push(pod);
      continue;
    }
    const name = ((pod.spec ?? {}) as PodPriorityFields).priorityClassName;
    admitted.push(withPriority(pod, name ? await read(name) : undefined, name ? undefined : await findDefault()));
  }
  return admitted;
}
