/**
 * The scheduled resync (EventBridge): re-reconciles everything the controllers and the
 * scheduler own, so a record the stream lost — or time passing, for minReadySeconds and
 * progress deadlines — is caught within one period.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { loadBalancerProvidersFromEnvironment } from '../aws/load-balancing-environment.ts';
import { type ResyncResult, resyncAll } from '../controller-runtime/run-controllers.ts';
import { controllersWith } from '../controllers/controllers.ts';
import { reconcileBootstrapPolicy } from '../domain/authorization/rbac/reconcile-policy.ts';
import { schedulerControllers } from '../scheduler/scheduler-controller.ts';
import { lambdaLog, logger, storeFromEnvironment } from './lambda-runtime.ts';

const store = storeFromEnvironment();
const log = lambdaLog('resync');
const controllers = controllersWith(loadBalancerProvidersFromEnvironment());

export const handler = middy<ScheduledEvent, ResyncResult>()
  .use(injectLambdaContext(logger))
  .handler(async () => {
    // The default RBAC policy, created and kept up to date (kube-apiserver does it at start; the
    // deployed API has no start of its own, so the schedule does it, within one period of deploy).
    await reconcileBootstrapPolicy(store);
    const result = await resyncAll({ store, controllers: [...controllers, ...schedulerControllers], log });
    log.info('resync done', { ...result });
    if (result.failed > 0) throw new Error(`${result.failed} of ${result.keys} keys failed to reconcile`);
    return result;
  });
