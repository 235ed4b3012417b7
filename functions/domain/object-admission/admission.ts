/**
 * The one admission path of every write of a Kubernetes object, whoever writes it: the API
 * server's verbs once a request is decoded, and every controller and the scheduler. So a pod a
 * ReplicaSet makes gets exactly what a pod `kubectl create` makes. In kube-apiserver's order:
 *
 *   schema defaults → the kind's strategy prepares (mutating admission) → validation
 *     → NamespaceLifecycle and the kind's preparation that reads the store (creates)
 *     → the kind's strategy around the store write → the store
 *
 * The first three are pure (`admitCreate`, `admitUpdate`); the rest needs the store
 * (`writeCreate`, `writeUpdate`, `delete`). The API runs the two halves apart, with its own
 * decode-dependent steps (unknown fields, managed fields, dry run) in between; controllers call
 * the whole (`create`, `createAll`, `update`, `updateStatusAll`, `bindAll`, `delete`), passing the
 * object they read as `old`, so admission costs them no read of their own: every update is
 * conditional on the revision of `old`, and a stale `old` is a 409 the controller retries from a
 * fresh read.
 */
import { type Admitted, admit, type FieldValidation } from '../../../schemas/index.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { type ResourceType, types } from '../../../schemas/registry.ts';
import { sameJson } from '../../../schemas/structural-equality.ts';
import { type ApiError, isApiError } from '../../core/errors.ts';
import { inChunks } from '../../store/list-all.ts';
import type { DeleteResult, ObjectStore } from '../../store/store.ts';
import type { WebhookAdmission, WebhookRequest } from '../admission-webhooks/webhook-admission.ts';
import { isExemptFromWebhooks } from '../admission-webhooks/webhook-matching.ts';
import type { UserInfo } from '../authorization/user-info.ts';
import { bindPod } from '../pods/pod-binding.ts';
import { type AdmissionSettings, defaultAdmissionSettings, type StrategyDeleteOptions } from './kind-strategy.ts';
import { checkDelete, namespaceLifecycle } from './namespace-lifecycle.ts';
import { applyLimitRanges, enforceQuotas } from './namespace-limits.ts';
import { hasStatusSubresource, mergeForUpdate, type PartialUpdateSubresource } from './status-subresource.ts';
import { strategyOf } from './strategies.ts';

export type { AdmissionSettings, StrategyDeleteOptions } from './kind-strategy.ts';

/** The store's limit of writes in one transaction. */
const writesPerBatch = 25;
/** Batches of creates written at once (a ReplicaSet's new pods). */
const batchesInFlight = 4;

export interface AdmissionOptions {
  readonly store: ObjectStore;
  readonly settings?: Partial<AdmissionSettings>;
  /**
   * How long a namespace read for the NamespaceLifecycle check is trusted (see
   * `namespace-lifecycle.ts`). @default 0: the namespace is read on every create, as the API does.
   */
  readonly namespaceCacheMs?: number;
  /**
   * The admission webhooks (docs/adr/207). Called for the writes of `create`, `createAll`, `update`,
   * `updateStatusAll`, `bindAll` and `delete` once a user is set (`forUser`): the control loops' own
   * writes, each as its controller's service account. The API calls them itself, between the two
   * halves, for the user who asked; it only needs `webhooksChanged` from here.
   */
  readonly webhooks?: WebhookAdmission;
  /** Who the whole-path writes are made as (see `webhooks`). */
  readonly user?: UserInfo;
}

export interface AdmitOptions {
  /** Fields the schema does not declare: dropped with a warning (`Warn`, the default), dropped (`Ignore`), or refused (`Strict`). */
  readonly fieldValidation?: FieldValidation;
}

export interface AdmitUpdateOptions extends AdmitOptions {
  /**
   * `status`: only the status changes; metadata and spec stay as `old` has them.
   * `ephemeralcontainers` (pods): only `spec.ephemeralContainers` changes, judged by the kind's rules for it.
   */
  readonly subresource?: PartialUpdateSubresource;
}

export interface WriteOptions {
  /** Run every step but the write (claims are freed again); returns what would be written. */
  readonly dryRun?: boolean;
}

/** A new version of an object, and the version it was made from (as stored: the write is conditional on its revision). */
export interface Replacement {
  readonly object: KubeObject;
  readonly old: KubeObject;
}

export interface Binding {
  readonly pod: KubeObject;
  readonly nodeName: string;
}

/** What to delete: the object as the caller read it, or only its name when the caller has not read it. */
export type DeleteTarget = KubeObject | { readonly namespace?: string | undefined; readonly name: string };

/** An object admission turned away, and why (400, 403, 404 or 422). */
export interface Refused {
  readonly object: KubeObject;
  readonly error: ApiError;
}

export interface CreateAllResult {
  readonly created: KubeObject[];
  readonly refused: Refused[];
}

export interface Admission {
  /** The store under admission. Reads go to it directly; so do the Service allocator's own records. */
  readonly store: ObjectStore;
  readonly settings: AdmissionSettings;

  /** Defaults, the kind's preparation for create, validation (pure). */
  admitCreate(type: ResourceType, body: unknown, options?: AdmitOptions): Admitted;
  /** The same for an update of `old` (status updates keep everything but the status). */
  admitUpdate(type: ResourceType, object: KubeObject, old: KubeObject, options?: AdmitUpdateOptions): Admitted;
  /** NamespaceLifecycle, then the store create wrapped by the kind's strategy. */
  writeCreate(type: ResourceType, object: KubeObject, options?: WriteOptions): Promise<KubeObject>;
  /** The store update, conditional on `old`'s revision, wrapped by the kind's strategy. */
  writeUpdate(type: ResourceType, object: KubeObject, old: KubeObject, options?: WriteOptions): Promise<KubeObject>;

  /**
   * Defaults and validation again for an object an admission webhook changed, without the kind's
   * preparation (it ran already, and a create's would assign a new uid). `old` for an update.
   */
  readmit(type: ResourceType, object: KubeObject, old: KubeObject | undefined, subresource?: PartialUpdateSubresource): KubeObject;
  /** The same path, its whole-path writes made as `user` (sent to admission webhooks). */
  forUser(user: UserInfo): Admission;

  /** Admits and creates one object. */
  create(type: ResourceType, object: KubeObject): Promise<KubeObject>;
  /**
   * Admits every object, then creates the admitted ones in transactions of 25 (one namespace
   * read per namespace). Objects admission refuses are returned, not thrown; a failed write throws.
   */
  createAll(type: ResourceType, objects: readonly KubeObject[]): Promise<CreateAllResult>;
  /**
   * Writes `object` over `old` as Kubernetes clients must: a change of metadata or spec through
   * the object itself, a change of status through its status subresource (for kinds that have
   * one), each admitted. Returns the object as last written (`old` when nothing changed).
   */
  update(type: ResourceType, object: KubeObject, old: KubeObject): Promise<KubeObject>;
  /** Status updates, admitted each and written together (at most 25 a transaction). */
  updateStatusAll(type: ResourceType, replacements: readonly Replacement[]): Promise<KubeObject[]>;
  /**
   * Binds pods to nodes as the `pods/binding` subresource does (`bindPod`: the node name and the
   * PodScheduled condition, nothing else, so no pod validation runs), at most 25 a transaction.
   */
  bindAll(bindings: readonly Binding[], now: Date): Promise<KubeObject[]>;
  /** NamespaceLifecycle on delete (pure): throws the 403 for a namespace that may not be deleted. `delete` runs it too; a dry run calls it alone. */
  admitDelete(type: ResourceType, name: string): void;
  /**
   * Deletes an object the way its kind is deleted (graceful pods, terminating namespaces, Service
   * addresses freed). Given only a name, it reads the object first if, and only if, its kind's
   * deletion depends on it.
   */
  delete(type: ResourceType, target: DeleteTarget, options?: StrategyDeleteOptions): Promise<DeleteResult>;
}

/** What admission turns away is the caller's mistake (or a namespace going away), never a failure of the write. */
function isRefusal(error: unknown): error is ApiError {
  return isApiError(error) && (error.code === 400 || error.code === 403 || error.code === 404 || error.code === 422);
}

async function oneByOne<T>(items: readonly T[], write: (item: T) => Promise<KubeObject>): Promise<KubeObject[]> {
  const written: KubeObject[] = [];
  for (const item of items) written.push(await write(item));
  return written;
}

function withoutStatus(object: KubeObject): KubeObject {
  const { status: _status, ...rest } = object;
  return rest as KubeObject;
}

export function createAdmission(options: AdmissionOptions): Admission {
  return admissionAs(options, namespaceLifecycle(options.store, { cacheMs: options.namespaceCacheMs ?? 0 }), options.user);
}

/** A write of a webhook configuration is seen by this process's next request, not a cache period later. */
function isWebhookConfiguration(type: ResourceType): boolean {
  return type.id === types.mutatingwebhookconfigurations.id || type.id === types.validatingwebhookconfigurations.id;
}

function admissionAs(options: AdmissionOptions, lifecycle: ReturnType<typeof namespaceLifecycle>, user: UserInfo | undefined): Admission {
  const { store, webhooks } = options;
  const settings: AdmissionSettings = { ...defaultAdmissionSettings, ...options.settings };
  /** The webhooks the whole-path writes go through: only with a user to send them. */
  const hooks = webhooks && user ? { webhooks, user } : undefined;

  function admitCreate(type: ResourceType, body: unknown, admitOptions: AdmitOptions = {}): Admitted {
    const strategy = strategyOf(type);
    const prepare = strategy.prepareForCreate;
    return admit(type, body, {
      operation: 'create',
      ...(admitOptions.fieldValidation ? { fieldValidation: admitOptions.fieldValidation } : {}),
      // The server assigns a new object's uid: one a client sent is dropped, and a kind whose
      // strategy needs the uid (a Job's pod selector) assigns it here, as kube-apiserver does
      // before its strategies run.
      prepare: (object: KubeObject) => {
        const { uid: _client, ...metadata } = object.metadata;
        const fresh = { ...object, metadata };
        return prepare ? prepare(fresh, settings) : fresh;
      },
    });
  }

  function admitUpdate(type: ResourceType, object: KubeObject, old: KubeObject, admitOptions: AdmitUpdateOptions = {}): Admitted {
    const merged = mergeForUpdate(type, object, old, admitOptions.subresource);
    // Subresources are not the pod itself: kube-apiserver's DefaultTolerationSeconds skips them too.
    const prepare = admitOptions.subresource ? undefined : strategyOf(type).prepareForUpdate;
    return admit(type, merged, {
      operation: 'update',
      old,
      ...(admitOptions.subresource === 'status' ? { statusOnly: true } : {}),
      ...(admitOptions.subresource === 'ephemeralcontainers' ? { subresource: admitOptions.subresource } : {}),
      ...(admitOptions.fieldValidation ? { fieldValidation: admitOptions.fieldValidation } : {}),
      ...(prepare ? { prepare: (prepared: KubeObject) => prepare(prepared, old, settings) } : {}),
    });
  }

  function readmit(type: ResourceType, object: KubeObject, old: KubeObject | undefined, subresource?: PartialUpdateSubresource): KubeObject {
    if (old) return admitUpdate(type, object, old, { fieldValidation: 'Ignore', ...(subresource ? { subresource } : {}) }).object;
    return admit(type, object, { operation: 'create', fieldValidation: 'Ignore' }).object;
  }

  /**
   * A whole-path write through the admission webhooks: mutating ones, the result admitted again,
   * then validating ones. Returns the object to write.
   */
  async function throughWebhooks(
    request: Omit<WebhookRequest, 'user' | 'dryRun' | 'name' | 'namespace'> & { readonly object?: KubeObject; readonly oldObject?: KubeObject },
    readmitAs?: 'status',
  ): Promise<KubeObject | undefined> {
    if (!hooks || isExemptFromWebhooks(request.type)) return request.object;
    const subject = request.object ?? request.oldObject;
    const full: WebhookRequest = {
      ...request,
      user: hooks.user,
      dryRun: false,
      name: subject?.metadata.name ?? '',
      ...(request.type.id === types.namespaces.id
        ? { namespace: subject?.metadata.name ?? '' }
        : subject?.metadata.namespace
          ? { namespace: subject.metadata.namespace }
          : {}),
    };
    const mutated = await hooks.webhooks.mutate(full);
    let object = mutated.object;
    if (mutated.changed && object && request.subresource !== 'binding') object = readmit(request.type, object, request.oldObject, readmitAs);
    await hooks.webhooks.validate({ ...full, ...(object ? { object } : {}) });
    return object;
  }

  function aroundWrite(
    type: ResourceType,
    object: KubeObject,
    old: KubeObject | undefined,
    dryRun: boolean,
    write: (object: KubeObject) => Promise<KubeObject>,
  ): Promise<KubeObject> {
    const strategy = strategyOf(type);
    if (strategy.aroundWrite) return strategy.aroundWrite({ store, dryRun, settings }, object, old, write);
    return dryRun ? Promise.resolve(object) : write(object);
  }

  /** The kind's preparation that reads the store, for new objects of one namespace. */
  async function prepareFromStore(type: ResourceType, namespace: string | undefined, objects: readonly KubeObject[]): Promise<(KubeObject | ApiError)[]> {
    if (objects.length === 0) return [];
    const prepare = strategyOf(type).prepareCreateFromStore;
    const prepared = prepare ? await prepare(store, namespace, objects) : [...objects];
    // LimitRanger, then ResourceQuota, as kube-apiserver orders its admission plugins.
    const limited = type.id === types.pods.id && namespace ? await applyLimitRanges(store, namespace, prepared) : prepared;
    return enforceQuotas(store, type, namespace, limited);
  }

  async function writeCreate(type: ResourceType, object: KubeObject, writeOptions: WriteOptions = {}): Promise<KubeObject> {
    await lifecycle.checkCreate(type, object.metadata.namespace);
    const [prepared = object] = await prepareFromStore(type, object.metadata.namespace, [object]);
    if (isApiError(prepared)) throw prepared;
    const created = await aroundWrite(type, prepared, undefined, writeOptions.dryRun ?? false, (admitted) => store.create(type, admitted));
    if (isWebhookConfiguration(type)) webhooks?.forget();
    return created;
  }

  async function writeUpdate(type: ResourceType, object: KubeObject, old: KubeObject, writeOptions: WriteOptions = {}): Promise<KubeObject> {
    const written = await aroundWrite(type, object, old, writeOptions.dryRun ?? false, (admitted) =>
      store.update(type, admitted, { expectedResourceVersion: old.metadata.resourceVersion ?? null }),
    );
    if (isWebhookConfiguration(type)) webhooks?.forget();
    return written;
  }

  /** Writes replacements that need no strategy around them in transactions; one by one otherwise. */
  function writeUpdates(type: ResourceType, replacements: readonly Replacement[]): Promise<KubeObject[]> {
    if (strategyOf(type).aroundWrite) return oneByOne(replacements, ({ object, old }) => writeUpdate(type, object, old));
    return inChunks(replacements, writesPerBatch, (chunk) =>
      store.batch(
        type,
        chunk.map(({ object, old }) => ({ op: 'update', object, expectedResourceVersion: old.metadata.resourceVersion ?? null })),
      ),
    );
  }

  return {
    store,
    settings,
    admitCreate,
    admitUpdate,
    writeCreate,
    writeUpdate,
    readmit,
    forUser: (who) => admissionAs(options, lifecycle, who),

    async create(type, object) {
      const admitted = admitCreate(type, object).object;
      return writeCreate(type, (await throughWebhooks({ operation: 'CREATE', type, object: admitted })) ?? admitted);
    },

    async createAll(type, objects) {
      const refused: Refused[] = [];
      const admitted: KubeObject[] = [];
      for (const object of objects) {
        try {
          const own = admitCreate(type, object).object;
          admitted.push((await throughWebhooks({ operation: 'CREATE', type, object: own })) ?? own);
        } catch (error) {
          // A webhook's refusal, or its failure under failurePolicy Fail, is the controller's
          // FailedCreate event, as any refused object is in kube-controller-manager.
          if (!isRefusal(error) && !(hooks && isApiError(error))) throw error;
          refused.push({ object, error: error as ApiError });
        }
      }
      const byNamespace = new Map<string | undefined, KubeObject[]>();
      for (const object of admitted) byNamespace.set(object.metadata.namespace, [...(byNamespace.get(object.metadata.namespace) ?? []), object]);
      const accepted: KubeObject[] = [];
      for (const [namespace, group] of byNamespace) {
        const verdict = await lifecycle.checkCreate(type, namespace).then(
          () => undefined,
          (error: unknown) => {
            if (!isRefusal(error)) throw error;
            return error;
          },
        );
        if (verdict) {
          refused.push(...group.map((object) => ({ object, error: verdict })));
          continue;
        }
        const prepared = await prepareFromStore(type, namespace, group);
        prepared.forEach((outcome, index) => {
          if (!isApiError(outcome)) accepted.push(outcome);
          else if (isRefusal(outcome)) refused.push({ object: group[index] as KubeObject, error: outcome });
          else throw outcome;
        });
      }
      const created = strategyOf(type).aroundWrite
        ? await oneByOne(accepted, (object) => aroundWrite(type, object, undefined, false, (admitted) => store.create(type, admitted)))
        : // Up to four transactions in flight: the store commits the ones waiting together (docs/adr/004).
          await inChunks(
            accepted,
            writesPerBatch,
            (chunk) =>
              store.batch(
                type,
                chunk.map((object) => ({ op: 'create', object })),
              ),
            batchesInFlight,
          );
      return { created, refused };
    },

    async update(type, object, old) {
      const hooked = async (admitted: KubeObject, stored: KubeObject, subresource?: 'status') =>
        (await throughWebhooks({ operation: 'UPDATE', type, ...(subresource ? { subresource } : {}), object: admitted, oldObject: stored }, subresource)) ??
        admitted;
      if (!hasStatusSubresource(type)) return writeUpdate(type, await hooked(admitUpdate(type, object, old).object, old), old);
      let current = old;
      if (!sameJson(withoutStatus(object), withoutStatus(old))) {
        current = await writeUpdate(type, await hooked(admitUpdate(type, object, current).object, current), current);
      }
      if (!sameJson(object.status, old.status)) {
        const statusOnly = admitUpdate(type, { ...object, metadata: current.metadata }, current, { subresource: 'status' }).object;
        current = await writeUpdate(type, await hooked(statusOnly, current, 'status'), current);
      }
      return current;
    },

    async updateStatusAll(type, replacements) {
      const admitted: Replacement[] = [];
      for (const { object, old } of replacements) {
        const own = admitUpdate(type, object, old, { subresource: 'status' }).object;
        admitted.push({
          object: (await throughWebhooks({ operation: 'UPDATE', type, subresource: 'status', object: own, oldObject: old }, 'status')) ?? own,
          old,
        });
      }
      return writeUpdates(type, admitted);
    },

    async bindAll(bindings, now) {
      for (const { pod, nodeName } of bindings) {
        // The scheduler's binding is a create of pods/binding, its object a Binding; a webhook may refuse it, not change the pod.
        const binding: KubeObject = {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: {
            name: pod.metadata.name ?? '',
            ...(pod.metadata.namespace ? { namespace: pod.metadata.namespace } : {}),
            ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}),
          },
          target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
        } as KubeObject;
        await throughWebhooks({ operation: 'CREATE', type: types.pods, subresource: 'binding', object: binding });
      }
      return writeUpdates(
        types.pods,
        bindings.map(({ pod, nodeName }) => ({ object: bindPod(pod, nodeName, now), old: pod })),
      );
    },

    admitDelete: checkDelete,

    async delete(type, target, deleteOptions = {}) {
      const strategy = strategyOf(type);
      const namespace = 'metadata' in target ? target.metadata.namespace : target.namespace;
      const name = 'metadata' in target ? (target.metadata.name ?? '') : target.name;
      if (!deleteOptions.finalized) checkDelete(type, name);
      if (hooks && !deleteOptions.finalized && !isExemptFromWebhooks(type)) {
        const asked = { operation: 'DELETE' as const, type, version: type.version, ...(namespace ? { namespace } : {}) };
        if (await hooks.webhooks.mayMatch(asked)) {
          const stored = 'metadata' in target ? target : await store.get(type, namespace, name);
          await throughWebhooks({ operation: 'DELETE', type, oldObject: stored });
        }
      }
      if (strategy.delete) {
        const current = 'metadata' in target ? target : await store.get(type, namespace, name);
        return strategy.delete(store, current, deleteOptions);
      }
      // Grace periods are for pods: kube-apiserver deletes every other kind at once (or marks it for
      // its finalizers), whatever gracePeriodSeconds says (`kubectl delete cm --grace-period=10`).
      const { finalized: _finalized, gracePeriodSeconds: _grace, ...asked } = deleteOptions;
      const deleted = await store.delete(type, namespace, name, asked);
      if (isWebhookConfiguration(type)) webhooks?.forget();
      return deleted;
    },
  };
}
