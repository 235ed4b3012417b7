/**
 * Kubernetes field selectors (`?fieldSelector=spec.nodeName=n1,status.phase!=Running`): only
 * the fields Kubernetes indexes for each kind, compared as strings (a missing field is '').
 */

import { BadRequestError } from '../functions/core/errors.ts';
import type { ResourceType } from './registry.ts';

export interface FieldRequirement {
  readonly field: string;
  readonly operator: '=' | '!=';
  readonly value: string;
}

export interface FieldSelector {
  readonly requirements: readonly FieldRequirement[];
  /** `fields` as returned by `selectableFields`. */
  matches(fields: Readonly<Record<string, string>>): boolean;
  toString(): string;
}

type FieldPath = readonly string[];

const common: Readonly<Record<string, FieldPath>> = {
  'metadata.name': ['metadata', 'name'],
  'metadata.namespace': ['metadata', 'namespace'],
};

/** Per type id, the fields besides metadata.name / metadata.namespace (as Kubernetes 1.32). */
const kindFields: Readonly<Record<string, readonly string[]>> = {
  'core/pods': [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'spec.hostNetwork',
    'status.phase',
    'status.podIP',
    'status.nominatedNodeName',
  ],
  'core/events': [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  'core/nodes': ['spec.unschedulable'],
  'core/namespaces': ['status.phase'],
  'core/secrets': ['type'],
  'core/services': ['spec.clusterIP', 'spec.type'],
  'apps/replicasets': ['status.replicas'],
};

/** Each type's selectable fields, built once: every watched change and every listed object asks. */
const pathsByType = new Map<string, ReadonlyMap<string, FieldPath>>();

function fieldPaths(type: Pick<ResourceType, 'id'>): ReadonlyMap<string, FieldPath> {
  let paths = pathsByType.get(type.id);
  if (!paths) {
    const built = new Map<string, FieldPath>(Object.entries(common));
    for (const field of kindFields[type.id] ?? []) built.set(field, field.split('.'));
    paths = built;
    pathsByType.set(type.id, paths);
  }
  return paths;
}

function stringAt(object: unknown, path: FieldPath): string {
  let current: unknown = object;
  for (const step of path) {
    if (typeof current !== 'object' || current === null) return '';
    current = Reflect.get(current, step);
  }
  if (typeof current === 'string') return current;
  if (typeof current === 'number' || typeof current === 'boolean') return String(current);
  // Kubernetes indexes these booleans as "false" when unset.
  return '';
}

/** The values a field selector can test, for one object of `type`. */
export function selectableFields(type: Pick<ResourceType, 'id'>, object: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [field, path] of fieldPaths(type)) fields[field] = stringAt(object, path);
  if (type.id === 'core/events') {
    // `source` selects on the reporting component of either event API.
    const source = stringAt(object, ['source', 'component']);
    fields.source = source || stringAt(object, ['reportingComponent']);
  }
  for (const flag of ['spec.unschedulable', 'spec.hostNetwork']) {
    if (fields[flag] === '') fields[flag] = 'false';
  }
  return fields;
}

/**
 * Parses `a=b,c==d,e!=f` for `type`. Empty or absent selects everything; an unknown field is a
 * BadRequestError `field label not supported: <field>`, as Kubernetes answers.
 */
export function parseFieldSelector(type: Pick<ResourceType, 'id'>, text: string | undefined): FieldSelector {
  const requirements: FieldRequirement[] = [];
  if (text !== undefined && text.trim() !== '') {
    const supported = fieldPaths(type);
    for (const term of splitTerms(text)) {
      const match = /^([^=!]+?)\s*(==|!=|=)\s*(.*)$/.exec(term.trim());
      if (!match) throw new BadRequestError(`invalid selector: '${text}'; can't understand '${term}'`);
      const field = match[1] ?? '';
      const operator = match[2] === '!=' ? '!=' : '=';
      const value = unescapeValue(match[3] ?? '');
      if (!supported.has(field)) throw new BadRequestError(`field label not supported: ${field}`);
      requirements.push({ field, operator, value });
    }
  }
  return {
    requirements,
    matches: (fields) => requirements.every((r) => ((fields[r.field] ?? '') === r.value) === (r.operator === '=')),
    toString: () => requirements.map((r) => `${r.field}${r.operator}${r.value}`).join(','),
  };
}

/** Splits on commas not escaped with a backslash (Kubernetes escapes `,`, `=` and `\` in values). */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '\\' && i + 1 < text.length) {
      current += char + text[i + 1];
      i++;
    } else if (char === ',') {
      terms.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  terms.push(current);
  return terms;
}

function unescapeValue(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}
