import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReadRequest } from '../../../functions/api/http.ts';
import { createListsAhead, type ListPage } from '../../../functions/api/lists-ahead.ts';

const request = (query: string, accept = 'application/json'): ReadRequest => ({
  method: 'GET',
  path: '/api/v1/namespaces/apps/pods',
  query: new URLSearchParams(query),
  headers: { accept },
  body: Buffer.alloc(0),
  signal: new AbortController().signal,
  requestId: 'test',
});

const page = (name: string, next?: string): ListPage => ({ response: { status: 200, headers: {}, body: name }, ...(next ? { continue: next } : {}) });

/** A ListsAhead on a clock the test moves, with the requests it was asked to answer. */
function setUp(options: { readonly keepMs?: number; readonly maxPages?: number } = {}) {
  let now = 1_000;
  const asked: string[] = [];
  const ahead = createListsAhead({ ...options, clock: () => now });
  const answer = async (next: ReadRequest): Promise<ListPage> => {
    asked.push(next.query.toString());
    return page(`page after ${next.query.get('continue')}`);
  };
  return { ahead, asked, answer, advance: (ms: number) => (now += ms) };
}

describe('lists ahead', () => {
  it('answers the next page of a paged list once, for the request with its continue token', async () => {
    const { ahead, asked, answer } = setUp();
    ahead.prepareNext(request('limit=500'), 'alice', page('first', 'token-1'), answer);
    assert.deepEqual(asked, ['limit=500&continue=token-1']);
    const prepared = ahead.take(request('continue=token-1&limit=500'), 'alice');
    assert.equal((await prepared)?.response.body, 'page after token-1');
    assert.equal(ahead.take(request('continue=token-1&limit=500'), 'alice'), undefined);
  });

  it('hands a prepared page to no other request: another user, Accept header, selector or token', () => {
    const { ahead, answer } = setUp();
    ahead.prepareNext(request('limit=500&labelSelector=app%3Dweb', 'application/json;as=Table;v=v1;g=meta.k8s.io'), 'alice', page('first', 't'), answer);
    const table = 'application/json;as=Table;v=v1;g=meta.k8s.io';
    assert.equal(ahead.take(request('limit=500&labelSelector=app%3Dweb&continue=t', table), 'bob'), undefined);
    assert.equal(ahead.take(request('limit=500&labelSelector=app%3Dweb&continue=t'), 'alice'), undefined);
    assert.equal(ahead.take(request('limit=500&labelSelector=app%3Ddb&continue=t', table), 'alice'), undefined);
    assert.equal(ahead.take(request('limit=500&labelSelector=app%3Dweb&continue=other', table), 'alice'), undefined);
    assert.equal(ahead.take(request('limit=400&labelSelector=app%3Dweb&continue=t', table), 'alice'), undefined);
    assert.ok(ahead.take(request('limit=500&labelSelector=app%3Dweb&continue=t', table), 'alice'));
  });

  it('prepares nothing for the last page, an unpaged list or pages over 1,000 items', () => {
    const { ahead, asked, answer } = setUp();
    ahead.prepareNext(request('limit=500'), 'alice', page('last'), answer);
    ahead.prepareNext(request(''), 'alice', page('all', 't'), answer);
    ahead.prepareNext(request('limit=0'), 'alice', page('all', 't'), answer);
    ahead.prepareNext(request('limit=5000'), 'alice', page('big', 't'), answer);
    assert.deepEqual(asked, []);
  });

  it('drops a prepared page its request did not come for within the keeping time', () => {
    const { ahead, answer, advance } = setUp({ keepMs: 5000 });
    ahead.prepareNext(request('limit=10'), 'alice', page('first', 'a'), answer);
    ahead.prepareNext(request('limit=10'), 'alice', page('first', 'b'), answer);
    advance(4_999);
    assert.ok(ahead.take(request('limit=10&continue=a'), 'alice'));
    advance(1);
    assert.equal(ahead.take(request('limit=10&continue=b'), 'alice'), undefined);
  });

  it('keeps at most maxPages, dropping the oldest', () => {
    const { ahead, answer } = setUp({ maxPages: 2 });
    for (const token of ['a', 'b', 'c']) ahead.prepareNext(request('limit=10'), 'alice', page('first', token), answer);
    assert.equal(ahead.take(request('limit=10&continue=a'), 'alice'), undefined);
    assert.ok(ahead.take(request('limit=10&continue=b'), 'alice'));
    assert.ok(ahead.take(request('limit=10&continue=c'), 'alice'));
  });

  it('hands out a page that failed as it failed, and keeps no unhandled rejection', async () => {
    const { ahead } = setUp();
    ahead.prepareNext(request('limit=10'), 'alice', page('first', 'a'), () => Promise.reject(new Error('DynamoDB went away')));
    await new Promise((resolve) => setImmediate(resolve));
    await assert.rejects(ahead.take(request('limit=10&continue=a'), 'alice') ?? Promise.resolve(), /DynamoDB went away/);
  });
});
