import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { memoryLog, silentLog } from '../../../functions/logging/log.ts';
import { createLogger, logTo, serviceName } from '../../../functions/logging/structured-log.ts';

function capture() {
  const lines: string[] = [];
  const logger = createLogger({ write: (line) => lines.push(line) });
  return { logger, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

const context = {
  functionName: 'skiff-controllers',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:skiff-controllers',
  memoryLimitInMB: '512',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

describe('the structured log', () => {
  it('writes one JSON object per line: level, message, timestamp, service, then the keys and fields', () => {
    const { logger, entries } = capture();
    logTo(logger, { component: 'scheduler' }).warn('pass failed', { error: 'boom', pods: 3 });
    const [entry] = entries();
    assert.deepEqual(Object.keys(entry ?? {}), ['level', 'message', 'timestamp', 'service', 'sampling_rate', 'component', 'error', 'pods']);
    assert.equal(entry?.level, 'WARN');
    assert.equal(entry?.message, 'pass failed');
    assert.equal(entry?.service, serviceName);
    assert.match(String(entry?.timestamp), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.deepEqual([entry?.component, entry?.error, entry?.pods], ['scheduler', 'boom', 3]);
  });

  it('names the four levels as Powertools does and leaves DEBUG out at the default level', () => {
    const { logger, entries } = capture();
    const log = logTo(logger);
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    assert.deepEqual(
      entries().map((entry) => [entry.level, entry.message]),
      [
        ['INFO', 'i'],
        ['WARN', 'w'],
        ['ERROR', 'e'],
      ],
    );
  });

  it('adds a child’s keys to every entry, the entry’s own fields winning', () => {
    const { logger, entries } = capture();
    const agent = logTo(logger, { component: 'node-agent' }).child({ node: 'skiff-node-1' });
    agent.info('lease renewed', { node: 'other' });
    agent.child({ pod: 'default/web' }).error('pod sync failed');
    assert.deepEqual(
      entries().map(({ component, node, pod }) => ({ component, node, pod })),
      [
        { component: 'node-agent', node: 'other', pod: undefined },
        { component: 'node-agent', node: 'skiff-node-1', pod: 'default/web' },
      ],
    );
  });

  it('adds the invocation’s context to every entry in a middy handler with injectLambdaContext', async (t) => {
    // The Lambda runtime sets this for on-demand functions; Powertools reports cold starts only then.
    process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
    t.after(() => delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE);
    const { logger, entries } = capture();
    const log = logTo(logger, { component: 'controller-manager' });
    const handler = middy(async () => {
      log.info('reconciled');
    }).use(injectLambdaContext(logger));
    await handler({}, context);
    await handler({}, { ...context, awsRequestId: 'second' });
    const [first, second] = entries();
    assert.equal(first?.function_name, 'skiff-controllers');
    assert.equal(first?.function_request_id, 'c6af9ac6-7b61-11e6-9a41-93e812345678');
    assert.equal(first?.function_arn, context.invokedFunctionArn);
    assert.equal(first?.cold_start, true);
    assert.equal(first?.component, 'controller-manager');
    assert.equal(second?.function_request_id, 'second');
    assert.equal(second?.cold_start, false);
  });

  it('has a silent log and a memory log for tests, with the same interface', () => {
    silentLog.child({ a: 1 }).error('nothing');
    const log = memoryLog();
    log.child({ component: 'api' }).info('request', { status: 200 });
    assert.deepEqual(log.entries, [{ level: 'INFO', message: 'request', fields: { component: 'api', status: 200 } }]);
  });
});
