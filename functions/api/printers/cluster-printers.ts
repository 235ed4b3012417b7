/** `kubectl get namespaces | nodes | leases | configmaps | secrets`. */
import type { KubeObject } from '../../../schemas/meta.ts';
import { ageSince } from './human-duration.ts';
import { ageColumn, column, type KindPrinter, nameColumn, nameOf, wide } from './kind-printer.ts';
import { at, countKeys, integer, optionalText, record, records, text } from './object-fields.ts';

export const namespacePrinter: KindPrinter = {
  columns: [nameColumn, column('Status', 'The status of the namespace'), ageColumn],
  print(namespace, now) {
    return { cells: [nameOf(namespace), text(at(namespace, 'status', 'phase')), ageSince(namespace.metadata.creationTimestamp, now)] };
  },
};

const roleLabelPrefix = 'node-role.kubernetes.io/';
/** The older single-valued role label, still honoured by kubectl. */
const legacyRoleLabel = 'kubernetes.io/role';

/** Roles named by `node-role.kubernetes.io/<role>` labels (and the legacy label), sorted. */
export function nodeRoles(labels: unknown): readonly string[] {
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(record(labels))) {
    if (key.startsWith(roleLabelPrefix)) {
      const role = key.slice(roleLabelPrefix.length);
      if (role) roles.add(role);
    } else if (key === legacyRoleLabel && text(value)) {
      roles.add(text(value));
    }
  }
  return [...roles].sort();
}

export const nodePrinter: KindPrinter = {
  columns: [
    nameColumn,
    column('Status', 'The status of the node'),
    column('Roles', 'The roles of the node'),
    ageColumn,
    column('Version', 'Kubelet version the node reports.'),
    wide('Internal-IP', 'The first internal address of the node.'),
    wide('External-IP', 'The first external address of the node.'),
    wide('OS-Image', 'OS image the node reports.'),
    wide('Kernel-Version', 'Kernel version the node reports.'),
    wide('Container-Runtime', 'Container runtime and version the node reports.'),
  ],
  print(node, now) {
    const status = at(node, 'status');
    const ready = records(at(status, 'conditions')).find((condition) => condition.type === 'Ready');
    const states = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
    if (at(node, 'spec', 'unschedulable') === true) states.push('SchedulingDisabled');
    const roles = nodeRoles(node.metadata.labels).join(',');
    const addresses = records(at(status, 'addresses'));
    const address = (type: string) => text(addresses.find((a) => a.type === type)?.address) || '<none>';
    const info = at(status, 'nodeInfo');
    return {
      cells: [
        nameOf(node),
        states.join(','),
        roles || '<none>',
        ageSince(node.metadata.creationTimestamp, now),
        text(at(info, 'kubeletVersion')),
        address('InternalIP'),
        address('ExternalIP'),
        text(at(info, 'osImage')) || '<unknown>',
        text(at(info, 'kernelVersion')) || '<unknown>',
        text(at(info, 'containerRuntimeVersion')) || '<unknown>',
      ],
    };
  },
};

export const leasePrinter: KindPrinter = {
  columns: [nameColumn, column('Holder', 'The identity of the holder of the lease.'), ageColumn],
  print(lease, now) {
    return { cells: [nameOf(lease), optionalText(at(lease, 'spec', 'holderIdentity')) ?? '', ageSince(lease.metadata.creationTimestamp, now)] };
  },
};

export const configMapPrinter: KindPrinter = {
  columns: [nameColumn, column('Data', 'Number of keys in data and binaryData.'), ageColumn],
  print(configMap, now) {
    return {
      cells: [nameOf(configMap), countKeys(configMap.data) + countKeys(configMap.binaryData), ageSince(configMap.metadata.creationTimestamp, now)],
    };
  },
};

export const secretPrinter: KindPrinter = {
  columns: [nameColumn, column('Type', 'Used to facilitate programmatic handling of secret data.'), column('Data', 'Number of keys in data.'), ageColumn],
  print(secret, now) {
    return { cells: [nameOf(secret), text(secret.type), integer(countKeys(secret.data)), ageSince(secret.metadata.creationTimestamp, now)] };
  },
};

/** `resource: used/hard` pairs of a quota's status, split into the request and limit columns. */
function quotaColumns(quota: KubeObject): [string, string] {
  const hard = (at(quota, 'status', 'hard') ?? {}) as Record<string, unknown>;
  const used = (at(quota, 'status', 'used') ?? {}) as Record<string, unknown>;
  const requests: string[] = [];
  const limits: string[] = [];
  for (const name of Object.keys(hard).sort()) {
    const cell = `${name}: ${text(used[name]) || '0'}/${text(hard[name])}`;
    (name.startsWith('limits.') ? limits : requests).push(cell);
  }
  return [requests.join(', '), limits.join(', ')];
}

export const resourceQuotaPrinter: KindPrinter = {
  columns: [
    nameColumn,
    ageColumn,
    column('Request', 'Request represents a minimum amount of cpu/memory that a container may consume.'),
    column('Limit', 'Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.'),
  ],
  print(quota, now) {
    const [request, limit] = quotaColumns(quota);
    return { cells: [nameOf(quota), ageSince(quota.metadata.creationTimestamp, now), request, limit] };
  },
};

export const limitRangePrinter: KindPrinter = {
  columns: [nameColumn, column('Created At', 'CreationTimestamp is a timestamp representing the server time when this object was created.')],
  print: (range) => ({ cells: [nameOf(range), range.metadata.creationTimestamp ?? ''] }),
};
