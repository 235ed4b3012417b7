/**
 * The API's Lambda entry: an API Gateway REST API proxy integration with response streaming
 * (docs/adr/100), and the function's URL that in-cluster clients reach without a base path
 * (payload format 2.0, docs/adr/147). It converts either event into the core's `ApiRequest`, calls the core and
 * hands middy a stream that writes the status and headers at once (watches need them before
 * the first event: kubectl waits on a watch's response head before it exits) and then each chunk.
 */
import { Readable } from 'node:stream';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { createApi } from '../api/app.ts';
import type { ApiHandler, ApiRequest, ApiResponse } from '../api/http.ts';
import { cloudWatchPodLogSource } from '../aws/cloudwatch-pod-logs.ts';
import { serviceAccountTokenAuthenticator } from '../domain/authentication/service-account-tokens.ts';
import { awsStoreSettings, createDynamoDbStore } from '../store/dynamodb-store.ts';
import { clusterAuthenticators, clusterAuthorizer } from './cluster-authentication.ts';
import { type FunctionUrlEvent, fromFunctionUrlEvent } from './function-url-events.ts';
import { dynamoDbClient, lambdaLog, logger, nodeStatsFromEnvironment, serviceCidrFromEnvironment } from './lambda-runtime.ts';
import { secretServiceAccountKeys } from './service-account-key-secret.ts';

// The `awslambda` global (streamifyResponse, HttpResponseStream) is declared by @types/aws-lambda.

/** The parts of a REST API (v1) proxy event the API reads. */
export type RestProxyEvent = Pick<
  APIGatewayProxyEvent,
  'httpMethod' | 'path' | 'headers' | 'multiValueHeaders' | 'queryStringParameters' | 'multiValueQueryStringParameters' | 'body' | 'isBase64Encoded'
> & { readonly requestContext?: { readonly requestId?: string } };

export type { FunctionUrlEvent } from './function-url-events.ts';

/** Either event the API function is invoked with. */
export type ApiEvent = RestProxyEvent | FunctionUrlEvent;

function isFunctionUrlEvent(event: ApiEvent): event is FunctionUrlEvent {
  return (event as FunctionUrlEvent).version === '2.0' && typeof (event as FunctionUrlEvent).rawPath === 'string';
}

/** What middy's streamifyResponse mode expects back: a prelude and a body stream. */
export interface StreamingResult {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: Readable;
}

export function toApiRequest(event: ApiEvent, signal: AbortSignal, fallbackRequestId = ''): ApiRequest {
  if (isFunctionUrlEvent(event)) return fromFunctionUrlEvent(event, signal, fallbackRequestId);
  const query = new URLSearchParams();
  const multiQuery = event.multiValueQueryStringParameters ?? {};
  for (const [name, values] of Object.entries(multiQuery)) {
    for (const value of values ?? []) query.append(name, value);
  }
  if (Object.keys(multiQuery).length === 0) {
    for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
      if (value !== undefined) query.append(name, value);
    }
  }

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  // Repeated headers arrive only in multiValueHeaders; join them as HTTP allows.
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    if (values && values.length > 1) headers[name.toLowerCase()] = values.join(', ');
  }

  const body = event.body == null ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  return {
    method: event.httpMethod.toUpperCase(),
    path: event.path || '/',
    query,
    headers,
    body,
    signal,
    requestId: event.requestContext?.requestId ?? fallbackRequestId,
  };
}

async function* chunksOf(response: ApiResponse, onEnd: () => void): AsyncGenerator<Buffer> {
  try {
    // An empty first write makes the runtime send the status and headers now, before a
    // watch's first event, and also for responses without a body.
    yield Buffer.alloc(0);
    if (response.stream) {
      for await (const chunk of response.stream) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        if (bytes.length > 0) yield bytes;
      }
    } else if (response.body !== undefined) {
      const bytes = typeof response.body === 'string' ? Buffer.from(response.body) : response.body;
      if (bytes.length > 0) yield bytes;
    }
  } finally {
    onEnd();
  }
}

/**
 * The core's response as middy's streaming result: status and headers, then the body chunks.
 * `onEnd` runs when the body has been written or the stream was torn down.
 */
export function toStreamingResult(response: ApiResponse, onEnd: () => void = () => {}): StreamingResult {
  return {
    statusCode: response.status,
    headers: { ...response.headers },
    body: Readable.from(chunksOf(response, onEnd), { objectMode: true }),
  };
}

/** Time kept back before the Lambda timeout to end a watch cleanly instead of being cut off. */
const STREAM_END_MARGIN_MS = 2000;

function requiredEnvironment(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

let api: ApiHandler | undefined;

/** The API core with its DynamoDB store and authenticators, built once per container. */
function apiFromEnvironment(): ApiHandler {
  if (!api) {
    const client = dynamoDbClient();
    const store = createDynamoDbStore({
      client,
      tables: { objects: requiredEnvironment('OBJECTS_TABLE'), changes: requiredEnvironment('CHANGES_TABLE') },
      ...awsStoreSettings,
    });
    const log = lambdaLog('api');
    // Pods' output is in CloudWatch Logs, where the nodes' ECS tasks ship it (ADR 134).
    const podLogGroup = process.env.POD_LOG_GROUP;
    const serviceAccountKeys = secretServiceAccountKeys(new SecretsManagerClient({}), requiredEnvironment('SERVICE_ACCOUNT_KEY_SECRET_ARN'));
    const serviceCidr = serviceCidrFromEnvironment();
    api = createApi({
      store,
      ...(serviceCidr ? { admissionSettings: { serviceCidr } } : {}),
      ...(podLogGroup ? { podLogs: cloudWatchPodLogSource({ client: new CloudWatchLogsClient({}), logGroup: podLogGroup }) } : {}),
      // metrics.k8s.io from the figures the agents send over the watch channel (docs/adr/193).
      ...nodeStatsFromEnvironment(),
      authenticators: [...clusterAuthenticators(store, process.env, log), serviceAccountTokenAuthenticator({ keys: serviceAccountKeys, store })],
      serviceAccountKeys,
      authorizer: clusterAuthorizer(store),
      log,
      audit: (event) => console.log(JSON.stringify(event)),
    });
  }
  return api;
}

/**
 * One request: the signal given to the core aborts shortly before the invocation would time
 * out, so a watch or `logs -f` ends with a complete response; clients then resume from their
 * last resourceVersion, as after kube-apiserver's watch timeout.
 */
export async function handleApiEvent(
  event: ApiEvent,
  context: Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis'>,
  core: ApiHandler,
): Promise<StreamingResult> {
  const controller = new AbortController();
  const remaining = typeof context.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : undefined;
  const timer = remaining === undefined ? undefined : setTimeout(() => controller.abort(), Math.max(0, remaining - STREAM_END_MARGIN_MS));
  const finish = () => {
    clearTimeout(timer);
    controller.abort();
  };
  try {
    const response = await core(toApiRequest(event, controller.signal, context.awsRequestId));
    return toStreamingResult(response, finish);
  } catch (error) {
    finish();
    throw error;
  }
}

/** The streaming Lambda handler over an API core (the core is made on first use). */
export function createApiLambdaHandler(core: () => ApiHandler) {
  // middy's own early-timeout race only covers the time until the result is returned, not
  // the streamed body, so it is off and `handleApiEvent` keeps its own deadline.
  return middy<ApiEvent, StreamingResult>({ streamifyResponse: true, timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(logger))
    .handler((event, context) => handleApiEvent(event, context, core()));
}

export const handler = createApiLambdaHandler(apiFromEnvironment);
