/** Reading a whole type through `ObjectStore`: every page of a list, one object if it exists, writes in batches. */

import type { KubeObject } from '../../schemas/meta.ts';
import type { ResourceType } from '../../schemas/registry.ts';
import { NotFoundError } from '../core/errors.ts';
import type { ListOptions, ObjectReader } from './store.ts';

export interface CompleteList {
  readonly items: KubeObject[];
  /** The type's revision when the first page was read; every page is of that revision, and a watch from it misses nothing. */
  readonly resourceVersion: string;
}

/**
 * Every object a list would page through, gathered in one array: the one paged-list loop of the
 * project (pages of 500, following `continue` until the store has no more).
 */
export async function listComplete(store: ObjectReader, type: ResourceType, options: Omit<ListOptions, 'continue' | 'limit'> = {}): Promise<CompleteList> {
  const items: KubeObject[] = [];
  let resourceVersion: string | undefined;
  let token: string | undefined;
  do {
    const page = await store.list(type, { ...options, limit: 500, ...(token ? { continue: token } : {}) });
    resourceVersion ??= page.resourceVersion;
    items.push(...page.items);
    token = page.continue || undefined;
  } while (token);
  return { items, resourceVersion: resourceVersion ?? '' };
}

/** Every object a list would page through, gathered in one array. */
export async function listAll(store: ObjectReader, type: ResourceType, options: Omit<ListOptions, 'continue' | 'limit'> = {}): Promise<KubeObject[]> {
  return (await listComplete(store, type, options)).items;
}

/** The object, or undefined when it does not exist. */
export async function getIfExists(store: ObjectReader, type: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
  try {
    return await store.get(type, namespace, name);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/**
 * Runs `write` over `items` in chunks of the store's batch limit, up to `concurrency` chunks at
 * once (writes of one type in flight together are committed together by the store, docs/adr/004).
 * Results come back in the items' order. After a chunk fails no further chunk starts; the first
 * failure is thrown once the chunks in flight have settled.
 */
export async function inChunks<T, R>(items: readonly T[], size: number, write: (chunk: readonly T[]) => Promise<readonly R[]>, concurrency = 1): Promise<R[]> {
  const chunks: (readonly T[])[] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  const written: (readonly R[])[] = new Array(chunks.length);
  let next = 0;
  let failed: { readonly error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failed && next < chunks.length) {
      const index = next++;
      try {
        written[index] = await write(chunks[index] ?? []);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, chunks.length)) }, worker));
  if (failed) throw failed.error;
  return written.flat();
}
