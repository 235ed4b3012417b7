/**
 * What a kind does on a write beyond its schema: kube-apiserver's per-kind registry strategies
 * and the admission plugins that act on one kind, kept in one place per kind. A strategy adds
 * what needs cluster settings before the object is validated (create and update), wraps the
 * store write when the write claims something (a Service's addresses), and says how the kind is
 * deleted. Defaults and validation that need neither the store nor settings are the kind's
 * `KindRules`, next to its schema in `schemas/`. Kinds with nothing of their own use none.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import type { ApiError } from '../../core/errors.ts';
import type { DeleteOptions, DeleteResult, ObjectReader, ObjectStore } from '../../store/store.ts';

/** Cluster settings admission applies (kube-apiserver flags). */
export interface AdmissionSettings {
  /**
   * `tolerationSeconds` of the not-ready and unreachable tolerations every pod gets
   * (`--default-not-ready-toleration-seconds`, `--default-unreachable-toleration-seconds`).
   */
  readonly defaultTolerationSeconds: number;
  /** The service range ClusterIPs come from (`--service-cidr`, kube-apiserver's `--service-cluster-ip-range`). @default 10.96.0.0/12 */
  readonly serviceCidr?: string;
}

export const defaultAdmissionSettings: AdmissionSettings = { defaultTolerationSeconds: 300 };

export interface StrategyWrite {
  readonly store: ObjectStore;
  /** A dry run claims nothing for good and writes nothing. */
  readonly dryRun: boolean;
  readonly settings: AdmissionSettings;
}

export interface StrategyDeleteOptions extends DeleteOptions {
  /**
   * The caller finishes a deletion it was waiting on (the namespace controller, once a
   * namespace is empty): a kind that only marks objects on delete removes this one.
   */
  readonly finalized?: boolean;
}

export interface KindStrategy {
  /** On create, after defaults and before validation (mutating admission). */
  prepareForCreate?(object: KubeObject, settings: AdmissionSettings): KubeObject;
  /** On an update of the main resource (never of a subresource), after defaults and before validation. */
  prepareForUpdate?(object: KubeObject, old: KubeObject, settings: AdmissionSettings): KubeObject;
  /**
   * On create, after validation and just before the write: what only other objects decide
   * (mutating admission that reads the store). Given every new object of one namespace at once
   * (a ReplicaSet's batch of pods), so one read serves them all; returns them in the same order,
   * each the object to write or the error that refuses it (validating admission that reads the store).
   */
  prepareCreateFromStore?(store: ObjectReader, namespace: string | undefined, objects: readonly KubeObject[]): Promise<(KubeObject | ApiError)[]>;
  /**
   * Around the store write of a create (`old` undefined) or an update: claims what the object
   * needs before `write`, frees it again when `write` fails (or for a dry run, which never calls
   * `write`), and frees what `old` held that the written object does not.
   */
  aroundWrite?(
    context: StrategyWrite,
    object: KubeObject,
    old: KubeObject | undefined,
    write: (object: KubeObject) => Promise<KubeObject>,
  ): Promise<KubeObject>;
  /** Deletes `current` (as read by the caller), with the kind's defaults under the caller's options. */
  delete?(store: ObjectStore, current: KubeObject, options: StrategyDeleteOptions): Promise<DeleteResult>;
}
