/**
 * The API server as the real kubectl sees it: the finish line of the API/store issue, driven
 * command by command against a local cluster (no nodes: these are API semantics only).
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { waitFor } from '../support/wait.ts';

function manifest(replicas: number, image: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
  labels: {app: web}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: ${image}
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: demo
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 80
`;
}

describe('kubectl against the Skiff API', () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await startTestCluster({ nodes: 0 });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('reports a 1.32 server to kubectl version', async () => {
    const out = await cluster.kubectlOk(['version', '-o', 'json']);
    const version = JSON.parse(out) as { serverVersion: { major: string; minor: string } };
    assert.equal(version.serverVersion.major, '1');
    assert.equal(version.serverVersion.minor, '32');
  });

  it('refuses a request without a token with 401', async () => {
    const result = await cluster.kubectl(['get', 'namespaces', '--token', 'not-a-token']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Unauthorized|must be logged in/);
  });

  it('has the default namespaces from the start', async () => {
    const out = await cluster.kubectlOk(['get', 'namespaces', '-o', 'name']);
    for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) assert.match(out, new RegExp(`namespace/${name}\\b`));
  });

  it('creates a namespace and a deployment (protobuf bodies) and lists it with the usual columns', async () => {
    assert.match(await cluster.kubectlOk(['create', 'namespace', 'demo']), /namespace\/demo created/);
    assert.match(await cluster.kubectlOk(['create', 'deployment', 'web', '--image=nginx', '-n', 'demo']), /deployment.apps\/web created/);
    const table = await cluster.kubectlOk(['get', 'deploy', '-n', 'demo']);
    const [header, row] = table.trim().split('\n');
    assert.match(header!, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/);
    assert.match(row!, /^web\s+0\/1\s+0\s+0\s+\S+$/);
    const wide = await cluster.kubectlOk(['get', 'deploy', '-n', 'demo', '-o', 'wide']);
    assert.match(wide.split('\n')[0]!, /CONTAINERS\s+IMAGES\s+SELECTOR/);
    assert.match(wide, /nginx\s+nginx\s+app=web/);
  });

  it('returns the full object with defaults for -o yaml', async () => {
    const deployment = parseYaml(await cluster.kubectlOk(['get', 'deploy', 'web', '-n', 'demo', '-o', 'yaml'])) as Record<string, any>;
    assert.equal(deployment.apiVersion, 'apps/v1');
    assert.equal(deployment.kind, 'Deployment');
    assert.equal(deployment.metadata.namespace, 'demo');
    assert.match(deployment.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.equal(deployment.metadata.generation, 1);
    assert.ok(deployment.metadata.creationTimestamp);
    assert.equal(deployment.spec.replicas, 1);
    assert.equal(deployment.spec.strategy.type, 'RollingUpdate');
    assert.equal(deployment.spec.strategy.rollingUpdate.maxSurge, '25%');
    assert.equal(deployment.spec.template.spec.containers[0].imagePullPolicy, 'Always');
    assert.equal(deployment.spec.template.spec.containers[0].terminationMessagePath, '/dev/termination-log');
  });

  it('labels an object and selects it with -l', async () => {
    await cluster.kubectlOk(['create', 'configmap', 'plain', '--from-literal=a=b', '-n', 'demo']);
    await cluster.kubectlOk(['create', 'configmap', 'tagged', '--from-literal=a=b', '-n', 'demo']);
    assert.match(await cluster.kubectlOk(['label', 'configmap', 'tagged', 'tier=gold', '-n', 'demo']), /labeled/);
    const selected = await cluster.kubectlOk(['get', 'configmaps', '-n', 'demo', '-l', 'tier=gold', '-o', 'name']);
    assert.equal(selected.trim(), 'configmap/tagged');
    const excluded = await cluster.kubectlOk(['get', 'configmaps', '-n', 'demo', '-l', 'tier!=gold', '-o', 'name']);
    assert.match(excluded, /configmap\/plain/);
    assert.doesNotMatch(excluded, /configmap\/tagged/);
  });

  it('applies a manifest: created, then configured after an edit, then unchanged', async () => {
    await cluster.kubectlOk(['delete', 'deployment', 'web', '-n', 'demo']);
    const file = join(cluster.dataDir, 'web.yaml');
    await writeFile(file, manifest(2, 'nginx:1.27'));
    const created = await cluster.kubectlOk(['apply', '-f', file]);
    assert.match(created, /deployment.apps\/web created/);
    assert.match(created, /service\/web created/);
    await writeFile(file, manifest(3, 'nginx:1.28'));
    const configured = await cluster.kubectlOk(['apply', '-f', file]);
    assert.match(configured, /deployment.apps\/web configured/);
    assert.match(configured, /service\/web unchanged/);
    const deployment = JSON.parse(await cluster.kubectlOk(['get', 'deploy', 'web', '-n', 'demo', '-o', 'json']));
    assert.equal(deployment.spec.replicas, 3);
    assert.equal(deployment.spec.template.spec.containers[0].image, 'nginx:1.28');
    assert.equal(deployment.metadata.generation, 2);
    const unchanged = await cluster.kubectlOk(['apply', '-f', file]);
    assert.match(unchanged, /deployment.apps\/web unchanged/);
    assert.match(unchanged, /service\/web unchanged/);
    const service = JSON.parse(await cluster.kubectlOk(['get', 'svc', 'web', '-n', 'demo', '-o', 'json']));
    assert.match(service.spec.clusterIP, /^10\.\d+\.\d+\.\d+$/);
    assert.equal(service.spec.ports[0].protocol, 'TCP');
  });

  it('applies server-side: creates when missing, then updates', async () => {
    const file = join(cluster.dataDir, 'ssa.yaml');
    const documents = parseAllDocuments(manifest(1, 'nginx')).map((d) => d.toJS());
    const deployment = { ...documents[0], metadata: { ...documents[0].metadata, name: 'web-ssa' } };
    await writeFile(file, JSON.stringify(deployment));
    assert.match(await cluster.kubectlOk(['apply', '--server-side', '-f', file]), /deployment.apps\/web-ssa serverside-applied/);
    await writeFile(file, JSON.stringify({ ...deployment, spec: { ...deployment.spec, replicas: 4 } }));
    assert.match(await cluster.kubectlOk(['apply', '--server-side', '-f', file]), /serverside-applied/);
    const live = JSON.parse(await cluster.kubectlOk(['get', 'deploy', 'web-ssa', '-n', 'demo', '-o', 'json', '--show-managed-fields']));
    assert.equal(live.spec.replicas, 4);
    assert.ok(live.metadata.managedFields.some((entry: { manager: string; operation: string }) => entry.manager === 'kubectl' && entry.operation === 'Apply'));
  });

  it('streams ADDED, MODIFIED and DELETED to get pods -w', async () => {
    const watch = cluster.kubectlBackground(['get', 'pods', '-n', 'demo', '-w', '--output-watch-events']);
    try {
      await waitFor('the watch to start', () => watch.output().includes('No resources found') || watch.output().includes('EVENT'));
      await cluster.kubectlOk(['run', 'watched', '--image=nginx', '-n', 'demo']);
      await waitFor('ADDED', () => /ADDED\s+watched/.test(watch.output()));
      await cluster.kubectlOk(['label', 'pod', 'watched', 'seen=yes', '-n', 'demo']);
      await waitFor('MODIFIED', () => /MODIFIED\s+watched/.test(watch.output()));
      await cluster.kubectlOk(['delete', 'pod', 'watched', '-n', 'demo', '--wait=false']);
      await waitFor('DELETED', () => /DELETED\s+watched/.test(watch.output()));
    } finally {
      await watch.stop();
    }
  });

  it('replaces a pod from the manifest it was created from: the default tolerations stay', async () => {
    // Without a token to mount (ServiceAccount admission adds a volume a manifest cannot repeat,
    // so Kubernetes refuses such a replace too), the manifest is the pod but for the tolerations.
    const file = join(cluster.dataDir, 'pod.yaml');
    await writeFile(
      file,
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: replaced\n  namespace: demo\nspec:\n  automountServiceAccountToken: false\n  containers:\n  - name: web\n    image: nginx\n',
    );
    await cluster.kubectlOk(['create', '-f', file]);
    // kubectl replace reads the pod's resourceVersion and sends it: a write in between (here the
    // scheduler's, marking the pod unschedulable on this node-less cluster) is a Conflict, as it
    // would be against kube-apiserver. The replace comes once the pod is settled.
    await cluster.kubectlOk(['wait', '--for=condition=PodScheduled=false', 'pod/replaced', '-n', 'demo', '--timeout=60s'], { timeoutMs: 70_000 });
    assert.match(await cluster.kubectlOk(['replace', '-f', file]), /pod\/replaced replaced/);
    const tolerations = JSON.parse(await cluster.kubectlOk(['get', 'pod', 'replaced', '-n', 'demo', '-o', 'jsonpath={.spec.tolerations}'])) as {
      key: string;
    }[];
    assert.deepEqual(
      tolerations.map((t) => t.key),
      ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'],
    );
    await cluster.kubectlOk(['delete', 'pod', 'replaced', '-n', 'demo', '--wait=false']);
  });

  it('deletes objects', async () => {
    assert.match(await cluster.kubectlOk(['delete', 'deployment', 'web-ssa', '-n', 'demo']), /deleted/);
    const result = await cluster.kubectl(['get', 'deployment', 'web-ssa', '-n', 'demo']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /NotFound/);
  });

  it('reports a missing object, an invalid object and a duplicate clearly', async () => {
    const missing = await cluster.kubectl(['get', 'deploy', 'nosuch', '-n', 'demo']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Error from server \(NotFound\): deployments.apps "nosuch" not found/);

    const duplicate = await cluster.kubectl(['create', 'deployment', 'web', '--image=nginx', '-n', 'demo']);
    assert.equal(duplicate.code, 1);
    assert.match(duplicate.stderr, /deployments.apps "web" already exists/);

    const file = join(cluster.dataDir, 'bad.yaml');
    await writeFile(file, manifest(-1, 'nginx').replace('name: web\n  namespace', 'name: bad\n  namespace').split('---')[0]!);
    const invalid = await cluster.kubectl(['apply', '-f', file]);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /The Deployment "bad" is invalid: spec.replicas/);
    const absent = await cluster.kubectl(['get', 'deploy', 'bad', '-n', 'demo']);
    assert.match(absent.stderr, /NotFound/);

    const noNamespace = await cluster.kubectl(['create', 'deployment', 'x', '--image=nginx', '-n', 'nosuchns']);
    assert.equal(noNamespace.code, 1);
    assert.match(noNamespace.stderr, /namespaces "nosuchns" not found/);
  });

  it('serves get all through the all category', async () => {
    const out = await cluster.kubectlOk(['get', 'all', '-n', 'demo']);
    assert.match(out, /service\/web/);
    assert.match(out, /deployment.apps\/web/);
  });
});

describe('a restarted local cluster', () => {
  it('keeps every object across a stop and start on the same data dir', async () => {
    const first = await startTestCluster({ nodes: 0, ownDynamoDb: true });
    const dataDir = first.dataDir;
    try {
      await first.kubectlOk(['create', 'namespace', 'keep']);
      await first.kubectlOk(['create', 'configmap', 'kept', '--from-literal=color=blue', '-n', 'keep']);
    } finally {
      await first.local.stop();
    }
    const second = await startTestCluster({ nodes: 0, ownDynamoDb: true, dataDir });
    try {
      const configMap = JSON.parse(await second.kubectlOk(['get', 'configmap', 'kept', '-n', 'keep', '-o', 'json']));
      assert.equal(configMap.data.color, 'blue');
      await second.kubectlOk(['delete', 'namespace', 'keep', '--wait=false']);
    } finally {
      await second.stop();
      const { rm } = await import('node:fs/promises');
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
