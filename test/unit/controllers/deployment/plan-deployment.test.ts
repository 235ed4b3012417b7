import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deploymentNeedsPods, planDeployment, podTemplateHash } from '../../../../functions/controllers/deployment/plan-deployment.ts';
import { appendedRevisionHistory, resolveIntOrPercent, rollingBounds } from '../../../../functions/controllers/deployment/rollout-math.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { now, ownerRef, pod, secondsAgo } from '../../fixtures.ts';

const templateV1 = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } };
const templateV2 = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'httpd' }] } };

function deployment(spec: Record<string, unknown> = {}, extra: { status?: Record<string, unknown>; annotations?: Record<string, string> } = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: 'uid-web',
      generation: 2,
      resourceVersion: '10',
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
    },
    spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: templateV1, ...spec },
    ...(extra.status ? { status: extra.status } : {}),
  };
}

function ownedRs(
  d: KubeObject,
  template: typeof templateV1,
  revision: number,
  replicas: number,
  status: { replicas?: number; readyReplicas?: number; availableReplicas?: number },
  createdSecondsAgo = 100,
): KubeObject {
  const hash = podTemplateHash(template);
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `web-${hash}`,
      namespace: 'default',
      uid: `uid-rs-${revision}`,
      creationTimestamp: secondsAgo(createdSecondsAgo),
      annotations: { 'deployment.kubernetes.io/revision': String(revision) },
      labels: { app: 'web', 'pod-template-hash': hash },
      ownerReferences: [ownerRef(d)],
    },
    spec: { replicas, template: { ...template, metadata: { labels: { ...template.metadata.labels, 'pod-template-hash': hash } } } },
    status: { replicas: status.replicas ?? 0, readyReplicas: status.readyReplicas ?? 0, availableReplicas: status.availableReplicas ?? 0 },
  };
}

const full = (n: number) => ({ replicas: n, readyReplicas: n, availableReplicas: n });

/** The new replicas the plan gives a ReplicaSet, or undefined when it leaves them as they are. */
function replicasOf(plan: ReturnType<typeof planDeployment>, name: string | undefined, before?: KubeObject): number | undefined {
  const updated = plan.updateReplicaSets.find((rs) => rs.metadata.name === name);
  const replicas = updated ? (updated.spec as { replicas: number }).replicas : undefined;
  const previous = before ? (before.spec as { replicas: number }).replicas : undefined;
  return replicas === previous ? undefined : replicas;
}

describe('rollout bounds', () => {
  const cases = [
    { value: undefined, total: 10, up: true, want: 3 },
    { value: undefined, total: 10, up: false, want: 2 },
    { value: '50%', total: 3, up: true, want: 2 },
    { value: '50%', total: 3, up: false, want: 1 },
    { value: 2, total: 10, up: true, want: 2 },
    { value: '0', total: 10, up: false, want: 0 },
  ];
  for (const c of cases) {
    it(`resolves ${String(c.value)} of ${c.total} rounding ${c.up ? 'up' : 'down'} to ${c.want}`, () => {
      assert.equal(resolveIntOrPercent(c.value, c.total, c.up, '25%'), c.want);
    });
  }
  it('allows one unavailable pod when both bounds are zero', () => {
    assert.deepEqual(rollingBounds({ maxSurge: 0, maxUnavailable: 0 }, 3), { maxSurge: 0, maxUnavailable: 1 });
  });
});

describe('podTemplateHash', () => {
  it('is stable, ignores the pod-template-hash label, and differs between templates', () => {
    const withHashLabel = { ...templateV1, metadata: { labels: { app: 'web', 'pod-template-hash': 'xyz' } } };
    assert.equal(podTemplateHash(templateV1), podTemplateHash(structuredClone(templateV1)));
    assert.equal(podTemplateHash(templateV1), podTemplateHash(withHashLabel));
    assert.notEqual(podTemplateHash(templateV1), podTemplateHash(templateV2));
    assert.match(podTemplateHash(templateV1), /^[bcdfghjklmnpqrstvwxz2456789]{10}$/);
  });
});

describe('planDeployment', () => {
  it('creates the first ReplicaSet at revision 1 with all replicas', () => {
    const d = deployment({}, { annotations: { 'kubernetes.io/change-cause': 'first' } });
    const plan = planDeployment(d, [], [], now);
    const rs = plan.createReplicaSet;
    assert.ok(rs);
    const hash = podTemplateHash(templateV1);
    assert.equal(rs.metadata.name, `web-${hash}`);
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    assert.equal(rs.metadata.annotations?.['kubernetes.io/change-cause'], 'first');
    assert.equal(rs.metadata.labels?.['pod-template-hash'], hash);
    assert.deepEqual(rs.metadata.ownerReferences?.[0]?.uid, 'uid-web');
    assert.deepEqual((rs.spec as { selector: unknown }).selector, { matchLabels: { app: 'web', 'pod-template-hash': hash } });
    assert.equal((rs.spec as { replicas: number }).replicas, 3);
    assert.equal(plan.deployment?.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    const status = plan.deployment?.status as { observedGeneration: number; conditions: { type: string; reason: string }[] };
    assert.equal(status.observedGeneration, 2);
    assert.deepEqual(
      status.conditions.map((c) => [c.type, c.reason]),
      [
        ['Available', 'MinimumReplicasUnavailable'],
        ['Progressing', 'NewReplicaSetCreated'],
      ],
    );
  });

  // Each step of a rolling update of 3 replicas with maxSurge 1, maxUnavailable 0.
  const rolling = { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }, template: templateV2 };
  const d = deployment(rolling);
  const steps = [
    {
      name: 'starts a new ReplicaSet with maxSurge pods',
      rss: [ownedRs(d, templateV1, 1, 3, full(3))],
      create: 1,
      newReplicas: undefined,
      oldReplicas: undefined,
    },
    {
      name: 'waits while the new pod is not available',
      rss: [ownedRs(d, templateV1, 1, 3, full(3)), ownedRs(d, templateV2, 2, 1, { replicas: 1 }, 10)],
      newReplicas: undefined,
      oldReplicas: undefined,
    },
    {
      name: 'scales the old ReplicaSet down once the new pod is available',
      rss: [ownedRs(d, templateV1, 1, 3, full(3)), ownedRs(d, templateV2, 2, 1, full(1), 10)],
      newReplicas: undefined,
      oldReplicas: 2,
    },
    {
      name: 'scales the new ReplicaSet up when the old one has shrunk',
      rss: [ownedRs(d, templateV1, 1, 2, full(2)), ownedRs(d, templateV2, 2, 1, full(1), 10)],
      newReplicas: 2,
      oldReplicas: undefined,
    },
    {
      name: 'does not trust a status that still counts pods the old spec dropped',
      rss: [ownedRs(d, templateV1, 1, 2, full(3)), ownedRs(d, templateV2, 2, 1, full(1), 10)],
      newReplicas: undefined,
      oldReplicas: undefined,
    },
    {
      name: 'drops an unavailable old pod even when too few are available',
      rss: [ownedRs(d, templateV1, 1, 3, { replicas: 3, availableReplicas: 1 }), ownedRs(d, templateV2, 2, 1, full(1), 10)],
      newReplicas: undefined,
      oldReplicas: 2,
    },
  ];
  for (const step of steps) {
    it(`rolling update ${step.name}`, () => {
      const plan = planDeployment(d, step.rss, [], now);
      assert.equal(plan.createReplicaSet ? (plan.createReplicaSet.spec as { replicas: number }).replicas : undefined, step.create);
      if (plan.createReplicaSet) assert.equal(plan.createReplicaSet.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
      assert.equal(replicasOf(plan, step.rss[1]?.metadata.name, step.rss[1]), step.newReplicas);
      assert.equal(replicasOf(plan, step.rss[0]?.metadata.name, step.rss[0]), step.oldReplicas);
    });
  }

  it('scales down several old ReplicaSets oldest first within maxUnavailable', () => {
    const wide = deployment({ replicas: 4, strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: 2 } }, template: templateV2 });
    const older = ownedRs(wide, { ...templateV1, spec: { containers: [{ name: 'nginx', image: 'old' }] } }, 1, 2, full(2), 300);
    const old = ownedRs(wide, templateV1, 2, 2, full(2), 200);
    const fresh = ownedRs(wide, templateV2, 3, 0, {}, 10);
    const plan = planDeployment(wide, [older, old, fresh], [], now);
    assert.equal(replicasOf(plan, older.metadata.name), 0);
    assert.equal(replicasOf(plan, old.metadata.name, old), undefined);
  });

  it('reports a finished rollout as NewReplicaSetAvailable and keeps the revision', () => {
    const done = deployment(rolling, { annotations: { 'deployment.kubernetes.io/revision': '2' } });
    const plan = planDeployment(done, [ownedRs(done, templateV1, 1, 0, {}), ownedRs(done, templateV2, 2, 3, full(3), 10)], [], now);
    const status = plan.deployment?.status as Record<string, unknown> & { conditions: { type: string; status: string; reason: string; message: string }[] };
    assert.equal(status.replicas, 3);
    assert.equal(status.updatedReplicas, 3);
    assert.equal(status.availableReplicas, 3);
    assert.equal(status.unavailableReplicas, 0);
    const progressing = status.conditions.find((c) => c.type === 'Progressing');
    assert.equal(progressing?.reason, 'NewReplicaSetAvailable');
    assert.match(progressing?.message ?? '', /has successfully progressed/);
    assert.equal(status.conditions.find((c) => c.type === 'Available')?.status, 'True');
    assert.equal(plan.deployment?.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
  });

  it('rolls back to an old ReplicaSet by giving it the next revision', () => {
    const back = deployment({ template: templateV1 }, { annotations: { 'deployment.kubernetes.io/revision': '2' } });
    const first = ownedRs(back, templateV1, 1, 0, {}, 300);
    const second = ownedRs(back, templateV2, 2, 3, full(3), 100);
    const plan = planDeployment(back, [first, second], [], now);
    assert.equal(plan.createReplicaSet, undefined);
    const revived = plan.updateReplicaSets.find((rs) => rs.metadata.name === first.metadata.name);
    assert.equal(revived?.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
    assert.equal((revived?.spec as { replicas: number } | undefined)?.replicas, 1);
    assert.equal(plan.deployment?.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
    assert.equal(revived?.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1', 'the revision it leaves joins its history');
    const current = plan.updateReplicaSets.find((rs) => rs.metadata.name === second.metadata.name) ?? second;
    assert.equal(current.metadata.annotations?.['deployment.kubernetes.io/revision-history'], undefined);
  });

  it('appends to the revision history at each rollback to the same ReplicaSet, and keeps it once the revision is current', () => {
    const back = deployment({ template: templateV1 }, { annotations: { 'deployment.kubernetes.io/revision': '4' } });
    const first = ownedRs(back, templateV1, 3, 0, {}, 300);
    const firstWithHistory = {
      ...first,
      metadata: { ...first.metadata, annotations: { ...first.metadata.annotations, 'deployment.kubernetes.io/revision-history': '1' } },
    };
    const second = ownedRs(back, templateV2, 4, 3, full(3), 100);
    const plan = planDeployment(back, [firstWithHistory, second], [], now);
    const revived = plan.updateReplicaSets.find((rs) => rs.metadata.name === first.metadata.name);
    assert.equal(revived?.metadata.annotations?.['deployment.kubernetes.io/revision'], '5');
    assert.equal(revived?.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1,3');
    assert.ok(revived);
    // Planned again (the ReplicaSet unchanged or rewritten), its history stays as it is.
    const settled = planDeployment(back, [revived, second], [], now).updateReplicaSets.find((rs) => rs.metadata.name === first.metadata.name) ?? revived;
    assert.equal(settled.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1,3', 'nothing appended while the revision stays');
  });

  it('drops the oldest revisions from the history rather than pass 2000 characters', () => {
    assert.equal(appendedRevisionHistory(undefined, '7'), '7');
    assert.equal(appendedRevisionHistory('1,3', '7'), '1,3,7');
    const long = Array.from({ length: 400 }, (_, i) => String(1000 + i)).join(',');
    const appended = appendedRevisionHistory(long, '9999') ?? '';
    assert.ok(appended.length <= 2000, `${appended.length} characters`);
    assert.ok(appended.endsWith(',9999'));
    assert.ok(!appended.startsWith('1000,'), 'the oldest went first');
  });

  it('Recreate scales old ReplicaSets to zero before the new one gets pods', () => {
    const recreate = deployment({ strategy: { type: 'Recreate' }, template: templateV2 });
    const old = ownedRs(recreate, templateV1, 1, 3, full(3));
    const first = planDeployment(recreate, [old], [pod('p1', { owner: old, node: 'n1', ready: true })], now);
    assert.equal(replicasOf(first, old.metadata.name), 0);
    assert.equal((first.createReplicaSet?.spec as { replicas: number } | undefined)?.replicas, 0);

    const drained = ownedRs(recreate, templateV1, 1, 0, {});
    const fresh = ownedRs(recreate, templateV2, 2, 0, {}, 10);
    const waiting = planDeployment(recreate, [drained, fresh], [pod('p1', { owner: drained, node: 'n1', deleting: true })], now);
    assert.equal(replicasOf(waiting, fresh.metadata.name, fresh), undefined);
    assert.ok(waiting.requeueAfterSeconds !== undefined);

    const gone = planDeployment(recreate, [drained, fresh], [], now);
    assert.equal(replicasOf(gone, fresh.metadata.name), 3);
  });

  it('does not roll out a new template while paused, but reports Paused', () => {
    const paused = deployment({ paused: true, template: templateV2 });
    const plan = planDeployment(paused, [ownedRs(paused, templateV1, 1, 3, full(3))], [], now);
    assert.equal(plan.createReplicaSet, undefined);
    assert.equal(plan.updateReplicaSets.length, 0);
    const conditions = (plan.deployment?.status as { conditions: { type: string; reason: string }[] } | undefined)?.conditions ?? [];
    assert.equal(conditions.find((c) => c.type === 'Progressing')?.reason, 'DeploymentPaused');
  });

  it('follows a scale change while paused', () => {
    const paused = deployment({ paused: true, replicas: 5 });
    const rs = ownedRs(paused, templateV1, 1, 3, full(3));
    assert.equal(replicasOf(planDeployment(paused, [rs], [], now), rs.metadata.name), 5);
  });

  it('deletes the oldest empty ReplicaSets beyond revisionHistoryLimit', () => {
    const limited = deployment({ revisionHistoryLimit: 1, template: templateV2 }, { annotations: { 'deployment.kubernetes.io/revision': '4' } });
    const t = (image: string) => ({ ...templateV1, spec: { containers: [{ name: 'nginx', image }] } });
    const rss = [
      ownedRs(limited, t('a'), 1, 0, {}, 400),
      ownedRs(limited, t('b'), 2, 0, {}, 300),
      ownedRs(limited, t('c'), 3, 0, {}, 200),
      ownedRs(limited, templateV2, 4, 3, full(3), 100),
    ];
    const plan = planDeployment(limited, rss, [], now);
    assert.deepEqual(
      plan.deleteReplicaSets.map((rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision']),
      ['1', '2'],
    );
  });

  it('marks the rollout ProgressDeadlineExceeded when nothing moved for progressDeadlineSeconds', () => {
    const stuckStatus = {
      observedGeneration: 2,
      replicas: 4,
      updatedReplicas: 1,
      readyReplicas: 3,
      availableReplicas: 3,
      unavailableReplicas: 0,
      conditions: [
        {
          type: 'Progressing',
          status: 'True',
          reason: 'ReplicaSetUpdated',
          message: 'x',
          lastUpdateTime: secondsAgo(700),
          lastTransitionTime: secondsAgo(700),
        },
      ],
    };
    const stuck = deployment({ ...rolling, progressDeadlineSeconds: 600 }, { status: stuckStatus });
    const plan = planDeployment(stuck, [ownedRs(stuck, templateV1, 1, 3, full(3)), ownedRs(stuck, templateV2, 2, 1, { replicas: 1 }, 10)], [], now);
    const progressing = ((plan.deployment?.status as { conditions: { type: string; status: string; reason: string }[] } | undefined)?.conditions ?? []).find(
      (c) => c.type === 'Progressing',
    );
    assert.equal(progressing?.status, 'False');
    assert.equal(progressing?.reason, 'ProgressDeadlineExceeded');
  });

  it('plans nothing for a Deployment being deleted', () => {
    const gone = { ...deployment(), metadata: { ...deployment().metadata, deletionTimestamp: secondsAgo(1) } };
    const plan = planDeployment(gone, [], [], now);
    assert.equal(plan.createReplicaSet, undefined);
    assert.equal(plan.deployment, undefined);
  });
});

describe('deploymentNeedsPods', () => {
  it('is false for a rolling update whose ReplicaSets all have replicas, and the plan is the same without the pods', () => {
    const d = deployment({ template: templateV2 });
    const replicaSets = [ownedRs(d, templateV1, 1, 2, full(2)), ownedRs(d, templateV2, 2, 2, full(2))];
    assert.equal(deploymentNeedsPods(d, replicaSets), false);
    const rs = replicaSets[0] as KubeObject;
    const pods = [pod('web-a', { owner: rs, ready: true }), pod('web-b', { owner: rs, ready: true })];
    assert.deepEqual(planDeployment(d, replicaSets, [], now), planDeployment(d, replicaSets, pods, now));
  });

  it('is true for a Recreate rollout, and for a ReplicaSet scaled to zero that the history limit may forget', () => {
    assert.equal(deploymentNeedsPods(deployment({ strategy: { type: 'Recreate' } }), []), true);
    const d = deployment({ template: templateV2 });
    assert.equal(deploymentNeedsPods(d, [ownedRs(d, templateV1, 1, 0, {}), ownedRs(d, templateV2, 2, 3, full(3))]), true);
    // Scaled to zero but its pods not yet gone from its status: nothing to forget yet.
    assert.equal(deploymentNeedsPods(d, [ownedRs(d, templateV1, 1, 0, full(1)), ownedRs(d, templateV2, 2, 3, full(3))]), false);
  });
});
