/** `kubectl get priorityclasses`: kube-apiserver's columns for PriorityClass. */
import { ageSince } from './human-duration.ts';
import { ageColumn, column, type KindPrinter, nameColumn, nameOf } from './kind-printer.ts';
import { integer, text } from './object-fields.ts';

export const priorityClassPrinter: KindPrinter = {
  columns: [
    nameColumn,
    column('Value', 'The priority pods of this class get.', { type: 'integer' }),
    column('Global-Default', 'Whether pods without a priorityClassName get this class.', { type: 'boolean' }),
    ageColumn,
    column('PreemptionPolicy', 'Whether pods of this class may preempt pods of lower priority.'),
  ],
  print(priorityClass, now) {
    const fields = priorityClass as { value?: unknown; globalDefault?: unknown; preemptionPolicy?: unknown };
    return {
      cells: [
        nameOf(priorityClass),
        integer(fields.value),
        fields.globalDefault === true,
        ageSince(priorityClass.metadata.creationTimestamp, now),
        text(fields.preemptionPolicy),
      ],
    };
  },
};
