/**
 * The verbs of the Kubernetes resource API — get, list, watch, create, update, patch, delete,
 * deletecollection — and the status, scale, binding, eviction and log subresources. Reads go to
 * the object store; every write goes through the one admission path controllers use too
 * (`functions/domain/object-admission/`), with what only a request has — decoding, unknown
 * fields, managed fields, dry run, the admission plugins that depend on the user, retries of a
 * write without a resourceVersion — done here around it: decode → defaults, the kind's
 * preparation, validation → the user's admission plugins → NamespaceLifecycle → the kind's
 * strategy around the write → the store.
 */
import type { FieldValidation } from '../../schemas/index.ts';
import type { KubeObject } from '../../schemas/meta.ts';
import { apiVersionOf, type ResourceType, types } from '../../schemas/registry.ts';
import {
  BadRequestError,
  ConflictError,
  InvalidError,
  isApiError,
  MethodNotAllowedError,
  NotFoundError,
  toStatus,
  UnsupportedMediaTypeError,
} from '../core/errors.ts';
import { labelSelectorString } from '../core/label-selector.ts';
import { optionalQueryFlag, queryFlag } from '../core/query-flags.ts';
import type { ServiceAccountKeySource } from '../domain/authentication/service-account-tokens.ts';
import type { TokenAuthenticator } from '../domain/authentication/token-authenticators.ts';
import type { Authorizer } from '../domain/authorization/authorizer.ts';
import { exactFieldValue } from '../domain/authorization/request-attributes.ts';
import type { UserInfo } from '../domain/authorization/user-info.ts';
import type { NodeStatsSource } from '../domain/metrics/node-stats.ts';
import type { Admission, StrategyDeleteOptions } from '../domain/object-admission/admission.ts';
import type { PartialUpdateSubresource } from '../domain/object-admission/status-subresource.ts';
import { bindPod } from '../domain/pods/pod-binding.ts';
import type { PodLogSource } from '../domain/pods/pod-logs.ts';
import type { PodStreamLocator } from '../domain/pods/pod-streams.ts';
import { continueIsWithin, decodeContinue } from '../store/continue-token.ts';
import type { ObjectReader } from '../store/store.ts';
import { serveReview } from './access-reviews.ts';
import { type EvictionDeleteOptions, evictPod } from './admission/eviction.ts';
import { type AdmissionAttributes, type AdmissionPlugin, runAdmission } from './admission/request-admission.ts';
import { servedAs } from './custom-resource-versions.ts';
import type { ApiResponse, ReadRequest } from './http.ts';
import type { ListPage, ListsAhead } from './lists-ahead.ts';
import { applyPatch, type PatchType, parsePatchBody, patchTypeOf, recordUpdateManager, serverSideApply } from './patch/index.ts';
import { servePodStream } from './pod-streams.ts';
import { toTable, wantsTable } from './printers/index.ts';
import { evaluateJsonPath } from './printers/simple-json-path.ts';
import type { IncludeObject } from './printers/table.ts';
import { decodeObjectBody, decodeOptionalJson, mediaTypeOf } from './request-body.ts';
import { serveResourceMetrics } from './resource-metrics.ts';
import { jsonResponse, warningHeaders } from './responses.ts';
import type { ResourceRoute } from './routes.ts';
import { serveTokenRequest } from './token-requests.ts';
import { serveOtherVersion } from './version-conversion.ts';

export type { PodLogRequest, PodLogSource } from '../domain/pods/pod-logs.ts';

export interface VerbContext {
  readonly store: ObjectReader;
  /** The admission path every write goes through (the controllers' too). */
  readonly admission: Admission;
  readonly now: () => Date;
  readonly podLogs?: PodLogSource;
  /** Where exec, attach and port-forward upgrades go; absent on hosts that cannot hold them. */
  readonly podStreams?: PodStreamLocator;
  /** Where the resource metrics API reads the nodes' figures (metrics.k8s.io); absent: the group answers 503. */
  readonly nodeStats?: NodeStatsSource;
  /** Who the request runs as (after impersonation): admission plugins and the review APIs read it. */
  readonly user: UserInfo;
  readonly authorizer: Authorizer;
  /** The request pipeline's admission plugins that depend on the user, run right before every write (request-admission.ts). */
  readonly admissionPlugins: readonly AdmissionPlugin[];
  /** The API's token authenticators, for TokenReview. */
  readonly authenticate?: TokenAuthenticator;
  /** The ServiceAccount signing key, for TokenRequest. */
  readonly serviceAccountKeys?: ServiceAccountKeySource;
  /** Pages of paged lists answered before their request comes (docs/adr/197); absent: each page when asked. */
  readonly listsAhead?: ListsAhead;
}

/** Runs the admission plugins for one write; returns the object to write. */
async function admitRequest(
  context: VerbContext,
  attributes: Omit<AdmissionAttributes, 'user' | 'warn'>,
  warnings?: string[],
): Promise<KubeObject | undefined> {
  if (context.admissionPlugins.length === 0) return attributes.object;
  return runAdmission(
    context.admissionPlugins,
    { ...attributes, user: context.user, ...(warnings ? { warn: (warning: string) => warnings.push(warning) } : {}) },
    context.admission.store,
  );
}

/** Warnings once each, in the order given (a write retried from a fresh read asks the webhooks again). */
function distinct(warnings: readonly string[]): string[] {
  return [...new Set(warnings)];
}

/** Writes that race with other writers are retried from a fresh read this many times. */
const MAX_WRITE_ATTEMPTS = 8;

export async function serveResource(route: ResourceRoute, request: ReadRequest, verbContext: VerbContext): Promise<ApiResponse> {
  const method = request.method.toUpperCase();
  const { subresource } = route;
  if (route.servedVersion !== undefined) {
    return serveOtherVersion({ ...route, servedVersion: route.servedVersion }, request, (stored, forwarded) => serveResource(stored, forwarded, verbContext));
  }
  if (route.type.group === 'metrics.k8s.io') return serveResourceMetrics(route, request, verbContext);
  if (!route.type.persisted) return serveReview(route, request, verbContext);
  // Custom resources of any served version are read as the version asked for (conversion None).
  const context = route.type.custom ? { ...verbContext, store: servedAs(route.type, verbContext.store) } : verbContext;
  if (route.type.custom?.terminating && method === 'POST' && route.name === undefined) {
    throw new MethodNotAllowedError('create not allowed while custom resource definition is terminating');
  }
  if (subresource === 'token') {
    return serveTokenRequest(route, request, {
      store: context.store,
      now: context.now,
      ...(context.serviceAccountKeys ? { keys: context.serviceAccountKeys } : {}),
      admit: async (tokenRequest) => {
        await admitRequest(context, {
          operation: 'CREATE',
          type: route.type,
          subresource: 'token',
          namespace: route.namespace!,
          name: route.name!,
          object: tokenRequest,
          dryRun: isDryRun(request.query),
        });
      },
    });
  }
  if (subresource === 'log') return serveLog(route, request, context);
  if (subresource === 'exec' || subresource === 'attach' || subresource === 'portforward') return servePodStream(route, request, context);
  if (subresource === 'binding') return expect(method, 'POST', () => bind(route, request, context));
  if (subresource === 'eviction') return expect(method, 'POST', () => evict(route, request, context));
  if (subresource === 'scale') return serveScale(route, request, context, method);
  if (subresource === 'finalize') return expect(method, 'PUT', () => finalizeNamespace(route, request, context));
  if (subresource === 'ephemeralcontainers' && method !== 'GET' && method !== 'PUT' && method !== 'PATCH') throw new MethodNotAllowedError();
  if (route.watchPath) return expect(method, 'GET', async () => watch(route, request, context));
  if (route.name === undefined) {
    switch (method) {
      case 'GET':
        return queryFlag(request.query, 'watch') ? watch(route, request, context) : list(route, request, context);
      case 'POST':
        return create(route, request, context);
      case 'DELETE':
        return deleteCollection(route, request, context);
      default:
        throw new MethodNotAllowedError();
    }
  }
  switch (method) {
    case 'GET':
      return get(route, request, context);
    case 'PUT':
      return update(route, request, context);
    case 'PATCH':
      return patch(route, request, context);
    case 'DELETE':
      if (subresource) throw new MethodNotAllowedError();
      return remove(route, request, context);
    default:
      throw new MethodNotAllowedError();
  }
}

function expect(method: string, wanted: string, run: () => Promise<ApiResponse>): Promise<ApiResponse> {
  if (method !== wanted) throw new MethodNotAllowedError();
  return run();
}

function ref(type: ResourceType, name: string) {
  return { resource: type.plural, group: type.group, name, kind: type.kind };
}

function fieldValidationOf(query: URLSearchParams): FieldValidation {
  const value = query.get('fieldValidation');
  if (value === null || value === '') return 'Warn';
  if (value === 'Strict' || value === 'Warn' || value === 'Ignore') return value;
  throw new BadRequestError(`fieldValidation must be one of Ignore, Warn, Strict, got ${JSON.stringify(value)}`);
}

function fieldManagerOf(request: ReadRequest): string {
  const explicit = request.query.get('fieldManager');
  if (explicit) {
    if (explicit.length > 128) throw new BadRequestError('fieldManager: Too long: may not be longer than 128');
    return explicit;
  }
  // kube-apiserver's default: the user agent up to the first '/'.
  return (request.headers['user-agent'] ?? 'unknown').split('/')[0] || 'unknown';
}

function isDryRun(query: URLSearchParams): boolean {
  return query.getAll('dryRun').includes('All');
}

/** TableOptions' `includeObject`: what each Table row carries besides its cells (PartialObjectMetadata by default). */
function includeObjectOf(query: URLSearchParams): IncludeObject {
  const value = query.get('includeObject');
  if (value === null || value === '') return 'Metadata';
  if (value === 'None' || value === 'Metadata' || value === 'Object') return value;
  throw new BadRequestError(`includeObject: Unsupported value: ${JSON.stringify(value.slice(0, 64))}: supported values: "", "Metadata", "None", "Object"`);
}

/** The object as a response body: JSON, or a one-row Table when the client asks for one. */
function render(
  type: ResourceType,
  object: KubeObject,
  request: ReadRequest,
  context: VerbContext,
  status = 200,
  headers: Record<string, string> = {},
): ApiResponse {
  if (wantsTable(request.headers.accept)) {
    return jsonResponse(status, toTable(type, [object], { now: context.now(), includeObject: includeObjectOf(request.query) }), headers);
  }
  return jsonResponse(status, object, headers);
}

async function get(route: ResourceRoute, request: ReadRequest, context: VerbContext): Promise<ApiResponse> {
  const object = await context.store.get(route.type, route.namespace, route.name!);
  if (route.subresource && partialUpdateOf(route) === undefined) throw new MethodNotAllowedError();
  return render(route.type, object, request, context);
}

function listOptions(route: ResourceRoute, query: URLSearchParams) {
  const limit = query.get('limit');
  if (limit !== null && limit !== '' && !/^\d+$/.test(limit)) {
    throw new BadRequestError(`limit must be a non-negative integer, got ${JSON.stringify(limit)}`);
  }
  const parsedLimit = limit ? Number(limit) : undefined;
  resourceVersionOf(query);
  const token = query.get('continue');
  // A token of another namespace's list would start the query outside this namespace.
  if (token && route.type.namespaced && !continueIsWithin(decodeContinue(token), route.namespace)) {
    throw new BadRequestError('continue key is not valid: it was returned by a list of another namespace');
  }
  return {
    ...(route.namespace !== undefined ? { namespace: route.namespace } : {}),
    ...(query.get('labelSelector') ? { labelSelector: query.get('labelSelector')! } : {}),
    ...(query.get('fieldSelector') ? { fieldSelector: query.get('fieldSelector')! } : {}),
    ...(parsedLimit ? { limit: parsedLimit } : {}),
    ...(query.get('continue') ? { continue: query.get('continue')! } : {}),
  };
}

/** `resourceVersion` of a list or watch: absent, '' or a revision (decimal digits); anything else is a 400. */
function resourceVersionOf(query: URLSearchParams): string | undefined {
  const value = query.get('resourceVersion');
  if (value === null) return undefined;
  if (value !== '' && !/^\d{1,20}$/.test(value)) {
    throw new BadRequestError(`resourceVersion: Invalid value: ${JSON.stringify(value.slice(0, 64))}: must be a non-negative integer`);
  }
  return value;
}

/** kube-apiserver's `--min-request-timeout`: watches without a timeout end after 1–2 times this. */
export const MIN_REQUEST_TIMEOUT_SECONDS = 1800;

/**
 * How long a watch runs: the client's `timeoutSeconds`, at most twice the minimum request
 * timeout (longer asks are clamped, as no timer runs for days); without one, a random time
 * between one and two minimum request timeouts, as kube-apiserver spreads its watch restarts.
 */
export function watchTimeoutSeconds(query: URLSearchParams, random: () => number = Math.random): number {
  const value = query.get('timeoutSeconds');
  const ceiling = 2 * MIN_REQUEST_TIMEOUT_SECONDS;
  if (value !== null && value !== '') {
    if (!/^\d+$/.test(value)) throw new BadRequestError(`timeoutSeconds must be a non-negative integer, got ${JSON.stringify(value.slice(0, 64))}`);
    const seconds = Number(value);
    if (seconds > 0) return Math.min(seconds, ceiling);
  }
  return Math.floor(MIN_REQUEST_TIMEOUT_SECONDS * (1 + random()));
}

async function list(route: ResourceRoute, request: ReadRequest, context: VerbContext): Promise<ApiResponse> {
  const ahead = context.listsAhead;
  if (!ahead) return (await listPage(route, request, context)).response;
  const user = context.user.username;
  const prepared = ahead.take(request, user);
  const page = (prepared && (await prepared.catch(() => undefined))) || (await listPage(route, request, context));
  ahead.prepareNext(request, user, page, (next) => listPage(route, next, context));
  return page.response;
}

async function listPage(route: ResourceRoute, request: ReadRequest, context: VerbContext): Promise<ListPage> {
  const result = await context.store.list(route.type, listOptions(route, request.query));
  const metadata = {
    resourceVersion: result.resourceVersion,
    ...(result.continue ? { continue: result.continue } : {}),
    ...(result.remainingItemCount !== undefined ? { remainingItemCount: result.remainingItemCount } : {}),
  };
  const body = wantsTable(request.headers.accept)
    ? toTable(route.type, result.items, { now: context.now(), includeObject: includeObjectOf(request.query), ...metadata })
    : { kind: route.type.listKind, apiVersion: apiVersionOf(route.type), metadata, items: result.items };
  return { response: jsonResponse(200, body), ...(result.continue ? { continue: result.continue } : {}) };
}

/**
 * The field selector of a watch whose path names its object: `metadata.name=<name>`, or the
 * client's own selector when it pins the same name (kube-apiserver's ListResource refuses any
 * other with this 400).
 */
function namedWatchSelector(name: string, fieldSelector: string | undefined): string {
  if (fieldSelector === undefined || fieldSelector.trim() === '') return `metadata.name=${name.replace(/([\\,=])/g, '\\$1')}`;
  if (exactFieldValue(fieldSelector, 'metadata.name') !== name) throw new BadRequestError("fieldSelector metadata.name doesn't match requested name");
  return fieldSelector;
}

function watch(route: ResourceRoute, request: ReadRequest, context: VerbContext): ApiResponse {
  const { limit: _limit, continue: _continue, ...options } = listOptions(route, request.query);
  const filters = route.name === undefined ? options : { ...options, fieldSelector: namedWatchSelector(route.name, options.fieldSelector) };
  const signal = AbortSignal.any([request.signal, AbortSignal.timeout(watchTimeoutSeconds(request.query) * 1000)]);
  const asTable = wantsTable(request.headers.accept);
  const includeObject = includeObjectOf(request.query);
  const resourceVersion = resourceVersionOf(request.query);
  const events = context.store.watch(route.type, {
    ...filters,
    ...(resourceVersion !== undefined ? { resourceVersion } : {}),
    allowBookmarks: queryFlag(request.query, 'allowWatchBookmarks'),
    signal,
  });
  async function* lines(): AsyncIterable<string> {
    try {
      for await (const event of events) {
        const object =
          asTable && event.type !== 'BOOKMARK'
            ? toTable(route.type, [event.object], { now: context.now(), includeColumnDefinitions: false, includeObject })
            : event.object;
        yield `${JSON.stringify({ type: event.type, object })}\n`;
      }
    } catch (error) {
      if (signal.aborted) return;
      yield `${JSON.stringify({ type: 'ERROR', object: toStatus(error) })}\n`;
    }
  }
  return { status: 200, headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, stream: lines() };
}

function withRequestNamespace(route: ResourceRoute, body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestError('the request body must be a JSON object');
  }
  const object = body as { metadata?: { namespace?: unknown } };
  const metadata = (object.metadata ?? {}) as Record<string, unknown>;
  if (!route.type.namespaced) return { ...object, metadata };
  if (metadata.namespace !== undefined && metadata.namespace !== '' && metadata.namespace !== route.namespace) {
    throw new BadRequestError('the namespace of the provided object does not match the namespace sent on the request');
  }
  return { ...object, metadata: { ...metadata, namespace: route.namespace } };
}

async function createObject(
  route: ResourceRoute,
  request: ReadRequest,
  context: VerbContext,
  body: Record<string, unknown>,
  /** Server-side apply: builds the object (and its managedFields) from the applied config before defaulting. */
  applied?: (body: KubeObject) => KubeObject,
): Promise<ApiResponse> {
  const source = applied ? applied(body as unknown as KubeObject) : body;
  const { object: admitted, warnings } = context.admission.admitCreate(route.type, source, { fieldValidation: fieldValidationOf(request.query) });
  const shaped = applied ? admitted : recordUpdateManager(route.type, undefined, admitted, { fieldManager: fieldManagerOf(request), now: context.now() });
  const dryRun = isDryRun(request.query);
  const admissionWarnings: string[] = [];
  const plugged =
    (await admitRequest(
      context,
      {
        operation: 'CREATE',
        type: route.type,
        ...(route.namespace !== undefined ? { namespace: route.namespace } : {}),
        name: shaped.metadata.name ?? '',
        object: shaped,
        dryRun,
      },
      admissionWarnings,
    )) ?? shaped;
  const created = await context.admission.writeCreate(route.type, plugged, { dryRun });
  return render(route.type, created, request, context, 201, warningHeaders(distinct([...warnings, ...admissionWarnings])));
}

async function create(route: ResourceRoute, request: ReadRequest, context: VerbContext): Promise<ApiResponse> {
  if (route.subresource) throw new MethodNotAllowedError();
  const body = withRequestNamespace(route, decodeObjectBody(request.body, request.headers['content-type']));
  return createObject(route, request, context, body);
}

/**
 * Read, compute the new object, write conditionally; when another writer got there first
 * and the client set no resourceVersion of its own, start again from a fresh read.
 *
 * Given `rememberedVersion` (a status update's resourceVersion, the client's precondition), the
 * first attempt starts from the object as the store remembers it at exactly that revision, if it
 * does, instead of a read: the write is conditional on that revision, so if the object moved on
 * since, it fails and everything is done again from a read — which answers as before (a 409 for
 * the stale resourceVersion). Anything else that goes wrong on that attempt is also done again
 * from a read, so every answer but a successful write comes from the current object. A node's
 * pod status writes, one per pod start, skip a read each (docs/adr/191).
 */
async function writeWithRetry(
  route: ResourceRoute,
  context: VerbContext,
  compute: (current: KubeObject) => { object: KubeObject; clientResourceVersion?: string },
  dryRun = false,
  rememberedVersion?: string,
  /** Where the admission plugins' warnings go. */
  admissionWarnings?: string[],
): Promise<KubeObject> {
  let remembered =
    rememberedVersion !== undefined && !dryRun ? context.store.rememberedAt?.(route.type, route.namespace, route.name!, rememberedVersion) : undefined;
  for (let attempt = 1; ; attempt++) {
    const fromMemory = remembered !== undefined;
    const current = remembered ?? (await context.store.get(route.type, route.namespace, route.name!));
    remembered = undefined;
    try {
      const { object, clientResourceVersion } = compute(current);
      checkPrecondition(route, clientResourceVersion, current);
      const plugged =
        (await admitRequest(
          context,
          {
            operation: 'UPDATE',
            type: route.type,
            ...(route.subresource ? { subresource: route.subresource } : {}),
            ...(route.namespace !== undefined ? { namespace: route.namespace } : {}),
            name: route.name!,
            object,
            oldObject: current,
            dryRun,
          },
          admissionWarnings,
        )) ?? object;
      try {
        return await context.admission.writeUpdate(route.type, plugged, current, { dryRun });
      } catch (error) {
        if (!fromMemory && (!(error instanceof ConflictError) || clientResourceVersion || attempt >= MAX_WRITE_ATTEMPTS)) throw error;
      }
    } catch (error) {
      // Started from memory: whatever it was, the answer comes from a read (the loop's next turn).
      if (!fromMemory) throw error;
    }
    if (fromMemory) attempt--;
  }
}

/**
 * The resourceVersion an update or patch is conditional on: the one the client sent, or none
 * when it sent none, '' or '0' (kube-apiserver parses '0' as no version: an unconditional update,
 * which `kubectl replace` of a Node relies on).
 */
function preconditionOf(resourceVersion: unknown): string | undefined {
  return typeof resourceVersion === 'string' && resourceVersion !== '' && resourceVersion !== '0' ? resourceVersion : undefined;
}

/**
 * A stale resourceVersion is a Conflict before anything validates the object, as kube-apiserver's
 * store compares versions before its strategy's checks: a stale and invalid write is a 409.
 */
function checkPrecondition(route: ResourceRoute, clientResourceVersion: string | undefined, current: KubeObject): void {
  if (clientResourceVersion && clientResourceVersion !== current.metadata.resourceVersion) {
    throw new ConflictError(ref(route.type, route.name!));
  }
}

/**
 * The subresources whose PUT and PATCH write one part of the object: `status`, and a pod's
 * `ephemeralcontainers` (`kubectl debug`), whose GET answers the whole pod.
 */
function partialUpdateOf(route: ResourceRoute): PartialUpdateSubresource | undefined {
  return route.subresource === 'status' || route.subresource === 'ephemeralcontainers' ? route.subresource : undefined;
}

function checkName(route: ResourceRoute, body: Record<string, unknown>): void {
  const name = (body.metadata as { name?: unknown } | undefined)?.name;
  if (name !== undefined && name !== route.name) {
    throw new BadRequestError(`the name of the object (${String(name)}) does not match the name on the URL (${route.name})`);
  }
}

async function update(route: ResourceRoute, request: ReadRequest, context: VerbContext): Promise<ApiResponse> {
  const body = withRequestNamespace(route, decodeObjectBody(request.body, request.headers['content-type']));
  checkName(route, body);
  const withName = { ...body, metadata: { ...(body.metadata as object), name: route.name } };
  const fieldValidation = fieldValidationOf(request.query);
  const fieldManager = fieldManagerOf(request);
  const clientResourceVersion = preconditionOf((withName.metadata as { resourceVersion?: unknown }).resourceVersion);
  let warnings: string[] = [];
  const admissionWarnings: string[] = [];
  const subresource = partialUpdateOf(route);
  const written = await writeWithRetry(
    route,
    context,
    (current) => {
      checkPrecondition(route, clientResourceVersion, current);
      const admitted = context.admission.admitUpdate(route.type, withName as unknown as KubeObject, current, {
        fieldValidation,
        ...(subresource ? { subresource } : {}),
      });
      warnings = admitted.warnings;
      const object = recordUpdateManager(route.type, current, admitted.object, { fieldManager, now: context.now(), ...(subresource ? { subresource } : {}) });
      return { object, ...(clientResourceVersion ? { clientResourceVersion } : {}) };
    },
    isDryRun(request.query),
    // A status write (a node's, for its pods) and a Lease renewal (a node's, every 20 s: docs/adr/196)
    // may start from the object remembered at the version they name.
    subresource === 'status' || route.type.id === types.leases.id ? clientResourceVersion : undefined,
    admissionWarnings,
  );
  return render(route.type, written, request, context, 200, warningHeaders(distinct([...warnings, ...admissionWarnings])));
}

async function patch(route: ResourceRoute, request: ReadRequest, context: VerbContext): Promise<ApiResponse> {
  const patchType = patchTypeOf(request.headers['content-type']);
  if (!patchType) {
    throw new BadRequestError(
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got ${mediaTypeOf(request.headers['content-type'])})`,
    );
  }
  if (patchType === 'strategic' && route.type.custom) {
    // Custom resources have no patch strategies to merge by: kube-apiserver refuses the type.
    throw new UnsupportedMediaTypeError(
      'application/strategic-merge-patch+json',
      'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
    );
  }
  const patchBody = parsePatchBody(patchType, request.body);
  const fieldValidation = fieldValidationOf(request.query);
  const fieldManager = fieldManagerOf(request);
  const subresource = partialUpdateOf(route);
  if (patchType === 'apply') {
    if (!request.query.get('fieldManager'))
      throw new BadRequestError('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    try {
      await context.store.get(route.type, route.namespace, route.name!);
    } catch (error) {
      if (!isApiError(error, 404) || subresource) throw error;
      const applied = withRequestNamespace(route, patchBody);
      checkName(route, applied);
      return createObject(route, request, context, { ...applied, metadata: { ...(applied.metadata as object), name: route.name } }, (config) =>
        serverSideApply(route.type, undefined, config, { fieldManager, force: queryFlag(request.query, 'force'), now: context.now() }),
      );
    }
  }
  let warnings: string[] = [];
  const admissionWarnings: string[] = [];
  const written = await writeWithRetry(
    route,
    context,
    (current) => {
      const patched = applyPatchOfType(route, patchType, current, patchBody, fieldManager, queryFlag(request.query, 'force'), context.now());
      if (patched.metadata.name !== current.metadata.name) throw new BadRequestError('metadata.name cannot be changed by a patch');
      const clientResourceVersion =
        patched.metadata.resourceVersion !== current.metadata.resourceVersion ? preconditionOf(patched.metadata.resourceVersion) : undefined;
      checkPrecondition(route, clientResourceVersion, current);
      const admitted = context.admission.admitUpdate(route.type, patched, current, { fieldValidation, ...(subresource ? { subresource } : {}) });
      warnings = admitted.warnings;
      const object =
        patchType === 'apply'
          ? admitted.object
          : recordUpdateManager(route.type, current, admitted.object, { fieldManager, now: context.now(), ...(subresource ? { subresource } : {}) });
      return { object, ...(clientResourceVersion ? { clientResourceVersion } : {}) };
    },
    isDryRun(request.query),
    undefined,
    admissionWarnings,
  );
  return render(route.type, written, request, context, 200, warningHeaders(distinct([...warnings, ...admissionWarnings])));
}

function applyPatchOfType(
  route: ResourceRoute,
  patchType: PatchType,
  current: KubeObject,
  body: unknown,
  fieldManager: string,
  force: boolean,
  now: Date,
): KubeObject {
  if (patchType === 'apply') {
    const applied = withRequestNamespace(route, body);
    return serverSideApply(route.type, current, { ...applied, metadata: { ...(applied.metadata as object), name: route.name } } as unknown as KubeObject, {
      fieldManager,
      force,
      now,
    });
  }
  return applyPatch(route.type, current, body, patchType);
}

interface DeleteRequest {
  readonly gracePeriodSeconds?: number;
  readonly propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
  readonly dryRun: boolean;
}

function deleteRequestOf(request: ReadRequest): DeleteRequest {
  const body = (decodeOptionalJson(request.body, request.headers['content-type']) ?? {}) as Record<string, unknown>;
  const query = request.query;
  const grace = body.gracePeriodSeconds ?? (query.get('gracePeriodSeconds') !== null ? Number(query.get('gracePeriodSeconds')) : undefined);
  if (grace !== undefined && (typeof grace !== 'number' || !Number.isInteger(grace))) {
    throw new BadRequestError('gracePeriodSeconds must be an integer');
  }
  let policy = (body.propagationPolicy ?? query.get('propagationPolicy') ?? undefined) as string | undefined;
  const orphan = body.orphanDependents ?? optionalQueryFlag(query, 'orphanDependents');
  if (policy === undefined && orphan === true) policy = 'Orphan';
  if (policy !== undefined && policy !== 'Orphan' && policy !== 'Background' && policy !== 'Foreground') {
    throw new BadRequestError(
      `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan", "nil"`,
    );
  }
  const dryRun = [...((body.dryRun as string[] | undefined) ?? []), ...query.getAll('dryRun')].includes('All');
  return {
    ...(grace !== undefined ? { gracePeriodSeconds: Math.max(0, grace as number) } : {}),
    ...(policy ? { propagationPolicy: policy as DeleteRequest['propagationPolicy'] } : {}),
    ...(body.preconditions ? { preconditions: body.preconditions as DeleteRequest['preconditions'] } : {}),
    dryRun,
  };
}

async function deleteOne(
  type: ResourceType,
  namespace: string | undefined,
  name: string,
  options: DeleteRequest,
  context: VerbContext,
  admissionWarnings?: string[],
): Promise<{ object: KubeObject; removed: boolean }> {
  const current = await context.store.get(type, namespace, name);
  context.admission.admitDelete(type, name);
  await admitRequest(
    context,
    {
      operation: 'DELETE',
      type,
      ...(namespace !== undefined ? { namespace } : {}),
      name,
      oldObject: current,
      dryRun: options.dryRun,
    },
    admissionWarnings,
  );
  if (options.dryRun) return { object: current, removed: false };
  const finalizers = options.propagationPolicy === 'Foreground' ? ['foregroundDeletion'] : options.propagationPolicy === 'Orphan' ? ['orphan'] : [];
  const asked: StrategyDeleteOptions = {
    ...(options.preconditions ? { preconditions: options.preconditions } : {}),
    ...(finalizers.length > 0 ? { addFinalizers: finalizers } : {}),
    ...(options.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: options.gracePeriodSeconds } : {}),
  };
  return context.admission.delete(type, current, asked);
}

async function remove(route: ResourceRoute, request: ReadRequest, context: VerbContext): Promise<ApiResponse> {
  const options = deleteRequestOf(request);
  const admissionWarnings: string[] = [];
  const result = await deleteOne(route.type, route.namespace, route.name!, options, context, admissionWarnings);
  return jsonResponse(200, result.object, warningHeaders(distinct(admissionWarnings)));
}

async function deleteCollection(route: ResourceRoute, request: ReadRequest, context: VerbContext): Promise<ApiResponse> {
  if (!route.type.verbs.includes('deletecollection')) throw new MethodNotAllowedError();
  const options = deleteRequestOf(request);
  const { limit: _limit, continue: _continue, ...filters } = listOptions(route, request.query);
  const { items, resourceVersion } = await context.store.list(route.type, filters);
  const deleted: KubeObject[] = [];
  for (const item of items) {
    try {
      deleted.push((await deleteOne(route.type, item.metadata.namespace, item.metadata.name!, options, context)).object);
    } catch (error) {
      if (!isApiError(error, 404)) throw error;
    }
  }
  return jsonResponse(200, { kind: route.type.listKind, apiVersion: apiVersionOf(route.type), metadata: { resourceVersion }, items: deleted });
}

/**
 * `PUT namespaces/{name}/finalize`, as kube-apiserver's finalize strategy: only `spec.finalizers`
 * change. A terminating namespace left with none is removed at once, whatever it still holds:
 * what a user does to a namespace stuck in Terminating.
 */
async function finalizeNamespace(route: ResourceRoute, request: ReadRequest, context: VerbContext): Promise<ApiResponse> {
  const body = decodeObjectBody(request.body, request.headers['content-type']) as Record<string, unknown>;
  checkName(route, body);
  const finalizers = (body.spec as { finalizers?: unknown } | undefined)?.finalizers ?? [];
  const clientResourceVersion = preconditionOf((body.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion);
  const dryRun = isDryRun(request.query);
  const written = await writeWithRetry(
    route,
    context,
    (current) => {
      checkPrecondition(route, clientResourceVersion, current);
      const finalized = { ...current, spec: { ...(current.spec as object), finalizers } } as KubeObject;
      const { object } = context.admission.admitUpdate(route.type, finalized, current);
      return { object, ...(clientResourceVersion ? { clientResourceVersion } : {}) };
    },
    dryRun,
  );
  const left = (written.spec as { finalizers?: readonly string[] } | undefined)?.finalizers ?? [];
  if (!dryRun && written.metadata.deletionTimestamp && left.length === 0) {
    await context.admission.delete(route.type, written, { finalized: true }).catch((error: unknown) => {
      if (!isApiError(error, 404)) throw error;
    });
  }
  return render(route.type, written, request, context, 200);
}

// --- scale -------------------------------------------------------------------------------

/** A custom resource's scale, read at the paths its CRD names (`.spec.replicas`, `.status.replicas`, `.status.selector`). */
function toCustomScale(type: ResourceType, object: KubeObject): KubeObject {
  const paths = type.custom?.scale;
  const first = (path: string | undefined): unknown => (path ? evaluateJsonPath(object, path)[0] : undefined);
  const specReplicas = first(paths?.specReplicasPath);
  const statusReplicas = first(paths?.statusReplicasPath);
  const selector = first(paths?.labelSelectorPath);
  const { name, namespace, uid, resourceVersion, creationTimestamp } = object.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name, namespace, uid, resourceVersion, creationTimestamp },
    spec: { replicas: typeof specReplicas === 'number' ? specReplicas : 0 },
    status: { replicas: typeof statusReplicas === 'number' ? statusReplicas : 0, ...(typeof selector === 'string' && selector ? { selector } : {}) },
  };
}

/** `object` with `value` at a simple dotted path (`.spec.replicas`), parents made as needed. */
function withValueAt(object: KubeObject, path: string, value: unknown): KubeObject {
  const names = path.split('.').filter(Boolean);
  const set = (target: unknown, at: number): unknown => {
    const base = typeof target === 'object' && target !== null && !Array.isArray(target) ? (target as Record<string, unknown>) : {};
    const name = names[at]!;
    return { ...base, [name]: at === names.length - 1 ? value : set(base[name], at + 1) };
  };
  return set(object, 0) as KubeObject;
}

function toScale(object: KubeObject, type?: ResourceType): KubeObject {
  if (type?.custom) return toCustomScale(type, object);
  const spec = (object.spec ?? {}) as { replicas?: number; selector?: Parameters<typeof labelSelectorString>[0] };
  // A ReplicationController's selector is a plain label map.
  const selector = object.kind === 'ReplicationController' && spec.selector ? { matchLabels: spec.selector as Record<string, string> } : spec.selector;
  const status = (object.status ?? {}) as { replicas?: number };
  const { name, namespace, uid, resourceVersion, creationTimestamp } = object.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name, namespace, uid, resourceVersion, creationTimestamp },
    spec: { replicas: spec.replicas ?? 0 },
    status: { replicas: status.replicas ?? 0, selector: selector ? labelSelectorString(selector) : '' },
  };
}

async function serveScale(route: ResourceRoute, request: ReadRequest, context: VerbContext, method: string): Promise<ApiResponse> {
  if (method === 'GET') {
    return jsonResponse(200, toScale(await context.store.get(route.type, route.namespace, route.name!), route.type));
  }
  if (method !== 'PUT' && method !== 'PATCH') throw new MethodNotAllowedError();
  const written = await writeWithRetry(
    route,
    context,
    (current) => {
      const scale = toScale(current, route.type);
      let desired: unknown;
      let clientResourceVersion: string | undefined;
      if (method === 'PUT') {
        desired = decodeObjectBody(request.body, request.headers['content-type']);
        clientResourceVersion = preconditionOf((desired as { metadata?: { resourceVersion?: unknown } }).metadata?.resourceVersion);
      } else {
        const patchType = patchTypeOf(request.headers['content-type']);
        if (!patchType || patchType === 'apply') throw new BadRequestError('unsupported patch type for the scale subresource');
        desired = applyPatch(route.type, scale, parsePatchBody(patchType, request.body), patchType);
        const patchedVersion = (desired as KubeObject).metadata?.resourceVersion;
        clientResourceVersion = patchedVersion !== scale.metadata.resourceVersion ? preconditionOf(patchedVersion) : undefined;
      }
      checkPrecondition(route, clientResourceVersion, current);
      const replicas = (desired as { spec?: { replicas?: unknown } }).spec?.replicas;
      if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
        throw new BadRequestError(
          `Scale.autoscaling "${route.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
        );
      }
      const specReplicasPath = route.type.custom?.scale?.specReplicasPath;
      const next = specReplicasPath ? withValueAt(current, specReplicasPath, replicas) : { ...current, spec: { ...(current.spec as object), replicas } };
      const admitted = context.admission.admitUpdate(route.type, next, current, { fieldValidation: 'Ignore' }).object;
      return { object: admitted, ...(clientResourceVersion ? { clientResourceVersion } : {}) };
    },
    isDryRun(request.query),
  );
  return jsonResponse(200, toScale(written, route.type));
}

// --- pods: binding, eviction, log ---------------------------------------------------------------

async function bind(route: ResourceRoute, request: ReadRequest, context: VerbContext): Promise<ApiResponse> {
  const binding = decodeObjectBody(request.body, request.headers['content-type']) as { target?: { name?: string } };
  const nodeName = binding.target?.name;
  if (!nodeName) {
    throw new BadRequestError('Binding.target.name is required');
  }
  // As kube-apiserver's binding storage: the node name and the PodScheduled condition, no pod validation.
  await writeWithRetry(route, context, (current) => ({ object: bindPod(current, nodeName, context.now()) }), isDryRun(request.query));
  return jsonResponse(201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}

async function evict(route: ResourceRoute, request: ReadRequest, context: VerbContext): Promise<ApiResponse> {
  const eviction = decodeOptionalJson(request.body, request.headers['content-type']) as KubeObject | undefined;
  // kubectl drain --dry-run=server asks in the Eviction's deleteOptions; a client may ask on the URL.
  const deleteOptions = (eviction?.deleteOptions ?? {}) as {
    dryRun?: unknown;
    gracePeriodSeconds?: unknown;
    preconditions?: EvictionDeleteOptions['preconditions'];
  };
  const dryRun = isDryRun(request.query) || (Array.isArray(deleteOptions.dryRun) && deleteOptions.dryRun.includes('All'));
  await admitRequest(context, {
    operation: 'CREATE',
    type: route.type,
    subresource: 'eviction',
    namespace: route.namespace!,
    name: route.name!,
    ...(eviction ? { object: eviction } : {}),
    dryRun,
  });
  await evictPod(context, route.namespace!, route.name!, {
    dryRun,
    ...(typeof deleteOptions.gracePeriodSeconds === 'number' ? { gracePeriodSeconds: deleteOptions.gracePeriodSeconds } : {}),
    ...(deleteOptions.preconditions ? { preconditions: deleteOptions.preconditions } : {}),
  });
  return jsonResponse(201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}

/** PodLogOptions as kube-apiserver validates them: whole numbers, tailLines ≥ 0, the others > 0, one of the two `since`. */
function logOptions(query: URLSearchParams, podName: string): { tailLines?: number; sinceSeconds?: number; sinceTimeMs?: number; limitBytes?: number } {
  const causes: { reason: string; message: string; field: string }[] = [];
  const integer = (name: string, minimum: number): number | undefined => {
    const text = query.get(name);
    if (text === null || text === '') return undefined;
    // Not a number at all fails the query's decoding (400), before validation (422).
    if (!/^-?\d+$/.test(text)) throw new BadRequestError(`${name} must be an integer, got ${JSON.stringify(text.slice(0, 64))}`);
    if (Number(text) < minimum) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${Number(text)}: must be ${minimum === 0 ? 'greater than or equal to 0' : 'greater than 0'}`,
        field: name,
      });
      return undefined;
    }
    return Number(text);
  };
  const tailLines = integer('tailLines', 0);
  const sinceSeconds = integer('sinceSeconds', 1);
  const limitBytes = integer('limitBytes', 1);
  const sinceTime = query.get('sinceTime');
  let sinceTimeMs: number | undefined;
  if (sinceTime !== null) {
    sinceTimeMs = /^\d{4}-\d{2}-\d{2}T/.test(sinceTime) ? Date.parse(sinceTime) : Number.NaN;
    if (Number.isNaN(sinceTimeMs)) {
      causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(sinceTime)}: must be an RFC 3339 time`, field: 'sinceTime' });
      sinceTimeMs = undefined;
    }
  }
  if (sinceSeconds !== undefined && sinceTimeMs !== undefined) {
    causes.push({ reason: 'FieldValueForbidden', message: 'Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified', field: 'sinceSeconds' });
  }
  if (causes.length > 0) {
    throw new InvalidError({ kind: 'PodLogOptions', group: '', name: podName }, causes);
  }
  return {
    ...(tailLines !== undefined ? { tailLines } : {}),
    ...(sinceSeconds !== undefined ? { sinceSeconds } : {}),
    ...(sinceTimeMs !== undefined ? { sinceTimeMs } : {}),
    ...(limitBytes !== undefined ? { limitBytes } : {}),
  };
}

async function serveLog(route: ResourceRoute, request: ReadRequest, context: VerbContext): Promise<ApiResponse> {
  if (request.method.toUpperCase() !== 'GET') throw new MethodNotAllowedError();
  // kube-apiserver checks the options before it reads the pod.
  const { tailLines, sinceSeconds, sinceTimeMs, limitBytes } = logOptions(request.query, route.name!);
  const pod = await context.store.get(types.pods, route.namespace, route.name!);
  const spec = (pod.spec ?? {}) as {
    nodeName?: string;
    containers?: { name: string }[];
    initContainers?: { name: string }[];
    ephemeralContainers?: { name: string }[];
  };
  const containers = spec.containers ?? [];
  const initContainers = spec.initContainers ?? [];
  const ephemeralContainers = spec.ephemeralContainers ?? [];
  const container = request.query.get('container') ?? (containers.length === 1 ? containers[0]!.name : undefined);
  if (!container) {
    const inits = initContainers.length > 0 ? ` or one of the init containers: [${initContainers.map((c) => c.name).join(' ')}]` : '';
    const ephemerals = ephemeralContainers.length > 0 ? ` or one of the ephemeral containers: [${ephemeralContainers.map((c) => c.name).join(' ')}]` : '';
    throw new BadRequestError(
      `a container name must be specified for pod ${route.name}, choose one of: [${containers.map((c) => c.name).join(' ')}]${inits}${ephemerals}`,
    );
  }
  if (![...containers, ...initContainers, ...ephemeralContainers].some((c) => c.name === container)) {
    throw new BadRequestError(`container ${container} is not valid for pod ${route.name}`);
  }
  if (!spec.nodeName) {
    throw new BadRequestError(`container "${container}" in pod "${route.name}" is waiting to start: ContainerCreating`);
  }
  if (!context.podLogs) throw new BadRequestError('this server has no node connection to read logs from');
  const node = await context.store.get(types.nodes, undefined, spec.nodeName).catch((error: unknown) => {
    if (isApiError(error, 404)) throw new NotFoundError({ resource: 'nodes', group: '', name: spec.nodeName! });
    throw error;
  });
  const stream = await context.podLogs({
    pod,
    node,
    container,
    follow: queryFlag(request.query, 'follow'),
    previous: queryFlag(request.query, 'previous'),
    timestamps: queryFlag(request.query, 'timestamps'),
    ...(tailLines !== undefined ? { tailLines } : {}),
    ...(sinceSeconds !== undefined ? { sinceSeconds } : {}),
    ...(sinceTimeMs !== undefined ? { sinceTimeMs } : {}),
    ...(limitBytes !== undefined ? { limitBytes } : {}),
    signal: request.signal,
    currentPod: () => context.store.get(types.pods, route.namespace, route.name!).catch(() => undefined),
  });
  return { status: 200, headers: { 'content-type': 'text/plain' }, stream };
}
