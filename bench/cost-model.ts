/**
 * Turns billed units into dollars. Pure: the scenarios measure `Usage`, this prices it.
 * Lambda memory sizes are the CDK stack's (cdk/skiff-stack.ts, cdk/skiff-function.ts).
 */
import type { Usage } from './metering.ts';
import type { Prices } from './prices.ts';

export interface LambdaMemory {
  readonly apiMb: number;
  readonly streamConsumerMb: number;
  readonly resyncMb: number;
  readonly channelMb: number;
  readonly fanOutMb: number;
  readonly heartbeatMb: number;
}

/** The stack's sizes (Arm): the API server 1024 MB, the watch channel, its fan-out and the node heartbeat 256 MB, the others 512 MB. */
export const stackLambdaMemory: LambdaMemory = { apiMb: 1024, streamConsumerMb: 512, resyncMb: 512, channelMb: 256, fanOutMb: 256, heartbeatMb: 256 };

export interface BilledUnits {
  readonly dynamoDbReadUnits: number;
  readonly dynamoDbWriteUnits: number;
  readonly lambdaInvocations: number;
  readonly lambdaGbSeconds: number;
  readonly apiGatewayRequests: number;
  readonly webSocketMessages: number;
  readonly webSocketConnectionMinutes: number;
  /** STS GetCallerIdentity calls (free; counted to show sign-in's share). */
  readonly stsCalls: number;
}

export const noUnits: BilledUnits = {
  dynamoDbReadUnits: 0,
  dynamoDbWriteUnits: 0,
  lambdaInvocations: 0,
  lambdaGbSeconds: 0,
  apiGatewayRequests: 0,
  webSocketMessages: 0,
  webSocketConnectionMinutes: 0,
  stsCalls: 0,
};

export interface Dollars {
  readonly dynamoDb: number;
  readonly lambda: number;
  readonly apiGateway: number;
  readonly webSocket: number;
  readonly sts: number;
  readonly total: number;
}

/**
 * The units a measured usage is billed as: API requests pass API Gateway and invoke the API
 * Lambda; channel messages are WebSocket messages, and those routed to the channel's Lambda
 * invoke it; a request to the node heartbeat endpoint's function URL is one invocation of its
 * Lambda and nothing else (a function URL adds no charge of its own). Connection-minutes are not measured (a scenario adds them for the time its nodes
 * are connected).
 */
export function billedUnits(usage: Usage, memory: LambdaMemory = stackLambdaMemory): BilledUnits {
  return {
    dynamoDbReadUnits: usage.dynamoDb.readUnits,
    dynamoDbWriteUnits: usage.dynamoDb.writeUnits,
    lambdaInvocations:
      usage.api.invocations +
      usage.streamConsumers.invocations +
      usage.resync.invocations +
      usage.channel.invocations +
      usage.fanOut.invocations +
      usage.heartbeat.invocations,
    lambdaGbSeconds:
      (usage.api.seconds * memory.apiMb +
        usage.streamConsumers.seconds * memory.streamConsumerMb +
        usage.resync.seconds * memory.resyncMb +
        usage.channel.seconds * memory.channelMb +
        usage.fanOut.seconds * memory.fanOutMb +
        usage.heartbeat.seconds * memory.heartbeatMb) /
      1024,
    apiGatewayRequests: usage.api.invocations,
    webSocketMessages: usage.webSocketMessages,
    webSocketConnectionMinutes: 0,
    stsCalls: usage.stsCalls,
  };
}

export function scaleUnits(units: BilledUnits, factor: number): BilledUnits {
  return Object.fromEntries(Object.entries(units).map(([key, value]) => [key, value * factor])) as unknown as BilledUnits;
}

export function addUnits(...all: readonly BilledUnits[]): BilledUnits {
  return all.reduce(
    (sum, units) => Object.fromEntries(Object.entries(sum).map(([key, value]) => [key, value + units[key as keyof BilledUnits]])) as unknown as BilledUnits,
    noUnits,
  );
}

export function dollars(units: BilledUnits, prices: Prices): Dollars {
  const perMillion = (count: number, price: number): number => (count / 1_000_000) * price;
  const dynamoDb =
    perMillion(units.dynamoDbReadUnits, prices.dynamoDbPerMillionReadUnits) + perMillion(units.dynamoDbWriteUnits, prices.dynamoDbPerMillionWriteUnits);
  const lambda = perMillion(units.lambdaInvocations, prices.lambdaPerMillionRequests) + units.lambdaGbSeconds * prices.lambdaPerGbSecond;
  const apiGateway = perMillion(units.apiGatewayRequests, prices.apiGatewayRestPerMillionRequests);
  const webSocket =
    perMillion(units.webSocketMessages, prices.webSocketPerMillionMessages) +
    perMillion(units.webSocketConnectionMinutes, prices.webSocketPerMillionConnectionMinutes);
  const sts = perMillion(units.stsCalls, prices.stsPerMillionGetCallerIdentity);
  return { dynamoDb, lambda, apiGateway, webSocket, sts, total: dynamoDb + lambda + apiGateway + webSocket + sts };
}

/** Rounds every figure to a tenth of a cent for the results file. */
export function roundDollars(value: Dollars): Dollars {
  const round = (n: number): number => Math.round(n * 10_000) / 10_000;
  return {
    dynamoDb: round(value.dynamoDb),
    lambda: round(value.lambda),
    apiGateway: round(value.apiGateway),
    webSocket: round(value.webSocket),
    sts: round(value.sts),
    total: round(value.total),
  };
}
