/**
 * The scheduled resync (EventBridge, every minute): re-reconciles what the controllers and the
 * scheduler own, so a record the stream lost — or time passing, for node leases, minReadySeconds
 * and progress deadlines — is caught within one period. A full pass once an hour (and after a
 * cold start); the passes between list only the types of controllers that depend on time and
 * feed every controller the changes since the last pass, read from the change log (docs/adr/053).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { serviceDirectoryFromEnvironment } from '../aws/cloud-map-directory.ts';
import { loadBalancerProvidersFromEnvironment } from '../aws/load-balancing-environment.ts';
import { newResyncState, type ResyncResult, resyncAll, resyncFullPassSeconds } from '../controller-runtime/run-controllers.ts';
import { controllersWith } from '../controllers/controllers.ts';
import { reconcileBootstrapPolicy } from '../domain/authorization/rbac/reconcile-policy.ts';
import { schedulerControllers } from '../scheduler/scheduler-controller.ts';
import { kubernetesServiceFromEnvironment, lambdaLog, logger, nodeStatsFromEnvironment, storeFromEnvironment } from './lambda-runtime.ts';

const store = storeFromEnvironment();
// Its watches bookmark as soon as they have caught up: the change log since the last pass.
const changes = storeFromEnvironment(process.env, { bookmarkIntervalMs: 0 });
/** Kept while the function stays warm; a cold start makes a full pass (docs/adr/053). */
const state = newResyncState();
const log = lambdaLog('resync');
const controllers = controllersWith({
  ...loadBalancerProvidersFromEnvironment(),
  ...serviceDirectoryFromEnvironment(),
  ...kubernetesServiceFromEnvironment(),
  // Autoscalers too, as a backstop to their requeued 15 s syncs (docs/adr/193).
  ...nodeStatsFromEnvironment(),
});

export const handler = middy<ScheduledEvent, ResyncResult>()
  .use(injectLambdaContext(logger))
  .handler(async () => {
    // The default RBAC policy, created and kept up to date (kube-apiserver does it at start; the
    // deployed API has no start of its own, so the schedule does it, within one period of deploy).
    await reconcileBootstrapPolicy(store);
    const result = await resyncAll(
      { store, controllers: [...controllers, ...schedulerControllers], log },
      { state, changes, fullPassSeconds: resyncFullPassSeconds },
    );
    log.info('resync done', { ...result });
    if (result.failed > 0) throw new Error(`${result.failed} of ${result.keys} keys failed to reconcile`);
    return result;
  });
