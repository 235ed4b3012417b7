/**
 * Authorization with the real kubectl: a user with a token of their own, bound to `view` in one
 * namespace, sees exactly Kubernetes' answers — reads there, the 403 messages elsewhere — and the
 * review commands (`auth can-i`, `--list`, `auth whoami`), impersonation, escalation prevention
 * and the audit log behave as they do against kube-apiserver.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { waitFor } from '../support/wait.ts';

const aliceToken = 'alice-e2e-token-0123456789';

describe('authorization with kubectl', () => {
  let cluster: TestCluster;
  const asAlice = (args: string[]) => cluster.kubectl(['--token', aliceToken, ...args]);

  before(async () => {
    cluster = await startTestCluster({ nodes: 0 });
    // A static token file, as kube-apiserver's --token-auth-file; read again when it changes.
    await writeFile(join(cluster.dataDir, 'tokens.csv'), `${aliceToken},alice,alice-uid,"developers"\n`, { mode: 0o600 });
    for (const namespace of ['team-a', 'team-b']) await cluster.kubectlOk(['create', 'namespace', namespace]);
    await cluster.kubectlOk(['run', 'web', '--image=nginx', '-n', 'team-a']);
    await cluster.kubectlOk(['create', 'rolebinding', 'alice-view', '--clusterrole=view', '--user=alice', '-n', 'team-a']);
  });
  after(async () => {
    await cluster?.stop();
  });

  it('has the default cluster roles and bindings, with view aggregated', async () => {
    const roles = await cluster.kubectlOk(['get', 'clusterroles', '-o', 'name']);
    for (const name of ['cluster-admin', 'admin', 'edit', 'view', 'system:basic-user', 'system:discovery', 'system:public-info-viewer']) {
      assert.match(roles, new RegExp(`clusterrole.rbac.authorization.k8s.io/${name}\\n`));
    }
    assert.match(await cluster.kubectlOk(['get', 'clusterrolebinding', 'cluster-admin']), /cluster-admin\s+ClusterRole\/cluster-admin\s+\S+/);
    const view = await cluster.kubectlOk(['describe', 'clusterrole', 'view']);
    assert.match(view, /pods\s+\[\]\s+\[\]\s+\[get list watch\]/);
  });

  it('lets a user bound to view get pods in that namespace', async () => {
    const result = await asAlice(['get', 'pods', '-n', 'team-a']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^web\s/m);
  });

  it("answers delete and another namespace with Kubernetes' 403 messages", async () => {
    const deletion = await asAlice(['delete', 'pod', 'web', '-n', 'team-a']);
    assert.notEqual(deletion.code, 0);
    assert.equal(
      deletion.stderr.trim(),
      'Error from server (Forbidden): pods "web" is forbidden: User "alice" cannot delete resource "pods" in API group "" in the namespace "team-a"',
    );
    const elsewhere = await asAlice(['get', 'pods', '-n', 'team-b']);
    assert.equal(
      elsewhere.stderr.trim(),
      'Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "team-b"',
    );
  });

  it('answers auth can-i, can-i --list and whoami', async () => {
    assert.equal((await asAlice(['auth', 'can-i', 'list', 'pods', '-n', 'team-a'])).stdout.trim(), 'yes');
    const no = await asAlice(['auth', 'can-i', 'delete', 'pods', '-n', 'team-a']);
    assert.equal(no.stdout.trim(), 'no');
    assert.equal(no.code, 1);
    const list = await asAlice(['auth', 'can-i', '--list', '-n', 'team-a']);
    assert.match(list.stdout, /^pods\s+\[\]\s+\[\]\s+\[get list watch\]$/m);
    assert.match(list.stdout, /^selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]$/m);
    assert.doesNotMatch(list.stdout, /^secrets/m);
    const whoami = await asAlice(['auth', 'whoami']);
    assert.match(whoami.stdout, /Username\s+alice/);
    assert.match(whoami.stdout, /UID\s+alice-uid/);
    assert.match(whoami.stdout, /Groups\s+\[developers system:authenticated\]/);
  });

  it('impersonates with --as for those allowed to, and refuses the others', async () => {
    const asUser = await cluster.kubectl(['get', 'pods', '-n', 'team-b', '--as', 'alice']);
    assert.match(asUser.stderr, /User "alice" cannot list resource "pods" in API group "" in the namespace "team-b"/);
    assert.equal((await cluster.kubectl(['auth', 'can-i', 'get', 'pods', '-n', 'team-a', '--as', 'alice'])).stdout.trim(), 'yes');
    const whoami = await cluster.kubectlOk(['auth', 'whoami', '--as', 'bob', '--as-group', 'qa']);
    assert.match(whoami, /Username\s+bob/);
    assert.match(whoami, /Groups\s+\[qa system:authenticated\]/);
    const refused = await asAlice(['get', 'pods', '-n', 'team-a', '--as', 'bob']);
    assert.equal(
      refused.stderr.trim(),
      'Error from server (Forbidden): users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
  });

  it('refuses to let a namespace admin grant what they do not hold', async () => {
    await cluster.kubectlOk(['create', 'rolebinding', 'alice-admin', '--clusterrole=admin', '--user=alice', '-n', 'team-a']);
    assert.equal((await asAlice(['create', 'role', 'pod-reader', '--verb=get', '--resource=pods', '-n', 'team-a'])).code, 0);
    const escalation = await asAlice(['create', 'role', 'node-reader', '--verb=get', '--resource=nodes', '-n', 'team-a']);
    assert.equal(
      escalation.stderr.trim(),
      'Error from server (Forbidden): roles.rbac.authorization.k8s.io "node-reader" is forbidden: user "alice" (groups=["developers" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}',
    );
    const binding = await asAlice(['create', 'rolebinding', 'alice-root', '--clusterrole=cluster-admin', '--user=alice', '-n', 'team-a']);
    assert.match(
      binding.stderr,
      /rolebindings.rbac.authorization.k8s.io "alice-root" is forbidden: user "alice" .* is attempting to grant RBAC permissions not currently held/,
    );
  });

  it('gives every namespace a default ServiceAccount and the cluster CA', async () => {
    await waitFor('the default ServiceAccount of team-b', async () => (await cluster.kubectl(['get', 'serviceaccount', 'default', '-n', 'team-b'])).code === 0);
    const configMap = await waitFor('kube-root-ca.crt in team-b', async () => {
      const result = await cluster.kubectl(['get', 'configmap', 'kube-root-ca.crt', '-n', 'team-b', '-o', 'jsonpath={.data.ca\\.crt}']);
      return result.code === 0 ? result.stdout : undefined;
    });
    assert.equal(configMap.trim(), cluster.local.caCertPem.trim());
    const pod = JSON.parse(await cluster.kubectlOk(['get', 'pod', 'web', '-n', 'team-a', '-o', 'json'])) as {
      spec: {
        serviceAccountName: string;
        volumes: { name: string; projected?: unknown }[];
        containers: { volumeMounts: { mountPath: string; readOnly: boolean }[] }[];
      };
    };
    assert.equal(pod.spec.serviceAccountName, 'default');
    assert.match(pod.spec.volumes[0]?.name ?? '', /^kube-api-access-[a-z0-9]{5}$/);
    assert.deepEqual(
      pod.spec.containers[0]?.volumeMounts.map((m) => [m.mountPath, m.readOnly]),
      [['/var/run/secrets/kubernetes.io/serviceaccount', true]],
    );
  });

  it('issues ServiceAccount tokens with kubectl create token, which authenticate as the account', async () => {
    await cluster.kubectlOk(['create', 'serviceaccount', 'builder', '-n', 'team-a']);
    const token = (await cluster.kubectlOk(['create', 'token', 'builder', '-n', 'team-a', '--duration=15m'])).trim();
    const whoami = await cluster.kubectlOk(['--token', token, 'auth', 'whoami']);
    assert.match(whoami, /Username\s+system:serviceaccount:team-a:builder/);
    assert.match(whoami, /Groups\s+\[system:serviceaccounts system:serviceaccounts:team-a system:authenticated\]/);
    const denied = await cluster.kubectl(['--token', token, 'get', 'pods', '-n', 'team-a']);
    assert.match(denied.stderr, /User "system:serviceaccount:team-a:builder" cannot list resource "pods"/);
    const short = await cluster.kubectl(['create', 'token', 'builder', '-n', 'team-a', '--duration=5m']);
    assert.match(short.stderr, /may not specify a duration less than 10 minutes/);
    const audience = (await cluster.kubectlOk(['create', 'token', 'builder', '-n', 'team-a', '--audience=vault'])).trim();
    assert.match((await cluster.kubectl(['--token', audience, 'auth', 'whoami'])).stderr, /Unauthorized|must be logged in/);
  });

  it('writes refusals and changes to the audit log, without bodies', async () => {
    const lines = await waitFor('the audit log', async () => {
      const text = await readFile(join(cluster.dataDir, 'audit.log'), 'utf8');
      return text.includes('"verb":"delete"') ? text.trim().split('\n') : undefined;
    });
    const events = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const denied = events.find((e) => e.verb === 'delete' && (e.user as { username: string }).username === 'alice');
    assert.deepEqual(denied?.objectRef, { resource: 'pods', namespace: 'team-a', name: 'web', apiGroup: '', apiVersion: 'v1' });
    assert.equal((denied?.responseStatus as { code: number } | undefined)?.code, 403);
    const created = events.find((e) => e.verb === 'create' && (e.objectRef as { resource?: string } | undefined)?.resource === 'rolebindings');
    assert.equal((created?.responseStatus as { code: number } | undefined)?.code, 201);
    assert.ok(lines.every((line) => !line.includes(aliceToken)));
  });

  it('serves /version without a token and refuses /api without one', async () => {
    const base = cluster.local.server;
    const fetchInsecure = (path: string) =>
      new Promise<number>((resolve, reject) => {
        import('node:https').then(({ get }) => {
          get(`${base}${path}`, { ca: cluster.local.caCertPem }, (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          }).on('error', reject);
        });
      });
    assert.equal(await fetchInsecure('/version'), 200);
    assert.equal(await fetchInsecure('/api'), 401);
  });
});
