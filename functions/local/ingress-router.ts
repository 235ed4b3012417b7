/**
 * The `local` Ingress provider: what an Application Load Balancer does for Ingresses, on one
 * machine. Each Ingress gets its own address on the load balancer range (shared with
 * `type: LoadBalancer` Services), an HTTP router on port 80 there, and HTTPS on 443 when it has
 * `tls` with a `kubernetes.io/tls` Secret. A request is routed by evaluating the Ingress's rules
 * as the ALB listener rules they become (`functions/domain/ingress/ingress-routes.ts`): the first
 * rule whose host and path patterns match, else the default backend, else 404; a backend that
 * did not resolve, or has no target, answers 503, and one that cannot be reached 502 — ALB's codes.
 *
 * Targets are the backend Services' pods whose containers are ready; a pod that leaves gets no
 * new request and stays `draining` while requests sent to it run, so its node agent stops it
 * only after they answered (docs/adr/094-zero-downtime-targets.md). Nothing listens beyond loopback.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import tls from 'node:tls';
import {
  type IngressGroup,
  type IngressModel,
  type IngressRoute,
  matchRoute,
  notFoundBody,
  unresolvedBody,
  wildcardMatch,
} from '../domain/ingress/ingress-routes.ts';
import type { BackendPod } from '../domain/services/load-balancer-backends.ts';
import type {
  EnsuredIngress,
  EnsuredIngressGroup,
  IngressLoadBalancers,
  LoadBalancerIngress,
  LoadBalancerProblem,
  TargetState,
} from '../domain/services/load-balancers.ts';
import { type AddressPool, createAddressPool } from './address-pool.ts';

export interface LocalIngressRouterOptions {
  /** Share the address pool with the local load balancers (the local host does). */
  readonly addresses?: AddressPool;
  /** Used when `addresses` is not given. Default 127.0.200.0/24. */
  readonly addressRange?: string;
  /** @default 80 */
  readonly httpPort?: number;
  /** @default 443 */
  readonly httpsPort?: number;
  /** Milliseconds a request to a target may take to connect. @default 3000 */
  readonly connectTimeoutMs?: number;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

export interface LocalIngressRouters extends IngressLoadBalancers {
  /** The address of an Ingress (`namespace/name`), if it has one. */
  addressOf(ingressKey: string): string | undefined;
  close(): Promise<void>;
}

interface Target {
  readonly uid: string;
  readonly ip: string;
  readonly port: number;
}

interface Server {
  server?: net.Server;
  error?: string;
  listening: boolean;
  /** The TLS material it serves, for HTTPS: re-created when it changes. */
  tlsFingerprint?: string;
}

interface Router {
  readonly key: string;
  readonly className: string;
  readonly ip: string;
  routes: readonly IngressRoute[];
  defaultBackend?: string | null;
  /** Serving targets by backend key. */
  targets: Map<string, Target[]>;
  contexts: { hosts: readonly string[]; context: tls.SecureContext }[];
  readonly http: Server;
  readonly https: Server;
  next: number;
}

function targetKey(target: { ip: string; port: number }): string {
  return `${target.ip}:${target.port}`;
}

function statusIp(ingress: IngressModel): string | undefined {
  const entries = (ingress.object.status as { loadBalancer?: { ingress?: { ip?: unknown }[] } } | undefined)?.loadBalancer?.ingress;
  const ip = entries?.[0]?.ip;
  return typeof ip === 'string' ? ip : undefined;
}

const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

export function createLocalIngressRouters(options: LocalIngressRouterOptions = {}): LocalIngressRouters {
  const pool = options.addresses ?? createAddressPool(options.addressRange ?? '127.0.200.0/24');
  const httpPort = options.httpPort ?? 80;
  const httpsPort = options.httpsPort ?? 443;
  const connectTimeoutMs = options.connectTimeoutMs ?? 3000;
  const log = options.log ?? (() => {});
  const routers = new Map<string, Router>();
  /** Requests in flight per target `ip:port`. */
  const inFlight = new Map<string, number>();
  /** Pods that were targets of a class, with what they served: uid → targets. */
  const registered = new Map<string, Map<string, Target[]>>();
  const draining = new Map<string, Map<string, Target[]>>();
  let closed = false;

  const count = (key: string, delta: number) => {
    const next = (inFlight.get(key) ?? 0) + delta;
    if (next > 0) inFlight.set(key, next);
    else inFlight.delete(key);
  };

  const answer = (response: http.ServerResponse, code: number, body: string) => {
    if (response.headersSent) {
      response.destroy();
      return;
    }
    response.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  };

  const handle = (router: Router, secure: boolean) => (request: http.IncomingMessage, response: http.ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const route = matchRoute(router.routes, request.headers.host ?? '', path);
    const backend = route ? route.backend : router.defaultBackend;
    if (!route && router.defaultBackend === undefined) return answer(response, 404, notFoundBody);
    if (!backend) return answer(response, 503, unresolvedBody);
    const targets = router.targets.get(backend) ?? [];
    if (targets.length === 0) return answer(response, 503, 'Service Unavailable: no ready endpoints\n');
    const start = router.next++ % targets.length;
    const retryable =
      (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') &&
      !request.headers['content-length'] &&
      !request.headers['transfer-encoding'];
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(request.headers)) if (!hopByHop.has(name) && value !== undefined) headers[name] = value;
    const client = request.socket.remoteAddress ?? '';
    headers['x-forwarded-for'] = request.headers['x-forwarded-for'] ? `${request.headers['x-forwarded-for']}, ${client}` : client;
    headers['x-forwarded-proto'] = secure ? 'https' : 'http';
    headers['x-forwarded-port'] = String(secure ? httpsPort : httpPort);
    headers.connection = 'close';
    const attempt = (tried: number) => {
      const target = targets[(start + tried) % targets.length] as Target;
      const key = targetKey(target);
      count(key, 1);
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        count(key, -1);
      };
      const upstream = http.request({ host: target.ip, port: target.port, method: request.method, path: request.url, headers, agent: false });
      const timer = setTimeout(() => upstream.destroy(new Error('connect timeout')), connectTimeoutMs);
      let connected = false;
      upstream.on('socket', (socket) =>
        socket.once('connect', () => {
          connected = true;
          clearTimeout(timer);
        }),
      );
      upstream.on('response', (reply) => {
        clearTimeout(timer);
        const replyHeaders: http.OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(reply.headers)) if (!hopByHop.has(name) && value !== undefined) replyHeaders[name] = value;
        response.writeHead(reply.statusCode ?? 502, reply.statusMessage, replyHeaders);
        reply.pipe(response);
        reply.on('end', finish);
        reply.on('error', () => {
          finish();
          response.destroy();
        });
      });
      upstream.on('error', (error) => {
        clearTimeout(timer);
        finish();
        // A target that refused the connection never saw the request: another may take it. One
        // that failed after it was sent is a 502, as on an ALB, never a second delivery.
        if (!connected && !response.headersSent && retryable && tried + 1 < targets.length) return attempt(tried + 1);
        log('ingress target failed', { ingress: router.key, target: key, error: error.message });
        answer(response, 502, 'Bad Gateway\n');
      });
      response.on('close', () => {
        if (!response.writableFinished) upstream.destroy();
        finish();
      });
      if (retryable) upstream.end();
      else request.pipe(upstream);
    };
    attempt(0);
  };

  const listen = (router: Router, which: 'http' | 'https', make: () => net.Server, port: number): Promise<void> =>
    new Promise((resolve) => {
      const slot = router[which];
      const server = make();
      slot.server = server;
      server.once('error', (error: NodeJS.ErrnoException) => {
        slot.server = undefined;
        slot.listening = false;
        slot.error = error.code ?? error.message;
        log('ingress router cannot listen', { ingress: router.key, address: router.ip, port, error: slot.error });
        resolve();
      });
      server.listen({ host: router.ip, port, exclusive: true }, () => {
        slot.listening = true;
        slot.error = undefined;
        resolve();
      });
    });

  const stop = (slot: Server): Promise<void> =>
    new Promise((resolve) => {
      const server = slot.server;
      slot.server = undefined;
      slot.listening = false;
      slot.tlsFingerprint = undefined;
      if (!server) return resolve();
      server.close(() => resolve());
      (server as http.Server).closeAllConnections?.();
    });

  const contextFor = (router: Router, servername: string | undefined): tls.SecureContext | undefined => {
    if (servername) {
      const match = router.contexts.find((c) => c.hosts.some((host) => wildcardMatch(host, servername, true)));
      if (match) return match.context;
    }
    return router.contexts[0]?.context;
  };

  const applyServers = async (router: Router, model: IngressModel): Promise<void> => {
    if (!router.http.server) await listen(router, 'http', () => http.createServer(handle(router, false)), httpPort);
    const material = model.tls.filter((t) => t.certificatePem && t.privateKeyPem);
    const fingerprint = material.map((t) => `${t.hosts.join(',')}|${t.certificatePem}|${t.privateKeyPem}`).join('\n');
    if (material.length === 0) {
      router.contexts = [];
      await stop(router.https);
      return;
    }
    if (router.https.tlsFingerprint === fingerprint && router.https.server) return;
    router.contexts = material.map((t) => ({ hosts: t.hosts, context: tls.createSecureContext({ cert: t.certificatePem, key: t.privateKeyPem }) }));
    await stop(router.https);
    const first = material[0];
    await listen(
      router,
      'https',
      () =>
        https.createServer(
          {
            cert: first?.certificatePem,
            key: first?.privateKeyPem,
            SNICallback: (servername, done) => done(null, contextFor(router, servername)),
          },
          handle(router, true),
        ),
      httpsPort,
    );
    if (router.https.server) router.https.tlsFingerprint = fingerprint;
  };

  /** Serving targets per backend, and where each pod of the class stands. */
  const updateTargets = (group: IngressGroup): { byBackend: Map<string, Target[]>; states: Map<string, TargetState> } => {
    const byBackend = new Map<string, Target[]>();
    const states = new Map<string, TargetState>();
    const was = registered.get(group.className) ?? new Map<string, Target[]>();
    const leaving = draining.get(group.className) ?? new Map<string, Target[]>();
    const now = new Map<string, Target[]>();
    const pods = new Map<string, BackendPod>();
    for (const backend of group.backends.values()) {
      const list: Target[] = [];
      for (const pod of backend.pods) {
        pods.set(pod.uid, pod);
        const port = pod.ports.get(backend.portName);
        if (pod.state !== 'serving' || port === undefined) continue;
        const target = { uid: pod.uid, ip: pod.ip, port };
        list.push(target);
        now.set(pod.uid, [...(now.get(pod.uid) ?? []), target]);
      }
      byBackend.set(
        backend.key,
        list.sort((a, b) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1)),
      );
    }
    for (const [uid, targets] of was) if (!now.has(uid)) leaving.set(uid, targets);
    for (const uid of now.keys()) {
      leaving.delete(uid);
      states.set(uid, 'healthy');
    }
    for (const [uid, targets] of [...leaving]) {
      if (targets.some((t) => (inFlight.get(targetKey(t)) ?? 0) > 0)) states.set(uid, 'draining');
      else leaving.delete(uid);
    }
    registered.set(group.className, now);
    draining.set(group.className, leaving);
    return { byBackend, states };
  };

  const dropRouter = async (router: Router): Promise<void> => {
    routers.delete(router.key);
    pool.release(`Ingress/${router.key}`);
    await Promise.all([stop(router.http), stop(router.https)]);
  };

  return {
    provider: 'local',
    async ensureGroup(group): Promise<EnsuredIngressGroup> {
      if (closed) throw new Error('the ingress routers are closed');
      const { byBackend, states } = updateTargets(group);
      const results = new Map<string, EnsuredIngress>();
      const keep = new Set(group.ingresses.map((i) => i.key));
      for (const router of [...routers.values()]) if (router.className === group.className && !keep.has(router.key)) await dropRouter(router);
      let retry = false;
      for (const model of group.ingresses) {
        let router = routers.get(model.key);
        if (router && router.className !== group.className) {
          await dropRouter(router);
          router = undefined;
        }
        if (!router) {
          const previous = statusIp(model);
          if (previous) pool.reserve(`Ingress/${model.key}`, previous);
          router = {
            key: model.key,
            className: group.className,
            ip: pool.claim(`Ingress/${model.key}`, previous),
            routes: [],
            targets: new Map(),
            contexts: [],
            http: { listening: false },
            https: { listening: false },
            next: 0,
          };
          routers.set(model.key, router);
        }
        router.routes = model.routes;
        router.defaultBackend = model.defaultBackend;
        router.targets = byBackend;
        await applyServers(router, model);
        const problems: LoadBalancerProblem[] = [];
        const ports: { port: number; protocol: string; error?: string }[] = [];
        if (router.http.error) ports.push({ port: httpPort, protocol: 'TCP', error: router.http.error });
        if (router.https.error) ports.push({ port: httpsPort, protocol: 'TCP', error: router.https.error });
        if (ports.length > 0) {
          retry = true;
          problems.push({ reason: 'ListenFailed', message: ports.map((p) => `cannot listen on ${router.ip}:${p.port}: ${p.error}`).join('; ') });
        }
        const ingress: LoadBalancerIngress[] = [{ ip: router.ip, ...(ports.length > 0 ? { ports } : {}) }];
        results.set(model.key, { ingress, problems });
      }
      const draining = [...states.values()].includes('draining');
      return {
        ingresses: results,
        targets: states,
        problems: [],
        ...(draining ? { recheckAfterSeconds: 0.5 } : retry ? { recheckAfterSeconds: 5 } : {}),
      };
    },
    async removeGroup(className) {
      for (const router of [...routers.values()]) if (router.className === className) await dropRouter(router);
      registered.delete(className);
      draining.delete(className);
      return true;
    },
    addressOf(key) {
      return routers.get(key)?.ip;
    },
    async close() {
      closed = true;
      await Promise.all([...routers.values()].map(dropRouter));
    },
  };
}
