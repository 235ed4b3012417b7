import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inChunks } from '../../../functions/store/list-all.ts';

interface Call {
  readonly chunk: readonly number[];
  readonly finish: (error?: Error) => void;
}

/** A write whose calls stay in flight until the test finishes them, in any order. */
function controlledWrite() {
  const calls: Call[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const waiters: (() => void)[] = [];
  const write = (chunk: readonly number[]): Promise<readonly string[]> => {
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    return new Promise((resolve, reject) => {
      calls.push({
        chunk,
        finish: (error) => {
          inFlight--;
          if (error) reject(error);
          else resolve(chunk.map((n) => `w${n}`));
        },
      });
      for (const wake of waiters.splice(0)) wake();
    });
  };
  /** Resolves once `count` calls have started. */
  const started = async (count: number): Promise<void> => {
    while (calls.length < count) await new Promise<void>((wake) => waiters.push(wake));
  };
  return { calls, write, started, mostInFlight: () => mostInFlight };
}

describe('inChunks', () => {
  it('writes one chunk at a time by default, in order', async () => {
    const seen: (readonly number[])[] = [];
    const result = await inChunks([1, 2, 3, 4, 5], 2, async (chunk) => {
      seen.push(chunk);
      return chunk.map((n) => n * 10);
    });
    assert.deepEqual(seen, [[1, 2], [3, 4], [5]]);
    assert.deepEqual(result, [10, 20, 30, 40, 50]);
  });

  it('keeps at most `concurrency` chunks in flight and answers in the items order whatever order they finish in', async () => {
    const control = controlledWrite();
    const done = inChunks([1, 2, 3, 4, 5, 6, 7], 2, control.write, 3);
    await control.started(3);
    assert.deepEqual(
      control.calls.map((call) => call.chunk),
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
    );
    control.calls[2]?.finish();
    await control.started(4);
    assert.deepEqual(control.calls[3]?.chunk, [7]);
    control.calls[3]?.finish();
    control.calls[1]?.finish();
    control.calls[0]?.finish();
    assert.deepEqual(await done, ['w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'w7']);
    assert.equal(control.mostInFlight(), 3);
  });

  it('starts no chunk after one failed and throws the first failure once the chunks in flight settled', async () => {
    const control = controlledWrite();
    const done = inChunks([1, 2, 3, 4, 5, 6, 7, 8], 2, control.write, 2);
    let settled = false;
    const outcome = done.then(
      () => assert.fail('inChunks should have failed'),
      (error: unknown) => {
        settled = true;
        return error;
      },
    );
    await control.started(2);
    control.calls[0]?.finish(new Error('first'));
    // The failed worker stops; the other chunk is still in flight, so nothing is thrown yet.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false);
    control.calls[1]?.finish(new Error('second'));
    const error = await outcome;
    assert.ok(error instanceof Error);
    assert.equal(error.message, 'first');
    assert.equal(control.calls.length, 2);
  });

  it('writes nothing for no items', async () => {
    let calls = 0;
    assert.deepEqual(
      await inChunks(
        [],
        25,
        async () => {
          calls++;
          return [];
        },
        4,
      ),
      [],
    );
    assert.equal(calls, 0);
  });
});
