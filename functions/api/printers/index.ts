/** Server-side printing for `kubectl get`: see `table.ts`. */

export { acceptsJson, type MediaRange, parseAccept } from './accept-header.ts';
export { ageSince, humanDuration } from './human-duration.ts';
export type { Cell, ColumnDefinition, IncludeObject, PartialObjectMetadata, Table, TableOptions, TableRow, TableRowCondition } from './table.ts';
export { printerFor, toTable, wantsTable } from './table.ts';
