/**
 * The real kubectl reading Skiff's discovery and Tables from a loopback server that serves
 * only what this part produces: proof that the shapes are the ones kubectl prints.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { rootDiscovery } from '../../../../functions/api/discovery.ts';
import { toTable, wantsTable } from '../../../../functions/api/printers/index.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { findType } from '../../../../schemas/registry.ts';

const run = promisify(execFile);
const now = new Date();
const minutesAgo = (minutes: number) => new Date(now.getTime() - minutes * 60_000).toISOString();

const objects: Record<string, KubeObject[]> = {
  'core/pods': [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-1', namespace: 'default', creationTimestamp: minutesAgo(5), resourceVersion: '3', labels: { app: 'web' } },
      spec: { nodeName: 'node-1', containers: [{ name: 'nginx', image: 'nginx' }] },
      status: { phase: 'Running', podIPs: [{ ip: '10.0.0.7' }], containerStatuses: [{ name: 'nginx', ready: true, restartCount: 0, state: { running: {} } }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'crash-1', namespace: 'default', creationTimestamp: minutesAgo(30), resourceVersion: '4' },
      spec: { containers: [{ name: 'app', image: 'busybox' }] },
      status: { phase: 'Running', containerStatuses: [{ name: 'app', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } } }] },
    },
  ],
  'apps/deployments': [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default', creationTimestamp: minutesAgo(5), resourceVersion: '2' },
      spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [{ name: 'nginx', image: 'nginx' }] } } },
      status: { readyReplicas: 1, updatedReplicas: 3, availableReplicas: 1 },
    },
  ],
  'core/services': [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default', creationTimestamp: minutesAgo(5), resourceVersion: '5' },
      spec: { type: 'NodePort', clusterIP: '10.96.0.12', ports: [{ port: 80, nodePort: 30942, protocol: 'TCP' }], selector: { app: 'web' } },
    },
  ],
};

/** The minor version /version reports: kubectl's dispatcher runs the kubectl of that minor. */
let serverMinor = '32';
/** Content types of the discovery documents served, in order. */
const discoveryContentTypes: string[] = [];

function respond(server: Server): void {
  server.on('request', (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const accept = request.headers.accept;
    const send = (status: number, body: object, contentType = 'application/json') => {
      response.writeHead(status, { 'content-type': contentType });
      response.end(JSON.stringify(body));
    };
    if (url.pathname === '/version') return send(200, { major: '1', minor: serverMinor, gitVersion: `v1.${serverMinor}.0-skiff` });
    if (url.pathname === '/api' || url.pathname === '/apis') {
      const { contentType, body } = rootDiscovery(url.pathname === '/api' ? 'api' : 'apis', accept);
      discoveryContentTypes.push(contentType);
      return send(200, body, contentType);
    }
    const match = /^\/(?:api|apis\/([^/]+))\/(v1|v2)(?:\/namespaces\/([^/]+))?\/([^/]+)$/.exec(url.pathname);
    const type = match ? findType(match[1] ?? '', match[2] ?? '', match[4] ?? '') : undefined;
    if (!type || !wantsTable(accept)) return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
    return send(200, toTable(type, objects[type.id] ?? [], { now: new Date(), resourceVersion: '10' }));
  });
}

describe('kubectl prints Skiff tables', () => {
  let server: Server;
  let home: string;

  async function kubectl(...args: string[]): Promise<string> {
    const { stdout } = await run('kubectl', ['--kubeconfig', join(home, 'config'), '--cache-dir', join(home, `cache-${serverMinor}`), ...args], {
      timeout: 30_000,
    });
    return stdout;
  }

  before(async () => {
    server = createServer();
    respond(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    home = await mkdtemp(join(tmpdir(), 'skiff-printers-'));
    await writeFile(
      join(home, 'config'),
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: local, cluster: {server: "http://127.0.0.1:' + port + '"}}]',
        'users: [{name: local, user: {}}]',
        'contexts: [{name: local, context: {cluster: local, user: local, namespace: default}}]',
        'current-context: local',
        '',
      ].join('\n'),
    );
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(home, { recursive: true, force: true });
  });

  it('prints pods with -o wide through the po short name', async () => {
    const lines = (await kubectl('get', 'po', '-o', 'wide')).trim().split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/);
    assert.match(lines[1] ?? '', /^web-1\s+1\/1\s+Running\s+0\s+5m\d*s?\s+10\.0\.0\.7\s+node-1\s+<none>\s+<none>$/);
    assert.match(lines[2] ?? '', /^crash-1\s+0\/1\s+CrashLoopBackOff\s+4\s+30m\s+<none>\s+<none>\s+<none>\s+<none>$/);
  });

  it('prints deployments without wide columns by default', async () => {
    const lines = (await kubectl('get', 'deploy')).trim().split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/);
    assert.match(lines[1] ?? '', /^web\s+1\/3\s+3\s+1\s+5m\d*s?$/);
  });

  it('prints every kind of the all category with get all', async () => {
    const output = await kubectl('get', 'all');
    assert.match(output, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/m);
    assert.match(output, /^pod\/web-1\s+1\/1\s+Running/m);
    assert.match(output, /^service\/web\s+NodePort\s+10\.96\.0\.12\s+<none>\s+80:30942\/TCP/m);
    assert.match(output, /^deployment\.apps\/web\s+1\/3\s+3\s+1/m);
  });

  for (const minor of ['27', '28']) {
    it(`serves kubectl 1.${minor} aggregated discovery v2beta1 and Tables it prints`, async () => {
      serverMinor = minor;
      discoveryContentTypes.length = 0;
      try {
        const lines = (await kubectl('get', 'deploy', '-o', 'wide')).trim().split('\n');
        assert.match(lines[0] ?? '', /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$/);
        assert.match(lines[1] ?? '', /^web\s+1\/3\s+3\s+1\s+5m\d*s?\s+nginx\s+nginx\s+app=web$/);
        assert.ok(
          discoveryContentTypes.includes('application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList'),
          discoveryContentTypes.join(' | '),
        );
      } finally {
        serverMinor = '32';
      }
    });
  }

  it('prints labels and namespaces from the embedded object metadata', async () => {
    const output = await kubectl('get', 'pods', '-A', '--show-labels');
    assert.match(output, /^default\s+web-1\s+1\/1\s+Running\s+0\s+\S+\s+app=web$/m);
  });
});
