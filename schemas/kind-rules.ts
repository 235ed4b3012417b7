/**
 * The per-kind behaviour of admission: one `KindRules` per served kind, kept next to the
 * kind's schema (`pod.ts`, `deployment.ts`, ...) and looked up by `ResourceType.id`.
 */
import type { z } from 'zod';
import type { FieldCause } from './field-errors.ts';
import type { ObjectMeta } from './meta.ts';
import type { NameRule } from './name-rules.ts';

export interface KindRules<T extends { readonly metadata: ObjectMeta }> {
  /** Parses (and applies constant defaults to) a whole object of the kind. */
  readonly schema: z.ZodType<T>;
  /** How `metadata.name` is checked. */
  readonly nameRule: NameRule;
  /** Defaults that depend on other fields. */
  readonly defaults?: (object: T) => T;
  /**
   * Defaults that also read the stored object on an update (`old`, absent on a create), in place
   * of `defaults`. Kept apart because only these make a status update parse the stored object
   * (docs/adr/201): a status update runs no update rules, so nothing else reads it.
   */
  readonly defaultsFromStored?: (object: T, old: T | undefined) => T;
  /** Field rules on the defaulted object. */
  readonly validate?: (object: T) => FieldCause[];
  /** Rules only a create answers to (fields that may not be set on create). */
  readonly validateCreate?: (object: T) => FieldCause[];
  /** Rules comparing an update with the stored object (immutable fields). */
  readonly validateUpdate?: (object: T, old: T) => FieldCause[];
  /**
   * In place of `validateUpdate`, for an update through a subresource that writes one part of
   * the object (a pod's `ephemeralcontainers`): what that part may become.
   */
  readonly validateSubresourceUpdate?: Readonly<Record<string, (object: T, old: T) => FieldCause[]>>;
}

/** Any kind's rules, as the admission pipeline sees them. */
export type AnyKindRules = KindRules<{ readonly metadata: ObjectMeta; readonly [field: string]: unknown }>;

/** Widens one kind's rules for the table of all kinds; admission only feeds them their own kind. */
export function anyKind<T extends { readonly metadata: ObjectMeta }>(rules: KindRules<T>): AnyKindRules {
  return rules as unknown as AnyKindRules;
}
