import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { maxRequeueDelaySeconds, sqsRequeueSender } from '../../../functions/aws/sqs-requeue.ts';
import type { Log, LogFields } from '../../../functions/logging/log.ts';

const queueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/requeue';

function recordingLog(): Log & { warnings: { message: string; fields?: LogFields }[] } {
  const warnings: { message: string; fields?: LogFields }[] = [];
  const log = {
    warnings,
    debug() {},
    info() {},
    warn(message: string, fields?: LogFields) {
      warnings.push({ message, ...(fields ? { fields } : {}) });
    },
    error() {},
    child: () => log,
  };
  return log;
}

describe('requeues as delayed SQS messages', () => {
  const sqs = mockClient(SQSClient);
  afterEach(() => sqs.reset());
  const inputs = () => sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input);

  it('sends ten entries a call, each with its own whole-second delay, and leaves delays past 900 s to the resync', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const messages = Array.from({ length: 12 }, (_, i) => ({ body: `m${i}`, delaySeconds: i + 0.2 }));
    const sender = sqsRequeueSender({ client: new SQSClient({}), queueUrl });
    await sender.send([...messages, { body: 'too-late', delaySeconds: maxRequeueDelaySeconds + 1 }, { body: 'now', delaySeconds: -3 }]);
    assert.deepEqual(inputs(), [
      { QueueUrl: queueUrl, Entries: messages.slice(0, 10).map((m, i) => ({ Id: String(i), MessageBody: m.body, DelaySeconds: i + 1 })) },
      {
        QueueUrl: queueUrl,
        Entries: [
          { Id: '10', MessageBody: 'm10', DelaySeconds: 11 },
          { Id: '11', MessageBody: 'm11', DelaySeconds: 12 },
          { Id: '12', MessageBody: 'now', DelaySeconds: 0 },
        ],
      },
    ]);
  });

  it('sends nothing for no requeues', async () => {
    await sqsRequeueSender({ client: new SQSClient({}), queueUrl }).send([]);
    assert.equal(sqs.calls().length, 0);
  });

  it("sends again once the entries SQS failed on its side, not the sender's faults, and logs what stays unsent", async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: [{ Id: '0', MessageId: 'a', MD5OfMessageBody: '' }],
        Failed: [
          { Id: '1', SenderFault: false, Code: 'InternalError', Message: 'try again' },
          { Id: '2', SenderFault: true, Code: 'InvalidParameterValue', Message: 'bad body' },
        ],
      })
      .resolvesOnce({ Successful: [], Failed: [{ Id: '1', SenderFault: false, Code: 'InternalError', Message: 'again' }] });
    const log = recordingLog();
    await sqsRequeueSender({ client: new SQSClient({}), queueUrl, log }).send([
      { body: 'a', delaySeconds: 5 },
      { body: 'b', delaySeconds: 5 },
      { body: 'c', delaySeconds: 5 },
    ]);
    assert.deepEqual(inputs(), [
      {
        QueueUrl: queueUrl,
        Entries: [
          { Id: '0', MessageBody: 'a', DelaySeconds: 5 },
          { Id: '1', MessageBody: 'b', DelaySeconds: 5 },
          { Id: '2', MessageBody: 'c', DelaySeconds: 5 },
        ],
      },
      { QueueUrl: queueUrl, Entries: [{ Id: '1', MessageBody: 'b', DelaySeconds: 5 }] },
    ]);
    assert.deepEqual(
      log.warnings.map((w) => w.fields?.id),
      ['2', '1'],
    );
  });

  it('logs a call that fails and returns, so the batch that asked is not failed by it', async () => {
    sqs.on(SendMessageBatchCommand).rejects(Object.assign(new Error('Access denied'), { name: 'AccessDenied' }));
    const log = recordingLog();
    await sqsRequeueSender({ client: new SQSClient({}), queueUrl, log }).send([{ body: 'a', delaySeconds: 1 }]);
    assert.equal(sqs.calls().length, 1);
    assert.deepEqual(log.warnings, [{ message: 'requeues not sent', fields: { count: 1, error: 'Access denied' } }]);
  });
});
