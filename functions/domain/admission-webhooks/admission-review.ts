/**
 * The `admission.k8s.io/v1` AdmissionReview a webhook is sent and the answer it gives, with
 * kube-apiserver's checks of that answer and its errors (`admission/plugin/webhook/request/
 * admissionreview.go`, `webhook/errors/statuserror.go`, `util/webhook/error.go`). Pure.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { KubeObject } from '../../../schemas/meta.ts';
import { apiVersionOf, type ResourceType } from '../../../schemas/registry.ts';
import { ApiError, BadRequestError } from '../../core/errors.ts';
import type { UserInfo } from '../authorization/user-info.ts';
import type { WebhookOperation } from './webhook-matching.ts';

/** A write as webhooks are told of it. */
export interface WebhookRequest {
  readonly operation: WebhookOperation;
  readonly type: ResourceType;
  readonly subresource?: string;
  /** The request's namespace; for a Namespace itself, its name. */
  readonly namespace?: string;
  readonly name: string;
  /** The object to be written (CREATE, UPDATE), or a subresource's body (an Eviction). */
  readonly object?: KubeObject;
  /** The stored object (UPDATE, DELETE). */
  readonly oldObject?: KubeObject;
  readonly user: UserInfo;
  readonly dryRun: boolean;
  /** CreateOptions, UpdateOptions or DeleteOptions as the client sent them, less kind and apiVersion. */
  readonly options?: Readonly<Record<string, unknown>>;
}

const optionsKind: Readonly<Record<WebhookOperation, string | undefined>> = {
  CREATE: 'CreateOptions',
  UPDATE: 'UpdateOptions',
  DELETE: 'DeleteOptions',
  CONNECT: undefined,
};

/** `{group, version, kind}` of the object a request carries (a subresource's own kind: Eviction, Scale) or of the type. */
function kindOf(request: WebhookRequest): { group: string; version: string; kind: string } {
  const object = request.object ?? request.oldObject;
  if (request.subresource && request.object?.apiVersion && request.object.kind) {
    const apiVersion = request.object.apiVersion;
    const slash = apiVersion.indexOf('/');
    return { group: slash < 0 ? '' : apiVersion.slice(0, slash), version: slash < 0 ? apiVersion : apiVersion.slice(slash + 1), kind: request.object.kind };
  }
  return { group: request.type.group, version: request.type.version, kind: object?.kind ?? request.type.kind };
}

/** The body POSTed to a webhook, and the uid its answer must carry. */
export function admissionReview(request: WebhookRequest, uid: string = randomUUID()): { uid: string; review: Record<string, unknown> } {
  const kind = kindOf(request);
  const resource = { group: request.type.group, version: request.type.version, resource: request.type.plural };
  const optionsType = optionsKind[request.operation];
  const userInfo = {
    username: request.user.username,
    ...(request.user.uid ? { uid: request.user.uid } : {}),
    ...(request.user.groups.length > 0 ? { groups: request.user.groups } : {}),
    ...(request.user.extra && Object.keys(request.user.extra).length > 0 ? { extra: request.user.extra } : {}),
  };
  const review = {
    kind: 'AdmissionReview',
    apiVersion: 'admission.k8s.io/v1',
    request: {
      uid,
      kind,
      resource,
      ...(request.subresource ? { subResource: request.subresource } : {}),
      requestKind: kind,
      requestResource: resource,
      ...(request.subresource ? { requestSubResource: request.subresource } : {}),
      ...(request.name ? { name: request.name } : {}),
      ...(request.namespace ? { namespace: request.namespace } : {}),
      operation: request.operation,
      userInfo,
      object: request.object ? withTypeMeta(request.object, request.type, !!request.subresource) : null,
      oldObject: request.oldObject ? withTypeMeta(request.oldObject, request.type, false) : null,
      dryRun: request.dryRun,
      ...(optionsType
        ? {
            options: {
              kind: optionsType,
              apiVersion: 'meta.k8s.io/v1',
              ...(request.options ?? {}),
              ...(request.dryRun ? { dryRun: ['All'] } : {}),
            },
          }
        : {}),
    },
  };
  return { uid, review };
}

/** Objects are sent with their apiVersion and kind, as kube-apiserver serializes them. */
function withTypeMeta(object: KubeObject, type: ResourceType, ownKind: boolean): KubeObject {
  if (ownKind && object.apiVersion && object.kind) return object;
  return { ...object, apiVersion: apiVersionOf(type), kind: type.kind };
}

const statusSchema = z.looseObject({
  status: z.string().optional(),
  message: z.string().optional(),
  reason: z.string().optional(),
  code: z.number().optional(),
  details: z.looseObject({}).optional(),
});

const reviewResponseSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  response: z
    .looseObject({
      uid: z.string().optional(),
      allowed: z.boolean().optional(),
      status: statusSchema.optional(),
      patch: z.string().optional(),
      patchType: z.string().optional(),
      warnings: z.array(z.string()).optional(),
    })
    .optional(),
});

export interface WebhookVerdict {
  readonly allowed: boolean;
  readonly status?: z.infer<typeof statusSchema>;
  /** The JSON patch operations, decoded. */
  readonly patch?: unknown[];
  readonly warnings: readonly string[];
}

/** What the webhook answered could not be used (kube-apiserver: "received invalid webhook response"). */
export class InvalidWebhookResponseError extends Error {
  override name = 'InvalidWebhookResponseError';
}

/** kube-apiserver's `VerifyAdmissionResponse` for v1, and the patch decoded. */
export function readVerdict(uid: string, body: string, mutating: boolean): WebhookVerdict {
  let parsed: z.infer<typeof reviewResponseSchema>;
  try {
    parsed = reviewResponseSchema.parse(JSON.parse(body));
  } catch (error) {
    throw new InvalidWebhookResponseError(`received invalid webhook response: ${error instanceof SyntaxError ? error.message : 'not an AdmissionReview'}`);
  }
  const response = parsed.response;
  const invalid = (detail: string) => new InvalidWebhookResponseError(`received invalid webhook response: ${detail}`);
  if (!response) throw invalid('webhook response was absent');
  if (response.uid !== uid) throw invalid(`expected response.uid="${uid}", got "${response.uid ?? ''}"`);
  if (parsed.apiVersion !== 'admission.k8s.io/v1' || parsed.kind !== 'AdmissionReview') {
    const group = (parsed.apiVersion ?? '').includes('/') ? parsed.apiVersion : `/${parsed.apiVersion ?? ''}`;
    throw invalid(`expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${group}, Kind=${parsed.kind ?? ''}`);
  }
  const patch = response.patch ?? '';
  const patchType = response.patchType ?? '';
  if (mutating && patch && !patchType) throw invalid('webhook returned response.patch but not response.patchType');
  if (mutating && patchType && !patch) throw invalid('webhook returned response.patchType but not response.patch');
  if (!mutating && patch) throw invalid('validating webhook may not return response.patch');
  if (!mutating && patchType) throw invalid('validating webhook may not return response.patchType');
  let operations: unknown[] | undefined;
  if (patch) {
    if (patchType !== 'JSONPatch') throw invalid(`webhook returned invalid response.patchType of "${patchType}"`);
    try {
      const decoded: unknown = JSON.parse(Buffer.from(patch, 'base64').toString('utf8'));
      if (!Array.isArray(decoded)) throw new Error('not an array');
      operations = decoded;
    } catch (error) {
      throw new InvalidWebhookResponseError(`received undecodable patch in webhook response: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return {
    allowed: response.allowed === true,
    ...(response.status ? { status: response.status } : {}),
    ...(operations && operations.length > 0 ? { patch: operations } : {}),
    warnings: response.warnings ?? [],
  };
}

/**
 * A webhook's refusal, as kube-apiserver 1.32's `ToStatusErr`: the webhook's own status code when
 * it is 400 or more (400 otherwise), its reason, and its message behind
 * `admission webhook "NAME" denied the request`.
 */
export function deniedError(webhookName: string, status: WebhookVerdict['status']): ApiError {
  const deniedBy = `admission webhook "${webhookName}" denied the request`;
  const code = status?.code !== undefined && status.code >= 400 ? status.code : 400;
  const message = status?.message ? `${deniedBy}: ${status.message}` : status?.reason ? `${deniedBy}: ${status.reason}` : `${deniedBy} without explanation`;
  return new ApiError(code, status?.reason ?? '', message, status?.details as ApiError['details']);
}

/** A webhook that could not be called, or answered nonsense: a 500 unless its failure policy is Ignore. */
export function callFailedError(webhookName: string, reason: string): ApiError {
  const detail = `failed calling webhook "${webhookName}": ${reason}`;
  return new ApiError(500, 'InternalError', `Internal error occurred: ${detail}`, { causes: [{ message: detail }] });
}

/** A dry run sent to a webhook that may have side effects: refused whatever its failure policy. */
export function dryRunUnsupportedError(webhookName: string): BadRequestError {
  return new BadRequestError(`admission webhook "${webhookName}" does not support dry run`);
}
