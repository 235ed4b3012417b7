/**
 * Issue 3's finish line with the real kubectl: a local cluster (`npm start`'s host) with three
 * node agents on the `sim` runtime; Deployments scale, heal, roll out, roll back and cascade;
 * namespaces empty and go; taints and an impossible cpu request behave as on a real cluster.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { waitFor } from '../support/wait.ts';

interface PodJson {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { nodeName?: string; containers: { image: string }[] };
  status?: { phase?: string };
}

describe('controllers and scheduler with kubectl', { timeout: 600_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await startTestCluster({ nodes: 3, agentRuntime: 'sim', resyncSeconds: 5 });
    await waitFor('three Ready nodes', async () => ((await cluster.kubectlOk(['get', 'nodes'])).match(/ Ready /g) ?? []).length === 3, { timeoutMs: 60_000 });
  });
  after(async () => {
    await cluster?.stop();
  });

  async function pods(selector: string, namespace = 'default'): Promise<PodJson[]> {
    const list = JSON.parse(await cluster.kubectlOk(['get', 'pods', '-n', namespace, '-l', selector, '-o', 'json'])) as { items: PodJson[] };
    return list.items.filter((p) => !p.metadata.deletionTimestamp);
  }

  const rolloutStatus = (name: string, namespace = 'default') =>
    cluster.kubectlOk(['rollout', 'status', `deployment/${name}`, '-n', namespace, '--timeout=120s'], { timeoutMs: 130_000 });

  it('creates and scales a deployment to 3 pods bound across the nodes', async () => {
    await cluster.kubectlOk(['create', 'deployment', 'test1', '--image=nginx']);
    await cluster.kubectlOk(['scale', 'deployment', 'test1', '--replicas=3']);
    assert.match(await rolloutStatus('test1'), /successfully rolled out/);
    const running = await pods('app=test1');
    assert.equal(running.length, 3);
    assert.equal(new Set(running.map((p) => p.spec.nodeName)).size, 3);
  });

  it("shows a deployment's pod the default tolerations and its ServiceAccount's token volume in describe, as Kubernetes prints them", async () => {
    const [pod] = await pods('app=test1');
    assert.ok(pod);
    const described = await cluster.kubectlOk(['describe', 'pod', pod.metadata.name]);
    assert.match(
      described,
      /\nTolerations:\s+node\.kubernetes\.io\/not-ready:NoExecute op=Exists for 300s\n\s+node\.kubernetes\.io\/unreachable:NoExecute op=Exists for 300s\n/,
    );
    // ServiceAccount admission too, as for a pod kubectl creates: the account and its token volume.
    assert.match(described, /\nService Account:\s+default\n/);
    assert.match(described, /\n\s+\/var\/run\/secrets\/kubernetes\.io\/serviceaccount from kube-api-access-[a-z0-9]{5} \(ro\)\n/);
    assert.match(described, /\n\s+kube-api-access-[a-z0-9]{5}:\n\s+Type:\s+Projected \(a volume that contains injected data from multiple sources\)\n/);
  });

  it('replaces a deleted pod', async () => {
    const [victim] = await pods('app=test1');
    assert.ok(victim);
    await cluster.kubectlOk(['delete', 'pod', victim.metadata.name, '--wait=false']);
    await waitFor(
      'a replacement Running pod',
      async () => {
        const now = await pods('app=test1');
        return now.length === 3 && now.every((p) => p.status?.phase === 'Running') && !now.some((p) => p.metadata.name === victim.metadata.name);
      },
      { timeoutMs: 90_000 },
    );
  });

  it('rolls out a new image, lists 2 revisions and rolls back', async () => {
    await cluster.kubectlOk(['set', 'image', 'deployments/test1', 'nginx=httpd']);
    assert.match(await rolloutStatus('test1'), /successfully rolled out/);
    assert.ok((await pods('app=test1')).every((p) => p.spec.containers[0]?.image === 'httpd'));
    const history = await cluster.kubectlOk(['rollout', 'history', 'deployment/test1']);
    assert.match(history, /REVISION\s+CHANGE-CAUSE\s*\n1\s+\S+\s*\n2\s+\S+/);

    await cluster.kubectlOk(['rollout', 'undo', 'deployment/test1']);
    assert.match(await rolloutStatus('test1'), /successfully rolled out/);
    await waitFor('pods back on nginx', async () => {
      const now = await pods('app=test1');
      return now.length === 3 && now.every((p) => p.spec.containers[0]?.image === 'nginx');
    });
    assert.match(await cluster.kubectlOk(['rollout', 'history', 'deployment/test1']), /\n2\s+\S+\s*\n3\s+\S+/);
  });

  it('rolls back twice more, each undo giving the revived ReplicaSet the next revision and its old ones in revision-history', async () => {
    const imageRevisions = async () => {
      const list = JSON.parse(await cluster.kubectlOk(['get', 'rs', '-l', 'app=test1', '-o', 'json'])) as {
        items: { metadata: { annotations?: Record<string, string> }; spec: { template: { spec: { containers: { image: string }[] } } } }[];
      };
      return Object.fromEntries(
        list.items.map((rs) => [
          rs.spec.template.spec.containers[0]?.image,
          `${rs.metadata.annotations?.['deployment.kubernetes.io/revision']} after ${rs.metadata.annotations?.['deployment.kubernetes.io/revision-history'] ?? '-'}`,
        ]),
      );
    };
    await cluster.kubectlOk(['rollout', 'undo', 'deployment/test1']);
    assert.match(await rolloutStatus('test1'), /successfully rolled out/);
    assert.deepEqual(await imageRevisions(), { nginx: '3 after 1', httpd: '4 after 2' });
    await cluster.kubectlOk(['rollout', 'undo', 'deployment/test1']);
    assert.match(await rolloutStatus('test1'), /successfully rolled out/);
    assert.deepEqual(await imageRevisions(), { nginx: '5 after 1,3', httpd: '4 after 2' });
    await waitFor('pods back on nginx', async () => {
      const now = await pods('app=test1');
      return now.length === 3 && now.every((p) => p.spec.containers[0]?.image === 'nginx');
    });
    // As kube-controller-manager keeps it: the revisions a ReplicaSet left are no longer listed.
    const history = await cluster.kubectlOk(['rollout', 'history', 'deployment/test1']);
    assert.match(history, /REVISION\s+CHANGE-CAUSE\s*\n4\s+\S+\s*\n5\s+\S+\s*$/);
    assert.match(await cluster.kubectlOk(['rollout', 'history', 'deployment/test1', '--revision=5']), /revision #5[\s\S]*Image:\s+nginx/);
  });

  it('holds a new template while paused and rolls it out on resume', async () => {
    await cluster.kubectlOk(['rollout', 'pause', 'deployment/test1']);
    await cluster.kubectlOk(['set', 'image', 'deployments/test1', 'nginx=busybox']);
    await waitFor('the paused change observed', async () => {
      const d = JSON.parse(await cluster.kubectlOk(['get', 'deployment', 'test1', '-o', 'json'])) as {
        metadata: { generation: number };
        status: { observedGeneration?: number; conditions?: { type: string; reason: string }[] };
      };
      const progressing = d.status.conditions?.find((c) => c.type === 'Progressing');
      return (d.status.observedGeneration ?? 0) >= d.metadata.generation && progressing?.reason === 'DeploymentPaused';
    });
    assert.ok((await pods('app=test1')).every((p) => p.spec.containers[0]?.image === 'nginx'));
    assert.equal((await cluster.kubectlOk(['get', 'rs', '-l', 'app=test1', '-o', 'name'])).trim().split('\n').length, 2);

    await cluster.kubectlOk(['rollout', 'resume', 'deployment/test1']);
    assert.match(await rolloutStatus('test1'), /successfully rolled out/);
    await waitFor('pods on busybox', async () => {
      const now = await pods('app=test1');
      return now.length === 3 && now.every((p) => p.spec.containers[0]?.image === 'busybox');
    });
  });

  it('keeps new pods off tainted nodes', async () => {
    await cluster.kubectlOk(['taint', 'nodes', 'skiff-node-1', 'k=v:NoSchedule']);
    await cluster.kubectlOk(['taint', 'nodes', 'skiff-node-2', 'k=v:NoSchedule']);
    try {
      await cluster.kubectlOk(['create', 'deployment', 'tainted', '--image=nginx', '--replicas=2']);
      await rolloutStatus('tainted');
      assert.deepEqual(new Set((await pods('app=tainted')).map((p) => p.spec.nodeName)), new Set(['skiff-node-3']));
    } finally {
      await cluster.kubectl(['taint', 'nodes', 'skiff-node-1', 'k=v:NoSchedule-']);
      await cluster.kubectl(['taint', 'nodes', 'skiff-node-2', 'k=v:NoSchedule-']);
    }
  });

  it('leaves a pod that needs more cpu than any node Pending, with the reason in describe', async () => {
    const manifest = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'big' },
      spec: { containers: [{ name: 'big', image: 'nginx', resources: { requests: { cpu: '1000' } } }] },
    });
    await cluster.kubectlOk(['apply', '-f', '-'], { input: manifest });
    // describe reads the pod and then its events: wait for a reading that has both the status and the event.
    const described = await waitFor('FailedScheduling and PodScheduled=False in describe', async () => {
      const text = await cluster.kubectlOk(['describe', 'pod', 'big']);
      return /FailedScheduling/.test(text) && /PodScheduled\s+False/.test(text) ? text : undefined;
    });
    assert.match(described, /Status:\s+Pending/);
    assert.match(described, /0\/3 nodes are available: 3 Insufficient cpu\./);
    assert.match(described, /PodScheduled\s+False/);
    await cluster.kubectlOk(['delete', 'pod', 'big']);
  });

  it('deletes a deployment with its ReplicaSets and pods', async () => {
    await cluster.kubectlOk(['delete', 'deployment', 'test1']);
    await waitFor(
      'ReplicaSets and pods gone',
      async () => {
        const rs = await cluster.kubectlOk(['get', 'rs', '-l', 'app=test1', '-o', 'name']);
        return rs.trim() === '' && (await pods('app=test1')).length === 0;
      },
      { timeoutMs: 90_000 },
    );
  });

  it('empties and removes a deleted namespace', async () => {
    await cluster.kubectlOk(['create', 'namespace', 'doomed']);
    await cluster.kubectlOk(['create', 'deployment', 'web', '--image=nginx', '-n', 'doomed']);
    await rolloutStatus('web', 'doomed');
    await cluster.kubectlOk(['delete', 'namespace', 'doomed', '--timeout=120s'], { timeoutMs: 130_000 });
    const gone = await cluster.kubectl(['get', 'namespace', 'doomed']);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /NotFound/);
  });
});
