/**
 * The HorizontalPodAutoscaler controller: every sync period (15 s, Kubernetes'
 * --horizontal-pod-autoscaler-sync-period) it reads the target's scale, the pods its selector
 * matches and their metrics (the same figures `metrics.k8s.io` serves), plans with
 * `planAutoscaling`, sets the target's replicas as its scale subresource would, and writes the
 * status and the scale history. Its clock is the controllers' (tests fast-forward it); it asks
 * to run again after the sync period (locally a timer, on AWS the requeue, docs/adr/174).
 */
import type { HorizontalPodAutoscaler } from '../../../schemas/horizontal-pod-autoscaler.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { typeOfKind, types } from '../../../schemas/registry.ts';
import type { Controller, ReconcileKey } from '../../controller-runtime/controller.ts';
import { ConflictError, isApiError } from '../../core/errors.ts';
import { labelSelectorString } from '../../core/label-selector.ts';
import type { NodeStatsSource } from '../../domain/metrics/node-stats.ts';
import { collectPodMetrics, nodeStatsReader } from '../../domain/metrics/resource-metrics.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';
import { planAutoscaling, scaleHistoryAnnotation } from './plan-autoscaling.ts';

const component = 'horizontal-pod-autoscaler';

export interface HorizontalPodAutoscalerOptions {
  /** Where the pods' figures come from (the nodes, as for metrics.k8s.io). */
  readonly nodeStats: NodeStatsSource;
  /** Seconds between syncs of an autoscaler. @default 15 */
  readonly syncSeconds?: number;
}

/** The kinds whose scale subresource an autoscaler may set, when the reference names no apiVersion. */
const defaultApiVersions: Readonly<Record<string, string>> = { Deployment: 'apps/v1', ReplicaSet: 'apps/v1', StatefulSet: 'apps/v1' };

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function horizontalPodAutoscalerController(options: HorizontalPodAutoscalerOptions): Controller {
  const syncSeconds = options.syncSeconds ?? 15;
  return {
    name: component,
    resyncTypes: [types.horizontalpodautoscalers],
    keysFor(change): ReconcileKey[] {
      if (change.typeId !== types.horizontalpodautoscalers.id) return [];
      // A new autoscaler is synced at once, and from then on every period, by its own requeue.
      // Any later change of it — its status and history writes, and spec edits too — waits for
      // that next sync, as in Kubernetes, whose queue takes an autoscaler once a period whatever
      // its informer sees. So each autoscaler has one chain of requeues: on AWS a record starting
      // another would keep a second one going for as long as the autoscaler lives (docs/adr/193).
      if (change.oldObject || !change.newObject) return [];
      return [{ typeId: change.typeId, ...(change.namespace !== undefined ? { namespace: change.namespace } : {}), name: change.name }];
    },
    async reconcile(key, ctx) {
      const stored = await getIfExists(ctx.store, types.horizontalpodautoscalers, key.namespace, key.name);
      if (!stored || stored.metadata.deletionTimestamp) return undefined;
      const hpa = stored as KubeObject & HorizontalPodAutoscaler;
      const namespace = hpa.metadata.namespace ?? '';
      const ref = hpa.spec.scaleTargetRef;
      const targetType = typeOfKind(ref.apiVersion ?? defaultApiVersions[ref.kind] ?? '', ref.kind);
      let target: KubeObject | undefined;
      let scaleError: string | undefined;
      if (!targetType?.subresources.includes('scale')) {
        scaleError = `no matches for kind "${ref.kind}" in group "${(ref.apiVersion ?? '').split('/')[0] ?? ''}" with a scale subresource`;
      } else {
        target = await getIfExists(ctx.store, targetType, namespace, ref.name);
        if (!target) scaleError = `${targetType.plural}.${targetType.group} "${ref.name}" not found`;
      }
      const targetSpec = (target?.spec ?? {}) as { replicas?: number; selector?: Parameters<typeof labelSelectorString>[0] };
      const scale = target ? { replicas: targetSpec.replicas ?? 1, selector: targetSpec.selector ? labelSelectorString(targetSpec.selector) : '' } : undefined;
      const pods = scale?.selector ? await listAll(ctx.store, types.pods, { namespace, labelSelector: scale.selector }) : [];
      const read = nodeStatsReader((name) => getIfExists(ctx.store, types.nodes, undefined, name), options.nodeStats);
      const now = ctx.now();
      const metrics = new Map((await collectPodMetrics(pods, read, now)).map((m) => [m.metadata.name ?? '', m]));
      const plan = planAutoscaling({ hpa, scale, ...(scaleError ? { scaleError } : {}), pods, metrics, now });

      let status = plan.status;
      let history = plan.history;
      if (plan.rescale !== undefined && target && targetType) {
        try {
          await ctx.admission.update(targetType, { ...target, spec: { ...(target.spec as object), replicas: plan.rescale } }, target);
        } catch (error) {
          // Someone wrote the target since it was read (its controller's status, as its pods
          // start): the plan was made from a stale read, so the runtime plans again from a fresh
          // one. This controller's read-to-write span (pods, every node's figures) is far longer
          // than kube-controller-manager's GET-then-PUT of the scale, so a conflict here is common
          // under load where there it is rare; a 409 kept as FailedRescale would wait a whole
          // sync period.
          if (!isApiError(error) || error instanceof ConflictError) throw error;
          // The target did not take the new count: no scale event is remembered (Kubernetes stores
          // it only after the update succeeded), or it would hold back the next scale-up.
          history = plan.historyWithoutRescale;
          const message = `New size: ${plan.rescale}; reason: ${plan.rescaleReason ?? ''}; error: ${error.message}`;
          await ctx.events.record({ involvedObject: hpa, type: 'Warning', reason: 'FailedRescale', message, component });
          const conditions = (status.conditions ?? []).map((c) =>
            c.type === 'AbleToScale'
              ? { ...c, status: 'False', reason: 'FailedUpdateScale', message: `the HPA controller was unable to update the target scale: ${error.message}` }
              : c,
          );
          status = {
            ...status,
            desiredReplicas: scale?.replicas ?? 0,
            conditions,
            ...(hpa.status?.lastScaleTime ? { lastScaleTime: hpa.status.lastScaleTime } : {}),
          };
          if (!hpa.status?.lastScaleTime) delete (status as { lastScaleTime?: string }).lastScaleTime;
        }
      }
      for (const event of plan.events) {
        if (event.reason === 'SuccessfulRescale' && status !== plan.status) continue;
        await ctx.events.record({ involvedObject: hpa, ...event, component });
      }
      const historyJson = JSON.stringify(history);
      const annotations = { ...(hpa.metadata.annotations ?? {}), [scaleHistoryAnnotation]: historyJson };
      const historyChanged =
        hpa.metadata.annotations?.[scaleHistoryAnnotation] !== historyJson &&
        history.recommendations.length + history.scaleUps.length + history.scaleDowns.length > 0;
      if (historyChanged || !sameJson(status, hpa.status)) {
        await ctx.admission.update(
          types.horizontalpodautoscalers,
          { ...hpa, metadata: historyChanged ? { ...hpa.metadata, annotations } : hpa.metadata, status } as unknown as KubeObject,
          stored,
        );
      }
      return { requeueAfterSeconds: syncSeconds };
    },
  };
}
