/** `kubectl get hpa`: kube-apiserver's columns for HorizontalPodAutoscaler (autoscaling/v2). */
import { ageSince } from './human-duration.ts';
import { ageColumn, column, type KindPrinter, nameColumn, nameOf } from './kind-printer.ts';
import { at, integer, list, records, text } from './object-fields.ts';

/** The TARGETS cell: `cpu: 250%/50%` per Resource metric, `<unknown>` before a measurement, two at most then `+ N more...`. */
export function formatHpaTargets(specs: readonly unknown[], statuses: readonly unknown[]): string {
  if (specs.length === 0) return '<none>';
  const shown: string[] = [];
  for (const [i, spec] of specs.entries()) {
    const type = text(at(spec, 'type'));
    const status = statuses[i];
    if (type === 'Resource' || type === 'ContainerResource') {
      const source = type === 'Resource' ? 'resource' : 'containerResource';
      const name = text(at(spec, source, 'name'));
      const target = at(spec, source, 'target') as { averageValue?: unknown; averageUtilization?: unknown } | undefined;
      const current = at(status, source, 'current') as { averageValue?: unknown; averageUtilization?: unknown } | undefined;
      const prefix = type === 'Resource' ? `${name}: ` : `${name} of container ${text(at(spec, source, 'container'))}: `;
      if (target?.averageValue !== undefined) {
        shown.push(`${prefix}${current?.averageValue !== undefined ? String(current.averageValue) : '<unknown>'}/${String(target.averageValue)}`);
      } else {
        const now = typeof current?.averageUtilization === 'number' ? `${current.averageUtilization}%` : '<unknown>';
        const goal = typeof target?.averageUtilization === 'number' ? `${target.averageUtilization}%` : '<auto>';
        shown.push(`${prefix}${now}/${goal}`);
      }
    } else {
      const source = type === 'Pods' ? 'pods' : type === 'Object' ? 'object' : 'external';
      const target = at(spec, source, 'target') as { value?: unknown; averageValue?: unknown } | undefined;
      const current = at(status, source, 'current') as { value?: unknown; averageValue?: unknown } | undefined;
      const goal = target?.averageValue ?? target?.value;
      const now = current?.averageValue ?? current?.value;
      shown.push(
        `${now !== undefined ? String(now) : '<unknown>'}/${goal !== undefined ? String(goal) : '<unknown>'}${type === 'Pods' || target?.averageValue !== undefined ? ' (avg)' : ''}`,
      );
    }
  }
  return shown.length > 2 ? `${shown.slice(0, 2).join(', ')} + ${shown.length - 2} more...` : shown.join(', ');
}

export const horizontalPodAutoscalerPrinter: KindPrinter = {
  columns: [
    nameColumn,
    column('Reference', 'The scale target: its kind and name.'),
    column('Targets', 'Each metric: its current value over its target.'),
    column('MinPods', 'The fewest replicas the autoscaler sets.'),
    column('MaxPods', 'The most replicas the autoscaler sets.', { type: 'integer' }),
    column('Replicas', 'The replicas the target has now.', { type: 'integer' }),
    ageColumn,
  ],
  print(hpa, now) {
    const spec = (hpa as { spec?: unknown }).spec;
    const status = (hpa as { status?: unknown }).status;
    const minReplicas = at(spec, 'minReplicas');
    return {
      cells: [
        nameOf(hpa),
        `${text(at(spec, 'scaleTargetRef', 'kind'))}/${text(at(spec, 'scaleTargetRef', 'name'))}`,
        formatHpaTargets(records(at(spec, 'metrics')), list(at(status, 'currentMetrics'))),
        typeof minReplicas === 'number' ? String(minReplicas) : '<unset>',
        integer(at(spec, 'maxReplicas')),
        integer(at(status, 'currentReplicas')),
        ageSince(hpa.metadata.creationTimestamp, now),
      ],
    };
  },
};
