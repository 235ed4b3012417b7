/**
 * Pods as processes, with the real kubectl: init containers run first and show as `Init:0/1`,
 * volumes are directories the pod finds at its mount paths, a pod finds nothing of the user's
 * in $HOME/.ssh or the data dir, and what Skiff cannot run is refused at admission.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { waitFor } from '../support/wait.ts';

describe('pods as processes with kubectl', { timeout: 240_000 }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startTestCluster({ nodes: 1 });
  });
  after(() => cluster?.stop());

  const apply = (manifest: unknown) => cluster.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
  const phase = async (name: string) => (await cluster.kubectl(['get', 'pod', name, '-o', 'jsonpath={.status.phase}'])).stdout;

  it('runs init containers to completion in order first, showing Init:0/1, and shares an emptyDir with the app', async () => {
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'initialized' },
      spec: {
        restartPolicy: 'Never',
        volumes: [{ name: 'work', emptyDir: {} }],
        initContainers: [
          {
            name: 'prepare',
            image: 'busybox',
            command: ['/bin/sh', '-c', 'sleep 3; echo prepared > /work/state; echo prepare done'],
            volumeMounts: [{ name: 'work', mountPath: '/work' }],
          },
        ],
        containers: [{ name: 'app', image: 'busybox', command: ['/bin/sh', '-c', 'cat /work/state'], volumeMounts: [{ name: 'work', mountPath: '/work' }] }],
      },
    });
    const statuses = new Set<string>();
    await waitFor(
      'the pod to succeed',
      async () => {
        const line = (await cluster.kubectl(['get', 'pod', 'initialized', '--no-headers'])).stdout;
        const status = line.trim().split(/\s+/)[2];
        if (status) statuses.add(status);
        return status === 'Completed' || undefined;
      },
      { timeoutMs: 60_000, intervalMs: 300 },
    );
    assert.ok(statuses.has('Init:0/1'), `saw ${[...statuses].join(', ')}`);
    assert.equal((await cluster.kubectlOk(['logs', 'initialized', '-c', 'app'])).trim(), 'prepared');
    assert.equal((await cluster.kubectlOk(['logs', 'initialized', '-c', 'prepare'])).trim(), 'prepare done', "an init container's log");
    assert.equal(await phase('initialized'), 'Succeeded');
  });

  it('mounts a ConfigMap where the pod asks, and a pod finds nothing of the user in $HOME/.ssh or the data dir', async () => {
    await cluster.kubectlOk(['create', 'configmap', 'greeting', '--from-literal=text=hello from a ConfigMap']);
    const dataDir = cluster.dataDir;
    const adminToken = JSON.parse(readFileSync(join(dataDir, 'tokens.json'), 'utf8')).admin as string;
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'curious' },
      spec: {
        restartPolicy: 'Never',
        volumes: [{ name: 'greeting', configMap: { name: 'greeting' } }],
        containers: [
          {
            name: 'app',
            image: 'busybox',
            command: [
              '/bin/sh',
              '-c',
              `cat /etc/greeting/text; echo; sa=/var/run/secrets/kubernetes.io/serviceaccount; echo "namespace=$(cat $sa/namespace)"; test -s $sa/token && echo token-readable; ls -A "$HOME/.ssh" 2>&1; cat ${dataDir}/tokens.json 2>&1; ls ${dataDir} 2>&1; cat ~root/.ssh/id_rsa 2>&1; echo end`,
            ],
            volumeMounts: [{ name: 'greeting', mountPath: '/etc/greeting', readOnly: true }],
          },
        ],
      },
    });
    await waitFor('the pod to finish', async () => ['Succeeded', 'Failed'].includes(await phase('curious')) || undefined, {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    const log = await cluster.kubectlOk(['logs', 'curious']);
    assert.match(log, /^hello from a ConfigMap\n/);
    // The ServiceAccount volume (ADR 122) is among the pod's volumes, readable by the pod's user, at its mount path.
    assert.match(log, /^namespace=default$/m);
    assert.match(log, /^token-readable$/m);
    assert.match(log, /\.ssh'?: No such file or directory/);
    assert.ok(!log.includes(adminToken), 'the admin token stayed in the data dir');
    assert.doesNotMatch(log, /kubeconfig|tokens\.json\n|pki/, 'the data dir cannot be listed');
    if (process.getuid?.() === 0) assert.match(log, /Permission denied/);
    assert.match(log, /end\n$/);
  });

  it('refuses at admission what Skiff cannot run, naming the field', async () => {
    const result = await cluster.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'claims' },
        spec: {
          volumes: [{ name: 'data', nfs: { server: 'nfs.example.com', path: '/exports' } }],
          containers: [{ name: 'app', image: 'busybox', securityContext: { privileged: true } }],
        },
      }),
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /The Pod "claims" is invalid/);
    assert.match(result.stderr, /spec\.volumes\[0\]\.nfs: Forbidden: nfs volumes are not supported by Skiff yet/);
    assert.match(result.stderr, /spec\.containers\[0\]\.securityContext\.privileged: Forbidden/);
    assert.notEqual((await cluster.kubectl(['get', 'pod', 'claims'])).code, 0, 'nothing was stored');
  });
});
