/**
 * The controller-manager Lambda: an event source mapping on the objects table's stream (with
 * ReportBatchItemFailures) delivers batches; every controller in `functions/controllers/controllers.ts` reconciles the
 * keys they name — with the service load balancer and ingress controllers on the `alb` providers
 * (`functions/aws/`, configured from the environment the CDK app sets). A key that keeps failing
 * is reported by its records' SequenceNumbers.
 */
import { loadBalancerProvidersFromEnvironment } from '../aws/load-balancing-environment.ts';
import { controllersWith } from '../controllers/controllers.ts';
import { createStreamBatchHandler, lambdaLog, once, storeFromEnvironment } from './lambda-runtime.ts';

export const handler = createStreamBatchHandler(
  once(() => ({ store: storeFromEnvironment(), controllers: controllersWith(loadBalancerProvidersFromEnvironment()), log: lambdaLog('controller-manager') })),
);
