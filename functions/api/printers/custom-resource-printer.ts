/**
 * Table columns of custom resources: NAME, then the version's `additionalPrinterColumns`
 * (each a JSONPath into the object), or AGE when it declares none — as kube-apiserver's
 * table convertor for custom resources prints them. `date` columns print as an age.
 */
import type { CustomResourceColumn } from '../../../schemas/custom-resource-definition.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { ageSince } from './human-duration.ts';
import { ageColumn, type Cell, type ColumnDefinition, type KindPrinter, nameColumn, nameOf } from './kind-printer.ts';
import { evaluateJsonPath } from './simple-json-path.ts';

const printers = new WeakMap<readonly CustomResourceColumn[], KindPrinter>();

function cellOf(column: CustomResourceColumn, object: KubeObject, now: Date): Cell {
  let values: unknown[];
  try {
    values = evaluateJsonPath(object, column.jsonPath);
  } catch {
    return null;
  }
  if (values.length === 0 || values[0] === undefined || values[0] === null) return null;
  if (values.length > 1) return values.map((value) => (typeof value === 'object' ? JSON.stringify(value) : String(value))).join(',');
  const value = values[0];
  switch (column.type) {
    case 'date':
      return typeof value === 'string' ? ageSince(value, now) : null;
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) ? value : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    default:
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
}

export function customResourcePrinter(columns: readonly CustomResourceColumn[]): KindPrinter {
  const known = printers.get(columns);
  if (known) return known;
  const definitions: ColumnDefinition[] =
    columns.length === 0
      ? [nameColumn, ageColumn]
      : [
          nameColumn,
          ...columns.map(
            (column): ColumnDefinition => ({
              name: column.name,
              type: column.type as ColumnDefinition['type'],
              format: column.format ?? '',
              description: column.description ?? '',
              priority: column.priority ?? 0,
            }),
          ),
        ];
  const printer: KindPrinter = {
    columns: definitions,
    print: (object, now) => ({
      cells:
        columns.length === 0
          ? [nameOf(object), ageSince(object.metadata.creationTimestamp, now)]
          : [nameOf(object), ...columns.map((column) => cellOf(column, object, now))],
    }),
  };
  printers.set(columns, printer);
  return printer;
}
