import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toLambdaRecord } from '../../../functions/local/stream-poller.ts';

describe('toLambdaRecord', () => {
  it('gives a Streams API record the shape Lambda delivers', () => {
    const record = toLambdaRecord(
      {
        eventID: 'e1',
        eventName: 'MODIFY',
        eventVersion: '1.1',
        eventSource: 'aws:dynamodb',
        awsRegion: 'ddblocal',
        dynamodb: {
          ApproximateCreationDateTime: new Date('2026-01-01T00:00:10Z'),
          Keys: { pk: { S: 'core/pods' }, sk: { S: 'default/a' } },
          NewImage: { body: { S: '{}' }, rv: { N: '5' }, raw: { B: new Uint8Array([1, 2]) }, tags: { L: [{ BOOL: true }, { NULL: true }] } },
          OldImage: { rv: { N: '4' } },
          SequenceNumber: '100',
          SizeBytes: 42,
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
      },
      'arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/x',
    );
    assert.deepEqual(record, {
      eventID: 'e1',
      eventName: 'MODIFY',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'ddblocal',
      dynamodb: {
        ApproximateCreationDateTime: 1767225610,
        Keys: { pk: { S: 'core/pods' }, sk: { S: 'default/a' } },
        NewImage: { body: { S: '{}' }, rv: { N: '5' }, raw: { B: 'AQI=' }, tags: { L: [{ BOOL: true }, { NULL: true }] } },
        OldImage: { rv: { N: '4' } },
        SequenceNumber: '100',
        SizeBytes: 42,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      eventSourceARN: 'arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/x',
    });
  });
});
