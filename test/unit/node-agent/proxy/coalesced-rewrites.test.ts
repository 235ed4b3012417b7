/** One table rewrite at a time; a burst of changes folds into one more rewrite after it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coalescedRewrites } from '../../../../node-agent/proxy/coalesced-rewrites.ts';

describe('coalescedRewrites', () => {
  it('runs a burst of requests as one rewrite, and those made during it as one more', async () => {
    let calls = 0;
    let release: () => void = () => {};
    const rewrites = coalescedRewrites(
      async () => {
        calls += 1;
        if (calls === 1) await new Promise<void>((resolve) => (release = resolve));
      },
      { signal: new AbortController().signal, canStart: () => true },
    );
    for (let i = 0; i < 5; i++) rewrites.request();
    const first = rewrites.current();
    assert.ok(first);
    while (calls === 0) await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 5; i++) rewrites.request();
    release();
    await first;
    while (rewrites.current()) await rewrites.current();
    assert.equal(calls, 2);
  });

  it('does nothing until the state is complete, nor once aborted', async () => {
    let calls = 0;
    let complete = false;
    const abort = new AbortController();
    const rewrites = coalescedRewrites(
      async () => {
        calls += 1;
      },
      { signal: abort.signal, canStart: () => complete },
    );
    rewrites.request();
    assert.equal(rewrites.current(), undefined);
    complete = true;
    abort.abort();
    rewrites.request();
    await rewrites.current();
    assert.equal(calls, 0);
  });
});
