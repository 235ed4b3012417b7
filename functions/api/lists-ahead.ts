/**
 * The next page of a paged list, answered before it is asked for (docs/adr/197).
 *
 * `kubectl get` pages by 500 and asks for each page only once it has read the one before: a
 * 20,000-pod list is 40 requests one after the other, and each waited for the server to read,
 * parse and render its page while the client sat idle. Once a page is answered with a `continue`
 * token, the same request for the next page is answered right away in the background; when the
 * client asks for it, the answer is ready (or on its way), and the server's work on page k + 1
 * runs while the client decodes page k. The store reads the page after that ahead as well
 * (`functions/store/dynamodb-list.ts`).
 *
 * What the client sees does not change: a prepared answer is handed out only for the very same
 * request (path, every query parameter, Accept header and user), within a few seconds, once;
 * the request has been authenticated and authorized like any other. Its objects were read after
 * the list's revision, as every page of a list must be (docs/adr/002).
 */
import type { ApiResponse, ReadRequest } from './http.ts';

/** An answered page, and the token of the page after it. */
export interface ListPage {
  readonly response: ApiResponse;
  readonly continue?: string;
}

export interface ListsAhead {
  /** The page prepared for exactly this request, once; undefined when there is none. */
  take(request: ReadRequest, user: string): Promise<ListPage> | undefined;
  /** Answers the request for the page after `page` now, for a client that will ask for it next. */
  prepareNext(request: ReadRequest, user: string, page: ListPage, answer: (next: ReadRequest) => Promise<ListPage>): void;
}

export interface ListsAheadOptions {
  /** How long a prepared page waits for its request. @default 5000 */
  readonly keepMs?: number;
  /** Pages kept at once; the oldest are dropped. @default 8 */
  readonly maxPages?: number;
  /** Pages are prepared only for lists asking for at most this many items a page. @default 1000 */
  readonly maxLimit?: number;
  readonly clock?: () => number;
}

/** Query parameters in a fixed order: two requests differing only in their order are the same request. */
function requestKey(request: ReadRequest, user: string): string {
  const query = [...request.query].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  return JSON.stringify([user, request.method.toUpperCase(), request.path, query, request.headers.accept ?? '']);
}

export function createListsAhead(options: ListsAheadOptions = {}): ListsAhead {
  const keepMs = options.keepMs ?? 5000;
  const maxPages = options.maxPages ?? 8;
  const maxLimit = options.maxLimit ?? 1000;
  const clock = options.clock ?? Date.now;
  const pages = new Map<string, { readonly at: number; readonly page: Promise<ListPage> }>();

  function dropStale(now: number): void {
    for (const [key, entry] of pages) if (now - entry.at >= keepMs) pages.delete(key);
  }

  return {
    take(request, user) {
      if (pages.size === 0) return undefined;
      const now = clock();
      dropStale(now);
      const key = requestKey(request, user);
      const entry = pages.get(key);
      if (!entry) return undefined;
      pages.delete(key);
      return entry.page;
    },

    prepareNext(request, user, page, answer) {
      if (!page.continue) return;
      const limit = Number(request.query.get('limit') ?? '');
      if (!(limit > 0 && limit <= maxLimit)) return;
      const query = new URLSearchParams(request.query);
      query.set('continue', page.continue);
      const next: ReadRequest = { ...request, query };
      const now = clock();
      dropStale(now);
      while (pages.size >= maxPages) {
        const oldest = pages.keys().next().value;
        if (oldest === undefined) break;
        pages.delete(oldest);
      }
      const prepared = answer(next);
      // Unused or failed, it is simply dropped: the request then answers itself.
      prepared.catch(() => undefined);
      pages.set(requestKey(next, user), { at: now, page: prepared });
    },
  };
}
