/**
 * Server-side printing: the `meta.k8s.io/v1` Table that `kubectl get` asks for with
 * `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. Each served kind has the columns
 * kube-apiserver declares for it; a kind without a printer gets NAME and AGE, like a
 * custom resource without printer columns.
 */

import type { KubeObject, ObjectMeta } from '../../../schemas/meta.ts';
import { apiVersionOf, type ResourceType } from '../../../schemas/registry.ts';
import { acceptsJson, parseAccept } from './accept-header.ts';
import { roleBindingPrinter, rolePrinter, serviceAccountPrinter } from './access-printers.ts';
import { mutatingWebhookConfigurationPrinter, validatingWebhookConfigurationPrinter } from './admission-registration-printers.ts';
import { horizontalPodAutoscalerPrinter } from './autoscaling-printers.ts';
import { cronJobPrinter, jobPrinter } from './batch-printers.ts';
import { configMapPrinter, leasePrinter, limitRangePrinter, namespacePrinter, nodePrinter, resourceQuotaPrinter, secretPrinter } from './cluster-printers.ts';
import { customResourcePrinter } from './custom-resource-printer.ts';
import { eventPrinter } from './event-printer.ts';
import { ageSince } from './human-duration.ts';
import { ageColumn, type Cell, type ColumnDefinition, type KindPrinter, nameColumn, nameOf, type TableRowCondition } from './kind-printer.ts';
import { endpointSlicePrinter, endpointsPrinter, ingressClassPrinter, ingressPrinter, networkPolicyPrinter, servicePrinter } from './network-printers.ts';
import { podPrinter } from './pod-printer.ts';
import { podDisruptionBudgetPrinter } from './policy-printers.ts';
import { priorityClassPrinter } from './scheduling-printers.ts';
import { persistentVolumeClaimPrinter, persistentVolumePrinter, storageClassPrinter } from './storage-printers.ts';
import {
  controllerRevisionPrinter,
  daemonSetPrinter,
  deploymentPrinter,
  replicaSetPrinter,
  replicationControllerPrinter,
  statefulSetPrinter,
} from './workload-printers.ts';

export type { Cell, ColumnDefinition, TableRowCondition } from './kind-printer.ts';

export interface PartialObjectMetadata {
  readonly kind: 'PartialObjectMetadata';
  readonly apiVersion: 'meta.k8s.io/v1';
  readonly metadata: ObjectMeta;
}

export interface TableRow {
  readonly cells: readonly Cell[];
  readonly conditions?: readonly TableRowCondition[];
  /** Absent with `includeObject=None`. */
  readonly object?: PartialObjectMetadata | KubeObject;
}

export interface Table {
  readonly kind: 'Table';
  readonly apiVersion: 'meta.k8s.io/v1';
  readonly metadata: { readonly resourceVersion?: string; readonly continue?: string; readonly remainingItemCount?: number };
  /** Empty in watch events after the first: kubectl keeps the list's definitions. */
  readonly columnDefinitions: readonly ColumnDefinition[];
  readonly rows: readonly TableRow[];
}

/** The `includeObject` query parameter: what each row carries besides its cells. */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface TableOptions {
  readonly now: Date;
  readonly resourceVersion?: string;
  readonly continue?: string;
  readonly remainingItemCount?: number;
  /** false for watch events after the first: kubectl reuses the list's definitions. */
  readonly includeColumnDefinitions?: boolean;
  /** Default `Metadata`: a PartialObjectMetadata per row, which `-A` and `--show-labels` read. */
  readonly includeObject?: IncludeObject;
}

const printers: ReadonlyMap<string, KindPrinter> = new Map([
  ['core/namespaces', namespacePrinter],
  ['core/nodes', nodePrinter],
  ['core/pods', podPrinter],
  ['core/services', servicePrinter],
  ['core/endpoints', endpointsPrinter],
  ['core/configmaps', configMapPrinter],
  ['core/secrets', secretPrinter],
  ['core/events', eventPrinter],
  ['apps/deployments', deploymentPrinter],
  ['apps/replicasets', replicaSetPrinter],
  ['core/replicationcontrollers', replicationControllerPrinter],
  ['core/resourcequotas', resourceQuotaPrinter],
  ['core/limitranges', limitRangePrinter],
  ['apps/daemonsets', daemonSetPrinter],
  ['apps/statefulsets', statefulSetPrinter],
  ['core/persistentvolumes', persistentVolumePrinter],
  ['core/persistentvolumeclaims', persistentVolumeClaimPrinter],
  ['storage.k8s.io/storageclasses', storageClassPrinter],
  ['apps/controllerrevisions', controllerRevisionPrinter],
  ['autoscaling/horizontalpodautoscalers', horizontalPodAutoscalerPrinter],
  ['batch/jobs', jobPrinter],
  ['batch/cronjobs', cronJobPrinter],
  ['coordination.k8s.io/leases', leasePrinter],
  ['networking.k8s.io/ingresses', ingressPrinter],
  ['networking.k8s.io/ingressclasses', ingressClassPrinter],
  ['networking.k8s.io/networkpolicies', networkPolicyPrinter],
  ['scheduling.k8s.io/priorityclasses', priorityClassPrinter],
  ['admissionregistration.k8s.io/mutatingwebhookconfigurations', mutatingWebhookConfigurationPrinter],
  ['admissionregistration.k8s.io/validatingwebhookconfigurations', validatingWebhookConfigurationPrinter],
  ['discovery.k8s.io/endpointslices', endpointSlicePrinter],
  ['core/serviceaccounts', serviceAccountPrinter],
  ['policy/poddisruptionbudgets', podDisruptionBudgetPrinter],
  ['rbac.authorization.k8s.io/roles', rolePrinter],
  ['rbac.authorization.k8s.io/clusterroles', rolePrinter],
  ['rbac.authorization.k8s.io/rolebindings', roleBindingPrinter],
  ['rbac.authorization.k8s.io/clusterrolebindings', roleBindingPrinter],
]);

const defaultPrinter: KindPrinter = {
  columns: [nameColumn, ageColumn],
  print: (object, now) => ({ cells: [nameOf(object), ageSince(object.metadata.creationTimestamp, now)] }),
};

/** A CustomResourceDefinition's own columns: its name and when it was made, as a timestamp. */
const customResourceDefinitionPrinter: KindPrinter = {
  columns: [nameColumn, { name: 'Created At', type: 'date', format: '', description: 'When the definition was created.', priority: 0 }],
  print: (object) => ({ cells: [nameOf(object), object.metadata.creationTimestamp ?? null] }),
};

export function printerFor(type: ResourceType): KindPrinter {
  if (type.custom) return customResourcePrinter(type.custom.printerColumns);
  if (type.id === 'apiextensions.k8s.io/customresourcedefinitions') return customResourceDefinitionPrinter;
  return printers.get(type.id) ?? defaultPrinter;
}

function rowObject(type: ResourceType, object: KubeObject, include: IncludeObject): TableRow['object'] {
  if (include === 'None') return undefined;
  // The whole object, typed, as `kubectl get --sort-by` and `-o custom-columns` with a server-side Table read it.
  if (include === 'Object') return { ...object, apiVersion: apiVersionOf(type), kind: type.kind };
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata };
}

/** One Table for a list (or a single object), each row with `object` = PartialObjectMetadata by default. */
export function toTable(type: ResourceType, objects: readonly KubeObject[], options: TableOptions): Table {
  const printer = printerFor(type);
  const include = options.includeObject ?? 'Metadata';
  // A single object's Table carries that object's revision, as kube-apiserver's does.
  const resourceVersion = options.resourceVersion ?? (objects.length === 1 ? objects[0]?.metadata.resourceVersion : undefined);
  const rows = objects.map((object): TableRow => {
    const printed = printer.print(object, options.now);
    const embedded = rowObject(type, object, include);
    return {
      cells: printed.cells,
      ...(printed.conditions ? { conditions: printed.conditions } : {}),
      ...(embedded ? { object: embedded } : {}),
    };
  });
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: {
      ...(resourceVersion !== undefined ? { resourceVersion } : {}),
      ...(options.continue ? { continue: options.continue } : {}),
      ...(options.remainingItemCount !== undefined ? { remainingItemCount: options.remainingItemCount } : {}),
    },
    columnDefinitions: options.includeColumnDefinitions === false ? [] : printer.columns,
    rows,
  };
}

/**
 * The Accept header asks for a Table (as=Table;g=meta.k8s.io;v=v1 or v1beta1) before any
 * plain representation. Skiff answers both Table versions with `meta.k8s.io/v1`, which every
 * kubectl since 1.15 asks for first.
 */
export function wantsTable(accept: string | undefined): boolean {
  for (const range of parseAccept(accept)) {
    const as = range.parameters.get('as');
    if (as === undefined) return false;
    if (as === 'Table' && acceptsJson(range) && range.parameters.get('g') === 'meta.k8s.io' && ['v1', 'v1beta1'].includes(range.parameters.get('v') ?? '')) {
      return true;
    }
  }
  return false;
}
