/**
 * Ingress rules as Application Load Balancer listener rules, one shared model for the `alb`
 * provider (which writes them as rules) and the local router (which evaluates them), so a
 * request is routed the same way on a laptop and on AWS (docs/adr/095-ingress-as-alb-rules.md).
 *
 * - A rule's host becomes a `host-header` condition (case-insensitive; `*.example.com` matches
 *   any name ending in `.example.com`, as ALB's `*` does, where Kubernetes matches one label).
 * - `Exact /a` becomes the path pattern `/a`; `Prefix /a` becomes `/a` or `/a/*` (so `/ab` does
 *   not match, as Kubernetes requires); `Prefix /` becomes `/*`; `ImplementationSpecific` is taken
 *   as an ALB path pattern, as the AWS Load Balancer Controller does.
 * - Order (the rule priorities): exact hosts, then wildcard hosts (longest first), then rules
 *   without a host; within one host Exact paths first, then longer prefixes first — the
 *   precedence Kubernetes specifies — then the older Ingress, then the rule's place in it.
 * - A backend that does not resolve (missing Service or port, an ExternalName Service, a
 *   `resource` backend) answers 503, as ingress-nginx does, and is reported on the Ingress; the
 *   other rules are unaffected.
 */
import { z } from 'zod';
import type { KubeObject } from '../../../schemas/meta.ts';
import { type BackendPod, backendsOf } from '../services/load-balancer-backends.ts';
import { type ServicePort, type ServiceView, viewService } from '../services/service-view.ts';

export const ingressClassAnnotation = 'kubernetes.io/ingress.class';
export const defaultClassAnnotation = 'ingressclass.kubernetes.io/is-default-class';
/** `spec.controller` of the IngressClasses Skiff serves. */
export const skiffIngressController = 'skiff.io/ingress-controller';
export const defaultIngressClassName = 'skiff';
/** What a request no rule matches gets, where the Ingress has no default backend (status 404). */
export const notFoundBody = 'default backend - 404\n';
/** What a request to a rule whose backend does not resolve gets (status 503). */
export const unresolvedBody = 'Service Unavailable: the backend of this rule does not resolve\n';

export interface IngressProblem {
  readonly reason: string;
  readonly message: string;
}

/** A Service port behind some rule: its pods as targets. */
export interface IngressBackend {
  /** `namespace/service:port` with the Service port's number. */
  readonly key: string;
  readonly namespace: string;
  readonly serviceName: string;
  readonly servicePort: ServicePort;
  /** The Service port's name ('' when unnamed): the key of `BackendPod.ports`. */
  readonly portName: string;
  readonly pods: readonly BackendPod[];
}

export interface IngressRoute {
  /** `host-header` value: an exact host or `*.suffix`; absent for any host. */
  readonly host?: string;
  /** `path-pattern` values, any of which matches. */
  readonly paths: readonly string[];
  /** `IngressBackend.key`, or undefined for a backend that did not resolve (503). */
  readonly backend?: string;
  /** For `kubectl describe`-like messages: the Ingress path as written. */
  readonly source: { readonly ingress: string; readonly rule: number; readonly path: number; readonly pathType: string; readonly written: string };
}

export interface IngressTls {
  readonly hosts: readonly string[];
  readonly secretName?: string;
  /** PEM, filled in by the controller from a `kubernetes.io/tls` Secret (local router only). */
  readonly certificatePem?: string;
  readonly privateKeyPem?: string;
}

export interface IngressModel {
  /** `namespace/name`. */
  readonly key: string;
  readonly object: KubeObject;
  /** In priority order. */
  readonly routes: readonly IngressRoute[];
  /** `spec.defaultBackend`: a backend key, or null when it did not resolve (503). */
  readonly defaultBackend?: string | null;
  readonly tls: readonly IngressTls[];
  /** `alb.ingress.kubernetes.io/certificate-arn`: ACM certificates for the HTTPS listener. */
  readonly certificateArns: readonly string[];
  readonly scheme: 'internet-facing' | 'internal';
  readonly problems: readonly IngressProblem[];
}

export interface IngressGroup {
  readonly className: string;
  /** Oldest first. */
  readonly ingresses: readonly IngressModel[];
  readonly backends: ReadonlyMap<string, IngressBackend>;
}

const backendSchema = z.looseObject({
  service: z.looseObject({ name: z.string(), port: z.looseObject({ name: z.string().optional(), number: z.number().optional() }).optional() }).optional(),
  resource: z.looseObject({ kind: z.string().optional(), name: z.string().optional() }).optional(),
});
type BackendSpec = z.infer<typeof backendSchema>;

const ingressSpecSchema = z.looseObject({
  ingressClassName: z.string().optional(),
  defaultBackend: backendSchema.optional(),
  tls: z.array(z.looseObject({ hosts: z.array(z.string()).optional(), secretName: z.string().optional() })).optional(),
  rules: z
    .array(
      z.looseObject({
        host: z.string().optional(),
        http: z
          .looseObject({ paths: z.array(z.looseObject({ path: z.string().optional(), pathType: z.string().optional(), backend: backendSchema })) })
          .optional(),
      }),
    )
    .optional(),
});

/** The class an Ingress asks for (`spec.ingressClassName`, else the legacy annotation), if any. */
export function classOf(ingress: KubeObject): string | undefined {
  const spec = ingressSpecSchema.safeParse(ingress.spec ?? {});
  return (spec.success ? spec.data.ingressClassName : undefined) || ingress.metadata.annotations?.[ingressClassAnnotation] || undefined;
}

/** The default IngressClass among these (the newest one annotated as default, as Kubernetes' admission picks). */
export function defaultClassOf(classes: readonly KubeObject[]): string | undefined {
  return classes
    .filter((c) => c.metadata.annotations?.[defaultClassAnnotation] === 'true')
    .sort((a, b) => ((a.metadata.creationTimestamp ?? '') < (b.metadata.creationTimestamp ?? '') ? 1 : -1))[0]?.metadata.name;
}

/** The IngressClasses Skiff serves: those whose `spec.controller` is Skiff's. */
export function isOurClass(ingressClass: KubeObject): boolean {
  return (ingressClass.spec as { controller?: unknown } | undefined)?.controller === skiffIngressController;
}

/** ALB `path-pattern` values for a Kubernetes path. */
export function pathPatterns(pathType: string, path: string | undefined): string[] {
  if (pathType === 'ImplementationSpecific') return [path || '/*'];
  const value = path || '/';
  if (pathType === 'Exact') return [value];
  const trimmed = value.replace(/\/+$/, '');
  return trimmed === '' ? ['/*'] : [trimmed, `${trimmed}/*`];
}

/** Sort key of a rule: see the module comment. */
function hostRank(host: string | undefined): number {
  if (host === undefined) return 2;
  return host.startsWith('*') ? 1 : 0;
}

function pathRank(pathType: string): number {
  return pathType === 'Exact' ? 0 : 1;
}

export interface RankedRoute {
  readonly route: IngressRoute;
  /** The age order of the route's Ingress in the group. */
  readonly ingressOrder: number;
}

/** Sorts routes into ALB priority order (first = priority 1). */
export function orderRoutes(routes: readonly RankedRoute[]): IngressRoute[] {
  const length = (r: IngressRoute) => Math.max(...r.paths.map((p) => p.length));
  const wildcardLength = (r: IngressRoute) => (hostRank(r.host) === 1 ? (r.host?.length ?? 0) : 0);
  return [...routes]
    .sort((a, b) => {
      const x = a.route;
      const y = b.route;
      return (
        hostRank(x.host) - hostRank(y.host) ||
        wildcardLength(y) - wildcardLength(x) ||
        (x.host ?? '').localeCompare(y.host ?? '') ||
        pathRank(x.source.pathType) - pathRank(y.source.pathType) ||
        length(y) - length(x) ||
        a.ingressOrder - b.ingressOrder ||
        x.source.rule - y.source.rule ||
        x.source.path - y.source.path
      );
    })
    .map((r) => r.route);
}

/** ALB wildcard matching: `*` any run of characters (none included), `?` exactly one. */
export function wildcardMatch(pattern: string, value: string, caseInsensitive: boolean): boolean {
  const p = caseInsensitive ? pattern.toLowerCase() : pattern;
  const v = caseInsensitive ? value.toLowerCase() : value;
  let pi = 0;
  let vi = 0;
  let star = -1;
  let mark = 0;
  while (vi < v.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === v[vi])) {
      pi++;
      vi++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = vi;
    } else if (star >= 0) {
      pi = star + 1;
      vi = ++mark;
    } else return false;
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/** The first route (in priority order) whose conditions a request meets, as an ALB listener evaluates them. */
export function matchRoute(routes: readonly IngressRoute[], host: string, path: string): IngressRoute | undefined {
  const bareHost = host.replace(/:\d+$/, '');
  return routes.find(
    (route) => (route.host === undefined || wildcardMatch(route.host, bareHost, true)) && route.paths.some((p) => wildcardMatch(p, path, false)),
  );
}

function backendKey(namespace: string, service: string, port: number): string {
  return `${namespace}/${service}:${port}`;
}

interface Resolution {
  readonly key?: string;
  readonly problem?: IngressProblem;
}

/** Resolves a backend against the Services of the namespace, adding it to `backends`. */
function resolveBackend(
  spec: BackendSpec,
  namespace: string,
  services: ReadonlyMap<string, ServiceView>,
  pods: readonly KubeObject[],
  backends: Map<string, IngressBackend>,
): Resolution {
  if (!spec.service) {
    return {
      problem: {
        reason: 'UnsupportedBackend',
        message: `resource backend ${spec.resource?.kind ?? ''}/${spec.resource?.name ?? ''} is not supported: only Service backends are`,
      },
    };
  }
  const name = spec.service.name;
  const service = services.get(name);
  if (!service) return { problem: { reason: 'BackendServiceNotFound', message: `service "${name}" not found` } };
  if (service.type === 'ExternalName')
    return { problem: { reason: 'UnsupportedBackend', message: `service "${name}" is of type ExternalName, which has no pods to send to` } };
  const wanted = spec.service.port;
  const port = service.ports.find((p) => (wanted?.name ? p.name === wanted.name : p.port === wanted?.number));
  const described = wanted?.name ?? String(wanted?.number ?? '');
  if (!port) return { problem: { reason: 'BackendPortNotFound', message: `service "${name}" has no port ${described}` } };
  if ((port.protocol ?? 'TCP') !== 'TCP')
    return { problem: { reason: 'UnsupportedProtocol', message: `service "${name}" port ${described} is ${port.protocol}: HTTP needs TCP` } };
  const key = backendKey(namespace, name, port.port);
  if (!backends.has(key)) {
    backends.set(key, { key, namespace, serviceName: name, servicePort: port, portName: port.name ?? '', pods: backendsOf(service, pods) });
  }
  return { key };
}

export interface IngressInputs {
  readonly className: string;
  /** The class's Ingresses, any order. */
  readonly ingresses: readonly KubeObject[];
  /** Services and pods of every namespace those Ingresses live in. */
  readonly services: readonly KubeObject[];
  readonly pods: readonly KubeObject[];
}

/** The model of one IngressClass's Ingresses: routes in priority order per Ingress, resolved backends, problems. */
export function planIngressGroup(inputs: IngressInputs): IngressGroup {
  const ordered = [...inputs.ingresses].sort((a, b) => {
    const x = a.metadata.creationTimestamp ?? '';
    const y = b.metadata.creationTimestamp ?? '';
    return x < y ? -1 : x > y ? 1 : `${a.metadata.namespace}/${a.metadata.name}` < `${b.metadata.namespace}/${b.metadata.name}` ? -1 : 1;
  });
  const servicesByNamespace = new Map<string, Map<string, ServiceView>>();
  for (const object of inputs.services) {
    try {
      const view = viewService(object);
      const map = servicesByNamespace.get(view.namespace) ?? new Map<string, ServiceView>();
      map.set(view.name, view);
      servicesByNamespace.set(view.namespace, map);
    } catch {
      // A Service the view cannot read is as good as missing.
    }
  }
  const podsByNamespace = new Map<string, KubeObject[]>();
  for (const pod of inputs.pods) {
    const ns = pod.metadata.namespace ?? 'default';
    podsByNamespace.set(ns, [...(podsByNamespace.get(ns) ?? []), pod]);
  }
  const backends = new Map<string, IngressBackend>();
  const models: IngressModel[] = ordered.map((object, order) => {
    const namespace = object.metadata.namespace ?? 'default';
    const key = `${namespace}/${object.metadata.name ?? ''}`;
    const parsed = ingressSpecSchema.safeParse(object.spec ?? {});
    const spec = parsed.success ? parsed.data : {};
    const services = servicesByNamespace.get(namespace) ?? new Map<string, ServiceView>();
    const pods = podsByNamespace.get(namespace) ?? [];
    const problems: IngressProblem[] = [];
    const resolve = (backend: BackendSpec, where: string): string | undefined => {
      const result = resolveBackend(backend, namespace, services, pods, backends);
      if (result.problem) problems.push({ reason: result.problem.reason, message: `${where}: ${result.problem.message}` });
      return result.key;
    };
    const ranked: RankedRoute[] = [];
    (spec.rules ?? []).forEach((rule, ruleIndex) => {
      (rule.http?.paths ?? []).forEach((path, pathIndex) => {
        const pathType = path.pathType ?? 'ImplementationSpecific';
        const written = path.path ?? '';
        const where = `${rule.host ?? '*'}${written || '/'}`;
        if (pathType !== 'ImplementationSpecific' && /[*?]/.test(written)) {
          problems.push({ reason: 'UnsupportedPath', message: `${where}: a ${pathType} path with * or ? cannot be matched literally by a load balancer rule` });
          return;
        }
        const backend = resolve(path.backend, where);
        ranked.push({
          ingressOrder: order,
          route: {
            ...(rule.host ? { host: rule.host } : {}),
            paths: pathPatterns(pathType, written || undefined),
            ...(backend ? { backend } : {}),
            source: { ingress: key, rule: ruleIndex, path: pathIndex, pathType, written },
          },
        });
      });
      if (rule.host && !rule.http) {
        // A host with no paths: Kubernetes sends all of it to the default backend.
        const fallback = spec.defaultBackend ? resolve(spec.defaultBackend, `${rule.host} (default backend)`) : undefined;
        ranked.push({
          ingressOrder: order,
          route: {
            host: rule.host,
            paths: ['/*'],
            ...(fallback ? { backend: fallback } : {}),
            source: { ingress: key, rule: ruleIndex, path: 0, pathType: 'Prefix', written: '/' },
          },
        });
      }
    });
    const defaultBackend = spec.defaultBackend ? (resolve(spec.defaultBackend, 'default backend') ?? null) : undefined;
    const annotations = object.metadata.annotations ?? {};
    const certificateArns = (annotations['alb.ingress.kubernetes.io/certificate-arn'] ?? '')
      .split(',')
      .map((arn) => arn.trim())
      .filter(Boolean);
    const scheme = annotations['alb.ingress.kubernetes.io/scheme'] === 'internal' ? 'internal' : 'internet-facing';
    return {
      key,
      object,
      routes: orderRoutes(ranked),
      ...(defaultBackend !== undefined ? { defaultBackend } : {}),
      tls: (spec.tls ?? []).map((t) => ({ hosts: t.hosts ?? [], ...(t.secretName ? { secretName: t.secretName } : {}) })),
      certificateArns,
      scheme,
      problems: dedupe(problems),
    };
  });
  return { className: inputs.className, ingresses: models, backends };
}

function dedupe(problems: readonly IngressProblem[]): IngressProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const id = `${p.reason}|${p.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/**
 * The routes of several Ingresses sharing one load balancer, in one priority order: the same
 * comparison, with each Ingress's age deciding ties.
 */
export function mergeRoutes(ingresses: readonly IngressModel[]): IngressRoute[] {
  return orderRoutes(ingresses.flatMap((ingress, order) => ingress.routes.map((route) => ({ route, ingressOrder: order }))));
}
