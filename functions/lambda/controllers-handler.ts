/**
 * The controller-manager Lambda. Two event sources invoke it:
 *
 * - the objects table's stream (an event source mapping with ReportBatchItemFailures): every
 *   controller in `functions/controllers/controllers.ts` reconciles the keys the batch names — with
 *   the service load balancer and ingress controllers on the `alb` providers (`functions/aws/`,
 *   configured from the environment the CDK app sets). A key that keeps failing is reported by its
 *   records' SequenceNumbers;
 * - the requeue queue (`REQUEUE_QUEUE_URL`, docs/adr/138): a reconcile that asks to run again
 *   after a while (a target still registering or draining, a rollout waiting) is sent there with
 *   that delay and comes back as an SQS message naming the controller and key. A failed key is
 *   reported by its messages' ids.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { serviceDirectoryFromEnvironment } from '../aws/cloud-map-directory.ts';
import { loadBalancerProvidersFromEnvironment } from '../aws/load-balancing-environment.ts';
import { type SqsRequeueSender, sqsRequeueSender } from '../aws/sqs-requeue.ts';
import { reconcileRequeued, requeueCollector, requeueMessageBody } from '../controller-runtime/requeue.ts';
import { type ControllerRuntime, handleStreamEvent } from '../controller-runtime/run-controllers.ts';
import { controllersWith } from '../controllers/controllers.ts';
import { parseStreamRecord } from '../store/dynamodb-store.ts';
import { kubernetesServiceFromEnvironment, lambdaLog, logger, nodeStatsFromEnvironment, once, storeFromEnvironment } from './lambda-runtime.ts';

export interface ControllersDeps extends ControllerRuntime {
  /** Where requeues go; without it (no queue configured) the resync alone looks again. */
  readonly requeue?: SqsRequeueSender;
}

function isSqsEvent(event: DynamoDBStreamEvent | SQSEvent): event is SQSEvent {
  return event.Records[0]?.eventSource === 'aws:sqs';
}

/** One invocation, from either source; the requeues its reconciles ask for are sent before it returns. */
export async function handleControllersEvent(event: DynamoDBStreamEvent | SQSEvent, deps: ControllersDeps): Promise<DynamoDBBatchResponse | SQSBatchResponse> {
  const requeues = requeueCollector();
  const runtime: ControllerRuntime = { ...deps, onRequeue: requeues.onRequeue };
  let response: DynamoDBBatchResponse | SQSBatchResponse;
  if (isSqsEvent(event)) {
    const failed = await reconcileRequeued(
      event.Records.map((record) => ({ id: record.messageId, body: record.body })),
      runtime,
    );
    response = { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  } else {
    response = await handleStreamEvent<DynamoDBRecord>(event, { ...runtime, parseRecord: parseStreamRecord });
  }
  await deps.requeue?.send(requeues.requests().map((request) => ({ body: requeueMessageBody(request), delaySeconds: request.afterSeconds })));
  return response;
}

const deps = once((): ControllersDeps => {
  const log = lambdaLog('controller-manager');
  const queueUrl = process.env.REQUEUE_QUEUE_URL;
  return {
    store: storeFromEnvironment(),
    // The HorizontalPodAutoscaler runs where the nodes' figures can be read (docs/adr/193); its
    // 15 s sync is a requeue (docs/adr/174).
    controllers: controllersWith({
      ...loadBalancerProvidersFromEnvironment(),
      ...serviceDirectoryFromEnvironment(),
      ...kubernetesServiceFromEnvironment(),
      ...nodeStatsFromEnvironment(),
    }),
    log,
    ...(queueUrl ? { requeue: sqsRequeueSender({ client: new SQSClient({}), queueUrl, log }) } : {}),
  };
});

export const handler = middy<DynamoDBStreamEvent | SQSEvent, DynamoDBBatchResponse | SQSBatchResponse>()
  .use(injectLambdaContext(logger))
  .handler((event) => handleControllersEvent(event, deps()));
