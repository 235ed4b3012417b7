/** `core/v1` Pod: PodSpec (in `pod-spec.ts`) plus PodStatus, defaults and update rules. */
import { z } from 'zod';
import { type FieldCause, forbidden } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, int32, int64, kindField, mergedBy, objectMetaSchema, opaqueObject, quantity, time } from './meta.ts';
import { isDns1123Subdomain } from './name-rules.ts';
import { defaultPodSpec, type PodSpec, podSpecSchema } from './pod-spec.ts';
import { validatePodSpec } from './pod-spec-validation.ts';
import { sameJson } from './structural-equality.ts';

const coreV1 = 'io.k8s.api.core.v1';

const containerState = z
  .object({
    waiting: z.object({ reason: z.string().optional(), message: z.string().optional() }).optional(),
    running: z.object({ startedAt: time.optional() }).optional(),
    terminated: z
      .object({
        exitCode: int32,
        signal: int32.optional(),
        reason: z.string().optional(),
        message: z.string().optional(),
        startedAt: time.optional(),
        finishedAt: time.optional(),
        containerID: z.string().optional(),
      })
      .optional(),
  })
  .meta({ id: `${coreV1}.ContainerState` });

export const containerStatusSchema = z
  .looseObject({
    name: z.string(),
    state: containerState.optional(),
    lastState: containerState.optional(),
    ready: z.boolean(),
    restartCount: int32,
    image: z.string(),
    imageID: z.string(),
    containerID: z.string().optional(),
    started: z.boolean().optional(),
    allocatedResources: z.record(z.string(), quantity).optional(),
    resources: opaqueObject.optional(),
  })
  .meta({ id: `${coreV1}.ContainerStatus` });

const podCondition = z
  .object({
    type: z.string(),
    status: z.string(),
    observedGeneration: int64.optional(),
    lastProbeTime: time.nullable().optional(),
    lastTransitionTime: time.nullable().optional(),
    reason: z.string().optional(),
    message: z.string().optional(),
  })
  .meta({ id: `${coreV1}.PodCondition` });

const podIp = z.object({ ip: z.string() });

export const podStatusSchema = z
  .looseObject({
    observedGeneration: int64.optional(),
    phase: z.enum(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']).optional(),
    conditions: mergedBy(podCondition, 'type').optional(),
    message: z.string().optional(),
    reason: z.string().optional(),
    nominatedNodeName: z.string().optional(),
    hostIP: z.string().optional(),
    hostIPs: mergedBy(podIp, 'ip').optional(),
    podIP: z.string().optional(),
    podIPs: mergedBy(podIp, 'ip').optional(),
    startTime: time.optional(),
    initContainerStatuses: z.array(containerStatusSchema).optional(),
    containerStatuses: z.array(containerStatusSchema).optional(),
    ephemeralContainerStatuses: z.array(containerStatusSchema).optional(),
    qosClass: z.string().optional(),
    resize: z.string().optional(),
    resourceClaimStatuses: z.array(opaqueObject).optional(),
    extendedResourceClaimStatus: opaqueObject.optional(),
  })
  .meta({ id: `${coreV1}.PodStatus`, description: 'The most recently observed state of a pod, written by the node agent.' });

export const podSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: podSpecSchema.default(() => podSpecSchema.parse({})),
    status: podStatusSchema.optional(),
  })
  .meta({ id: `${coreV1}.Pod`, description: 'A Pod is a group of containers that run together on one node, sharing network and volumes.' });
export type Pod = z.infer<typeof podSchema>;

// A Pod itself, unlike a template, goes through priority admission: with no priority class the
// priority is 0 and the policy preempts lower priorities; the service account defaults too,
// except in a mirror pod (a node's own, `kubernetes.io/config.mirror`), which names none, as
// Kubernetes' ServiceAccount admission leaves it.
function defaultPod(pod: Pod): Pod {
  const spec = defaultPodSpec(pod.spec);
  const mirror = pod.metadata.annotations?.['kubernetes.io/config.mirror'] !== undefined;
  const serviceAccount = spec.serviceAccountName ?? (mirror ? undefined : 'default');
  const serviceAccountFields =
    serviceAccount === undefined ? {} : { serviceAccountName: serviceAccount, serviceAccount: spec.serviceAccount ?? serviceAccount };
  return {
    ...pod,
    spec: {
      ...spec,
      ...serviceAccountFields,
      // A pod naming a class gets its priority and policy from the class at admission (pod-priority.ts).
      ...(spec.priority === undefined && !spec.priorityClassName ? { priority: 0 } : {}),
      ...(spec.preemptionPolicy === undefined && spec.priorityClassName ? {} : { preemptionPolicy: spec.preemptionPolicy ?? 'PreemptLowerPriority' }),
    },
  };
}

/** What a pod update may change: images, activeDeadlineSeconds, added tolerations, a nodeName once. */
function validatePodUpdate(pod: Pod, old: Pod): FieldCause[] {
  const newSpec = pod.spec;
  const oldSpec = old.spec;
  // Compare with the mutable fields copied from the new spec onto the old one.
  const images = (containers: PodSpec['containers'], from: PodSpec['containers']) => containers?.map((c, i) => ({ ...c, image: from?.[i]?.image ?? c.image }));
  const oldTolerations = oldSpec.tolerations ?? [];
  const newTolerations = newSpec.tolerations ?? [];
  const tolerationsOnlyAdded = oldTolerations.every((t) => newTolerations.some((n) => sameJson(n, t)));
  const comparable: PodSpec = {
    ...oldSpec,
    containers: images(oldSpec.containers, newSpec.containers),
    initContainers: images(oldSpec.initContainers, newSpec.initContainers),
    activeDeadlineSeconds: newSpec.activeDeadlineSeconds,
    tolerations: tolerationsOnlyAdded ? newSpec.tolerations : oldSpec.tolerations,
    // Binding sets nodeName once; the scheduler's write goes through the binding subresource.
    nodeName: oldSpec.nodeName ?? newSpec.nodeName,
    terminationGracePeriodSeconds:
      oldSpec.terminationGracePeriodSeconds !== undefined && oldSpec.terminationGracePeriodSeconds < 0 && newSpec.terminationGracePeriodSeconds === 1
        ? 1
        : oldSpec.terminationGracePeriodSeconds,
  };
  if (sameJson(comparable, newSpec)) return [];
  return [
    forbidden(
      'spec',
      'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
    ),
  ];
}

/** Ephemeral containers come only through the `ephemeralcontainers` subresource of a running pod. */
function validatePodCreate(pod: Pod): FieldCause[] {
  return (pod.spec.ephemeralContainers ?? []).length > 0 ? [forbidden('spec.ephemeralContainers', 'cannot be set on create')] : [];
}

/**
 * An update through `pods/{name}/ephemeralcontainers` (kube-apiserver's
 * ValidatePodEphemeralContainersUpdate): ephemeral containers may be added, never removed or
 * changed, and never to a node's static pod (its mirror). The rest of the pod was copied from the
 * stored one before this runs, and the new ones were validated with the pod spec.
 */
function validateEphemeralContainersUpdate(pod: Pod, old: Pod): FieldCause[] {
  if (old.metadata.annotations?.['kubernetes.io/config.mirror'] !== undefined) {
    return [forbidden('', 'static pods do not support ephemeral containers')];
  }
  const field = 'spec.ephemeralContainers';
  const incoming = new Map((pod.spec.ephemeralContainers ?? []).map((container) => [container.name, container]));
  return (old.spec.ephemeralContainers ?? []).flatMap((existing) => {
    const now = incoming.get(existing.name);
    if (now === undefined) return [forbidden(field, `existing ephemeral containers ${JSON.stringify(existing.name)} may not be removed\n`)];
    if (!sameJson(now, existing))
      return [forbidden(`${field}[${existing.name}]`, `existing ephemeral containers ${JSON.stringify(existing.name)} may not be changed\n`)];
    return [];
  });
}

export const podRules: AnyKindRules = anyKind<Pod>({
  schema: podSchema,
  nameRule: isDns1123Subdomain,
  defaults: defaultPod,
  validate: (pod) => validatePodSpec(pod.spec, 'spec'),
  validateCreate: validatePodCreate,
  validateUpdate: validatePodUpdate,
  validateSubresourceUpdate: { ephemeralcontainers: validateEphemeralContainersUpdate },
});
