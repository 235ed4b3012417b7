/** `kubectl get poddisruptionbudgets`, with kube-apiserver's columns (`N/A` for the bound a budget does not set). */
import type { KubeObject } from '../../../schemas/meta.ts';
import { ageSince } from './human-duration.ts';
import { ageColumn, column, type KindPrinter, nameColumn, nameOf } from './kind-printer.ts';
import { at, integer } from './object-fields.ts';

function bound(object: KubeObject, field: 'minAvailable' | 'maxUnavailable'): string {
  const value = at(object, 'spec', field);
  return typeof value === 'number' || typeof value === 'string' ? String(value) : 'N/A';
}

export const podDisruptionBudgetPrinter: KindPrinter = {
  columns: [
    nameColumn,
    column('Min Available', 'The minimum number of pods that must be available.'),
    column('Max Unavailable', 'The maximum number of pods that may be unavailable.'),
    column('Allowed Disruptions', 'Calculated number of pods that may be disrupted at this time.', { type: 'integer' }),
    ageColumn,
  ],
  print: (pdb, now) => ({
    cells: [
      nameOf(pdb),
      bound(pdb, 'minAvailable'),
      bound(pdb, 'maxUnavailable'),
      integer(at(pdb, 'status', 'disruptionsAllowed')),
      ageSince(pdb.metadata.creationTimestamp, now),
    ],
  }),
};
