/** Every object a list would page through, gathered in one array. */

import type { KubeObject } from '../../schemas/meta.ts';
import type { ResourceType } from '../../schemas/registry.ts';
import { NotFoundError } from '../core/errors.ts';
import type { ListOptions, ObjectStore } from './store.ts';

export async function listAll(store: ObjectStore, type: ResourceType, options: Omit<ListOptions, 'continue' | 'limit'> = {}): Promise<KubeObject[]> {
  const items: KubeObject[] = [];
  let token: string | undefined;
  do {
    const page = await store.list(type, { ...options, limit: 500, ...(token ? { continue: token } : {}) });
    items.push(...page.items);
    token = page.continue || undefined;
  } while (token);
  return items;
}

/** The object, or undefined when it does not exist. */
export async function getIfExists(store: ObjectStore, type: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
  try {
    return await store.get(type, namespace, name);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/** Runs `write` over `items` in chunks of the store's batch limit. */
export async function inChunks<T, R>(items: readonly T[], size: number, write: (chunk: readonly T[]) => Promise<readonly R[]>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) results.push(...(await write(items.slice(i, i + size))));
  return results;
}
