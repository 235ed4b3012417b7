import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addUnits, billedUnits, dollars, noUnits, scaleUnits, stackLambdaMemory } from '../../../bench/cost-model.ts';
import { billedMessages, createMeter, emptyUsage } from '../../../bench/metering.ts';
import { type Prices, usEast1Prices } from '../../../bench/prices.ts';

const unitPrices: Prices = {
  ...usEast1Prices,
  dynamoDbPerMillionWriteUnits: 1,
  dynamoDbPerMillionReadUnits: 1,
  lambdaPerMillionRequests: 1,
  lambdaPerGbSecond: 1,
  apiGatewayRestPerMillionRequests: 1,
  webSocketPerMillionMessages: 1,
  webSocketPerMillionConnectionMinutes: 1,
};

describe('bench cost model', () => {
  it('bills each API request once at API Gateway and once as an API Lambda invocation at its memory size', () => {
    const units = billedUnits({ ...emptyUsage, api: { invocations: 4, seconds: 2 } });
    assert.equal(units.apiGatewayRequests, 4);
    assert.equal(units.lambdaInvocations, 4);
    assert.equal(units.lambdaGbSeconds, 2 * (stackLambdaMemory.apiMb / 1024));
  });

  it('bills stream batches and resyncs as Lambda invocations without API Gateway', () => {
    const units = billedUnits({ ...emptyUsage, streamConsumers: { invocations: 3, seconds: 1 }, resync: { invocations: 1, seconds: 1 } });
    assert.equal(units.apiGatewayRequests, 0);
    assert.equal(units.lambdaInvocations, 4);
    assert.equal(units.lambdaGbSeconds, 2 * (512 / 1024));
  });

  it('bills the watch channel and its fan-out as Lambda invocations at 256 MB, and their messages as WebSocket messages', () => {
    const units = billedUnits({
      ...emptyUsage,
      channel: { invocations: 10, seconds: 4 },
      fanOut: { invocations: 2, seconds: 4 },
      webSocketMessages: 30,
      stsCalls: 5,
    });
    assert.equal(units.lambdaInvocations, 12);
    assert.equal(units.lambdaGbSeconds, 8 * (256 / 1024));
    assert.equal(units.apiGatewayRequests, 0);
    assert.equal(units.webSocketMessages, 30);
    assert.equal(units.stsCalls, 5);
    assert.equal(units.webSocketConnectionMinutes, 0, 'connection time is added by the scenario, not measured');
  });

  it("counts WebSocket messages in API Gateway's 32 KB billing units", () => {
    assert.equal(billedMessages(10), 1);
    assert.equal(billedMessages(32 * 1024), 1);
    assert.equal(billedMessages(32 * 1024 + 1), 2);
    assert.equal(billedMessages(100 * 1024), 4);
    const meter = createMeter();
    meter.countWebSocketMessage(40 * 1024);
    meter.countStsCall();
    assert.equal(meter.usage().webSocketMessages, 2);
    assert.equal(meter.usage().stsCalls, 1);
  });

  it('prices every kind of unit per million, and per GB-second for Lambda duration', () => {
    const units = {
      ...noUnits,
      dynamoDbReadUnits: 1e6,
      dynamoDbWriteUnits: 2e6,
      lambdaInvocations: 3e6,
      lambdaGbSeconds: 4,
      apiGatewayRequests: 5e6,
      webSocketMessages: 6e6,
      webSocketConnectionMinutes: 7e6,
      stsCalls: 8e6,
    };
    assert.deepEqual(dollars(units, unitPrices), { dynamoDb: 3, lambda: 7, apiGateway: 5, webSocket: 13, sts: 0, total: 28 });
  });

  it('prices us-east-1 on-demand writes at $0.625 and reads at $0.125 per million', () => {
    const cost = dollars({ ...noUnits, dynamoDbReadUnits: 8e6, dynamoDbWriteUnits: 8e6 }, usEast1Prices);
    assert.equal(cost.dynamoDb, 6);
  });

  it('puts the EKS control plane at $73 a month', () => {
    assert.equal(Math.round(usEast1Prices.eksPerClusterHour * 730 * 100) / 100, 73);
  });

  it('scales and adds units field by field', () => {
    const a = { ...noUnits, dynamoDbReadUnits: 1, apiGatewayRequests: 2 };
    assert.deepEqual(addUnits(scaleUnits(a, 3), a), { ...noUnits, dynamoDbReadUnits: 4, apiGatewayRequests: 8 });
  });
});
