/**
 * EKS-style IAM sign-in (docs/adr/072). A client presigns an STS `GetCallerIdentity` request
 * with its AWS credentials, signing the header `x-k8s-aws-id: <cluster id>`, and sends
 * `k8s-aws-v1.` + base64url(presigned URL) as its bearer token (`aws eks get-token`, `skiff token`).
 * The API checks the URL is exactly such a request to an STS endpoint of its own region, not
 * expired, then makes the request itself with its own cluster id in the header: STS answers
 * only if the signature covers that id, and says who signed. The ARN it returns is mapped to a
 * Kubernetes user (iam-identity-mapping.ts).
 *
 * Nothing here talks to AWS through an SDK: the STS call is a plain HTTPS GET, injected so tests
 * can stand in for STS.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type AwsIdentity, type IamIdentityMapping, mapIamIdentity } from './iam-identity-mapping.ts';
import type { TokenAuthenticator } from './token-authenticators.ts';

export const awsTokenPrefix = 'k8s-aws-v1.';
export const clusterIdHeader = 'x-k8s-aws-id';
/** STS honours a presigned GetCallerIdentity for 15 minutes after X-Amz-Date, whatever X-Amz-Expires says. */
export const presignedLifetimeSeconds = 15 * 60;
const maxTokenLength = 4096;

const allowedParameters = new Set([
  'action',
  'version',
  'x-amz-algorithm',
  'x-amz-credential',
  'x-amz-date',
  'x-amz-expires',
  'x-amz-security-token',
  'x-amz-signature',
  'x-amz-signedheaders',
]);

/** The request the API makes to STS, and what came back. */
export interface StsRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}
export interface StsResponse {
  readonly status: number;
  readonly body: string;
}
export type CallSts = (request: StsRequest) => Promise<StsResponse>;

/** Why a token was refused: logged by the host (never the token), answered as a plain 401. */
export class TokenRefused extends Error {
  override name = 'TokenRefused';
}

/** `aws`, `aws-cn`, `aws-us-gov`: the partition of a region, and its DNS suffix. */
export function partitionOf(region: string): { readonly partition: string; readonly dnsSuffix: string } {
  if (region.startsWith('cn-')) return { partition: 'aws-cn', dnsSuffix: 'amazonaws.com.cn' };
  if (region.startsWith('us-gov-')) return { partition: 'aws-us-gov', dnsSuffix: 'amazonaws.com' };
  return { partition: 'aws', dnsSuffix: 'amazonaws.com' };
}

/** The STS hosts a token for a cluster in `region` may name: the regional endpoint, and the global one for us-east-1. */
export function stsHostsFor(region: string): ReadonlySet<string> {
  const { dnsSuffix } = partitionOf(region);
  const hosts = new Set([`sts.${region}.${dnsSuffix}`]);
  if (region === 'us-east-1') hosts.add('sts.amazonaws.com');
  return hosts;
}

/** The URL inside a token, or why it is not one. */
export function decodeToken(token: string): URL {
  if (token.length > maxTokenLength) throw new TokenRefused('token is too long');
  if (!token.startsWith(awsTokenPrefix)) throw new TokenRefused(`token lacks the ${awsTokenPrefix} prefix`);
  const encoded = token.slice(awsTokenPrefix.length);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) throw new TokenRefused('token is not base64url');
  const text = Buffer.from(encoded, 'base64url').toString('utf8');
  try {
    return new URL(text);
  } catch {
    throw new TokenRefused('token does not hold a URL');
  }
}

/** `20260101T120000Z` → epoch ms. */
function amzDate(value: string): number {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) throw new TokenRefused('X-Amz-Date is malformed');
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

export interface CheckedToken {
  /** The URL to GET, as the client signed it. */
  readonly url: string;
  /** When STS stops honouring it (epoch ms). */
  readonly expiresAt: number;
}

/**
 * Checks what can be checked without STS: an https GetCallerIdentity on an STS host of the
 * cluster's region, the cluster id header signed, a credential scope for that region and STS,
 * and not expired. Throws TokenRefused.
 */
export function checkTokenUrl(url: URL, options: { readonly region: string; readonly now: number }): CheckedToken {
  if (url.protocol !== 'https:') throw new TokenRefused(`unexpected scheme ${url.protocol}`);
  if (url.username || url.password || url.port || url.hash) throw new TokenRefused('unexpected URL parts');
  if (!stsHostsFor(options.region).has(url.hostname)) throw new TokenRefused(`unexpected host ${url.hostname}`);
  if (url.pathname !== '/') throw new TokenRefused('unexpected path');
  const parameters = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    const lower = key.toLowerCase();
    if (!allowedParameters.has(lower)) throw new TokenRefused(`unexpected query parameter ${key}`);
    if (parameters.has(lower)) throw new TokenRefused(`repeated query parameter ${key}`);
    parameters.set(lower, value);
  }
  if (parameters.get('action') !== 'GetCallerIdentity') throw new TokenRefused('not a GetCallerIdentity request');
  if (parameters.get('version') !== '2011-06-15') throw new TokenRefused('unexpected STS API version');
  if (parameters.get('x-amz-algorithm') !== 'AWS4-HMAC-SHA256') throw new TokenRefused('unexpected signing algorithm');
  if (!parameters.get('x-amz-signature')) throw new TokenRefused('unsigned');
  const signedHeaders = (parameters.get('x-amz-signedheaders') ?? '').toLowerCase().split(';');
  if (!signedHeaders.includes(clusterIdHeader)) throw new TokenRefused(`the ${clusterIdHeader} header is not signed`);
  // <access key>/<yyyymmdd>/<region>/sts/aws4_request
  const scope = (parameters.get('x-amz-credential') ?? '').split('/');
  const signingRegion = url.hostname === 'sts.amazonaws.com' ? 'us-east-1' : options.region;
  if (scope.length !== 5 || scope[2] !== signingRegion || scope[3] !== 'sts' || scope[4] !== 'aws4_request') {
    throw new TokenRefused('credential scope is not STS in this region');
  }
  const expires = Number(parameters.get('x-amz-expires'));
  if (!Number.isInteger(expires) || expires < 0 || expires > presignedLifetimeSeconds) throw new TokenRefused('X-Amz-Expires out of range');
  const signedAt = amzDate(parameters.get('x-amz-date') ?? '');
  const expiresAt = signedAt + presignedLifetimeSeconds * 1000;
  if (options.now >= expiresAt) throw new TokenRefused('token expired');
  return { url: url.href, expiresAt };
}

const callerIdentitySchema = z.object({
  GetCallerIdentityResponse: z.object({
    GetCallerIdentityResult: z.object({
      Account: z.string().regex(/^\d{12}$/),
      Arn: z.string().startsWith('arn:'),
      UserId: z.string().min(1),
    }),
  }),
});

/**
 * The IAM entity behind an ARN STS returned: an assumed role's session ARN becomes its role's
 * ARN (`arn:aws:sts::1:assumed-role/NAME/SESSION` → `arn:aws:iam::1:role/NAME`); users and roles
 * stay as they are. Federated users and the root user are kept as returned.
 */
export function canonicalArn(arn: string): { readonly canonicalArn: string; readonly sessionName?: string } {
  const assumed = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/.exec(arn);
  if (assumed) return { canonicalArn: `arn:${assumed[1]}:iam::${assumed[2]}:role/${assumed[3]}`, sessionName: assumed[4] ?? '' };
  return { canonicalArn: arn };
}

export interface AwsTokenVerifierOptions {
  /** The id clients sign into `x-k8s-aws-id`: the stack's cluster id. */
  readonly clusterId: string;
  /** The cluster's region: tokens must name this region's STS endpoint. */
  readonly region: string;
  readonly callSts: CallSts;
  readonly now?: () => number;
}

/** Verifies a token with STS; throws TokenRefused with the reason. */
export async function verifyAwsToken(token: string, options: AwsTokenVerifierOptions): Promise<AwsIdentity & { readonly expiresAt: number }> {
  const now = (options.now ?? Date.now)();
  const checked = checkTokenUrl(decodeToken(token), { region: options.region, now });
  let response: StsResponse;
  try {
    response = await options.callSts({ url: checked.url, headers: { [clusterIdHeader]: options.clusterId, accept: 'application/json' } });
  } catch (error) {
    // STS unreachable is our problem, not a bad token: the caller answers 5xx, not 401.
    throw new Error(`calling STS failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (response.status !== 200) throw new TokenRefused(`STS refused the request (HTTP ${response.status})`);
  let parsed: z.infer<typeof callerIdentitySchema>;
  try {
    parsed = callerIdentitySchema.parse(JSON.parse(response.body));
  } catch {
    throw new TokenRefused('STS answered with an unexpected body');
  }
  const result = parsed.GetCallerIdentityResponse.GetCallerIdentityResult;
  const { canonicalArn: canonical, sessionName } = canonicalArn(result.Arn);
  return {
    arn: result.Arn,
    canonicalArn: canonical,
    accountId: result.Account,
    ...(sessionName ? { sessionName } : {}),
    expiresAt: checked.expiresAt,
  };
}

/** The STS call as the API makes it: a GET that follows no redirect, bounded in time. */
export const fetchSts: CallSts = async (request) => {
  const response = await fetch(request.url, { method: 'GET', headers: { ...request.headers }, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.text() };
};

export interface AwsIamAuthenticatorOptions extends AwsTokenVerifierOptions {
  /** The cluster's IAM → Kubernetes mapping (`kube-system/aws-auth`). */
  readonly mapping: () => Promise<IamIdentityMapping>;
  /** Verified tokens kept, each until it expires. @default 10000 */
  readonly cacheSize?: number;
  /** Why a token was refused (never the token itself). */
  readonly onRefused?: (reason: string) => void;
}

/**
 * An authenticator of the API's chain (a `TokenAuthenticator`, docs/adr/120): tokens with the
 * `k8s-aws-v1.` prefix are verified with STS once and remembered by digest until they expire,
 * so a client reusing its token costs one STS call per 15 minutes; other tokens are not its
 * business (undefined). The mapping is applied on every request, so an edit of aws-auth takes
 * effect without waiting for tokens to expire.
 */
export function awsIamAuthenticator(options: AwsIamAuthenticatorOptions): TokenAuthenticator {
  const now = options.now ?? Date.now;
  const cacheSize = options.cacheSize ?? 10_000;
  const verified = new Map<string, { identity: AwsIdentity; expiresAt: number }>();
  return async (token) => {
    if (!token.startsWith(awsTokenPrefix)) return undefined;
    const digest = createHash('sha256').update(token).digest('hex');
    let entry = verified.get(digest);
    if (entry && now() >= entry.expiresAt) {
      verified.delete(digest);
      entry = undefined;
    }
    if (!entry) {
      try {
        const { expiresAt, ...identity } = await verifyAwsToken(token, options);
        entry = { identity, expiresAt };
      } catch (error) {
        if (!(error instanceof TokenRefused)) throw error;
        options.onRefused?.(error.message);
        return undefined;
      }
      if (verified.size >= cacheSize) verified.delete(verified.keys().next().value ?? '');
      verified.set(digest, entry);
    }
    const user = mapIamIdentity(entry.identity, await options.mapping());
    if (!user) options.onRefused?.(`${entry.identity.canonicalArn} is not mapped to a user in kube-system/aws-auth`);
    return user;
  };
}
