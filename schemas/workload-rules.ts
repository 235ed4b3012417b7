/** Rules Deployments and ReplicaSets share: a selector that matches the pod template, replicas. */
import { child, type FieldCause, immutable, invalid, nonNegative, required } from './field-errors.ts';
import { isEmptySelector, type LabelSelector, selectorMatches, validateLabelSelector } from './meta.ts';
import type { PodTemplateSpec } from './pod-spec.ts';
import { validatePodTemplate } from './pod-spec-validation.ts';
import { sameJson } from './structural-equality.ts';

interface WorkloadSpec {
  readonly replicas?: number | undefined;
  readonly minReadySeconds?: number | undefined;
  readonly selector?: LabelSelector | undefined;
  readonly template?: PodTemplateSpec | undefined;
}

/** Go's `%v` of a label map, as `selector does not match template labels` errors quote it. */
export function goLabelMap(labels: Readonly<Record<string, string>>): string {
  return `map[string]string{${Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
    .join(', ')}}`;
}

export function validateWorkloadSpec(spec: WorkloadSpec, kind: string): FieldCause[] {
  const causes: FieldCause[] = [...nonNegative('spec.replicas', spec.replicas), ...nonNegative('spec.minReadySeconds', spec.minReadySeconds)];
  if (!spec.selector) causes.push(required('spec.selector'));
  else {
    causes.push(...validateLabelSelector(spec.selector, 'spec.selector'));
    if (isEmptySelector(spec.selector)) causes.push(invalid('spec.selector', spec.selector, `empty selector is invalid for ${kind}`));
  }
  causes.push(...validatePodTemplate(spec.template, 'spec.template'));
  const labels = spec.template?.metadata?.labels ?? {};
  if (spec.selector && !isEmptySelector(spec.selector) && !selectorMatches(spec.selector, labels)) {
    causes.push({
      field: 'spec.template.metadata.labels',
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${goLabelMap(labels)}: \`selector\` does not match template \`labels\``,
    });
  }
  return causes;
}

export function validateSelectorUnchanged(spec: WorkloadSpec, old: WorkloadSpec): FieldCause[] {
  return sameJson(spec.selector, old.selector) ? [] : [immutable(child('spec', 'selector'), spec.selector)];
}
