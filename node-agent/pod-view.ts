/**
 * The agent's view of a Pod: the fields a kubelet acts on, parsed with zod at the boundary
 * (watch events and list items) so the rest of the agent works with checked, defaulted types.
 * The raw object is kept alongside for writes, so fields the agent does not model survive.
 */
import { z } from 'zod';
import type { KubeObject } from '../schemas/meta.ts';

const portRef = z.union([z.number().int(), z.string()]);

const probeSchema = z.object({
  httpGet: z
    .object({
      path: z.string().default('/'),
      port: portRef,
      host: z.string().optional(),
      scheme: z.enum(['HTTP', 'HTTPS']).default('HTTP'),
      httpHeaders: z.array(z.object({ name: z.string(), value: z.string() })).default([]),
    })
    .optional(),
  tcpSocket: z.object({ port: portRef, host: z.string().optional() }).optional(),
  exec: z.object({ command: z.array(z.string()).default([]) }).optional(),
  initialDelaySeconds: z.number().int().min(0).default(0),
  periodSeconds: z.number().int().min(1).default(10),
  timeoutSeconds: z.number().int().min(1).default(1),
  successThreshold: z.number().int().min(1).default(1),
  failureThreshold: z.number().int().min(1).default(3),
});
export type Probe = z.infer<typeof probeSchema>;

const keyRef = z.object({ name: z.string().default(''), key: z.string(), optional: z.boolean().default(false) });
const sourceRef = z.object({ name: z.string().default(''), optional: z.boolean().default(false) });

const envVarSchema = z.object({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z
    .object({
      configMapKeyRef: keyRef.optional(),
      secretKeyRef: keyRef.optional(),
      fieldRef: z.object({ fieldPath: z.string(), apiVersion: z.string().optional() }).optional(),
      resourceFieldRef: z.object({ resource: z.string(), containerName: z.string().optional() }).optional(),
    })
    .optional(),
});
export type EnvVar = z.infer<typeof envVarSchema>;

const envFromSchema = z.object({
  prefix: z.string().default(''),
  configMapRef: sourceRef.optional(),
  secretRef: sourceRef.optional(),
});
export type EnvFromSource = z.infer<typeof envFromSchema>;

const capabilitiesSchema = z.object({ add: z.array(z.string()).default([]), drop: z.array(z.string()).default([]) });

/** The securityContext fields the process runtime acts on (admission refuses the rest, schemas/pod-spec.ts). */
const containerSecurityContextSchema = z.object({
  runAsUser: z.number().int().optional(),
  runAsGroup: z.number().int().optional(),
  runAsNonRoot: z.boolean().optional(),
  capabilities: capabilitiesSchema.optional(),
  privileged: z.boolean().optional(),
  allowPrivilegeEscalation: z.boolean().optional(),
  readOnlyRootFilesystem: z.boolean().optional(),
});
export type ContainerSecurityContext = z.infer<typeof containerSecurityContextSchema>;

const podSecurityContextSchema = z.object({
  runAsUser: z.number().int().optional(),
  runAsGroup: z.number().int().optional(),
  runAsNonRoot: z.boolean().optional(),
  supplementalGroups: z.array(z.number().int()).default([]),
  fsGroup: z.number().int().optional(),
});
export type PodSecurityContext = z.infer<typeof podSecurityContextSchema>;

const volumeMountSchema = z.object({
  name: z.string(),
  mountPath: z.string(),
  subPath: z.string().optional(),
  readOnly: z.boolean().default(false),
});
export type VolumeMount = z.infer<typeof volumeMountSchema>;

const keyToPathSchema = z.object({ key: z.string(), path: z.string(), mode: z.number().int().optional() });

/** A downwardAPI file: one field of the pod (admission refuses resource fields). */
const downwardItemSchema = z.object({ path: z.string(), fieldRef: z.object({ fieldPath: z.string() }).optional(), mode: z.number().int().optional() });
export type DownwardItem = z.infer<typeof downwardItemSchema>;

/** The volume sources the agent materializes; anything else is refused at admission. */
const volumeSchema = z.object({
  name: z.string(),
  emptyDir: z.object({ medium: z.string().optional(), sizeLimit: z.union([z.string(), z.number()]).optional() }).optional(),
  configMap: z
    .object({
      name: z.string().default(''),
      items: z.array(keyToPathSchema).optional(),
      defaultMode: z.number().int().default(0o644),
      optional: z.boolean().default(false),
    })
    .optional(),
  secret: z
    .object({
      secretName: z.string().default(''),
      items: z.array(keyToPathSchema).optional(),
      defaultMode: z.number().int().default(0o644),
      optional: z.boolean().default(false),
    })
    .optional(),
  hostPath: z.object({ path: z.string(), type: z.string().default('') }).optional(),
  persistentVolumeClaim: z.object({ claimName: z.string(), readOnly: z.boolean().default(false) }).optional(),
  downwardAPI: z.object({ items: z.array(downwardItemSchema).default([]), defaultMode: z.number().int().default(0o644) }).optional(),
  projected: z
    .object({
      sources: z
        .array(
          z.object({
            serviceAccountToken: z.object({ audience: z.string().optional(), expirationSeconds: z.number().int().default(3600), path: z.string() }).optional(),
            configMap: z.object({ name: z.string().default(''), items: z.array(keyToPathSchema).optional(), optional: z.boolean().default(false) }).optional(),
            secret: z.object({ name: z.string().default(''), items: z.array(keyToPathSchema).optional(), optional: z.boolean().default(false) }).optional(),
            downwardAPI: z.object({ items: z.array(downwardItemSchema).default([]) }).optional(),
          }),
        )
        .default([]),
      defaultMode: z.number().int().default(0o644),
    })
    .optional(),
});
export type Volume = z.infer<typeof volumeSchema>;

const containerSchema = z.object({
  name: z.string(),
  image: z.string().default(''),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  workingDir: z.string().optional(),
  env: z.array(envVarSchema).default([]),
  envFrom: z.array(envFromSchema).default([]),
  ports: z.array(z.object({ name: z.string().optional(), containerPort: z.number().int(), protocol: z.string().default('TCP') })).default([]),
  resources: z
    .object({
      requests: z.record(z.string(), z.union([z.string(), z.number()])).default({}),
      limits: z.record(z.string(), z.union([z.string(), z.number()])).default({}),
    })
    .default({ requests: {}, limits: {} }),
  livenessProbe: probeSchema.optional(),
  readinessProbe: probeSchema.optional(),
  startupProbe: probeSchema.optional(),
  volumeMounts: z.array(volumeMountSchema).default([]),
  securityContext: containerSecurityContextSchema.optional(),
  /** The container keeps a stdin open for `kubectl attach -i` (`kubectl run -i`, `kubectl debug -i`). */
  stdin: z.boolean().optional(),
  /** The first attach's end of input closes the container's stdin. */
  stdinOnce: z.boolean().optional(),
  /** The container runs on a terminal of its own (`-t`). */
  tty: z.boolean().optional(),
});
export type Container = z.infer<typeof containerSchema>;

/** A container added to the running pod (`kubectl debug`): run once, never restarted, never probed. */
const ephemeralContainerSchema = containerSchema.extend({ targetContainerName: z.string().optional() });
export type EphemeralContainer = z.infer<typeof ephemeralContainerSchema>;

const podSchema = z.object({
  metadata: z.object({
    name: z.string(),
    namespace: z.string().default('default'),
    uid: z.string(),
    resourceVersion: z.string().optional(),
    deletionTimestamp: z.string().optional(),
    deletionGracePeriodSeconds: z.number().int().optional(),
    labels: z.record(z.string(), z.string()).default({}),
    annotations: z.record(z.string(), z.string()).default({}),
  }),
  spec: z.object({
    nodeName: z.string().optional(),
    restartPolicy: z.enum(['Always', 'OnFailure', 'Never']).default('Always'),
    terminationGracePeriodSeconds: z.number().int().min(0).default(30),
    serviceAccountName: z.string().optional(),
    hostname: z.string().optional(),
    subdomain: z.string().optional(),
    initContainers: z.array(containerSchema).default([]),
    containers: z.array(containerSchema).min(1),
    ephemeralContainers: z.array(ephemeralContainerSchema).default([]),
    volumes: z.array(volumeSchema).default([]),
    securityContext: podSecurityContextSchema.default({ supplementalGroups: [] }),
    readinessGates: z.array(z.object({ conditionType: z.string() })).default([]),
  }),
  status: z
    .object({
      phase: z.string().optional(),
      conditions: z
        .array(
          z.object({
            type: z.string(),
            status: z.string(),
            lastTransitionTime: z.string().nullish(),
            lastProbeTime: z.string().nullish(),
            reason: z.string().optional(),
            message: z.string().optional(),
          }),
        )
        .default([]),
    })
    .default({ conditions: [] }),
});

export type PodView = z.infer<typeof podSchema>;

/** A pod as the agent sees it: parsed fields plus the raw object for writes. */
export interface AgentPod {
  readonly view: PodView;
  readonly raw: KubeObject;
}

/**
 * A pod as namespace mode runs it (docs/adr/137): a container of the image table (no command of
 * its own: a stand-in that takes a moment to listen) with TCP ports and no readiness probe is
 * ready once its first port accepts, as a readiness probe of one second would find it. A Service's
 * ClusterIP is rewritten by the kernel, with no proxy to try another endpoint; this keeps a new
 * pod out of the rules until it answers.
 */
export function withListeningReadiness(pod: AgentPod): AgentPod {
  const containers = pod.view.spec.containers.map((container) => {
    const port = container.ports.find((candidate) => candidate.protocol === 'TCP');
    if (container.readinessProbe || container.command || !port) return container;
    const readinessProbe: Probe = {
      tcpSocket: { port: port.containerPort },
      initialDelaySeconds: 0,
      periodSeconds: 1,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 1,
    };
    return { ...container, readinessProbe };
  });
  return { ...pod, view: { ...pod.view, spec: { ...pod.view.spec, containers } } };
}

export function parsePod(raw: KubeObject): AgentPod | { readonly error: string } {
  const parsed = podSchema.safeParse(raw);
  if (!parsed.success) return { error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  return { view: parsed.data, raw };
}

/** `namespace/name`, the key logs and events are looked up by. */
export function podKey(view: Pick<PodView, 'metadata'>): string {
  return `${view.metadata.namespace}/${view.metadata.name}`;
}
