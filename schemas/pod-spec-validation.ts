/**
 * Kubernetes' rules for a PodSpec and a pod template (`ValidatePodSpec`): containers, names,
 * ports, probes, env, volumes and tolerations, and Skiff's own limits on top (`pod-support.ts`),
 * each refusal a field cause.
 */
import { child, duplicate, type FieldCause, forbidden, index, invalid, nonNegative, notFound, required } from './field-errors.ts';
import {
  checkAnnotations,
  checkLabels,
  checkName,
  isConfigMapKey,
  isDns1123Label,
  isHttpHeaderName,
  isHttpHeaderValue,
  isHttpPath,
  isNetworkHost,
  isPortName,
  isQualifiedName,
} from './name-rules.ts';
import {
  type Container,
  type EphemeralContainer,
  type PodSpec,
  type PodTemplateSpec,
  type Probe,
  podSpecSchema,
  type Toleration,
  type Volume,
} from './pod-spec.ts';
import { checkPodSupport } from './pod-support.ts';

function validatePorts(container: Container, field: string): FieldCause[] {
  const causes: FieldCause[] = [];
  const names = new Set<string>();
  (container.ports ?? []).forEach((port, i) => {
    const at = index(child(field, 'ports'), i);
    if (port.name !== undefined && port.name !== '') {
      causes.push(...checkName(child(at, 'name'), port.name, isPortName));
      if (names.has(port.name)) causes.push(duplicate(child(at, 'name'), port.name));
      names.add(port.name);
    }
    if (port.containerPort === 0) causes.push(required(child(at, 'containerPort')));
    else if (port.containerPort < 1 || port.containerPort > 65535)
      causes.push(invalid(child(at, 'containerPort'), port.containerPort, 'must be between 1 and 65535, inclusive'));
    if (port.hostPort !== undefined && port.hostPort !== 0 && (port.hostPort < 1 || port.hostPort > 65535)) {
      causes.push(invalid(child(at, 'hostPort'), port.hostPort, 'must be between 1 and 65535, inclusive'));
    }
  });
  return causes;
}

function validateProbe(probe: Probe | undefined, field: string, mustSucceedOnce: boolean): FieldCause[] {
  if (!probe) return [];
  const causes: FieldCause[] = [
    ...nonNegative(child(field, 'initialDelaySeconds'), probe.initialDelaySeconds),
    ...nonNegative(child(field, 'timeoutSeconds'), probe.timeoutSeconds),
    ...nonNegative(child(field, 'periodSeconds'), probe.periodSeconds),
    ...nonNegative(child(field, 'successThreshold'), probe.successThreshold),
    ...nonNegative(child(field, 'failureThreshold'), probe.failureThreshold),
  ];
  if (mustSucceedOnce && probe.successThreshold !== 1) causes.push(invalid(child(field, 'successThreshold'), probe.successThreshold, 'must be 1'));
  const handlers = (['exec', 'httpGet', 'tcpSocket', 'grpc'] as const).filter((h) => probe[h] !== undefined);
  if (handlers.length === 0) causes.push(required(field, 'must specify a handler type'));
  if (handlers.length > 1)
    causes.push({ field: child(field, handlers[1] ?? ''), reason: 'FieldValueForbidden', message: 'Forbidden: may not specify more than 1 handler type' });
  if (probe.httpGet) causes.push(...validateHttpGet(probe.httpGet, child(field, 'httpGet')));
  if (probe.tcpSocket) causes.push(...validateTcpSocket(probe.tcpSocket, child(field, 'tcpSocket')));
  if (probe.grpc) causes.push(...validatePortNumberOrName(child(child(field, 'grpc'), 'port'), probe.grpc.port));
  return causes;
}

type HttpGetAction = NonNullable<Probe['httpGet']>;
type TcpSocketAction = NonNullable<Probe['tcpSocket']>;

/**
 * What the node agent will send: a header name that is a token, a value without line breaks,
 * a host that is an address or a DNS name, a path without spaces. Anything else could only fail
 * (or, unchecked, break the request) on the node, so it is refused here.
 */
function validateHttpGet(action: HttpGetAction, field: string): FieldCause[] {
  const causes = validatePortNumberOrName(child(field, 'port'), action.port);
  if (action.host !== undefined && action.host !== '') causes.push(...checkName(child(field, 'host'), action.host, isNetworkHost));
  causes.push(...checkName(child(field, 'path'), action.path, isHttpPath));
  (action.httpHeaders ?? []).forEach((header, i) => {
    const at = index(child(field, 'httpHeaders'), i);
    if (!header.name) causes.push(required(child(at, 'name')));
    else causes.push(...checkName(child(at, 'name'), header.name, isHttpHeaderName));
    causes.push(...checkName(child(at, 'value'), header.value, isHttpHeaderValue));
  });
  return causes;
}

function validateTcpSocket(action: TcpSocketAction, field: string): FieldCause[] {
  const causes = validatePortNumberOrName(child(field, 'port'), action.port);
  if (action.host !== undefined && action.host !== '') causes.push(...checkName(child(field, 'host'), action.host, isNetworkHost));
  return causes;
}

/** A port given by number (1–65535) or by IANA service name. */
export function validatePortNumberOrName(field: string, port: number | string): FieldCause[] {
  if (typeof port === 'number') return port < 1 || port > 65535 ? [invalid(field, port, 'must be between 1 and 65535, inclusive')] : [];
  return /^\d+$/.test(port) ? [invalid(field, port, 'must contain at least one letter (a-z)')] : checkName(field, port, isPortName);
}

function validateEnv(container: Container, field: string): FieldCause[] {
  const causes: FieldCause[] = [];
  (container.env ?? []).forEach((env, i) => {
    const at = index(child(field, 'env'), i);
    if (!env.name) causes.push(required(child(at, 'name')));
    else if (env.name.includes('=') || !/^[\x20-\x7e]+$/.test(env.name)) {
      causes.push(invalid(child(at, 'name'), env.name, "a valid environment variable name must consist only of printable ASCII characters other than '='"));
    }
    if (env.valueFrom) {
      const sources = Object.values(env.valueFrom).filter((s) => s !== undefined).length;
      if (sources === 0)
        causes.push(invalid(child(at, 'valueFrom'), '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
      if (sources > 1) causes.push(invalid(child(at, 'valueFrom'), '', 'may not have more than one field specified at a time'));
      if (env.value) causes.push(invalid(child(at, 'valueFrom'), '', 'may not be specified when `value` is not empty'));
      for (const ref of ['configMapKeyRef', 'secretKeyRef'] as const) {
        const selector = env.valueFrom[ref];
        if (selector)
          causes.push(
            ...(selector.key
              ? checkName(child(child(child(at, 'valueFrom'), ref), 'key'), selector.key, isConfigMapKey)
              : [required(child(child(child(at, 'valueFrom'), ref), 'key'))]),
          );
      }
    }
  });
  return causes;
}

type ContainerRole = 'init' | 'app' | 'ephemeral';

function validateContainer(container: Container, field: string, volumes: ReadonlySet<string>, role: ContainerRole): FieldCause[] {
  const isInit = role === 'init';
  const causes: FieldCause[] = [];
  if (!container.name) causes.push(required(child(field, 'name')));
  else causes.push(...checkName(child(field, 'name'), container.name, isDns1123Label));
  if (!container.image || container.image.trim() === '') causes.push(required(child(field, 'image')));
  causes.push(...validatePorts(container, field), ...validateEnv(container, field));
  causes.push(...validateProbe(container.livenessProbe, child(field, 'livenessProbe'), true));
  causes.push(...validateProbe(container.startupProbe, child(field, 'startupProbe'), true));
  causes.push(...validateProbe(container.readinessProbe, child(field, 'readinessProbe'), false));
  if (isInit && container.restartPolicy !== undefined && container.restartPolicy !== 'Always') {
    causes.push(invalid(child(field, 'restartPolicy'), container.restartPolicy, 'must be "Always" or unset'));
  }
  if (role === 'app' && container.restartPolicy !== undefined) {
    causes.push({ field: child(field, 'restartPolicy'), reason: 'FieldValueForbidden', message: 'Forbidden: may not be set for non-init containers' });
  }
  const mountPaths = new Set<string>();
  (container.volumeMounts ?? []).forEach((mount, i) => {
    const at = index(child(field, 'volumeMounts'), i);
    if (!mount.name) causes.push(required(child(at, 'name')));
    else if (!volumes.has(mount.name)) causes.push(notFound(child(at, 'name'), mount.name));
    if (!mount.mountPath) causes.push(required(child(at, 'mountPath')));
    else if (mountPaths.has(mount.mountPath)) causes.push(invalid(child(at, 'mountPath'), mount.mountPath, 'must be unique'));
    mountPaths.add(mount.mountPath);
  });
  return causes;
}

function validateVolumes(volumes: readonly Volume[], field: string): FieldCause[] {
  const causes: FieldCause[] = [];
  const seen = new Set<string>();
  volumes.forEach((volume, i) => {
    const at = index(field, i);
    if (!volume.name) causes.push(required(child(at, 'name')));
    else {
      causes.push(...checkName(child(at, 'name'), volume.name, isDns1123Label));
      if (seen.has(volume.name)) causes.push(duplicate(child(at, 'name'), volume.name));
      seen.add(volume.name);
    }
    const sources = Object.entries(volume)
      .filter(([k, v]) => k !== 'name' && v !== undefined)
      .map(([k]) => k);
    if (sources.length > 1)
      causes.push({ field: child(at, sources[1] ?? ''), reason: 'FieldValueForbidden', message: 'Forbidden: may not specify more than 1 volume type' });
  });
  return causes;
}

function validateTolerations(tolerations: readonly Toleration[], field: string): FieldCause[] {
  const causes: FieldCause[] = [];
  tolerations.forEach((toleration, i) => {
    const at = index(field, i);
    if (toleration.key) causes.push(...checkName(child(at, 'key'), toleration.key, isQualifiedName));
    if (!toleration.key && toleration.operator !== 'Exists') {
      causes.push(
        invalid(child(at, 'operator'), toleration.operator ?? '', 'operator must be Exists when `key` is empty, which means "match all values and all keys"'),
      );
    }
    if (toleration.operator === 'Exists' && toleration.value)
      causes.push(invalid(child(at, 'operator'), toleration.value, "value must be empty when `operator` is 'Exists'"));
    if (toleration.tolerationSeconds !== undefined && toleration.effect !== 'NoExecute') {
      causes.push(invalid(child(at, 'effect'), toleration.effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
  });
  return causes;
}

/**
 * The Container fields an ephemeral container may not have, in the order of the Container struct
 * (kube-apiserver's allow list): they would make it part of how the pod serves (ports, probes,
 * lifecycle hooks) or claim what the pod was scheduled with (resources).
 */
const fieldsNotForEphemeralContainers = [
  'ports',
  'resources',
  'resizePolicy',
  'restartPolicy',
  'restartPolicyRules',
  'livenessProbe',
  'readinessProbe',
  'startupProbe',
  'lifecycle',
] as const;

const notForEphemeral = 'cannot be set for an Ephemeral Container';

/** Whether a field holds something, as Go's comparison with the zero value sees it (`resources: {}` holds nothing). */
function isSet(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.values(value).some(isSet);
  return value !== '' && value !== false && value !== 0;
}

/**
 * kube-apiserver's `validateEphemeralContainers`: each one a valid container, named uniquely
 * across every container of the pod, targeting an existing regular or init container, with none
 * of the fields of `fieldsNotForEphemeralContainers` and no subPath mounts (bind mounts that would
 * outlive it until the pod goes).
 */
function validateEphemeralContainers(spec: PodSpec, field: string, volumes: ReadonlySet<string>, names: Map<string, true>): FieldCause[] {
  const causes: FieldCause[] = [];
  const targets = new Set([...(spec.containers ?? []), ...(spec.initContainers ?? [])].map((container) => container.name));
  (spec.ephemeralContainers ?? []).forEach((container: EphemeralContainer, i) => {
    const at = index(field, i);
    causes.push(...validateContainer(container, at, volumes, 'ephemeral'));
    if (container.image !== undefined && container.image !== container.image.trim()) {
      causes.push(invalid(child(at, 'image'), container.image, 'must not have leading or trailing whitespace'));
    }
    if (container.name) {
      if (names.has(container.name)) causes.push(duplicate(child(at, 'name'), container.name));
      names.set(container.name, true);
    }
    if (container.targetContainerName && !targets.has(container.targetContainerName)) {
      causes.push(notFound(child(at, 'targetContainerName'), container.targetContainerName));
    }
    for (const name of fieldsNotForEphemeralContainers) {
      if (isSet(container[name])) causes.push(forbidden(child(at, name), notForEphemeral));
    }
    (container.volumeMounts ?? []).forEach((mount, m) => {
      const mountAt = index(child(at, 'volumeMounts'), m);
      if (mount.subPath) causes.push(forbidden(child(mountAt, 'subPath'), notForEphemeral));
      if (mount.subPathExpr) causes.push(forbidden(child(mountAt, 'subPathExpr'), notForEphemeral));
    });
  });
  return causes;
}

export interface PodSpecRules {
  /** Pod templates of workloads only allow restartPolicy Always. */
  readonly allowedRestartPolicies?: readonly string[];
}

/** `ValidatePodSpec`: containers, names, ports, probes, volumes and scheduling fields. */
export function validatePodSpec(spec: PodSpec, field: string, rules: PodSpecRules = {}): FieldCause[] {
  // What Skiff cannot run is refused with Kubernetes' own checks, never dropped on the node.
  const causes: FieldCause[] = [...checkPodSupport(spec, field)];
  const volumes = spec.volumes ?? [];
  causes.push(...validateVolumes(volumes, child(field, 'volumes')));
  const volumeNames = new Set(volumes.map((v) => v.name));
  const names = new Map<string, true>();
  const checkUnique = (container: Container, at: string) => {
    if (!container.name) return;
    if (names.has(container.name)) causes.push(duplicate(child(at, 'name'), container.name));
    names.set(container.name, true);
  };
  (spec.initContainers ?? []).forEach((container, i) => {
    const at = index(child(field, 'initContainers'), i);
    causes.push(...validateContainer(container, at, volumeNames, 'init'));
    checkUnique(container, at);
  });
  if (!spec.containers || spec.containers.length === 0) causes.push(required(child(field, 'containers')));
  (spec.containers ?? []).forEach((container, i) => {
    const at = index(child(field, 'containers'), i);
    causes.push(...validateContainer(container, at, volumeNames, 'app'));
    checkUnique(container, at);
  });
  causes.push(...validateEphemeralContainers(spec, child(field, 'ephemeralContainers'), volumeNames, names));
  if (rules.allowedRestartPolicies && !rules.allowedRestartPolicies.includes(spec.restartPolicy)) {
    causes.push({
      field: child(field, 'restartPolicy'),
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(spec.restartPolicy)}: supported values: ${rules.allowedRestartPolicies.map((p) => JSON.stringify(p)).join(', ')}`,
    });
  }
  causes.push(...nonNegative(child(field, 'terminationGracePeriodSeconds'), spec.terminationGracePeriodSeconds));
  if (spec.activeDeadlineSeconds !== undefined && (spec.activeDeadlineSeconds < 1 || spec.activeDeadlineSeconds > 2147483647)) {
    causes.push(invalid(child(field, 'activeDeadlineSeconds'), spec.activeDeadlineSeconds, 'must be between 1 and 2147483647, inclusive'));
  }
  causes.push(...checkLabels(child(field, 'nodeSelector'), spec.nodeSelector));
  causes.push(...validateTolerations(spec.tolerations ?? [], child(field, 'tolerations')));
  if (spec.serviceAccountName) causes.push(...checkName(child(field, 'serviceAccountName'), spec.serviceAccountName, isDns1123Label));
  if (spec.hostname) causes.push(...checkName(child(field, 'hostname'), spec.hostname, isDns1123Label));
  if (spec.subdomain) causes.push(...checkName(child(field, 'subdomain'), spec.subdomain, isDns1123Label));
  if (spec.dnsPolicy === 'None' && (spec.dnsConfig?.nameservers ?? []).length === 0) {
    causes.push(required(child(field, 'dnsConfig'), 'must provide `dnsConfig` when `dnsPolicy` is None'));
  }
  return causes;
}

/** The pod template of a workload: its labels, annotations and spec. */
export function validatePodTemplate(
  template: PodTemplateSpec | undefined,
  field: string,
  allowedRestartPolicies: readonly string[] = ['Always'],
): FieldCause[] {
  if (!template) return [required(field)];
  const causes: FieldCause[] = [
    ...checkLabels(child(child(field, 'metadata'), 'labels'), template.metadata?.labels),
    ...checkAnnotations(child(child(field, 'metadata'), 'annotations'), template.metadata?.annotations),
    ...validatePodSpec(template.spec ?? podSpecSchema.parse({}), child(field, 'spec'), { allowedRestartPolicies }),
  ];
  if ((template.spec?.ephemeralContainers ?? []).length > 0) {
    causes.push(forbidden(child(child(field, 'spec'), 'ephemeralContainers'), 'ephemeral containers not allowed in pod template'));
  }
  return causes;
}
