/**
 * Issue 16's workloads with the real kubectl, on one shared local cluster (process runtime, so
 * pods really run and exit): Jobs (completions and parallelism, backoffLimit, kubectl create job,
 * kubectl wait), CronJobs (kubectl create cronjob, create job --from=cronjob), DaemonSets (one pod per
 * node, a new node gets its own, rolling update, rollout status/history/undo).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { waitFor } from '../support/wait.ts';

interface PodJson {
  metadata: { name: string; finalizers?: string[]; labels?: Record<string, string> };
  status?: { phase?: string };
}

describe('workloads with kubectl', { timeout: 600_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await startTestCluster({ nodes: 2, agentRuntime: 'process', resyncSeconds: 5 });
    await waitFor('two Ready nodes', async () => ((await cluster.kubectlOk(['get', 'nodes'])).match(/ Ready /g) ?? []).length === 2, { timeoutMs: 60_000 });
  });
  after(async () => {
    await cluster?.stop();
  });

  async function jobPods(job: string): Promise<PodJson[]> {
    const list = JSON.parse(await cluster.kubectlOk(['get', 'pods', '-l', `job-name=${job}`, '-o', 'json'])) as { items: PodJson[] };
    return list.items;
  }

  it('runs a Job of 5 completions with parallelism 2 to 5 succeeded pods, as the docs write it', async () => {
    const manifest = `apiVersion: batch/v1
kind: Job
metadata:
  name: five
spec:
  completions: 5
  parallelism: 2
  template:
    spec:
      containers:
      - name: work
        image: busybox
        command: ["sh", "-c", "echo done"]
      restartPolicy: Never
`;
    await cluster.kubectlOk(['apply', '-f', '-'], { input: manifest });
    await cluster.kubectlOk(['wait', '--for=condition=complete', 'job/five', '--timeout=120s'], { timeoutMs: 130_000 });
    const pods = await jobPods('five');
    assert.equal(pods.filter((p) => p.status?.phase === 'Succeeded').length, 5);
    assert.ok(pods.every((p) => !(p.metadata.finalizers ?? []).includes('batch.kubernetes.io/job-tracking')));
    const table = await cluster.kubectlOk(['get', 'jobs']);
    assert.match(table, /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\n/);
    assert.match(table, /\nfive\s+Complete\s+5\/5\s+\d+s\s+\d+s\n/);
    const described = await cluster.kubectlOk(['describe', 'job', 'five']);
    assert.match(described, /\nCompletions:\s+5\n/);
    assert.match(described, /\nParallelism:\s+2\n/);
    assert.match(described, /\nPods Statuses:\s+0 Active \(0 Ready\) \/ 5 Succeeded \/ 0 Failed\n/);
    assert.match(described, /SuccessfulCreate\s+\S+\s+job-controller\s+Created pod: five-/);
    assert.match(described, /Completed\s+\S+\s+job-controller\s+Job completed/);
  });

  it('stops a failing Job at its backoffLimit with the Failed condition', async () => {
    await cluster.kubectlOk(['create', 'job', 'fails', '--image=busybox', '--', 'sh', '-c', 'exit 3']);
    await cluster.kubectlOk(['patch', 'job', 'fails', '--type=merge', '-p', '{"spec":{"backoffLimit":1}}'], {}).catch(() => undefined);
    await cluster.kubectlOk(['wait', '--for=condition=failed', 'job/fails', '--timeout=120s'], { timeoutMs: 130_000 });
    const job = JSON.parse(await cluster.kubectlOk(['get', 'job', 'fails', '-o', 'json'])) as {
      spec: { backoffLimit: number };
      status: { failed?: number; conditions: { type: string; reason: string; message: string }[] };
    };
    assert.equal(job.status.failed, job.spec.backoffLimit + 1);
    assert.ok(
      job.status.conditions.some(
        (c) => c.type === 'Failed' && c.reason === 'BackoffLimitExceeded' && c.message === 'Job has reached the specified backoff limit',
      ),
    );
    assert.match(await cluster.kubectlOk(['get', 'job', 'fails']), /\nfails\s+Failed\s+0\/1\s/);
  });

  it('creates a CronJob with kubectl create cronjob and apply, lists it with its columns and describes it', async () => {
    await cluster.kubectlOk(['create', 'cronjob', 'tick', '--image=busybox', '--schedule=*/1 * * * *', '--', 'sh', '-c', 'echo tick']);
    const manifest = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: hello
spec:
  schedule: "0 9 * * 1-5"
  timeZone: "Europe/Berlin"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: hello
            image: busybox
            imagePullPolicy: IfNotPresent
            command:
            - /bin/sh
            - -c
            - date; echo Hello from the Kubernetes cluster
          restartPolicy: OnFailure
`;
    await cluster.kubectlOk(['apply', '-f', '-'], { input: manifest });
    const table = await cluster.kubectlOk(['get', 'cronjobs']);
    assert.match(table, /^NAME\s+SCHEDULE\s+TIMEZONE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE\n/);
    assert.match(table, /\nhello\s+0 9 \* \* 1-5\s+Europe\/Berlin\s+False\s+0\s+<none>\s+\d+s\n/);
    assert.match(table, /\ntick\s+\*\/1 \* \* \* \*\s+<none>\s+False\s+\d\s+/);
    const described = await cluster.kubectlOk(['describe', 'cronjob', 'hello']);
    assert.match(described, /\nSchedule:\s+0 9 \* \* 1-5\n/);
    assert.match(described, /\nConcurrency Policy:\s+Forbid\n/);
    const refused = await cluster.kubectl(['create', 'cronjob', 'bad', '--image=busybox', '--schedule=61 * * * *']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /spec\.schedule: Invalid value: "61 \* \* \* \*"/);
  });

  it('runs a Job made from a CronJob with kubectl create job --from', async () => {
    await cluster.kubectlOk(['create', 'job', 'tick-now', '--from=cronjob/tick']);
    await cluster.kubectlOk(['wait', '--for=condition=complete', 'job/tick-now', '--timeout=90s'], { timeoutMs: 100_000 });
    const job = JSON.parse(await cluster.kubectlOk(['get', 'job', 'tick-now', '-o', 'json'])) as {
      metadata: { annotations: Record<string, string>; ownerReferences: { kind: string; name: string }[] };
      status: { succeeded: number };
    };
    assert.equal(job.metadata.annotations['cronjob.kubernetes.io/instantiate'], 'manual');
    assert.deepEqual(
      job.metadata.ownerReferences.map((r) => [r.kind, r.name]),
      [['CronJob', 'tick']],
    );
    assert.equal(job.status.succeeded, 1);
    await cluster.kubectlOk(['delete', 'cronjob', 'tick', 'hello']);
  });

  it('deletes a Job with its pods', async () => {
    await cluster.kubectlOk(['delete', 'job', 'five']);
    await waitFor('the pods of the deleted job gone', async () => (await jobPods('five')).length === 0, { timeoutMs: 60_000 });
  });

  describe('a DaemonSet', () => {
    const manifest = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: logger
  labels:
    k8s-app: logger
spec:
  selector:
    matchLabels:
      name: logger
  template:
    metadata:
      labels:
        name: logger
    spec:
      tolerations:
      - key: node-role.kubernetes.io/control-plane
        operator: Exists
        effect: NoSchedule
      containers:
      - name: logger
        image: busybox
        command: ["sh", "-c", "while true; do sleep 3600; done"]
      terminationGracePeriodSeconds: 1
`;
    const dsPods = async () =>
      (
        JSON.parse(await cluster.kubectlOk(['get', 'pods', '-l', 'name=logger', '-o', 'json'])) as {
          items: {
            metadata: { name: string; deletionTimestamp?: string };
            spec: { nodeName?: string; containers: { env?: { name: string }[] }[]; affinity?: unknown };
          }[];
        }
      ).items.filter((p) => !p.metadata.deletionTimestamp);
    const rolledOut = () => cluster.kubectlOk(['rollout', 'status', 'daemonset/logger', '--timeout=120s'], { timeoutMs: 130_000 });

    it('runs one pod on each node, listed with the DaemonSet columns, with the tolerations daemon pods get', async () => {
      await cluster.kubectlOk(['apply', '-f', '-'], { input: manifest });
      assert.match(await rolledOut(), /daemon set "logger" successfully rolled out/);
      const pods = await dsPods();
      assert.deepEqual(pods.map((p) => p.spec.nodeName).sort(), [...cluster.local.nodeNames].sort());
      const table = await cluster.kubectlOk(['get', 'ds']);
      assert.match(table, /^NAME\s+DESIRED\s+CURRENT\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+NODE SELECTOR\s+AGE\n/);
      assert.match(table, /\nlogger\s+2\s+2\s+2\s+2\s+2\s+<none>\s+\d+s\n/);
      const described = await cluster.kubectlOk(['describe', 'pod', pods[0]?.metadata.name ?? '']);
      assert.match(described, /node\.kubernetes\.io\/unschedulable:NoSchedule op=Exists/);
      assert.match(described, /node\.kubernetes\.io\/not-ready:NoExecute op=Exists\n/);
      const describedDs = await cluster.kubectlOk(['describe', 'ds', 'logger']);
      assert.match(describedDs, /\nDesired Number of Nodes Scheduled: 2\n/);
      assert.match(describedDs, /SuccessfulCreate\s+\S+\s+daemonset-controller\s+Created pod: logger-/);
    });

    it('gives a node that joins its own pod, and takes it away with the node', async () => {
      await cluster.kubectlOk(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: Node\nmetadata:\n  name: joined-node\n' });
      await waitFor('a daemon pod for the new node', async () => (await dsPods()).some((p) => JSON.stringify(p.spec.affinity ?? {}).includes('"joined-node"')));
      await cluster.kubectlOk(['delete', 'node', 'joined-node']);
      await waitFor(
        'the new node’s daemon pod gone',
        async () => !(await dsPods()).some((p) => JSON.stringify(p.spec.affinity ?? {}).includes('"joined-node"')),
      );
    });

    it('rolls out a template change node by node, lists two revisions and rolls back', async () => {
      await cluster.kubectlOk(['set', 'env', 'daemonset/logger', 'MODE=verbose']);
      assert.match(await rolledOut(), /successfully rolled out/);
      let pods = await dsPods();
      assert.equal(pods.length, 2);
      assert.ok(pods.every((p) => p.spec.containers[0]?.env?.some((e) => e.name === 'MODE')));
      const history = await cluster.kubectlOk(['rollout', 'history', 'daemonset/logger']);
      assert.match(history, /REVISION\s+CHANGE-CAUSE\s*\n1\s+<none>\s*\n2\s+<none>/);
      await cluster.kubectlOk(['rollout', 'undo', 'daemonset/logger']);
      assert.match(await rolledOut(), /successfully rolled out/);
      pods = await dsPods();
      assert.ok(pods.length === 2 && pods.every((p) => !p.spec.containers[0]?.env?.some((e) => e.name === 'MODE')));
      assert.match(await cluster.kubectlOk(['rollout', 'history', 'daemonset/logger']), /REVISION\s+CHANGE-CAUSE\s*\n2\s+<none>\s*\n3\s+<none>/);
    });

    it('deletes the DaemonSet with its pods', async () => {
      await cluster.kubectlOk(['delete', 'daemonset', 'logger']);
      await waitFor('the daemon pods gone', async () => (await dsPods()).length === 0, { timeoutMs: 60_000 });
    });
  });
});
