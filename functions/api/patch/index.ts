/** The patch engine: JSON patch, merge patch, strategic merge patch and server-side apply. Pure, no I/O. */
export { applyPatch } from './apply-patch.ts';
export { JsonPatchApplyError } from './json-patch.ts';
export { type ListStrategy, listStrategyOf } from './list-strategies.ts';
export { type ManagedFieldsEntry, readManagedFields, recordUpdateManager } from './managed-fields.ts';
export { type PatchType, parsePatchBody, patchTypeOf } from './patch-body.ts';
export { type ApplyConflict, FieldManagerConflictError, serverSideApply } from './server-side-apply.ts';
export { StrategicMergePatchError } from './strategic-merge-patch.ts';
