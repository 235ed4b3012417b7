/**
 * Admission that depends on who asks: the step of the request pipeline between authorization
 * and the write, as kube-apiserver's admission chain. Each plugin sees the operation, the new
 * and old objects and the user; mutating plugins run first (each may return a changed object),
 * then validating ones (each may refuse with a 403 or 422). Schema defaults, the kinds'
 * strategies and validation come first, and NamespaceLifecycle and the write after, on the one
 * admission path every writer uses (`functions/domain/object-admission/`, docs/adr/105): these
 * plugins, which need the user, run between the two halves.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import type { WebhookRequest } from '../../domain/admission-webhooks/admission-review.ts';
import type { ObjectStore } from '../../store/store.ts';

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE';

/** A write as the plugins see it: what webhooks are told of it (less the client's options), and a way to warn. */
export interface AdmissionAttributes extends Omit<WebhookRequest, 'operation' | 'options'> {
  readonly operation: AdmissionOperation;
  /** Passes a warning on to the client (a `Warning` header), as admission webhooks may give them. */
  readonly warn?: (warning: string) => void;
}

export interface AdmissionPlugin {
  readonly name: string;
  /** Mutating: the object to write instead, or undefined to leave it. */
  admit?(attributes: AdmissionAttributes, store: ObjectStore): Promise<KubeObject | undefined>;
  /** Validating: throws (ForbiddenError, InvalidError) to refuse the request. */
  validate?(attributes: AdmissionAttributes, store: ObjectStore): Promise<void>;
}

/** Runs every mutating plugin, then every validating one; returns the object to write. */
export async function runAdmission(plugins: readonly AdmissionPlugin[], attributes: AdmissionAttributes, store: ObjectStore): Promise<KubeObject | undefined> {
  let current = attributes;
  for (const plugin of plugins) {
    if (!plugin.admit) continue;
    const changed = await plugin.admit(current, store);
    if (changed) current = { ...current, object: changed };
  }
  for (const plugin of plugins) await plugin.validate?.(current, store);
  return current.object;
}
