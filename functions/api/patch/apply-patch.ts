/** Applying a json, merge or strategic patch to a stored object. */

import type { KubeObject } from '../../../schemas/meta.ts';
import type { ResourceType } from '../../../schemas/registry.ts';
import { BadRequestError, InvalidError } from '../../core/errors.ts';
import { applyJsonPatch } from './json-patch.ts';
import { cloneJson, isJsonObject, type JsonObject, type JsonValue } from './json-value.ts';
import { mergePatch } from './merge-patch.ts';
import type { PatchType } from './patch-body.ts';
import { strategicMergePatch } from './strategic-merge-patch.ts';

/**
 * Applies a json/merge/strategic patch to `current` and returns the new object; `current` and
 * `patch` are left as they were. The caller still validates the result and checks that the name
 * and namespace did not change (the patch engine does not know the request URL).
 */
export function applyPatch(type: ResourceType, current: KubeObject, patch: unknown, patchType: Exclude<PatchType, 'apply'>): KubeObject {
  const document = current as unknown as JsonObject;
  let patched: JsonValue;
  switch (patchType) {
    case 'json':
      if (!Array.isArray(patch)) throw new BadRequestError('a JSON patch must be a list of operations');
      patched = applyJsonPatch(document, patch);
      break;
    case 'merge':
      if (!isJsonObject(patch)) throw new BadRequestError('a merge patch must be a JSON object');
      patched = mergePatch(document, patch);
      break;
    case 'strategic':
      if (!isJsonObject(patch)) throw new BadRequestError('a strategic merge patch must be a JSON object');
      patched = strategicMergePatch(type.kind, document, patch);
      break;
  }
  return asKubeObject(type, current, cloneJson(patched));
}

/** The patched document must still be an object of the same kind; missing apiVersion/kind come back. */
function asKubeObject(type: ResourceType, current: KubeObject, patched: JsonValue): KubeObject {
  const name = current.metadata.name ?? '';
  const invalid = (field: string, message: string) => new InvalidError({ kind: type.kind, group: type.group, name }, [{ field, message }]);
  if (!isJsonObject(patched)) throw invalid('patch', `the patched object must be a JSON object, got ${JSON.stringify(patched)}`);
  if (!isJsonObject(patched.metadata)) throw invalid('metadata', 'the patched object must keep its metadata object');
  const apiVersion = patched.apiVersion ?? current.apiVersion;
  const kind = patched.kind ?? current.kind;
  if (apiVersion !== current.apiVersion) throw invalid('apiVersion', `must stay ${JSON.stringify(current.apiVersion)}, a patch cannot change it`);
  if (kind !== current.kind) throw invalid('kind', `must stay ${JSON.stringify(current.kind)}, a patch cannot change it`);
  return { ...patched, apiVersion, kind, metadata: patched.metadata } as unknown as KubeObject;
}
