/**
 * The versions of a custom resource share one stored object (conversion strategy `None`): an
 * object written as `example.com/v1beta1` reads as `example.com/v1` through the v1 endpoints,
 * with only its `apiVersion` rewritten, as kube-apiserver's nop converter does.
 */
import type { KubeObject } from '../../schemas/meta.ts';
import { apiVersionOf, type ResourceType } from '../../schemas/registry.ts';
import type { ObjectReader, WatchEvent } from '../store/store.ts';

function asVersion(object: KubeObject, apiVersion: string): KubeObject {
  return object.apiVersion === apiVersion ? object : { ...object, apiVersion };
}

/** A reader that hands out every object of `type` as `type`'s version. */
export function servedAs(type: ResourceType, store: ObjectReader): ObjectReader {
  const apiVersion = apiVersionOf(type);
  return {
    get: async (t, namespace, name) => {
      const object = await store.get(t, namespace, name);
      return t.id === type.id ? asVersion(object, apiVersion) : object;
    },
    list: async (t, options) => {
      const result = await store.list(t, options);
      return t.id === type.id ? { ...result, items: result.items.map((item) => asVersion(item, apiVersion)) } : result;
    },
    watch: (t, options) => {
      const events = store.watch(t, options);
      if (t.id !== type.id) return events;
      return (async function* converted(): AsyncIterable<WatchEvent> {
        for await (const event of events) yield { ...event, object: asVersion(event.object, apiVersion) };
      })();
    },
    currentRevision: (t) => store.currentRevision(t),
  };
}
