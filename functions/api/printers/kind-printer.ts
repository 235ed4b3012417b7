/**
 * What a per-kind printer is: the Table columns kube-apiserver declares for the kind and a
 * function from one object to its cells. The API server always prints the wide columns
 * (`priority: 1`); kubectl hides them unless asked for `-o wide`.
 */
import type { KubeObject } from '../../../schemas/meta.ts';

export interface ColumnDefinition {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly format: string;
  readonly description: string;
  readonly priority: number;
}

/** A cell holds what the apiserver puts there: text or a number; null where a custom column's path finds nothing (kubectl prints `<none>`). */
export type Cell = string | number | boolean | null;

export interface TableRowCondition {
  readonly type: 'Completed';
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason?: string;
  readonly message?: string;
}

export interface PrintedRow {
  readonly cells: readonly Cell[];
  readonly conditions?: readonly TableRowCondition[];
}

export interface KindPrinter {
  readonly columns: readonly ColumnDefinition[];
  print(object: KubeObject, now: Date): PrintedRow;
}

export function column(
  name: string,
  description: string,
  options: { type?: ColumnDefinition['type']; priority?: number; format?: string } = {},
): ColumnDefinition {
  return { name, type: options.type ?? 'string', format: options.format ?? '', description, priority: options.priority ?? 0 };
}

export const nameColumn = column('Name', 'Name must be unique within a namespace; with the namespace it identifies the object.', {
  format: 'name',
});

export const ageColumn = column('Age', 'Time since the object was created (metadata.creationTimestamp).');

export function wide(name: string, description: string): ColumnDefinition {
  return column(name, description, { priority: 1 });
}

export function nameOf(object: KubeObject): string {
  return object.metadata.name ?? '';
}
