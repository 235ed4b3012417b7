/**
 * `core/v1` PodSpec and everything in it (containers, probes, volumes, scheduling fields), shared by
 * Pods and the pod templates of Deployments and ReplicaSets. Constant defaults sit on the schema;
 * defaults that depend on other fields are in `defaultPodSpec`; rules are in `pod-spec-validation.ts`.
 */
import { z } from 'zod';
import { int32, int64, intOrString, labelSelectorSchema, mergedBy, objectMetaSchema, opaqueObject, quantity, stringMap } from './meta.ts';

const coreV1 = 'io.k8s.api.core.v1';

export const protocolSchema = z.enum(['TCP', 'UDP', 'SCTP']);

/** Mode bits of projected files: 0644, as the apiserver defaults them. */
const defaultFileMode = 0o644;

const localObjectReference = z.object({ name: z.string().optional() }).meta({ id: `${coreV1}.LocalObjectReference` });

const keyToPath = z.object({ key: z.string(), path: z.string(), mode: int32.optional() }).meta({ id: `${coreV1}.KeyToPath` });

const objectFieldSelector = z.object({ apiVersion: z.string().default('v1'), fieldPath: z.string() }).meta({ id: `${coreV1}.ObjectFieldSelector` });

const resourceFieldSelector = z
  .object({ containerName: z.string().optional(), resource: z.string(), divisor: quantity.optional() })
  .meta({ id: `${coreV1}.ResourceFieldSelector` });

const keySelector = z.object({ name: z.string().optional(), key: z.string(), optional: z.boolean().optional() });

export const envVarSchema = z
  .object({
    name: z.string(),
    value: z.string().optional(),
    valueFrom: z
      .object({
        fieldRef: objectFieldSelector.optional(),
        resourceFieldRef: resourceFieldSelector.optional(),
        configMapKeyRef: keySelector.meta({ id: `${coreV1}.ConfigMapKeySelector` }).optional(),
        secretKeyRef: keySelector.meta({ id: `${coreV1}.SecretKeySelector` }).optional(),
        fileKeyRef: opaqueObject.optional(),
      })
      .meta({ id: `${coreV1}.EnvVarSource` })
      .optional(),
  })
  .meta({ id: `${coreV1}.EnvVar`, description: 'An environment variable of a container, from a literal value or a reference.' });

const sourceReference = z.object({ name: z.string().optional(), optional: z.boolean().optional() });

export const envFromSourceSchema = z
  .object({
    prefix: z.string().optional(),
    configMapRef: sourceReference.meta({ id: `${coreV1}.ConfigMapEnvSource` }).optional(),
    secretRef: sourceReference.meta({ id: `${coreV1}.SecretEnvSource` }).optional(),
  })
  .meta({ id: `${coreV1}.EnvFromSource` });

export const containerPortSchema = z
  .object({
    name: z.string().optional(),
    hostPort: int32.optional(),
    containerPort: int32,
    protocol: protocolSchema.default('TCP'),
    hostIP: z.string().optional(),
  })
  .meta({ id: `${coreV1}.ContainerPort`, description: 'A network port of a container.' });

export const resourceRequirementsSchema = z
  .object({
    limits: z.record(z.string(), quantity).optional(),
    requests: z.record(z.string(), quantity).optional(),
    claims: z.array(z.object({ name: z.string(), request: z.string().optional() })).optional(),
  })
  .meta({ id: `${coreV1}.ResourceRequirements`, description: 'Compute resources a container requests (for scheduling) and is limited to.' });

const httpGetAction = z
  .object({
    path: z.string().default('/'),
    port: intOrString,
    host: z.string().optional(),
    scheme: z.enum(['HTTP', 'HTTPS']).default('HTTP'),
    httpHeaders: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
  })
  .meta({ id: `${coreV1}.HTTPGetAction` });

const execAction = z.object({ command: z.array(z.string()).optional() }).meta({ id: `${coreV1}.ExecAction` });
const tcpSocketAction = z.object({ port: intOrString, host: z.string().optional() }).meta({ id: `${coreV1}.TCPSocketAction` });
const grpcAction = z.object({ port: int32, service: z.string().default('') }).meta({ id: `${coreV1}.GRPCAction` });

export const probeSchema = z
  .object({
    exec: execAction.optional(),
    httpGet: httpGetAction.optional(),
    tcpSocket: tcpSocketAction.optional(),
    grpc: grpcAction.optional(),
    initialDelaySeconds: int32.optional(),
    timeoutSeconds: int32.default(1),
    periodSeconds: int32.default(10),
    successThreshold: int32.default(1),
    failureThreshold: int32.default(3),
    terminationGracePeriodSeconds: int64.optional(),
  })
  .meta({ id: `${coreV1}.Probe`, description: 'A health check the node agent runs against a container; one handler (exec, httpGet, tcpSocket, grpc).' });
export type Probe = z.infer<typeof probeSchema>;

const lifecycleHandler = z
  .object({
    exec: execAction.optional(),
    httpGet: httpGetAction.optional(),
    tcpSocket: tcpSocketAction.optional(),
    sleep: z.object({ seconds: int64 }).optional(),
  })
  .meta({ id: `${coreV1}.LifecycleHandler` });

const volumeMountSchema = z
  .object({
    name: z.string(),
    readOnly: z.boolean().optional(),
    recursiveReadOnly: z.string().optional(),
    mountPath: z.string(),
    subPath: z.string().optional(),
    mountPropagation: z.string().optional(),
    subPathExpr: z.string().optional(),
  })
  .meta({ id: `${coreV1}.VolumeMount` });

const containerSecurityContext = z
  .object({
    capabilities: z.object({ add: z.array(z.string()).optional(), drop: z.array(z.string()).optional() }).optional(),
    privileged: z.boolean().optional(),
    seLinuxOptions: opaqueObject.optional(),
    windowsOptions: opaqueObject.optional(),
    runAsUser: int64.optional(),
    runAsGroup: int64.optional(),
    runAsNonRoot: z.boolean().optional(),
    readOnlyRootFilesystem: z.boolean().optional(),
    allowPrivilegeEscalation: z.boolean().optional(),
    procMount: z.string().optional(),
    seccompProfile: opaqueObject.optional(),
    appArmorProfile: opaqueObject.optional(),
  })
  .meta({ id: `${coreV1}.SecurityContext` });

export const containerSchema = z
  .object({
    name: z.string().describe('Name of the container, a DNS label unique within the pod.'),
    image: z.string().optional().describe('Container image name.'),
    command: z.array(z.string()).optional().describe("Entrypoint array; replaces the image's ENTRYPOINT."),
    args: z.array(z.string()).optional().describe("Arguments to the entrypoint; replace the image's CMD."),
    workingDir: z.string().optional(),
    ports: z
      .array(containerPortSchema)
      .meta({
        'x-kubernetes-patch-merge-key': 'containerPort',
        'x-kubernetes-patch-strategy': 'merge',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['containerPort', 'protocol'],
      })
      .optional(),
    envFrom: z.array(envFromSourceSchema).optional(),
    env: mergedBy(envVarSchema, 'name').optional(),
    resources: resourceRequirementsSchema.optional(),
    resizePolicy: z.array(z.object({ resourceName: z.string(), restartPolicy: z.string() })).optional(),
    restartPolicy: z.string().optional(),
    restartPolicyRules: z.array(opaqueObject).optional(),
    volumeMounts: mergedBy(volumeMountSchema, 'mountPath').optional(),
    volumeDevices: mergedBy(z.object({ name: z.string(), devicePath: z.string() }), 'devicePath').optional(),
    livenessProbe: probeSchema.optional(),
    readinessProbe: probeSchema.optional(),
    startupProbe: probeSchema.optional(),
    lifecycle: z
      .object({ postStart: lifecycleHandler.optional(), preStop: lifecycleHandler.optional(), stopSignal: z.string().optional() })
      .meta({ id: `${coreV1}.Lifecycle` })
      .optional(),
    terminationMessagePath: z.string().default('/dev/termination-log'),
    terminationMessagePolicy: z.enum(['File', 'FallbackToLogsOnError']).default('File'),
    imagePullPolicy: z
      .enum(['Always', 'IfNotPresent', 'Never'])
      .optional()
      .describe('When to pull the image; defaults to Always for :latest or no tag, else IfNotPresent.'),
    securityContext: containerSecurityContext.optional(),
    stdin: z.boolean().optional(),
    stdinOnce: z.boolean().optional(),
    tty: z.boolean().optional(),
  })
  .meta({ id: `${coreV1}.Container`, description: 'A single container of a pod.' });
export type Container = z.infer<typeof containerSchema>;

/**
 * A container added to a running pod through its `ephemeralcontainers` subresource (`kubectl
 * debug`): a Container's fields (validation refuses those an ephemeral one may not have) and the
 * container whose namespaces it joins.
 */
export const ephemeralContainerSchema = containerSchema
  .extend({ targetContainerName: z.string().optional() })
  .meta({ id: `${coreV1}.EphemeralContainer`, description: 'A container added to a running pod for debugging; never restarted.' });
export type EphemeralContainer = z.infer<typeof ephemeralContainerSchema>;

/** Volume sources Skiff passes through without modelling them. */
const opaqueVolumeSources = [
  'awsElasticBlockStore',
  'azureDisk',
  'azureFile',
  'cephfs',
  'cinder',
  'csi',
  'ephemeral',
  'fc',
  'flexVolume',
  'flocker',
  'gcePersistentDisk',
  'gitRepo',
  'glusterfs',
  'image',
  'iscsi',
  'nfs',
  'photonPersistentDisk',
  'portworxVolume',
  'quobyte',
  'rbd',
  'scaleIO',
  'storageos',
  'vsphereVolume',
] as const;

export const volumeSchema = z
  .object({
    name: z.string(),
    emptyDir: z
      .object({ medium: z.string().optional(), sizeLimit: quantity.optional() })
      .meta({ id: `${coreV1}.EmptyDirVolumeSource` })
      .optional(),
    hostPath: z
      .object({ path: z.string(), type: z.string().default('') })
      .meta({ id: `${coreV1}.HostPathVolumeSource` })
      .optional(),
    configMap: z
      .object({
        name: z.string().optional(),
        items: z.array(keyToPath).optional(),
        defaultMode: int32.default(defaultFileMode),
        optional: z.boolean().optional(),
      })
      .meta({ id: `${coreV1}.ConfigMapVolumeSource` })
      .optional(),
    secret: z
      .object({
        secretName: z.string().optional(),
        items: z.array(keyToPath).optional(),
        defaultMode: int32.default(defaultFileMode),
        optional: z.boolean().optional(),
      })
      .meta({ id: `${coreV1}.SecretVolumeSource` })
      .optional(),
    persistentVolumeClaim: z
      .object({ claimName: z.string(), readOnly: z.boolean().optional() })
      .meta({ id: `${coreV1}.PersistentVolumeClaimVolumeSource` })
      .optional(),
    projected: z
      .object({ sources: z.array(opaqueObject).optional(), defaultMode: int32.default(defaultFileMode) })
      .meta({ id: `${coreV1}.ProjectedVolumeSource` })
      .optional(),
    downwardAPI: z
      .object({ items: z.array(opaqueObject).optional(), defaultMode: int32.default(defaultFileMode) })
      .meta({ id: `${coreV1}.DownwardAPIVolumeSource` })
      .optional(),
    ...Object.fromEntries(opaqueVolumeSources.map((source) => [source, opaqueObject.optional()])),
  })
  .meta({ id: `${coreV1}.Volume`, description: 'A named volume of a pod, from exactly one source.' });
export type Volume = z.infer<typeof volumeSchema>;

export const tolerationSchema = z
  .object({
    key: z.string().optional(),
    operator: z.enum(['Exists', 'Equal']).optional(),
    value: z.string().optional(),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute', '']).optional(),
    tolerationSeconds: int64.optional(),
  })
  .meta({ id: `${coreV1}.Toleration`, description: 'Lets a pod be scheduled onto (or stay on) a node with a matching taint.' });
export type Toleration = z.infer<typeof tolerationSchema>;

const nodeSelectorTerm = z
  .object({ matchExpressions: z.array(opaqueObject).optional(), matchFields: z.array(opaqueObject).optional() })
  .meta({ id: `${coreV1}.NodeSelectorTerm` });

const podAffinityTerm = z
  .object({
    labelSelector: labelSelectorSchema.optional(),
    namespaces: z.array(z.string()).optional(),
    topologyKey: z.string(),
    namespaceSelector: labelSelectorSchema.optional(),
    matchLabelKeys: z.array(z.string()).optional(),
    mismatchLabelKeys: z.array(z.string()).optional(),
  })
  .meta({ id: `${coreV1}.PodAffinityTerm` });

const weightedPodAffinityTerm = z.object({ weight: int32, podAffinityTerm }).meta({ id: `${coreV1}.WeightedPodAffinityTerm` });

const podAffinity = z.object({
  requiredDuringSchedulingIgnoredDuringExecution: z.array(podAffinityTerm).optional(),
  preferredDuringSchedulingIgnoredDuringExecution: z.array(weightedPodAffinityTerm).optional(),
});

export const affinitySchema = z
  .object({
    nodeAffinity: z
      .object({
        requiredDuringSchedulingIgnoredDuringExecution: z.object({ nodeSelectorTerms: z.array(nodeSelectorTerm) }).optional(),
        preferredDuringSchedulingIgnoredDuringExecution: z.array(z.object({ weight: int32, preference: nodeSelectorTerm })).optional(),
      })
      .meta({ id: `${coreV1}.NodeAffinity` })
      .optional(),
    podAffinity: podAffinity.meta({ id: `${coreV1}.PodAffinity` }).optional(),
    podAntiAffinity: podAffinity.meta({ id: `${coreV1}.PodAntiAffinity` }).optional(),
  })
  .meta({ id: `${coreV1}.Affinity`, description: 'Scheduling constraints relative to node labels and to other pods.' });

const podSecurityContext = z
  .object({
    seLinuxOptions: opaqueObject.optional(),
    windowsOptions: opaqueObject.optional(),
    runAsUser: int64.optional(),
    runAsGroup: int64.optional(),
    runAsNonRoot: z.boolean().optional(),
    supplementalGroups: z.array(int64).optional(),
    supplementalGroupsPolicy: z.string().optional(),
    fsGroup: int64.optional(),
    sysctls: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
    fsGroupChangePolicy: z.string().optional(),
    seccompProfile: opaqueObject.optional(),
    appArmorProfile: opaqueObject.optional(),
    seLinuxChangePolicy: z.string().optional(),
  })
  .meta({ id: `${coreV1}.PodSecurityContext` });

const topologySpreadConstraint = z
  .object({
    maxSkew: int32,
    topologyKey: z.string(),
    whenUnsatisfiable: z.string(),
    labelSelector: labelSelectorSchema.optional(),
    minDomains: int32.optional(),
    nodeAffinityPolicy: z.string().optional(),
    nodeTaintsPolicy: z.string().optional(),
    matchLabelKeys: z.array(z.string()).optional(),
  })
  .meta({ id: `${coreV1}.TopologySpreadConstraint` });

export const restartPolicies = ['Always', 'OnFailure', 'Never'] as const;

export const podSpecSchema = z
  .object({
    // merge,retainKeys as Kubernetes tags it: kubectl apply of a volume that changes type drops the old source.
    volumes: mergedBy(volumeSchema, 'name').meta({ 'x-kubernetes-patch-strategy': 'merge,retainKeys' }).optional(),
    initContainers: mergedBy(containerSchema, 'name').optional(),
    containers: mergedBy(containerSchema, 'name').optional().describe('The containers of the pod; at least one.'),
    ephemeralContainers: mergedBy(ephemeralContainerSchema, 'name').optional(),
    restartPolicy: z.enum(restartPolicies).default('Always').describe('Restart policy for all containers: Always, OnFailure or Never.'),
    terminationGracePeriodSeconds: int64.default(30).describe('Seconds between the stop signal and the kill when the pod is deleted.'),
    activeDeadlineSeconds: int64.optional(),
    dnsPolicy: z.enum(['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None']).default('ClusterFirst'),
    nodeSelector: stringMap.optional().describe('Labels a node must have for the pod to be scheduled there.'),
    serviceAccountName: z.string().optional(),
    serviceAccount: z.string().optional(),
    automountServiceAccountToken: z.boolean().optional(),
    nodeName: z.string().optional().describe('The node the pod is bound to; set by the scheduler.'),
    hostNetwork: z.boolean().optional(),
    hostPID: z.boolean().optional(),
    hostIPC: z.boolean().optional(),
    shareProcessNamespace: z.boolean().optional(),
    securityContext: podSecurityContext.default(() => ({})),
    imagePullSecrets: mergedBy(localObjectReference, 'name').optional(),
    hostname: z.string().optional(),
    subdomain: z.string().optional(),
    affinity: affinitySchema.optional(),
    schedulerName: z.string().default('default-scheduler'),
    tolerations: z.array(tolerationSchema).optional(),
    hostAliases: mergedBy(z.object({ ip: z.string(), hostnames: z.array(z.string()).optional() }), 'ip').optional(),
    priorityClassName: z.string().optional(),
    priority: int32.optional(),
    dnsConfig: z
      .object({
        nameservers: z.array(z.string()).optional(),
        searches: z.array(z.string()).optional(),
        options: z.array(z.object({ name: z.string().optional(), value: z.string().optional() })).optional(),
      })
      .optional(),
    readinessGates: z.array(z.object({ conditionType: z.string() })).optional(),
    runtimeClassName: z.string().optional(),
    enableServiceLinks: z.boolean().default(true),
    preemptionPolicy: z.enum(['PreemptLowerPriority', 'Never']).optional(),
    overhead: z.record(z.string(), quantity).optional(),
    topologySpreadConstraints: mergedBy(topologySpreadConstraint, 'topologyKey').optional(),
    setHostnameAsFQDN: z.boolean().optional(),
    os: z.object({ name: z.string() }).optional(),
    hostUsers: z.boolean().optional(),
    schedulingGates: mergedBy(z.object({ name: z.string() }), 'name').optional(),
    resourceClaims: mergedBy(opaqueObject, 'name').optional(),
    resources: resourceRequirementsSchema.optional(),
    hostnameOverride: z.string().optional(),
  })
  .meta({ id: `${coreV1}.PodSpec`, description: 'The desired behaviour of a pod: its containers, volumes and scheduling constraints.' });
export type PodSpec = z.infer<typeof podSpecSchema>;

export const podTemplateSpecSchema = z
  .object({ metadata: objectMetaSchema.optional(), spec: podSpecSchema.optional() })
  .meta({ id: `${coreV1}.PodTemplateSpec`, description: 'The pod a workload creates: its metadata (labels) and spec.' });
export type PodTemplateSpec = z.infer<typeof podTemplateSpecSchema>;

// ---- defaults that depend on other fields -----------------------------------------------------

/** `:latest` or no tag means the image moves, so Kubernetes pulls it every time. */
export function defaultPullPolicy(image: string | undefined): 'Always' | 'IfNotPresent' {
  if (!image) return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  if (colon < 0) return 'Always';
  return lastSegment.slice(colon + 1) === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainer(container: Container): Container {
  const resources = container.resources;
  // Requests default to limits for resources that have a limit and no request.
  const requests = resources?.limits ? { ...resources.limits, ...(resources.requests ?? {}) } : resources?.requests;
  return {
    ...container,
    imagePullPolicy: container.imagePullPolicy ?? defaultPullPolicy(container.image),
    resources: { ...(resources ?? {}), ...(requests ? { requests } : {}) },
  };
}

function hasSource(volume: Volume): boolean {
  return Object.entries(volume).some(([k, v]) => k !== 'name' && v !== undefined);
}

/** Applies the defaults of `SetDefaults_PodSpec` that the schema cannot express. */
/** An ephemeral container gets a container's defaults (its pull policy, an empty `resources`, as kube shows it). */
function defaultEphemeralContainer(container: EphemeralContainer): EphemeralContainer {
  return { ...container, ...defaultContainer(container) };
}

export function defaultPodSpec(spec: PodSpec): PodSpec {
  return {
    ...spec,
    ...(spec.containers ? { containers: spec.containers.map(defaultContainer) } : {}),
    ...(spec.initContainers ? { initContainers: spec.initContainers.map(defaultContainer) } : {}),
    ...(spec.ephemeralContainers ? { ephemeralContainers: spec.ephemeralContainers.map(defaultEphemeralContainer) } : {}),
    ...(spec.volumes ? { volumes: spec.volumes.map((v) => (hasSource(v) ? v : { ...v, emptyDir: {} })) } : {}),
    // serviceAccount is the deprecated spelling; the apiserver keeps both in step.
    ...(spec.serviceAccountName && !spec.serviceAccount ? { serviceAccount: spec.serviceAccountName } : {}),
    ...(!spec.serviceAccountName && spec.serviceAccount ? { serviceAccountName: spec.serviceAccount } : {}),
  };
}

export function defaultPodTemplate(template: PodTemplateSpec): PodTemplateSpec {
  return { ...template, spec: defaultPodSpec(template.spec ?? podSpecSchema.parse({})) };
}
