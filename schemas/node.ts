/** `core/v1` Node: taints and unschedulable in spec; capacity, conditions and addresses in status. */
import { z } from 'zod';
import { child, duplicate, type FieldCause, index, required } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, int32, int64, kindField, objectMetaSchema, opaqueObject, quantity, time } from './meta.ts';
import { checkName, isDns1123Subdomain, isLabelValue, isQualifiedName } from './name-rules.ts';

const coreV1 = 'io.k8s.api.core.v1';

export const taintEffects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;

export const taintSchema = z
  .object({ key: z.string(), value: z.string().optional(), effect: z.enum(taintEffects), timeAdded: time.nullable().optional() })
  .meta({ id: `${coreV1}.Taint`, description: 'Keeps pods that do not tolerate it off a node.' });

const resourceList = z.record(z.string(), quantity);

export const nodeConditionSchema = z
  .object({
    type: z.string(),
    status: z.string(),
    lastHeartbeatTime: time.nullable().optional(),
    lastTransitionTime: time.nullable().optional(),
    reason: z.string().optional(),
    message: z.string().optional(),
  })
  .meta({ id: `${coreV1}.NodeCondition` });

export const nodeSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: z
      .object({
        podCIDR: z.string().optional(),
        podCIDRs: z.array(z.string()).meta({ 'x-kubernetes-patch-strategy': 'merge' }).optional(),
        providerID: z.string().optional(),
        unschedulable: z.boolean().optional(),
        taints: z.array(taintSchema).optional(),
        configSource: opaqueObject.optional(),
        externalID: z.string().optional(),
      })
      .meta({ id: `${coreV1}.NodeSpec`, description: 'How a node may be used: taints, unschedulable.' })
      .default(() => ({})),
    status: z
      .looseObject({
        capacity: resourceList.optional(),
        allocatable: resourceList.optional(),
        phase: z.string().optional(),
        conditions: z.array(nodeConditionSchema).meta({ 'x-kubernetes-patch-merge-key': 'type', 'x-kubernetes-patch-strategy': 'merge' }).optional(),
        addresses: z
          .array(z.object({ type: z.string(), address: z.string() }).meta({ id: `${coreV1}.NodeAddress` }))
          .meta({ 'x-kubernetes-patch-merge-key': 'type', 'x-kubernetes-patch-strategy': 'merge' })
          .optional(),
        // Structs without omitempty in NodeStatus: kube-apiserver sends them on every Node, zero-valued until a kubelet reports.
        daemonEndpoints: z.object({ kubeletEndpoint: z.object({ Port: int32.default(0) }).prefault({}) }).prefault({}),
        nodeInfo: z
          .looseObject({
            machineID: z.string().default(''),
            systemUUID: z.string().default(''),
            bootID: z.string().default(''),
            kernelVersion: z.string().default(''),
            osImage: z.string().default(''),
            containerRuntimeVersion: z.string().default(''),
            kubeletVersion: z.string().default(''),
            kubeProxyVersion: z.string().default(''),
            operatingSystem: z.string().default(''),
            architecture: z.string().default(''),
          })
          .meta({ id: `${coreV1}.NodeSystemInfo` })
          .prefault({}),
        images: z.array(z.object({ names: z.array(z.string()).optional(), sizeBytes: int64.optional() })).optional(),
        volumesInUse: z.array(z.string()).optional(),
        volumesAttached: z.array(opaqueObject).optional(),
        config: opaqueObject.optional(),
        runtimeHandlers: z.array(opaqueObject).optional(),
        features: opaqueObject.optional(),
      })
      .meta({ id: `${coreV1}.NodeStatus`, description: 'The capacity, conditions and addresses a node agent reports.' })
      .prefault({}),
  })
  .meta({ id: `${coreV1}.Node`, description: 'A Node is a machine that runs pods, registered and kept alive by its node agent.' });
export type Node = z.infer<typeof nodeSchema>;

function validateNode(node: Node): FieldCause[] {
  const causes: FieldCause[] = [];
  const seen = new Set<string>();
  (node.spec.taints ?? []).forEach((taint, i) => {
    const at = index('spec.taints', i);
    if (!taint.key) causes.push(required(child(at, 'key')));
    else causes.push(...checkName(child(at, 'key'), taint.key, isQualifiedName));
    if (taint.value) causes.push(...checkName(child(at, 'value'), taint.value, isLabelValue));
    const id = `${taint.key}:${taint.effect}`;
    if (seen.has(id)) causes.push(duplicate(at, { key: taint.key, effect: taint.effect }));
    seen.add(id);
  });
  return causes;
}

export const nodeRules: AnyKindRules = anyKind<Node>({
  schema: nodeSchema,
  nameRule: isDns1123Subdomain,
  // Allocatable defaults to capacity: nothing is reserved for the system unless the node says so.
  defaults: (node) =>
    node.status?.capacity && !node.status.allocatable ? { ...node, status: { ...node.status, allocatable: { ...node.status.capacity } } } : node,
  validate: validateNode,
});
