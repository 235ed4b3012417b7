/**
 * Label maps and LabelSelectors written the way `kubectl get -o wide` shows them
 * (apimachinery's `labels.FormatLabels` and `LabelSelectorAsSelector(...).String()`).
 */
import { list, record, strings, text } from './object-fields.ts';

function byKey(a: readonly [string, unknown], b: readonly [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** `a=1,b=2` sorted by key; `<none>` when empty. */
export function formatLabels(labels: unknown): string {
  const entries = Object.entries(record(labels)).sort(byKey);
  if (entries.length === 0) return '<none>';
  return entries.map(([key, value]) => `${key}=${text(value)}`).join(',');
}

/**
 * A metav1.LabelSelector as selector text: requirements sorted by key, set values sorted.
 * Empty or absent selects nothing/everything, both written as ''. An operator Kubernetes
 * would reject yields `<invalid>`, as the apiserver's printer does on a conversion error.
 */
export function formatLabelSelector(selector: unknown): string {
  const requirements: Array<readonly [string, string]> = [];
  for (const [key, value] of Object.entries(record(record(selector).matchLabels))) {
    requirements.push([key, `${key}=${text(value)}`]);
  }
  for (const expression of list(record(selector).matchExpressions)) {
    const { key, operator, values } = record(expression);
    const name = text(key);
    const set = [...new Set(strings(values))].sort();
    switch (operator) {
      case 'In':
        requirements.push([name, `${name} in (${set.join(',')})`]);
        break;
      case 'NotIn':
        requirements.push([name, `${name} notin (${set.join(',')})`]);
        break;
      case 'Exists':
        requirements.push([name, name]);
        break;
      case 'DoesNotExist':
        requirements.push([name, `!${name}`]);
        break;
      default:
        return '<invalid>';
    }
  }
  return requirements
    .sort(byKey)
    .map(([, requirement]) => requirement)
    .join(',');
}
