/**
 * What of a PodSpec Skiff runs, checked at admission: a volume type, a securityContext setting
 * or an init container Skiff would otherwise accept and then drop on the node is refused here,
 * with a 422 that names the field and says what is supported (docs/adr/084). Kubernetes' own
 * rules for these fields are in `pod-spec.ts`; these are Skiff's limits on top of them, to be
 * widened as the runtimes learn more (issue 16: PVCs, projected, downwardAPI; issue 15: per-pod
 * namespaces).
 */
import { child, type FieldCause, forbidden, index, notSupported } from './field-errors.ts';
import type { Container, PodSpec, Volume } from './pod-spec.ts';

/** The volume sources every Skiff node materializes. */
export const supportedVolumeSources = ['emptyDir', 'configMap', 'secret', 'hostPath', 'downwardAPI', 'projected', 'persistentVolumeClaim'] as const;

const supportedText = 'emptyDir, configMap, secret, downwardAPI, projected, persistentVolumeClaim and hostPath (read-only)';

/** The sources of a projected volume the nodes fill (a ServiceAccount token's volume is one). */
const supportedProjections = ['serviceAccountToken', 'configMap', 'secret', 'downwardAPI'] as const;

/** Pod fields a downwardAPI file may hold: the ones Kubernetes allows in volumes, but resources. */
const downwardFieldPath = /^metadata\.(name|namespace|uid|labels|annotations)$|^metadata\.(labels|annotations)\['[^']+'\]$/;

function sourceOf(volume: Volume): string | undefined {
  return Object.entries(volume).find(([key, value]) => key !== 'name' && value !== undefined)?.[0];
}

function checkDownwardItems(items: readonly unknown[] | undefined, field: string): FieldCause[] {
  return (items ?? []).flatMap((item, i) => {
    const { fieldRef, resourceFieldRef } = (item ?? {}) as { fieldRef?: { fieldPath?: unknown }; resourceFieldRef?: unknown };
    const at = index(field, i);
    if (resourceFieldRef !== undefined)
      return [forbidden(child(at, 'resourceFieldRef'), 'container resources in downwardAPI files are not supported by Skiff yet')];
    const path = fieldRef?.fieldPath;
    if (typeof path === 'string' && !downwardFieldPath.test(path)) {
      return [
        notSupported(child(child(at, 'fieldRef'), 'fieldPath'), path, [
          'metadata.name',
          'metadata.namespace',
          'metadata.uid',
          'metadata.labels',
          'metadata.annotations',
        ]),
      ];
    }
    return [];
  });
}

function checkProjected(sources: readonly unknown[] | undefined, field: string): FieldCause[] {
  return (sources ?? []).flatMap((source, i) => {
    const at = index(child(field, 'sources'), i);
    const kinds = Object.entries((source ?? {}) as Record<string, unknown>).filter(([, value]) => value !== undefined && value !== null);
    return kinds.flatMap(([kind, value]) => {
      if (!(supportedProjections as readonly string[]).includes(kind)) {
        return [forbidden(child(at, kind), `${kind} projections are not supported by Skiff yet; supported: ${supportedProjections.join(', ')}`)];
      }
      if (kind === 'downwardAPI') return checkDownwardItems((value as { items?: unknown[] }).items, child(child(at, 'downwardAPI'), 'items'));
      return [];
    });
  });
}

function checkVolumes(spec: PodSpec, field: string): FieldCause[] {
  return (spec.volumes ?? []).flatMap((volume, i) => {
    const source = sourceOf(volume);
    const at = index(child(field, 'volumes'), i);
    if (source === 'projected') return checkProjected(volume.projected?.sources, child(at, 'projected'));
    if (source === 'downwardAPI') return checkDownwardItems(volume.downwardAPI?.items, child(child(at, 'downwardAPI'), 'items'));
    if (source === undefined || (supportedVolumeSources as readonly string[]).includes(source)) return [];
    return [forbidden(child(at, source), `${source} volumes are not supported by Skiff yet; supported: ${supportedText}`)];
  });
}

function checkMounts(spec: PodSpec, container: Container, at: string): FieldCause[] {
  const hostPaths = new Set((spec.volumes ?? []).filter((volume) => volume.hostPath !== undefined).map((volume) => volume.name));
  const causes: FieldCause[] = [];
  (container.volumeMounts ?? []).forEach((mount, i) => {
    const mountAt = index(child(at, 'volumeMounts'), i);
    if (hostPaths.has(mount.name) && mount.readOnly !== true) {
      causes.push(forbidden(child(mountAt, 'readOnly'), 'Skiff mounts hostPath volumes read-only: set readOnly: true'));
    }
    if (mount.subPathExpr !== undefined && mount.subPathExpr !== '')
      causes.push(forbidden(child(mountAt, 'subPathExpr'), 'subPathExpr is not supported by Skiff yet; use subPath'));
    if (mount.mountPropagation !== undefined && mount.mountPropagation !== 'None') {
      causes.push(notSupported(child(mountAt, 'mountPropagation'), mount.mountPropagation, ['None']));
    }
    if (mount.recursiveReadOnly !== undefined && mount.recursiveReadOnly !== 'Disabled') {
      causes.push(notSupported(child(mountAt, 'recursiveReadOnly'), mount.recursiveReadOnly, ['Disabled']));
    }
  });
  if ((container.volumeDevices ?? []).length > 0) causes.push(forbidden(child(at, 'volumeDevices'), 'raw block devices are not supported by Skiff'));
  return causes;
}

/** Profiles the runtime cannot load: a Localhost profile names a file on some node. */
function checkProfile(profile: Record<string, unknown> | undefined, field: string): FieldCause[] {
  const type = profile?.type;
  if (type === undefined || type === 'RuntimeDefault' || type === 'Unconfined') return [];
  return [notSupported(child(field, 'type'), type, ['RuntimeDefault', 'Unconfined'])];
}

function checkContainerSecurity(container: Container, at: string): FieldCause[] {
  const context = container.securityContext;
  if (!context) return [];
  const field = child(at, 'securityContext');
  const causes: FieldCause[] = [];
  if (context.privileged === true) causes.push(forbidden(child(field, 'privileged'), 'privileged containers are not supported by Skiff'));
  (context.capabilities?.add ?? []).forEach((capability, i) => {
    if (capability.toUpperCase().replace(/^CAP_/, '') !== 'NET_BIND_SERVICE') {
      causes.push(notSupported(index(child(child(field, 'capabilities'), 'add'), i), capability, ['NET_BIND_SERVICE']));
    }
  });
  if (context.seLinuxOptions !== undefined) causes.push(forbidden(child(field, 'seLinuxOptions'), 'SELinux options are not supported by Skiff'));
  if (context.windowsOptions !== undefined) causes.push(forbidden(child(field, 'windowsOptions'), 'Skiff runs Linux pods only'));
  if (context.procMount !== undefined && context.procMount !== 'Default') causes.push(notSupported(child(field, 'procMount'), context.procMount, ['Default']));
  causes.push(
    ...checkProfile(context.seccompProfile, child(field, 'seccompProfile')),
    ...checkProfile(context.appArmorProfile, child(field, 'appArmorProfile')),
  );
  return causes;
}

function checkPodSecurity(spec: PodSpec, field: string): FieldCause[] {
  const context = spec.securityContext;
  const at = child(field, 'securityContext');
  const causes: FieldCause[] = [];
  if (context?.seLinuxOptions !== undefined) causes.push(forbidden(child(at, 'seLinuxOptions'), 'SELinux options are not supported by Skiff'));
  if (context?.windowsOptions !== undefined) causes.push(forbidden(child(at, 'windowsOptions'), 'Skiff runs Linux pods only'));
  if ((context?.sysctls ?? []).length > 0)
    causes.push(forbidden(child(at, 'sysctls'), "sysctls are not supported by Skiff: pods share the node's kernel settings"));
  causes.push(...checkProfile(context?.seccompProfile, child(at, 'seccompProfile')), ...checkProfile(context?.appArmorProfile, child(at, 'appArmorProfile')));
  if (spec.hostUsers === false) causes.push(forbidden(child(field, 'hostUsers'), 'user namespaces are not supported by Skiff yet'));
  return causes;
}

function checkInitContainer(container: Container, at: string): FieldCause[] {
  const causes: FieldCause[] = [];
  if (container.restartPolicy === 'Always')
    causes.push(forbidden(child(at, 'restartPolicy'), 'sidecar init containers (restartPolicy: Always) are not supported by Skiff yet'));
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
    if (container[probe] !== undefined) causes.push(forbidden(child(at, probe), 'may not be set for init containers without restartPolicy=Always'));
  }
  if (container.lifecycle !== undefined) causes.push(forbidden(child(at, 'lifecycle'), 'may not be set for init containers without restartPolicy=Always'));
  return causes;
}

/** Skiff's refusals for a PodSpec at `field` (`spec`, or `spec.template.spec`). */
export function checkPodSupport(spec: PodSpec, field: string): FieldCause[] {
  const causes = [...checkVolumes(spec, field), ...checkPodSecurity(spec, field)];
  (spec.initContainers ?? []).forEach((container, i) => {
    const at = index(child(field, 'initContainers'), i);
    causes.push(...checkInitContainer(container, at), ...checkMounts(spec, container, at), ...checkContainerSecurity(container, at));
  });
  (spec.containers ?? []).forEach((container, i) => {
    const at = index(child(field, 'containers'), i);
    causes.push(...checkMounts(spec, container, at), ...checkContainerSecurity(container, at));
  });
  (spec.ephemeralContainers ?? []).forEach((container, i) => {
    const at = index(child(field, 'ephemeralContainers'), i);
    causes.push(...checkMounts(spec, container, at), ...checkContainerSecurity(container, at));
  });
  return causes;
}
