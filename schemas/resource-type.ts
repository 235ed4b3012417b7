/**
 * The shape of a served resource type, apart from the registry that lists them, so the
 * registry and the CustomResourceDefinitions that add types at run time can both name it.
 */
import type { JsonSchemaProps } from './structural-schema.ts';

/**
 * What moves `metadata.generation` of a kind, as its kube-apiserver 1.32 registry strategy does
 * (docs/adr/204). The server sets 1 on create and adds one on an update that changes:
 * - `spec`: the spec (Deployments, StatefulSets, Jobs, Ingresses, CRDs...);
 * - `content`: anything but metadata (a custom resource without a status subresource, the
 *   webhook configurations);
 * - `content-but-status`: anything but metadata and status (a custom resource with one);
 * - `content-or-labels`: anything but metadata, or the labels (EndpointSlice).
 * A kind without a rule (Pod, Service, Node, ConfigMap...) gets none from the server: what
 * was stored stays, whatever an update changes.
 */
export type GenerationRule = 'spec' | 'content' | 'content-but-status' | 'content-or-labels';

export type Subresource =
  | 'status'
  | 'finalize'
  | 'scale'
  | 'binding'
  | 'log'
  | 'eviction'
  | 'token'
  | 'exec'
  | 'attach'
  | 'portforward'
  | 'ephemeralcontainers';

export interface ResourceType {
  /** Stable key, `<group or core>/<plural>`: the store's partition for this type. */
  readonly id: string;
  /** API group; '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly listKind: string;
  /** Plural resource name as it appears in paths: `deployments`. */
  readonly plural: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly subresources: readonly Subresource[];
  readonly verbs: readonly string[];
  /**
   * false for the create-only review kinds (SelfSubjectAccessReview, TokenReview...): a client
   * creates one to ask a question, the server answers in `status` and stores nothing; and for
   * the read-only resource metrics (`metrics.k8s.io`), computed from what the nodes measured.
   */
  readonly persisted: boolean;
  /** Set for the kinds CustomResourceDefinitions add: their schema, printer columns and scale paths. */
  readonly custom?: CustomResourceFacts;
  /**
   * Older versions also served, converted to and from `version` (the stored one), which stays
   * the preferred version in discovery: autoscaling/v1 for HorizontalPodAutoscaler.
   */
  readonly otherVersions: readonly string[];
  /** How the server keeps `metadata.generation`; absent: it keeps none for the kind. */
  readonly generation?: GenerationRule;
}

/** An `additionalPrinterColumns` entry of a CRD version. */
export interface CustomResourceColumn {
  readonly name: string;
  readonly type: string;
  readonly format?: string | undefined;
  readonly description?: string | undefined;
  readonly priority?: number | undefined;
  readonly jsonPath: string;
}

/** A CRD version's `subresources.scale`: where the replica counts and the selector live. */
export interface CustomResourceScale {
  readonly specReplicasPath: string;
  readonly statusReplicasPath: string;
  readonly labelSelectorPath?: string | undefined;
}

/** What the API needs to serve one version of a custom resource, beyond its `ResourceType`. */
export interface CustomResourceFacts {
  /** The CRD's name, `<plural>.<group>`. */
  readonly crdName: string;
  readonly storageVersion: string;
  readonly schema?: JsonSchemaProps;
  readonly printerColumns: readonly CustomResourceColumn[];
  readonly scale?: CustomResourceScale;
  /** The CRD is being deleted: its objects may be read and deleted, not created. */
  readonly terminating: boolean;
  readonly deprecationWarning?: string;
}
