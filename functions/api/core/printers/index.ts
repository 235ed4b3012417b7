/** Server-side printing for `kubectl get`: see `table.ts`. */
export { printerFor, toTable, wantsTable } from './table.ts';
export { acceptsJson, type MediaRange, parseAccept } from './accept-header.ts';
export type { Cell, ColumnDefinition, IncludeObject, PartialObjectMetadata, Table, TableOptions, TableRow, TableRowCondition } from './table.ts';
export { humanDuration, ageSince } from './human-duration.ts';
