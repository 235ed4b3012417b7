/**
 * The scheduler Lambda: its own event source mapping on the objects table's stream. One batch
 * becomes one scheduling pass over every pending pod.
 */
import { schedulerControllers } from '../scheduler/scheduler-controller.ts';
import { createStreamBatchHandler, lambdaLog, once, storeFromEnvironment } from './lambda-runtime.ts';

export const handler = createStreamBatchHandler(
  once(() => ({ store: storeFromEnvironment(), controllers: schedulerControllers, log: lambdaLog('scheduler') })),
);
