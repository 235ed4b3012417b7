/**
 * The prices the cost model uses: AWS on-demand list prices for us-east-1, as published on the
 * services' pricing pages. They are stated in every result so a reader can redo the sums.
 */

export interface Prices {
  /** Where the figures come from and when they were read. */
  readonly source: string;
  readonly date: string;
  readonly region: string;
  /** DynamoDB on-demand, per million write / read request units (standard table class). */
  readonly dynamoDbPerMillionWriteUnits: number;
  readonly dynamoDbPerMillionReadUnits: number;
  /** Lambda, per million requests and per GB-second (Arm, first pricing tier). */
  readonly lambdaPerMillionRequests: number;
  readonly lambdaPerGbSecond: number;
  /** API Gateway REST API, per million requests (first tier). */
  readonly apiGatewayRestPerMillionRequests: number;
  /** API Gateway WebSocket API, per million messages (32 KB units) and per million connection-minutes. */
  readonly webSocketPerMillionMessages: number;
  readonly webSocketPerMillionConnectionMinutes: number;
  /** STS GetCallerIdentity, what IAM sign-in costs per token verified: STS charges nothing for it. */
  readonly stsPerMillionGetCallerIdentity: number;
  /** EventBridge Scheduler / rules invoking the resync: free for AWS-service targets on a schedule. */
  readonly eventBridgeScheduledPerMillion: number;
  /** EKS control plane, per cluster-hour (standard support). */
  readonly eksPerClusterHour: number;
}

export const usEast1Prices: Prices = {
  source: 'AWS public price list (aws.amazon.com/dynamodb|lambda|api-gateway|eks/pricing; STS is free), us-east-1 on-demand',
  date: '2025-06-01',
  region: 'us-east-1',
  dynamoDbPerMillionWriteUnits: 0.625,
  dynamoDbPerMillionReadUnits: 0.125,
  lambdaPerMillionRequests: 0.2,
  lambdaPerGbSecond: 0.0000133334,
  apiGatewayRestPerMillionRequests: 3.5,
  webSocketPerMillionMessages: 1.0,
  webSocketPerMillionConnectionMinutes: 0.25,
  stsPerMillionGetCallerIdentity: 0,
  eventBridgeScheduledPerMillion: 0,
  eksPerClusterHour: 0.1,
};

/** AWS bills a month as 730 hours. */
export const hoursPerMonth = 730;
export const secondsPerMonth = hoursPerMonth * 3600;
