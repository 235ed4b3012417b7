/** `kubectl get deployments` and `kubectl get replicasets`, with the wide template columns. */
import type { KubeObject } from '../../../schemas/meta.ts';
import { ageSince } from './human-duration.ts';
import { ageColumn, type ColumnDefinition, column, type KindPrinter, nameColumn, nameOf, wide } from './kind-printer.ts';
import { formatLabelSelector } from './label-text.ts';
import { at, integer, records, text } from './object-fields.ts';

const templateColumns = [
  wide('Containers', 'Names of each container in the template.'),
  wide('Images', 'Images referenced by each container in the template.'),
  wide('Selector', 'Label selector of the pods this object manages.'),
];

/** Container names and images of a pod template, each joined by commas. */
function templateCells(object: KubeObject): [string, string, string] {
  const containers = records(at(object, 'spec', 'template', 'spec', 'containers'));
  return [containers.map((c) => text(c.name)).join(','), containers.map((c) => text(c.image)).join(','), formatLabelSelector(at(object, 'spec', 'selector'))];
}

/** spec.replicas after defaulting; an absent value means the default of 1. */
function desiredReplicas(object: KubeObject): number {
  return integer(at(object, 'spec', 'replicas'), 1);
}

export const deploymentPrinter: KindPrinter = {
  columns: [
    nameColumn,
    column('Ready', 'Number of the pod with ready state'),
    column('Up-to-date', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'),
    column('Available', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'),
    ageColumn,
    ...templateColumns,
  ],
  print(deployment, now) {
    const status = at(deployment, 'status');
    return {
      cells: [
        nameOf(deployment),
        `${integer(at(status, 'readyReplicas'))}/${desiredReplicas(deployment)}`,
        integer(at(status, 'updatedReplicas')),
        integer(at(status, 'availableReplicas')),
        ageSince(deployment.metadata.creationTimestamp, now),
        ...templateCells(deployment),
      ],
    };
  },
};

export const replicaSetPrinter: KindPrinter = {
  columns: [
    nameColumn,
    column('Desired', 'Number of desired pods.', { type: 'integer' }),
    column('Current', 'The most recently observed number of replicas.', { type: 'integer' }),
    column('Ready', 'The number of ready replicas for this replica set.', { type: 'integer' }),
    ageColumn,
    ...templateColumns,
  ],
  print(replicaSet, now) {
    const status = at(replicaSet, 'status');
    return {
      cells: [
        nameOf(replicaSet),
        desiredReplicas(replicaSet),
        integer(at(status, 'replicas')),
        integer(at(status, 'readyReplicas')),
        ageSince(replicaSet.metadata.creationTimestamp, now),
        ...templateCells(replicaSet),
      ],
    };
  },
};

function nodeSelectorText(object: KubeObject): string {
  const selector = at(object, 'spec', 'template', 'spec', 'nodeSelector');
  const entries = typeof selector === 'object' && selector !== null ? Object.entries(selector as Record<string, unknown>) : [];
  return entries.length === 0 ? '<none>' : entries.map(([k, v]) => `${k}=${text(v)}`).join(',');
}

export const daemonSetPrinter: KindPrinter = {
  columns: [
    nameColumn,
    column('Desired', 'The total number of nodes that should be running the daemon pod.', { type: 'integer' }),
    column('Current', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.', { type: 'integer' }),
    column('Ready', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.', { type: 'integer' }),
    column('Up-to-date', 'The total number of nodes that are running updated daemon pod.', { type: 'integer' }),
    column('Available', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.', {
      type: 'integer',
    }),
    column('Node Selector', 'NodeSelector is a selector which must be true for the pod to fit on a node.'),
    ageColumn,
    ...templateColumns,
  ],
  print(daemonSet, now) {
    const status = at(daemonSet, 'status');
    return {
      cells: [
        nameOf(daemonSet),
        integer(at(status, 'desiredNumberScheduled')),
        integer(at(status, 'currentNumberScheduled')),
        integer(at(status, 'numberReady')),
        integer(at(status, 'updatedNumberScheduled')),
        integer(at(status, 'numberAvailable')),
        nodeSelectorText(daemonSet),
        ageSince(daemonSet.metadata.creationTimestamp, now),
        ...templateCells(daemonSet),
      ],
    };
  },
};

export const controllerRevisionPrinter: KindPrinter = {
  columns: [
    nameColumn,
    column('Controller', 'Controller of the object.'),
    column('Revision', 'Revision of the ControllerRevision.', { type: 'integer' }),
    ageColumn,
  ],
  print(revision, now) {
    const owner = (revision.metadata.ownerReferences ?? []).find((ref) => ref.controller);
    const controller = owner ? `${owner.kind.toLowerCase()}.${owner.apiVersion.includes('/') ? owner.apiVersion.split('/')[0] : ''}/${owner.name}` : '<none>';
    return { cells: [nameOf(revision), controller, integer(at(revision, 'revision')), ageSince(revision.metadata.creationTimestamp, now)] };
  },
};

export const statefulSetPrinter: KindPrinter = {
  columns: [
    nameColumn,
    column('Ready', 'Number of the pod with ready state'),
    ageColumn,
    templateColumns[0] as ColumnDefinition,
    templateColumns[1] as ColumnDefinition,
  ],
  print(statefulSet, now) {
    const [containers, images] = templateCells(statefulSet);
    return {
      cells: [
        nameOf(statefulSet),
        `${integer(at(statefulSet, 'status', 'readyReplicas'))}/${desiredReplicas(statefulSet)}`,
        ageSince(statefulSet.metadata.creationTimestamp, now),
        containers,
        images,
      ],
    };
  },
};

/** A ReplicationController's selector is a plain label map: `app=web,tier=front`, `<none>` when empty. */
function labelMapText(value: unknown): string {
  const entries = typeof value === 'object' && value !== null ? Object.entries(value as Record<string, unknown>) : [];
  return entries.length === 0 ? '<none>' : entries.map(([k, v]) => `${k}=${text(v)}`).join(',');
}

export const replicationControllerPrinter: KindPrinter = {
  columns: replicaSetPrinter.columns,
  print(controller, now) {
    const status = at(controller, 'status');
    const [containers, images] = templateCells(controller);
    return {
      cells: [
        nameOf(controller),
        desiredReplicas(controller),
        integer(at(status, 'replicas')),
        integer(at(status, 'readyReplicas')),
        ageSince(controller.metadata.creationTimestamp, now),
        containers,
        images,
        labelMapText(at(controller, 'spec', 'selector')),
      ],
    };
  },
};
