/**
 * `kubectl exec`, `attach`, `port-forward` and `cp` against a local cluster with one node agent,
 * with the newest kubectl (WebSocket `v5.channel.k8s.io`, port forwarding as SPDY tunnelled in a
 * WebSocket) and kubectl 1.29 (SPDY/3.1 only), run directly rather than through the dispatcher
 * (which picks the client from the server's minor version). Also: the exit code of a command,
 * a terminal driven through a pseudo-terminal (`script`), and Kubernetes' 403 for a user
 * without `pods/exec`. Then, on the same cluster, pods as processes: init containers, volumes,
 * what a pod cannot see of the user, and what admission refuses.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { choosePodNetworkMode } from '../../node-agent/runtime/pod-network.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { freePort } from '../support/loopback.ts';
import { waitFor } from '../support/wait.ts';

/** Whether this machine's node agents give pods namespaces of their own (root with nftables), as the cluster's will. */
const podsHaveNamespaces = choosePodNetworkMode('auto', '10.128.0.0/24').mode === 'namespaces';

const bounded = { timeout: 120_000 };
const clientDir = '/usr/lib/google-cloud-sdk/bin';
/** The clients this file drives: the newest, and one that speaks SPDY only. */
const clients = [
  // WebSocket: exec and attach as v5.channel.k8s.io, port forwarding as SPDY tunnelled in a WebSocket (a GET upgrade).
  { name: 'kubectl 1.33 (WebSocket)', binary: join(clientDir, 'kubectl.1.33'), upgradeVerb: 'GET' },
  // SPDY/3.1 for everything (a POST upgrade).
  { name: 'kubectl 1.29 (SPDY)', binary: join(clientDir, 'kubectl.1.29'), upgradeVerb: 'POST' },
].filter((client) => existsSync(client.binary));

/** kubectl's -v=6 line for a switched upgrade of `subresource` made with `verb` (1.33 and 1.29 word it differently). */
function upgradedWith(verb: string, subresource: string): RegExp {
  return new RegExp(`verb="${verb}" url="[^"]*/${subresource}[^"]*" status="101|${verb} https://\\S+/${subresource}\\S* 101 Switching Protocols`);
}

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe('exec, attach, port-forward and cp through the API to the node agent', () => {
  let cluster: TestCluster;
  const scratch = mkdtempSync(join(tmpdir(), 'skiff-exec-e2e-'));

  // No bound of its own, as in the other e2e files: most of this hook is the cluster's start, which
  // a loaded machine stretches past any fixed figure (exec-attach: the start 38 s of the hook's 59 s
  // at load 10–12; 120 s ran out at heavy load). The runner's hang guard still applies.
  before(async () => {
    cluster = await startTestCluster({ nodes: 1 });
    await cluster.kubectlOk(['apply', '-f', '-'], {
      input: [
        pod('shell', [{ name: 'main', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/data' }] }], {
          volumes: [{ name: 'data', emptyDir: {} }],
        }),
        pod('web', [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }] }]),
        pod('ticker', [{ name: 'ticker', image: 'busybox', command: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.2; done'] }]),
      ]
        .map((manifest) => stringify(manifest))
        .join('---\n'),
    });
    await cluster.kubectlOk(['wait', '--for=condition=Ready', 'pod/shell', 'pod/web', 'pod/ticker', '--timeout=90s'], { timeoutMs: 100_000 });
  });

  after(async () => {
    await cluster?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  function pod(name: string, containers: unknown[], spec: Record<string, unknown> = {}): unknown {
    return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers, ...spec } };
  }

  function run(binary: string, args: readonly string[], options: { input?: string; timeoutMs?: number; kubeconfig?: string } = {}): Promise<Result> {
    return new Promise((resolve) => {
      const child = execFile(
        binary,
        ['--kubeconfig', options.kubeconfig ?? cluster.local.kubeconfigPath, ...args],
        { timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
      child.stdin?.end(options.input ?? '');
    });
  }

  for (const client of clients) {
    describe(client.name, () => {
      const kubectl = (args: readonly string[], options?: { input?: string; timeoutMs?: number }) => run(client.binary, args, options);

      it(`upgrades exec and port-forward with ${client.upgradeVerb}, no fallback`, bounded, async () => {
        const exec = await kubectl(['exec', '-v=6', 'shell', '--', 'true']);
        assert.equal(exec.code, 0, exec.stderr);
        assert.match(exec.stderr, upgradedWith(client.upgradeVerb, 'exec'));
        assert.doesNotMatch(exec.stderr, /fallback/i);
      });

      it('runs a command in the pod with its environment and volumes, and passes its output through', bounded, async () => {
        const write = await kubectl(['exec', 'shell', '--', 'sh', '-c', 'echo "from $HOSTNAME" > /data/note.txt']);
        assert.equal(write.code, 0, write.stderr);
        const read = await kubectl(['exec', 'shell', '--', 'cat', '/data/note.txt']);
        assert.equal(read.code, 0, read.stderr);
        assert.equal(read.stdout, 'from shell\n');
      });

      it('enters the pod: its resolv.conf with the cluster search path when pods have namespaces (root)', bounded, async (context) => {
        if (!podsHaveNamespaces) return context.skip('pods have their own namespaces only when the agent runs as root with nftables installed');
        const result = await kubectl(['exec', 'shell', '--', 'cat', '/etc/resolv.conf']);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local/m);
        const hostname = await kubectl(['exec', 'shell', '--', 'hostname']);
        assert.equal(hostname.stdout.trim(), 'shell');
      });

      it('passes the exit code on, as "command terminated with exit code N"', bounded, async () => {
        const result = await kubectl(['exec', 'shell', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
        assert.equal(result.code, 3);
        assert.equal(result.stdout, 'out\n');
        assert.match(result.stderr, /^err\n/);
        assert.match(result.stderr, /command terminated with exit code 3/);
        const missing = await kubectl(['exec', 'shell', '--', 'cat', '/data/no-such-file']);
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /No such file or directory/);
      });

      it('feeds stdin to the command (-i) until the client closes it', bounded, async () => {
        const input = `${'line of input\n'.repeat(20_000)}last\n`;
        const result = await kubectl(['exec', '-i', 'shell', '--', 'sh', '-c', 'wc -c; echo done'], { input });
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout, `${Buffer.byteLength(input)}\ndone\n`);
      });

      it('runs an interactive shell on a terminal (-it)', bounded, async () => {
        const kubeconfig = cluster.local.kubeconfigPath;
        // `script` gives kubectl a pseudo-terminal, as a user's shell would.
        const command = `${client.binary} --kubeconfig ${kubeconfig} exec -it shell -- sh`;
        const result = await new Promise<Result>((resolve) => {
          const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
          child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
          const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
          child.on('close', (code) => {
            clearTimeout(timer);
            resolve({ code: code ?? 1, stdout, stderr });
          });
          // Typed ahead: the terminal keeps it until the shell reads; `tty` proves the shell has one.
          child.stdin.write('tty; echo "answer=$((6*7))"; exit 5\n');
        });
        assert.match(result.stdout, /answer=42/);
        assert.match(result.stdout, /\/dev\/pts\/\d+/);
        assert.equal(result.code, 5, result.stdout + result.stderr);
      });

      it('attaches to a running container and streams its output', bounded, async () => {
        const child = spawn(client.binary, ['--kubeconfig', cluster.local.kubeconfigPath, 'attach', 'ticker'], { stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        try {
          // New lines keep coming: two different ticks seen after attaching.
          await waitFor('two ticks through attach', () => new Set(output.match(/tick \d+/g) ?? []).size >= 2, { timeoutMs: 30_000 });
        } finally {
          child.kill('SIGTERM');
        }
      });

      it('forwards a local port to the pod (port-forward) and an HTTP request answers', bounded, async () => {
        const port = await freePort();
        const child = spawn(client.binary, ['--kubeconfig', cluster.local.kubeconfigPath, 'port-forward', '-v=6', 'pod/web', `${port}:80`], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        try {
          await waitFor('port-forward to listen', () => output.includes('Forwarding from'), { timeoutMs: 30_000 });
          for (let request = 0; request < 3; request++) {
            const answer = await httpGet(`http://127.0.0.1:${port}/`);
            assert.equal(answer.status, 200);
            assert.match(answer.body, /nginx|html/i);
          }
          assert.match(output, upgradedWith(client.upgradeVerb, 'portforward'));
          assert.doesNotMatch(output, /fallback/i);
        } finally {
          child.kill('SIGTERM');
        }
      });

      it('copies a file into the pod and back (kubectl cp)', bounded, async () => {
        const local = join(scratch, `${client.binary.split('.').pop()}-in.txt`);
        const back = join(scratch, `${client.binary.split('.').pop()}-back.txt`);
        const content = `copied by ${client.name}\n${'x'.repeat(100_000)}\n`;
        writeFileSync(local, content);
        // The pod's own home: a path the pod's user may write.
        const home = (await kubectl(['exec', 'shell', '--', 'printenv', 'HOME'])).stdout.trim();
        assert.ok(home.startsWith('/'), home);
        const into = await kubectl(['cp', local, `shell:${home}/copied.txt`]);
        assert.equal(into.code, 0, into.stderr);
        const inPod = await kubectl(['exec', 'shell', '--', 'cat', `${home}/copied.txt`]);
        assert.equal(inPod.stdout, content);
        const out = await kubectl(['cp', `shell:${home}/copied.txt`, back]);
        assert.equal(out.code, 0, out.stderr);
        assert.equal(readFileSync(back, 'utf8'), content);
        // Under a volume's mount path, which the process runtime rewrites to the volume's directory.
        const volumeBack = `${back}.volume`;
        assert.equal((await kubectl(['cp', local, 'shell:/data/copied.txt'])).code, 0);
        const fromVolume = await kubectl(['cp', 'shell:/data/copied.txt', volumeBack]);
        assert.equal(fromVolume.code, 0, fromVolume.stderr);
        assert.equal(readFileSync(volumeBack, 'utf8'), content);
      });
    });
  }

  it('refuses a user without pods/exec with Kubernetes 403, and a missing container with 400', bounded, async () => {
    // A user who may read pods but not exec into them (the `view` role).
    await cluster.kubectlOk(['create', 'serviceaccount', 'viewer']);
    await cluster.kubectlOk(['create', 'rolebinding', 'viewer-view', '--clusterrole=view', '--serviceaccount=default:viewer']);
    const token = (await cluster.kubectlOk(['create', 'token', 'viewer'])).trim();
    const binary = clients[0]?.binary ?? 'kubectl';
    const forbidden = await run(binary, ['--token', token, 'exec', 'shell', '--', 'true']);
    assert.notEqual(forbidden.code, 0);
    assert.match(
      forbidden.stderr,
      /pods "shell" is forbidden: User "system:serviceaccount:default:viewer" cannot (get|create) resource "pods\/exec" in API group "" in the namespace "default"/,
    );
    const forward = await run(binary, ['--token', token, 'port-forward', 'pod/web', '0:80'], { timeoutMs: 20_000 });
    assert.notEqual(forward.code, 0);
    assert.match(forward.stderr, /cannot (get|create) resource "pods\/portforward"/);
    const wrongContainer = await run(binary, ['exec', 'shell', '-c', 'nope', '--', 'true']);
    assert.notEqual(wrongContainer.code, 0);
    assert.match(wrongContainer.stderr, /container nope is not valid for pod shell/);
  });

  it('audits every session into a pod, WebSocket GETs included', bounded, async () => {
    const events = readFileSync(join(cluster.dataDir, 'audit.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(
        (line) =>
          JSON.parse(line) as { verb: string; objectRef?: { resource?: string; subresource?: string; name?: string }; responseStatus?: { code?: number } },
      );
    const sessions = events.filter((event) => event.objectRef?.resource === 'pods' && event.objectRef.subresource === 'exec');
    assert.ok(
      sessions.some((event) => event.verb === 'get' && event.objectRef?.name === 'shell'),
      'a WebSocket exec (GET) is in the audit log',
    );
    assert.ok(
      sessions.some((event) => event.verb === 'create' && event.objectRef?.name === 'shell'),
      'a SPDY exec (POST) is in the audit log',
    );
    assert.ok(
      sessions.some((event) => event.responseStatus?.code === 403),
      'the refused exec is in the audit log',
    );
  });

  // kubectl debug adds an ephemeral container through pods/ephemeralcontainers (docs/adr/208): the
  // node runs it in the pod, once; its output and status come back; a name another container has is
  // refused as kube-apiserver refuses it, and the `edit` role may not add one (kube grants it to no default role).
  it('runs kubectl debug containers in the pod (a command, then a shell with -it), reports them, and refuses a clashing name', bounded, async () => {
    const debug = await cluster.kubectl([
      'debug',
      'shell',
      '--image=busybox',
      '--container=debugger',
      '--target=main',
      '--',
      'sh',
      '-c',
      'echo hi from debugger',
    ]);
    assert.equal(debug.code, 0, debug.stderr);
    const logs = await waitFor('the debugger output through kubectl logs', async () => {
      const result = await cluster.kubectl(['logs', 'shell', '-c', 'debugger']);
      return result.code === 0 && result.stdout.includes('hi from debugger') ? result.stdout : undefined;
    });
    assert.equal(logs, 'hi from debugger\n');
    const status = await waitFor('the debugger to be reported terminated', async () => {
      const pod = JSON.parse(await cluster.kubectlOk(['get', 'pod', 'shell', '-o', 'json'])) as {
        spec: { ephemeralContainers?: { name: string; targetContainerName?: string }[] };
        status: { phase: string; ephemeralContainerStatuses?: { name: string; ready: boolean; state: { terminated?: { exitCode: number } } }[] };
      };
      const entry = pod.status.ephemeralContainerStatuses?.find((candidate) => candidate.name === 'debugger');
      return entry?.state.terminated ? { pod, entry } : undefined;
    });
    assert.deepEqual(
      status.pod.spec.ephemeralContainers?.map((container) => [container.name, container.targetContainerName]),
      [['debugger', 'main']],
    );
    assert.deepEqual([status.entry.state.terminated?.exitCode, status.entry.ready, status.pod.status.phase], [0, false, 'Running']);

    // kubectl's patch for a name already taken re-states the existing container after its change:
    // the container stays as it was, as the strategic merge leaves it in kube-apiserver too.
    const sameName = await cluster.kubectl(['debug', 'shell', '--image=busybox', '--container=debugger', '--', 'true']);
    const after = JSON.parse(await cluster.kubectlOk(['get', 'pod', 'shell', '-o', 'json'])) as {
      spec: { ephemeralContainers: { name: string; command: string[] }[] };
    };
    assert.deepEqual(
      after.spec.ephemeralContainers.map((container) => [container.name, container.command.join(' ')]),
      [['debugger', 'sh -c echo hi from debugger']],
      sameName.stderr,
    );
    const appName = await cluster.kubectl(['debug', 'shell', '--image=busybox', '--container=main', '--', 'true']);
    assert.notEqual(appName.code, 0);
    assert.match(appName.stderr, /Pod "shell" is invalid: spec\.ephemeralContainers\[1\]\.name: Duplicate value: "main"/);

    // -it: a shell on a terminal of its own, fed what is typed; its exit code is the container's.
    const command = `kubectl --kubeconfig ${cluster.local.kubeconfigPath} debug -it shell --image=busybox --container=shell-debugger -- sh`;
    const interactive = await new Promise<Result>((resolve) => {
      const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? 1, stdout, stderr: '' });
      });
      // Typed ahead: the terminal keeps it until kubectl attaches and sends it on.
      child.stdin.write('tty; echo "answer=$((6*7))"; exit 5\n');
    });
    assert.match(interactive.stdout, /answer=42/);
    assert.match(interactive.stdout, /\/dev\/pts\/\d+/);
    const exitCode = await waitFor('the interactive debugger to be reported terminated', async () => {
      const code = await cluster.kubectlOk([
        'get',
        'pod',
        'shell',
        '-o',
        'jsonpath={.status.ephemeralContainerStatuses[?(@.name=="shell-debugger")].state.terminated.exitCode}',
      ]);
      return code === '' ? undefined : code;
    });
    assert.equal(exitCode, '5', interactive.stdout);

    await cluster.kubectlOk(['create', 'serviceaccount', 'debug-editor']);
    await cluster.kubectlOk(['create', 'rolebinding', 'debug-editor-edit', '--clusterrole=edit', '--serviceaccount=default:debug-editor']);
    const token = (await cluster.kubectlOk(['create', 'token', 'debug-editor'])).trim();
    const editor = await cluster.kubectl(['--token', token, 'debug', 'shell', '--image=busybox', '--', 'true']);
    assert.notEqual(editor.code, 0);
    assert.match(editor.stderr, /cannot patch resource "pods\/ephemeralcontainers" in API group "" in the namespace "default"/);
  });

  // Pods as processes, on the same one-node cluster (one cluster start fewer for the e2e suite):
  // init containers run first and show as `Init:0/1`, volumes are directories the pod finds at
  // its mount paths, a pod finds nothing of the user's in $HOME/.ssh or the data dir, and what
  // Skiff cannot run is refused at admission.
  describe('pods as processes with kubectl', { timeout: 240_000 }, () => {
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
});

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}
