/**
 * Drains the node before its Auto Scaling group terminates it. The group's termination
 * lifecycle hook holds the instance in `Terminating:Wait`; the instance metadata then reads
 * `autoscaling/target-lifecycle-state` = `Terminated`. The agent sees that, drains (cordons its
 * Node and evicts its pods within their disruption budgets, so their controllers re-create them
 * elsewhere, then waits for the pods to stop), and completes the lifecycle action so the termination goes on (ADR 133). If
 * the agent is gone, the hook's timeout lets the termination continue and the node lifecycle
 * controller evicts the pods as for any lost node.
 */
import { type AutoScalingClient, CompleteLifecycleActionCommand } from '@aws-sdk/client-auto-scaling';
import type { Log } from '../../functions/logging/log.ts';
import { type RetryPolicy, withRetry } from './aws-retry.ts';
import type { InstanceMetadata } from './instance-metadata.ts';

export interface LifecycleDrainOptions {
  readonly metadata: InstanceMetadata;
  readonly autoScaling: AutoScalingClient;
  readonly hookName: string;
  readonly instanceId: string;
  /** Cordons the node, evicts its pods and waits until they are gone. */
  readonly drain: () => Promise<void>;
  /** @default 5000 */
  readonly pollMs?: number;
  readonly retry?: RetryPolicy;
  readonly log?: Log;
}

export interface LifecycleWatcher {
  /** Resolves when the node was drained and the lifecycle action completed. */
  readonly drained: Promise<void>;
  stop(): void;
}

export const targetLifecycleStatePath = 'autoscaling/target-lifecycle-state';
export const groupNameTagPath = 'tags/instance/aws:autoscaling:groupName';

export function watchLifecycle(options: LifecycleDrainOptions): LifecycleWatcher {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let finish: () => void = () => {};
  let fail: (error: unknown) => void = () => {};
  const drained = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  drained.catch(() => {});

  const check = async () => {
    timer = undefined;
    if (stopped) return;
    let state: string | undefined;
    try {
      state = await options.metadata.get(targetLifecycleStatePath);
    } catch (error) {
      options.log?.warn('reading the target lifecycle state failed', { error: String(error) });
    }
    if (stopped) return;
    if (state?.trim() !== 'Terminated') {
      timer = setTimeout(() => void check(), options.pollMs ?? 5000);
      return;
    }
    try {
      options.log?.info('the Auto Scaling group is terminating this instance: draining the node');
      await options.drain();
      const group = (await options.metadata.get(groupNameTagPath))?.trim();
      if (!group) throw new Error(`instance metadata has no ${groupNameTagPath} (instance metadata tags must be on)`);
      await withRetry(
        () =>
          options.autoScaling.send(
            new CompleteLifecycleActionCommand({
              AutoScalingGroupName: group,
              LifecycleHookName: options.hookName,
              InstanceId: options.instanceId,
              LifecycleActionResult: 'CONTINUE',
            }),
          ),
        options.retry,
      );
      options.log?.info('node drained; termination may go on', { group, hook: options.hookName });
      finish();
    } catch (error) {
      options.log?.error('draining before termination failed; the lifecycle hook times out and termination goes on', { error: String(error) });
      fail(error);
    }
  };
  void check();
  return {
    drained,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
