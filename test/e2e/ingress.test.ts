/**
 * Ingress and LoadBalancer Services with the real kubectl and curl against a local cluster with
 * two agents: an Ingress with two hosts and two paths routes `curl -H Host:` to the right
 * Services, and a steady curl loop loses no request through a rolling update behind the Ingress
 * and behind a LoadBalancer Service (docs/adr/094-zero-downtime-targets.md); an Ingress with
 * `tls` and a `kubernetes.io/tls` Secret is served over HTTPS on 443 with that certificate.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { randomLoopbackSubnet } from '../support/loopback.ts';
import { waitFor } from '../support/wait.ts';

interface CurlResult {
  readonly code: number;
  readonly body: string;
}

/** `curl -s -H 'Host: <host>' http://<ip>:<port><path>`: the status code and body, code 0 when curl itself failed. */
function curl(ip: string, path: string, options: { host?: string; port?: number; https?: boolean } = {}): Promise<CurlResult> {
  const scheme = options.https ? 'https' : 'http';
  const port = options.port ? `:${options.port}` : '';
  const args = ['-s', '--max-time', '5', '-w', '\n%{http_code}', ...(options.host ? ['-H', `Host: ${options.host}`] : []), `${scheme}://${ip}${port}${path}`];
  if (options.https) args.unshift('-k', ...(options.host ? ['--resolve', `${options.host}:443:${ip}`] : []));
  if (options.https && options.host) args[args.length - 1] = `https://${options.host}${path}`;
  return new Promise((resolve) => {
    execFile('curl', args, { timeout: 10_000 }, (error, stdout) => {
      const cut = stdout.lastIndexOf('\n');
      const code = Number(stdout.slice(cut + 1)) || 0;
      resolve({ code: error && code === 0 ? 0 : code, body: stdout.slice(0, Math.max(0, cut)) });
    });
  });
}

const servedBy = (body: string) => /Served by pod (\S+)/.exec(body)?.[1];

function deployment(name: string, image: string, replicas: number): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      containers:
      - name: web
        image: ${image}
        ports:
        - containerPort: 80
          name: http
        readinessProbe:
          httpGet:
            path: /
            port: http
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector:
    app: ${name}
  ports:
  - port: 80
    targetPort: http
`;
}

const ingressManifest = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
spec:
  rules:
  - host: alpha.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: alpha
            port:
              number: 80
      - path: /beta
        pathType: Prefix
        backend:
          service:
            name: beta
            port:
              number: 80
  - host: beta.example.com
    http:
      paths:
      - path: /exact
        pathType: Exact
        backend:
          service:
            name: beta
            port:
              number: 80
      - path: /
        pathType: Prefix
        backend:
          service:
            name: alpha
            port:
              number: 80
`;

/**
 * Curls `target` over and over from a few loops at once until `during` settles; returns how many
 * answered and every failure. The requests are slow (`?sleep=`), so some are always in flight when
 * a pod is told to stop. Bounded: the loops stop when `during` ends (or after `maxMs`).
 */
async function steadyLoop(target: () => Promise<CurlResult>, expect: (result: CurlResult) => boolean, during: () => Promise<void>, maxMs = 240_000) {
  const failures: string[] = [];
  let answered = 0;
  let running = true;
  const deadline = Date.now() + maxMs;
  const loop = async () => {
    while (running && Date.now() < deadline) {
      const result = await target();
      if (expect(result)) answered++;
      else failures.push(`${result.code} ${result.body.slice(0, 80)}`);
    }
  };
  const loops = [loop(), loop(), loop()];
  try {
    await during();
  } finally {
    running = false;
    await Promise.all(loops);
  }
  return { answered, failures };
}

/** Slow enough that a request is usually running when a pod of the old template is stopped. */
const slowPath = '/?sleep=250';

describe('Ingress and LoadBalancer Services end to end with kubectl and curl', { timeout: 600_000 }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startTestCluster({ nodes: 2, resyncSeconds: 5, loadBalancerRange: randomLoopbackSubnet().cidr });
  });
  after(async () => {
    await cluster?.stop();
  });

  const jsonpath = async (args: string[], path: string) => (await cluster.kubectl([...args, '-o', `jsonpath=${path}`])).stdout.trim();
  let ingressIp = '';

  it('has the default IngressClass skiff', async () => {
    const out = await waitFor('the skiff IngressClass', async () => {
      const result = await cluster.kubectl(['get', 'ingressclass']);
      return result.stdout.includes('skiff') ? result.stdout : undefined;
    });
    assert.match(out, /NAME\s+CONTROLLER\s+PARAMETERS\s+AGE/);
    assert.match(out, /skiff\s+skiff\.io\/ingress-controller\s+<none>/);
    assert.equal(await jsonpath(['get', 'ingressclass', 'skiff'], '{.metadata.annotations.ingressclass\\.kubernetes\\.io/is-default-class}'), 'true');
  });

  it('routes an Ingress with two hosts and two paths to the right Services', async () => {
    await cluster.kubectlOk(['apply', '-f', '-'], { input: `${deployment('alpha', 'nginx', 2)}---\n${deployment('beta', 'httpd', 2)}` });
    await cluster.kubectlOk(['apply', '-f', '-'], { input: ingressManifest });
    assert.equal(await jsonpath(['get', 'ingress', 'shop'], '{.spec.ingressClassName}'), 'skiff', 'the default class is set on create');
    ingressIp = await waitFor(
      'an Ingress address',
      async () => (await jsonpath(['get', 'ingress', 'shop'], '{.status.loadBalancer.ingress[0].ip}')) || undefined,
      {
        timeoutMs: 60_000,
        intervalMs: 500,
      },
    );
    assert.match(ingressIp, /^127\./);
    await waitFor(
      'both Services answer through the Ingress',
      async () => {
        const [a, b] = await Promise.all([curl(ingressIp, '/', { host: 'alpha.example.com' }), curl(ingressIp, '/beta', { host: 'alpha.example.com' })]);
        return (a.body.includes('Welcome to nginx!') && b.body.includes('It works!')) || undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const cases: [string, string, number, string | RegExp][] = [
      ['alpha.example.com', '/', 200, /Served by pod alpha-/],
      ['alpha.example.com', '/anything/else', 200, /Served by pod alpha-/],
      ['alpha.example.com', '/beta', 200, /Served by pod beta-/],
      ['alpha.example.com', '/beta/deeper', 200, /Served by pod beta-/],
      ['alpha.example.com', '/betamax', 200, /Served by pod alpha-/],
      ['ALPHA.example.com', '/beta', 200, /Served by pod beta-/],
      ['beta.example.com', '/exact', 200, /Served by pod beta-/],
      ['beta.example.com', '/exact/not', 200, /Served by pod alpha-/],
      ['beta.example.com', '/', 200, /Served by pod alpha-/],
      ['gamma.example.com', '/', 404, /default backend - 404/],
    ];
    for (const [host, path, code, body] of cases) {
      const result = await curl(ingressIp, path, { host });
      assert.equal(result.code, code, `${host}${path}: ${result.code} ${result.body.slice(0, 80)}`);
      assert.match(result.body, body instanceof RegExp ? body : new RegExp(body), `${host}${path}`);
    }

    const table = await cluster.kubectlOk(['get', 'ingress', 'shop']);
    assert.match(table, /NAME\s+CLASS\s+HOSTS\s+ADDRESS\s+PORTS\s+AGE/);
    assert.match(table, new RegExp(`shop\\s+skiff\\s+alpha.example.com,beta.example.com\\s+${ingressIp.replaceAll('.', '\\.')}\\s+80`));
    // describe reads each backend's Endpoints one after the other, at the moment it prints them:
    // a pod whose readiness probe missed once under load is out of them for that moment.
    const described = await waitFor('describe ingress with both alpha pods ready', async () => {
      const out = await cluster.kubectlOk(['describe', 'ingress', 'shop']);
      return /alpha\.example\.com\s*\n\s+\/\s+alpha:80 \(\d+\.\d+\.\d+\.\d+:80,\d+\.\d+\.\d+\.\d+:80\)/.test(out) ? out : undefined;
    });
    assert.match(described, new RegExp(`Address:\\s+${ingressIp.replaceAll('.', '\\.')}`));
    assert.match(described, /Ingress Class:\s+skiff/);
    assert.match(described, /alpha\.example\.com\s*\n\s+\/\s+alpha:80 \(\d+\.\d+\.\d+\.\d+:80,\d+\.\d+\.\d+\.\d+:80\)/);
    assert.match(described, /\/beta\s+beta:80 \(/);
    assert.match(described, /beta\.example\.com\s*\n\s+\/exact\s+beta:80 \(/);
  });

  it('loses no request of a steady curl loop through a rolling update behind the Ingress', async () => {
    assert.ok(ingressIp, 'needs the Ingress test');
    const { answered, failures } = await steadyLoop(
      () => curl(ingressIp, slowPath, { host: 'alpha.example.com' }),
      (r) => r.code === 200 && servedBy(r.body)?.startsWith('alpha-') === true,
      async () => {
        await cluster.kubectlOk(['set', 'image', 'deployment/alpha', 'web=httpd']);
        await cluster.kubectlOk(['rollout', 'status', 'deployment/alpha', '--timeout=180s'], { timeoutMs: 190_000 });
        await waitFor(
          'only httpd answers',
          async () => {
            const answers = await Promise.all([1, 2, 3, 4].map(() => curl(ingressIp, '/', { host: 'alpha.example.com' })));
            return answers.every((a) => a.body.includes('It works!')) || undefined;
          },
          { timeoutMs: 60_000, intervalMs: 250 },
        );
      },
    );
    assert.ok(answered > 20, `answered ${answered}`);
    assert.deepEqual(failures, [], `failed requests during the rollout (of ${answered + failures.length})`);
    const old = await cluster.kubectlOk([
      'get',
      'pods',
      '-l',
      'app=alpha',
      '-o',
      'jsonpath={range .items[*]}{.spec.readinessGates[*].conditionType}{"\\n"}{end}',
    ]);
    assert.match(old, /target-health\.skiff\.io\/ingress\.skiff/, 'the new pods were created with the readiness gate');
  });

  it('loses no request of a steady curl loop through a rolling update behind a LoadBalancer Service', async () => {
    await cluster.kubectlOk(['expose', 'deployment', 'beta', '--type=LoadBalancer', '--name=beta-lb', '--port=18090', '--target-port=80']);
    const ip = await waitFor(
      'a LoadBalancer address',
      async () => (await jsonpath(['get', 'service', 'beta-lb'], '{.status.loadBalancer.ingress[0].ip}')) || undefined,
      {
        timeoutMs: 60_000,
        intervalMs: 500,
      },
    );
    assert.notEqual(ip, ingressIp, 'the Service and the Ingress have addresses of their own');
    await waitFor('the load balancer answers', async () => (await curl(ip, '/', { port: 18090 })).code === 200 || undefined, {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    const { answered, failures } = await steadyLoop(
      () => curl(ip, slowPath, { port: 18090 }),
      (r) => r.code === 200 && servedBy(r.body)?.startsWith('beta-') === true,
      async () => {
        await cluster.kubectlOk(['set', 'image', 'deployment/beta', 'web=nginx']);
        await cluster.kubectlOk(['rollout', 'status', 'deployment/beta', '--timeout=180s'], { timeoutMs: 190_000 });
        await waitFor(
          'only nginx answers',
          async () => {
            const answers = await Promise.all([1, 2, 3, 4].map(() => curl(ip, '/', { port: 18090 })));
            return answers.every((a) => a.body.includes('Welcome to nginx!')) || undefined;
          },
          { timeoutMs: 60_000, intervalMs: 250 },
        );
      },
    );
    assert.ok(answered > 20, `answered ${answered}`);
    assert.deepEqual(failures, [], `failed requests during the rollout (of ${answered + failures.length})`);
    const gates = await cluster.kubectlOk(['get', 'pods', '-l', 'app=beta', '-o', 'jsonpath={.items[*].spec.readinessGates[*].conditionType}']);
    assert.match(gates, /target-health\.skiff\.io\/beta-lb/);
  });

  it('reports an Ingress naming a missing Service with an Event and a condition, and keeps serving the others', async () => {
    await cluster.kubectlOk(['create', 'ingress', 'broken', '--rule=broken.example.com/=nosuch:80']);
    const condition = await waitFor(
      'the condition',
      async () => (await jsonpath(['get', 'ingress', 'broken'], '{.status.conditions[?(@.type=="skiff.io/LoadBalancerReady")].reason}')) || undefined,
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    assert.equal(condition, 'BackendServiceNotFound');
    const events = await cluster.kubectlOk(['get', 'events', '--field-selector', 'involvedObject.name=broken']);
    assert.match(events, /Warning\s+BackendServiceNotFound\s+ingress\/broken\s+.*service "nosuch" not found/);
    const brokenIp = await jsonpath(['get', 'ingress', 'broken'], '{.status.loadBalancer.ingress[0].ip}');
    assert.equal((await curl(brokenIp, '/', { host: 'broken.example.com' })).code, 503);
    assert.equal((await curl(ingressIp, '/beta', { host: 'alpha.example.com' })).code, 200, 'the other Ingress still serves');
  });
  it('serves an Ingress with tls over HTTPS on 443 with the certificate of its kubernetes.io/tls Secret', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-ingress-tls-'));
    try {
      const [cert, key] = [join(dir, 'tls.crt'), join(dir, 'tls.key')];
      execFileSync('openssl', [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=secure.example.com',
        '-addext',
        'subjectAltName=DNS:secure.example.com',
        '-keyout',
        key,
        '-out',
        cert,
      ]);
      await cluster.kubectlOk(['create', 'secret', 'tls', 'secure-tls', `--cert=${cert}`, `--key=${key}`]);
      await cluster.kubectlOk(['create', 'ingress', 'secure', '--rule=secure.example.com/*=alpha:80,tls=secure-tls']);
      const ip = await waitFor(
        'the secure Ingress address',
        async () => (await jsonpath(['get', 'ingress', 'secure'], '{.status.loadBalancer.ingress[0].ip}')) || undefined,
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      const answer = await waitFor(
        'an HTTPS answer',
        async () => {
          const result = await curl(ip, '/', { host: 'secure.example.com', https: true });
          return result.code === 200 ? result : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      assert.match(answer.body, /Served by pod alpha-/);
      // The certificate served is the Secret's: curl verifies it against that very certificate as its CA.
      const verified = await new Promise<string>((resolve, reject) => {
        execFile(
          'curl',
          [
            '-s',
            '--max-time',
            '5',
            '--cacert',
            cert,
            '--resolve',
            `secure.example.com:443:${ip}`,
            '-o',
            '/dev/null',
            '-w',
            '%{http_code}',
            'https://secure.example.com/',
          ],
          { timeout: 10_000 },
          (error, stdout) => (error ? reject(error) : resolve(stdout.trim())),
        );
      });
      assert.equal(verified, '200');
      const table = await cluster.kubectlOk(['get', 'ingress', 'secure']);
      assert.match(table, /secure\s+skiff\s+secure\.example\.com\s+\S+\s+80, 443/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
