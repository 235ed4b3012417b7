/**
 * Typed errors of the Skiff core. Every layer throws these; exactly one function
 * (`toStatus`) turns them into Kubernetes `Status` bodies and HTTP codes.
 */

export interface StatusCause {
  readonly reason?: string;
  readonly message: string;
  readonly field?: string;
}

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly uid?: string;
  readonly causes?: readonly StatusCause[];
  readonly retryAfterSeconds?: number;
}

export interface Status {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never> | { resourceVersion?: string };
  readonly status: 'Success' | 'Failure';
  readonly message?: string;
  readonly reason?: string;
  readonly details?: StatusDetails;
  readonly code: number;
}

/** Base of every error the API maps to a Kubernetes Status. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Identifies the object an error is about: `deployments.apps "web"`. */
export interface ResourceRef {
  /** Plural resource name, e.g. `deployments`. */
  readonly resource: string;
  /** API group, '' for core. */
  readonly group: string;
  readonly name: string;
  /** Kind, used in `details.kind` of Invalid errors (kubectl prints it). */
  readonly kind?: string;
}

export function qualifiedResource(ref: Pick<ResourceRef, 'resource' | 'group'>): string {
  return ref.group ? `${ref.resource}.${ref.group}` : ref.resource;
}

export class NotFoundError extends ApiError {
  override name = 'NotFoundError';
  constructor(ref: ResourceRef, message?: string) {
    super(404, 'NotFound', message ?? `${qualifiedResource(ref)} "${ref.name}" not found`, {
      name: ref.name,
      group: ref.group,
      kind: ref.resource,
    });
  }
}

export class AlreadyExistsError extends ApiError {
  override name = 'AlreadyExistsError';
  constructor(ref: ResourceRef) {
    super(409, 'AlreadyExists', `${qualifiedResource(ref)} "${ref.name}" already exists`, {
      name: ref.name,
      group: ref.group,
      kind: ref.resource,
    });
  }
}

export class ConflictError extends ApiError {
  override name = 'ConflictError';
  constructor(ref: ResourceRef, why = 'the object has been modified; please apply your changes to the latest version and try again') {
    super(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(ref)} "${ref.name}": ${why}`, {
      name: ref.name,
      group: ref.group,
      kind: ref.resource,
    });
  }
}

/** 422: the object fails validation. `kind` and `causes[].field` are what kubectl prints. */
export class InvalidError extends ApiError {
  override name = 'InvalidError';
  constructor(ref: { kind: string; group: string; name: string }, causes: readonly StatusCause[]) {
    const summary = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(', ');
    const causeList = causes.length > 1 ? `[${summary}]` : summary;
    super(422, 'Invalid', `${ref.kind}${ref.group ? `.${ref.group}` : ''} "${ref.name}" is invalid: ${causeList}`, {
      name: ref.name,
      group: ref.group,
      kind: ref.kind,
      causes: causes.map((c) => ({ reason: c.reason ?? 'FieldValueInvalid', message: c.message, field: c.field })),
    });
  }
}

export class BadRequestError extends ApiError {
  override name = 'BadRequestError';
  constructor(message: string) {
    super(400, 'BadRequest', message);
  }
}

export class UnauthorizedError extends ApiError {
  override name = 'UnauthorizedError';
  constructor(message = 'Unauthorized') {
    super(401, 'Unauthorized', message);
  }
}

export class ForbiddenError extends ApiError {
  override name = 'ForbiddenError';
  constructor(message: string, details?: StatusDetails) {
    super(403, 'Forbidden', message, details);
  }
}

export class MethodNotAllowedError extends ApiError {
  override name = 'MethodNotAllowedError';
  constructor(message = 'the server does not allow this method on the requested resource') {
    super(405, 'MethodNotAllowed', message);
  }
}

export class NotAcceptableError extends ApiError {
  override name = 'NotAcceptableError';
  constructor(message: string) {
    super(406, 'NotAcceptable', message);
  }
}

/** 410: a watch or list `continue` from a revision the change log no longer holds. */
export class GoneError extends ApiError {
  override name = 'GoneError';
  constructor(message: string) {
    super(410, 'Expired', message);
  }
}

export class RequestEntityTooLargeError extends ApiError {
  override name = 'RequestEntityTooLargeError';
  constructor(message: string) {
    super(413, 'RequestEntityTooLarge', message);
  }
}

export class UnsupportedMediaTypeError extends ApiError {
  override name = 'UnsupportedMediaTypeError';
  constructor(contentType: string, message?: string) {
    super(
      415,
      'UnsupportedMediaType',
      message ??
        `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got ${contentType})`,
    );
  }
}

/**
 * 429: the store's backend throttled or its writers kept colliding, past the store's own retries.
 * `Retry-After` tells the client when to try again (kube-apiserver answers overload the same way).
 */
export class TooManyRequestsError extends ApiError {
  override name = 'TooManyRequestsError';
  constructor(message: string, retryAfterSeconds = 1, options?: { cause?: unknown }) {
    super(429, 'TooManyRequests', message, { retryAfterSeconds }, options);
  }
}

/**
 * 503: the server cannot do this now (a part it needs is not configured or not reachable, or the
 * store's backend did not answer in time; nothing was written). With `retryAfterSeconds` the
 * answer carries `Retry-After`.
 */
export class ServiceUnavailableError extends ApiError {
  override name = 'ServiceUnavailableError';
  constructor(message: string, retryAfterSeconds?: number, options?: { cause?: unknown }) {
    super(503, 'ServiceUnavailable', message, retryAfterSeconds === undefined ? undefined : { retryAfterSeconds }, options);
  }
}

export class InternalError extends ApiError {
  override name = 'InternalError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(500, 'InternalError', `Internal error occurred: ${message}`, undefined, options);
  }
}

/** The one mapper from any thrown value to a Kubernetes Status. */
export function toStatus(error: unknown): Status {
  const apiError = error instanceof ApiError ? error : new InternalError(error instanceof Error ? error.message : String(error), { cause: error });
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: apiError.message,
    reason: apiError.reason,
    ...(apiError.details ? { details: apiError.details } : {}),
    code: apiError.code,
  };
}

export function isApiError(error: unknown, code?: number): error is ApiError {
  return error instanceof ApiError && (code === undefined || error.code === code);
}
