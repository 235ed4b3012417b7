/**
 * The CRD controller's pure part: which names of a CustomResourceDefinition are accepted (none
 * may be in use by another CRD of its group, as kube-apiserver's naming controller decides) and
 * the conditions that follow — `NamesAccepted`, then `Established`, which makes the API serve
 * the kind.
 */
import type { CustomResourceDefinition } from '../../../schemas/custom-resource-definition.ts';

export interface CrdCondition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly lastTransitionTime: string;
  readonly reason: string;
  readonly message: string;
}

type Names = NonNullable<CustomResourceDefinition['status']>['acceptedNames'];

function namesOf(crd: CustomResourceDefinition): Required<Pick<NonNullable<Names>, 'plural' | 'kind'>> & NonNullable<Names> {
  const names = crd.spec.names;
  return {
    plural: names.plural,
    singular: names.singular ?? names.kind.toLowerCase(),
    kind: names.kind,
    listKind: names.listKind ?? `${names.kind}List`,
    ...(names.shortNames && names.shortNames.length > 0 ? { shortNames: names.shortNames } : {}),
    ...(names.categories && names.categories.length > 0 ? { categories: names.categories } : {}),
  };
}

/** The first name of `crd` another CRD of its group has accepted, as kube-apiserver reports it. */
function conflict(crd: CustomResourceDefinition, others: readonly CustomResourceDefinition[]): { reason: string; message: string } | undefined {
  const wanted = namesOf(crd);
  const taken = { plural: new Set<string>(), singular: new Set<string>(), kind: new Set<string>(), listKind: new Set<string>(), shortNames: new Set<string>() };
  for (const other of others) {
    if (other.metadata.name === crd.metadata.name || other.spec.group !== crd.spec.group) continue;
    const accepted = other.status?.acceptedNames;
    if (!accepted) continue;
    if (accepted.plural) taken.plural.add(accepted.plural);
    if (accepted.singular) taken.singular.add(accepted.singular);
    if (accepted.kind) taken.kind.add(accepted.kind);
    if (accepted.listKind) taken.listKind.add(accepted.listKind);
    for (const shortName of accepted.shortNames ?? []) taken.shortNames.add(shortName);
  }
  const inUse = (name: string) => `"${name}" is already in use`;
  if (taken.plural.has(wanted.plural) || taken.singular.has(wanted.plural) || taken.shortNames.has(wanted.plural))
    return { reason: 'PluralConflict', message: inUse(wanted.plural) };
  const singular = wanted.singular ?? '';
  if (taken.plural.has(singular) || taken.singular.has(singular) || taken.shortNames.has(singular))
    return { reason: 'SingularConflict', message: inUse(singular) };
  for (const shortName of wanted.shortNames ?? []) {
    if (taken.plural.has(shortName) || taken.singular.has(shortName) || taken.shortNames.has(shortName))
      return { reason: 'ShortNamesConflict', message: inUse(shortName) };
  }
  if (taken.kind.has(wanted.kind) || taken.listKind.has(wanted.kind)) return { reason: 'KindConflict', message: inUse(wanted.kind) };
  const listKind = wanted.listKind ?? '';
  if (taken.kind.has(listKind) || taken.listKind.has(listKind)) return { reason: 'ListKindConflict', message: inUse(listKind) };
  return undefined;
}

/** `conditions` with `next` in place of its type's condition; the transition time kept when the status did not change. */
export function withCondition(conditions: readonly CrdCondition[], next: CrdCondition): CrdCondition[] {
  const current = conditions.find((condition) => condition.type === next.type);
  const kept = current && current.status === next.status ? { ...next, lastTransitionTime: current.lastTransitionTime } : next;
  return current ? conditions.map((condition) => (condition.type === next.type ? kept : condition)) : [...conditions, kept];
}

export function conditionsOf(crd: CustomResourceDefinition): CrdCondition[] {
  return (crd.status?.conditions ?? []) as unknown as CrdCondition[];
}

/** The status a live (not deleting) CRD should have, given every CRD in the cluster. */
export function planCrdStatus(
  crd: CustomResourceDefinition,
  all: readonly CustomResourceDefinition[],
  now: Date,
): NonNullable<CustomResourceDefinition['status']> {
  const time = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const found = conflict(crd, all);
  const previous = conditionsOf(crd);
  const wasEstablished = previous.some((condition) => condition.type === 'Established' && condition.status === 'True');
  let conditions = previous;
  let acceptedNames = crd.status?.acceptedNames ?? { plural: '', kind: '' };
  if (found) {
    conditions = withCondition(conditions, { type: 'NamesAccepted', status: 'False', lastTransitionTime: time, ...found });
    if (!wasEstablished) {
      conditions = withCondition(conditions, {
        type: 'Established',
        status: 'False',
        lastTransitionTime: time,
        reason: 'NotAccepted',
        message: 'not all names are accepted',
      });
    }
  } else {
    acceptedNames = namesOf(crd);
    conditions = withCondition(conditions, {
      type: 'NamesAccepted',
      status: 'True',
      lastTransitionTime: time,
      reason: 'NoConflicts',
      message: 'no conflicts found',
    });
    conditions = withCondition(conditions, {
      type: 'Established',
      status: 'True',
      lastTransitionTime: time,
      reason: 'InitialNamesAccepted',
      message: 'the initial names have been accepted',
    });
  }
  return { ...(crd.status ?? {}), conditions: conditions as unknown as Record<string, unknown>[], acceptedNames };
}
