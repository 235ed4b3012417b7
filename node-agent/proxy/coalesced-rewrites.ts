/**
 * One rewrite of a node's nftables table at a time. Changes that arrive while a rewrite runs are
 * folded into a single rewrite after it, which reads the newest state: a burst of watch events
 * costs two `nft -f` runs, not one each. The rewrite starts on the next turn of the event loop,
 * so the events of one watch chunk land in the same one.
 */
export interface CoalescedRewrites {
  /** Asks for a rewrite (ignored until `canStart` says the state is complete, and once aborted). */
  request(): void;
  /** The rewrite under way, or undefined when none is. */
  current(): Promise<void> | undefined;
}

/** `rewrite` must not throw: it reports its own failures (a failed `nft -f` waits for the next change). */
export function coalescedRewrites(
  rewrite: () => Promise<void>,
  options: { readonly signal: AbortSignal; readonly canStart: () => boolean },
): CoalescedRewrites {
  let dirty = false;
  let running: Promise<void> | undefined;
  const drain = async () => {
    while (dirty && !options.signal.aborted) {
      dirty = false;
      await rewrite();
    }
  };
  const request = () => {
    // Once aborted, a change left pending must not start a rewrite that ends at once and asks again.
    if (options.signal.aborted || !options.canStart()) return;
    dirty = true;
    if (running) return;
    running = new Promise<void>((resolvePromise) => setImmediate(resolvePromise)).then(drain).finally(() => {
      running = undefined;
      if (dirty) request();
    });
  };
  return { request, current: () => running };
}
