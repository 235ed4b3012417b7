/**
 * `POST .../serviceaccounts/<name>/token` (TokenRequest, `kubectl create token`): a signed,
 * expiring token for the account, for the audiences asked (the API server's by default), bound
 * to a Pod, Secret or Node when asked; validated and answered as kube-apiserver does.
 */
import { type TokenRequest, tokenRequestSchema } from '../../schemas/access-reviews.ts';
import type { KubeObject } from '../../schemas/meta.ts';
import { types } from '../../schemas/registry.ts';
import { BadRequestError, ConflictError, InvalidError, MethodNotAllowedError, ServiceUnavailableError } from '../core/errors.ts';
import { API_AUDIENCE, type BoundObject, issueServiceAccountToken, type ServiceAccountKeySource } from '../domain/authentication/service-account-tokens.ts';
import { getIfExists } from '../store/list-all.ts';
import type { ObjectReader } from '../store/store.ts';
import type { ApiResponse, ReadRequest } from './http.ts';
import { decodeObjectBody } from './request-body.ts';
import { jsonResponse } from './responses.ts';
import type { ResourceRoute } from './routes.ts';

/** Kubernetes' default when a TokenRequest does not say. */
const DEFAULT_EXPIRATION_SECONDS = 3600;
const MIN_EXPIRATION_SECONDS = 600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;

export interface TokenRequestContext {
  readonly store: ObjectReader;
  readonly now: () => Date;
  readonly keys?: ServiceAccountKeySource;
  /** The admission step (NodeRestriction checks what a node may ask for). */
  readonly admit: (request: KubeObject) => Promise<void>;
}

const boundTypes = { Pod: types.pods, Secret: types.secrets, Node: types.nodes } as const;

async function boundObjectOf(
  store: ObjectReader,
  namespace: string,
  spec: TokenRequest['spec'],
): Promise<{ bound?: BoundObject; node?: { name: string; uid: string } }> {
  const ref = spec.boundObjectRef;
  if (!ref) return {};
  const kind = ref.kind ?? '';
  if (!(kind in boundTypes)) throw new BadRequestError(`cannot bind token for serviceaccount to object of kind "${kind}"`);
  if ((ref.apiVersion ?? 'v1') !== 'v1') throw new BadRequestError(`cannot bind token for serviceaccount to object of apiVersion "${ref.apiVersion}"`);
  const type = boundTypes[kind as keyof typeof boundTypes];
  const object = await store.get(type, type.namespaced ? namespace : undefined, ref.name ?? '');
  const uid = object.metadata.uid ?? '';
  if (ref.uid && ref.uid !== uid) {
    throw new ConflictError(
      { resource: type.plural, group: '', name: ref.name ?? '' },
      `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
    );
  }
  const bound = { kind: kind as BoundObject['kind'], name: ref.name ?? '', uid };
  const nodeName = kind === 'Pod' ? ((object.spec ?? {}) as { nodeName?: string }).nodeName : undefined;
  const node = nodeName ? await getIfExists(store, types.nodes, undefined, nodeName) : undefined;
  return { bound, ...(node ? { node: { name: nodeName ?? '', uid: node.metadata.uid ?? '' } } : {}) };
}

export async function serveTokenRequest(route: ResourceRoute, request: ReadRequest, context: TokenRequestContext): Promise<ApiResponse> {
  if (request.method.toUpperCase() !== 'POST') throw new MethodNotAllowedError();
  const namespace = route.namespace ?? '';
  const name = route.name ?? '';
  const account = await context.store.get(types.serviceaccounts, namespace, name);
  const parsed = tokenRequestSchema.safeParse(decodeObjectBody(request.body, request.headers['content-type']) ?? {});
  if (!parsed.success) throw new BadRequestError(`the request body is not a TokenRequest: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const spec = parsed.data.spec;
  const expirationSeconds = spec.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
  const ref = { kind: 'TokenRequest', group: 'authentication.k8s.io', name };
  if (expirationSeconds < MIN_EXPIRATION_SECONDS) {
    throw new InvalidError(ref, [
      {
        field: 'spec.expirationSeconds',
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${expirationSeconds}: may not specify a duration less than 10 minutes`,
      },
    ]);
  }
  if (expirationSeconds > MAX_EXPIRATION_SECONDS) {
    throw new InvalidError(ref, [
      {
        field: 'spec.expirationSeconds',
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${expirationSeconds}: may not specify a duration larger than 2^32 seconds`,
      },
    ]);
  }
  const audiences = spec.audiences && spec.audiences.length > 0 ? spec.audiences : [API_AUDIENCE];
  const tokenRequest = {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    metadata: { name, namespace },
    spec: { audiences, expirationSeconds, ...(spec.boundObjectRef ? { boundObjectRef: spec.boundObjectRef } : {}) },
  };
  await context.admit(tokenRequest);
  if (!context.keys) throw new ServiceUnavailableError('this server has no service account signing key');
  const { bound, node } = await boundObjectOf(context.store, namespace, spec);
  const issued = await issueServiceAccountToken(await context.keys.signingKey(), {
    namespace,
    serviceAccount: { name, uid: account.metadata.uid ?? '' },
    audiences,
    expirationSeconds,
    ...(bound ? { boundObject: bound } : {}),
    ...(node ? { node } : {}),
    now: context.now(),
  });
  return jsonResponse(201, {
    ...tokenRequest,
    metadata: { ...tokenRequest.metadata, creationTimestamp: null },
    status: { token: issued.token, expirationTimestamp: issued.expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z') },
  });
}
