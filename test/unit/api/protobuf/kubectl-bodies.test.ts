/**
 * The real kubectl (1.32) sends protobuf bodies for `kubectl create <x>` (and for the DELETE
 * that `kubectl drain` falls back to). A tiny recording server on loopback answers like an API
 * server would (201 with the decoded object), and each test asserts the object Skiff decodes
 * from what kubectl actually sent.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeProtobufObject, isProtobufContentType } from '../../../../functions/api/protobuf/index.ts';
import { toStatus } from '../../../../functions/core/errors.ts';

interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly contentType: string;
  readonly decoded?: unknown;
}

interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let server: http.Server;
let port = 0;
let workDir = '';
let requests: RecordedRequest[] = [];

/** Answers a request whose body has been decoded; returns the status code and JSON body. */
type Responder = (request: RecordedRequest) => readonly [number, unknown];

/** What a create returns: 201 with the object. */
const answerCreated: Responder = (request) => [201, request.decoded ?? {}];
let respond: Responder = answerCreated;

function startRecordingServer(): Promise<void> {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      const reply = (code: number, body: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (path.startsWith('/version')) {
        reply(200, { major: '1', minor: '32', gitVersion: 'v1.32.4' });
        return;
      }
      const contentType = String(req.headers['content-type'] ?? '');
      const body = Buffer.concat(chunks);
      try {
        const decoded = isProtobufContentType(contentType)
          ? decodeProtobufObject(body)
          : body.length > 0
            ? (JSON.parse(body.toString('utf8')) as unknown)
            : undefined;
        const request = { method: req.method ?? '', path, contentType, decoded };
        requests.push(request);
        reply(...respond(request));
      } catch (error) {
        requests.push({ method: req.method ?? '', path, contentType });
        const status = toStatus(error);
        reply(status.code, status);
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      port = (server.address() as AddressInfo).port;
      resolve();
    });
  });
}

function kubectl(...args: string[]): Promise<KubectlResult> {
  const env = { ...process.env, KUBECONFIG: join(workDir, 'no-kubeconfig') };
  const fullArgs = ['--server', `http://127.0.0.1:${port}`, '--cache-dir', join(workDir, 'cache'), ...args];
  return new Promise((resolve) => {
    execFile('kubectl', fullArgs, { env, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs one create command and returns the single protobuf POST it made. */
async function createAndCapture(...args: string[]): Promise<RecordedRequest> {
  requests = [];
  respond = answerCreated;
  const result = await kubectl('create', ...args);
  assert.equal(result.code, 0, `kubectl create ${args.join(' ')} failed: ${result.stderr}`);
  assert.match(result.stdout, /created/);
  const posts = requests.filter((r) => r.method === 'POST');
  assert.equal(posts.length, 1, `expected one POST, saw ${JSON.stringify(requests)}`);
  const post = posts[0]!;
  assert.ok(isProtobufContentType(post.contentType), `expected a protobuf body, got ${post.contentType}`);
  return post;
}

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'skiff-protobuf-'));
  await startRecordingServer();
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(workDir, { recursive: true, force: true });
});

describe('decoding the protobuf bodies of kubectl create', () => {
  it('decodes create deployment with replicas and namespace like the JSON kubectl would send', async () => {
    const post = await createAndCapture('deployment', 'web', '--image=nginx', '--replicas=2', '-n', 'demo');
    assert.equal(post.path, '/apis/apps/v1/namespaces/demo/deployments?fieldManager=kubectl-create&fieldValidation=Strict');
    assert.deepStrictEqual(post.decoded, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'demo', labels: { app: 'web' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'nginx', image: 'nginx', resources: {} }] },
        },
        strategy: {},
      },
      status: {},
    });
  });

  it('decodes create deployment with several images and a container port', async () => {
    const post = await createAndCapture('deployment', 'multi', '--image=nginx', '--image=redis', '--port=80');
    assert.deepStrictEqual(post.decoded, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'multi', labels: { app: 'multi' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'multi' } },
        template: {
          metadata: { labels: { app: 'multi' } },
          spec: {
            containers: [
              { name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }], resources: {} },
              { name: 'redis', image: 'redis', resources: {} },
            ],
          },
        },
        strategy: {},
      },
      status: {},
    });
  });

  it('decodes create deployment --replicas=0 keeping the explicit zero', async () => {
    const post = await createAndCapture('deployment', 'idle', '--image=nginx', '--replicas=0');
    const spec = (post.decoded as { spec: { replicas?: number } }).spec;
    assert.equal(spec.replicas, 0);
  });

  it('decodes create namespace with its empty spec and status', async () => {
    const post = await createAndCapture('namespace', 'x');
    assert.equal(post.path, '/api/v1/namespaces?fieldManager=kubectl-create&fieldValidation=Strict');
    assert.deepStrictEqual(post.decoded, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' }, spec: {}, status: {} });
  });

  it('decodes create configmap --from-literal into data', async () => {
    const post = await createAndCapture('configmap', 'settings', '--from-literal=mode=fast', '--from-literal=level=3');
    assert.equal(post.path, '/api/v1/namespaces/default/configmaps?fieldManager=kubectl-create&fieldValidation=Strict');
    assert.deepStrictEqual(post.decoded, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { mode: 'fast', level: '3' } });
  });

  it('decodes create configmap --from-file keeping the file text', async () => {
    const file = join(workDir, 'app.conf');
    await writeFile(file, 'line1\nline2\n');
    const post = await createAndCapture('configmap', 'files', `--from-file=${file}`);
    assert.deepStrictEqual(post.decoded, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'files' }, data: { 'app.conf': 'line1\nline2\n' } });
  });

  it('decodes create configmap --from-file with non-UTF-8 content into binaryData as base64', async () => {
    const file = join(workDir, 'blob.bin');
    await writeFile(file, Buffer.from([0xff, 0x00, 0xfe, 0x01]));
    const post = await createAndCapture('configmap', 'blobs', `--from-file=${file}`);
    assert.deepStrictEqual(post.decoded, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'blobs' }, binaryData: { 'blob.bin': '/wD+AQ==' } });
  });

  it('decodes create secret generic --from-literal with data as base64', async () => {
    const post = await createAndCapture('secret', 'generic', 'creds', '--from-literal=user=admin', '--from-literal=password=s3cr3t');
    assert.equal(post.path, '/api/v1/namespaces/default/secrets?fieldManager=kubectl-create&fieldValidation=Strict');
    assert.deepStrictEqual(post.decoded, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds' },
      data: { user: Buffer.from('admin').toString('base64'), password: Buffer.from('s3cr3t').toString('base64') },
    });
  });

  it('decodes create secret generic --type', async () => {
    const post = await createAndCapture('secret', 'generic', 'typed', '--from-literal=k=v', '--type=example.com/custom');
    assert.deepStrictEqual(post.decoded, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'typed' }, data: { k: 'dg==' }, type: 'example.com/custom' });
  });

  it('decodes create secret docker-registry with its type and config', async () => {
    const post = await createAndCapture('secret', 'docker-registry', 'reg', '--docker-server=r.io', '--docker-username=u', '--docker-password=p');
    const secret = post.decoded as { type: string; data: Record<string, string> };
    assert.equal(secret.type, 'kubernetes.io/dockerconfigjson');
    const config = JSON.parse(Buffer.from(secret.data['.dockerconfigjson']!, 'base64').toString('utf8')) as unknown;
    assert.deepStrictEqual(config, { auths: { 'r.io': { username: 'u', password: 'p', auth: Buffer.from('u:p').toString('base64') } } });
  });

  const serviceCases = [
    {
      args: ['service', 'clusterip', 'api', '--tcp=80:8080'],
      spec: { ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 }], selector: { app: 'api' }, type: 'ClusterIP' },
    },
    {
      args: ['service', 'clusterip', 'headless', '--clusterip=None'],
      spec: { selector: { app: 'headless' }, clusterIP: 'None', type: 'ClusterIP' },
    },
    {
      args: ['service', 'nodeport', 'np', '--tcp=5678:8080', '--node-port=30080'],
      spec: { ports: [{ name: '5678-8080', protocol: 'TCP', port: 5678, targetPort: 8080, nodePort: 30080 }], selector: { app: 'np' }, type: 'NodePort' },
    },
    {
      args: ['service', 'loadbalancer', 'lb', '--tcp=80'],
      spec: { ports: [{ name: '80', protocol: 'TCP', port: 80, targetPort: 80 }], selector: { app: 'lb' }, type: 'LoadBalancer' },
    },
    {
      args: ['service', 'externalname', 'ext', '--external-name=example.com'],
      spec: { selector: { app: 'ext' }, type: 'ExternalName', externalName: 'example.com' },
    },
  ];
  for (const { args, spec } of serviceCases) {
    it(`decodes create ${args.slice(0, 2).join(' ')} (${args.slice(3).join(' ')})`, async () => {
      const name = args[2]!;
      const post = await createAndCapture(...args);
      assert.equal(post.path, '/api/v1/namespaces/default/services?fieldManager=kubectl-create&fieldValidation=Strict');
      assert.deepStrictEqual(post.decoded, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, labels: { app: name } },
        spec,
        status: { loadBalancer: {} },
      });
    });
  }

  it('decodes create ingress with rules, TLS, a class and a named-port default backend', async () => {
    const post = await createAndCapture('ingress', 'web', '--class=default', '--rule=foo.com/bar*=svc1:8080,tls=my-cert', '--default-backend=defsvc:http');
    assert.equal(post.path, '/apis/networking.k8s.io/v1/namespaces/default/ingresses?fieldManager=kubectl-create&fieldValidation=Strict');
    assert.deepStrictEqual(post.decoded, {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'web' },
      spec: {
        ingressClassName: 'default',
        defaultBackend: { service: { name: 'defsvc', port: { name: 'http' } } },
        tls: [{ hosts: ['foo.com'], secretName: 'my-cert' }],
        rules: [
          {
            host: 'foo.com',
            http: { paths: [{ path: '/bar', pathType: 'Prefix', backend: { service: { name: 'svc1', port: { number: 8080 } } } }] },
          },
        ],
      },
      status: { loadBalancer: {} },
    });
  });

  it('decodes create quota with its hard limits and scopes', async () => {
    const post = await createAndCapture('quota', 'robot', '--hard=pods=2,requests.cpu=500m', '--scopes=NotTerminating');
    assert.equal(post.path, '/api/v1/namespaces/default/resourcequotas?fieldManager=kubectl-create&fieldValidation=Strict');
    assert.deepStrictEqual(post.decoded, {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'robot' },
      spec: { hard: { pods: '2', 'requests.cpu': '500m' }, scopes: ['NotTerminating'] },
      status: {},
    });
  });

  it('decodes create poddisruptionbudget with its selector and bound', async () => {
    const post = await createAndCapture('poddisruptionbudget', 'robot', '--selector=app=robot', '--min-available=50%');
    assert.equal(post.path, '/apis/policy/v1/namespaces/default/poddisruptionbudgets?fieldManager=kubectl-create&fieldValidation=Strict');
    assert.deepStrictEqual(post.decoded, {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'robot' },
      spec: { minAvailable: '50%', selector: { matchLabels: { app: 'robot' } } },
      status: { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 },
    });
  });
});

describe('decoding the protobuf DELETE body of kubectl drain', () => {
  it('decodes the DeleteOptions kubectl drain sends when the server offers no eviction', async () => {
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', uid: 'node-uid', resourceVersion: '1' }, spec: {} };
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'p1',
        namespace: 'default',
        uid: 'pod-uid',
        resourceVersion: '2',
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'rs-uid', controller: true }],
      },
      spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'nginx' }] },
    };
    let deleted = false;
    const notFound = [404, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'NotFound', code: 404 }] as const;
    respond = ({ method, path }) => {
      if (path.startsWith('/api?')) return [200, { kind: 'APIVersions', versions: ['v1'] }];
      if (path.startsWith('/apis?')) return [200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] }];
      if (path === '/api/v1' || path.startsWith('/api/v1?')) {
        const verbs = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
        return [
          200,
          {
            kind: 'APIResourceList',
            groupVersion: 'v1',
            resources: [
              { name: 'pods', namespaced: true, kind: 'Pod', verbs },
              { name: 'nodes', namespaced: false, kind: 'Node', verbs },
            ],
          },
        ];
      }
      if (path.startsWith('/api/v1/nodes/n1')) return [200, node];
      if (path.startsWith('/api/v1/pods')) return [200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '3' }, items: deleted ? [] : [pod] }];
      if (path.startsWith('/api/v1/namespaces/default/pods/p1')) {
        if (method === 'DELETE') deleted = true;
        return method === 'DELETE' ? [200, pod] : deleted ? notFound : [200, pod];
      }
      return notFound;
    };
    requests = [];
    const result = await kubectl('drain', 'n1', '--ignore-daemonsets', '--timeout=20s');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /node\/n1 drained/);
    const deletes = requests.filter((r) => r.method === 'DELETE');
    assert.equal(deletes.length, 1);
    assert.ok(isProtobufContentType(deletes[0]!.contentType));
    assert.deepStrictEqual(deletes[0]!.decoded, { apiVersion: 'v1', kind: 'DeleteOptions' });
  });
});

describe('decoding the protobuf body of kubectl autoscale', () => {
  it('decodes the autoscaling/v1 HorizontalPodAutoscaler kubectl 1.32 posts, whatever version discovery prefers', async () => {
    const deployment = {
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      metadata: { name: 'web', namespace: 'default', uid: 'u1' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
      },
    };
    const resources = (groupVersion: string, list: object[]) => ({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources: list });
    const hpaResource = {
      name: 'horizontalpodautoscalers',
      singularName: 'horizontalpodautoscaler',
      namespaced: true,
      kind: 'HorizontalPodAutoscaler',
      verbs: ['create', 'get', 'list'],
      shortNames: ['hpa'],
    };
    respond = (request) => {
      const path = request.path.split('?')[0];
      if (request.method === 'POST') return [201, request.decoded ?? {}];
      if (path === '/api') return [200, { kind: 'APIVersions', versions: ['v1'] }];
      if (path === '/apis') {
        const group = (name: string, versions: string[]) => ({
          name,
          versions: versions.map((version) => ({ groupVersion: `${name}/${version}`, version })),
          preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
        });
        return [200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [group('apps', ['v1']), group('autoscaling', ['v2', 'v1'])] }];
      }
      if (path === '/api/v1') return [200, resources('v1', [])];
      if (path === '/apis/apps/v1')
        return [
          200,
          resources('apps/v1', [
            { name: 'deployments', singularName: 'deployment', namespaced: true, kind: 'Deployment', verbs: ['get'] },
            // kubectl autoscale looks for the scale subresource first.
            {
              name: 'deployments/scale',
              singularName: '',
              namespaced: true,
              group: 'autoscaling',
              version: 'v1',
              kind: 'Scale',
              verbs: ['get', 'patch', 'update'],
            },
          ]),
        ];
      if (path === '/apis/autoscaling/v2' || path === '/apis/autoscaling/v1') return [200, resources(path.slice('/apis/'.length), [hpaResource])];
      if (path === '/apis/apps/v1/namespaces/default/deployments/web') return [200, deployment];
      return [404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' }];
    };
    requests = [];
    const result = await kubectl('autoscale', 'deployment', 'web', '--cpu-percent=50', '--min=1', '--max=3');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^horizontalpodautoscaler\.autoscaling\/web autoscaled\n$/);
    const posts = requests.filter((r) => r.method === 'POST');
    assert.equal(posts.length, 1);
    assert.equal(posts[0]!.path, '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers?fieldManager=kubectl-autoscale');
    assert.ok(isProtobufContentType(posts[0]!.contentType));
    assert.deepStrictEqual(posts[0]!.decoded, {
      apiVersion: 'autoscaling/v1',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'web' },
      spec: { scaleTargetRef: { kind: 'Deployment', name: 'web', apiVersion: 'apps/v1' }, minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 50 },
      status: { currentReplicas: 0, desiredReplicas: 0 },
    });
  });
});
