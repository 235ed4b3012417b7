/**
 * `skiff token`: a kubectl exec credential plugin (client.authentication.k8s.io/v1) that signs
 * in with AWS IAM the way `aws eks get-token` does (docs/adr/072): an STS GetCallerIdentity
 * request presigned with the caller's credentials (the default provider chain: environment,
 * profile, SSO, instance role…) and the header `x-k8s-aws-id: <cluster id>`, sent as the token
 * `k8s-aws-v1.<base64url of the URL>`. Nothing is sent to AWS here; the API server makes the call.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import { awsTokenPrefix, clusterIdHeader, partitionOf, presignedLifetimeSeconds } from '../functions/domain/authentication/aws-iam-token.ts';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface AwsTokenOptions {
  readonly clusterId: string;
  readonly region: string;
  readonly credentials: AwsCredentials | (() => Promise<AwsCredentials>);
  readonly now?: Date;
  /** Another STS host (tests sign for a wrong one on purpose). @default the region's regional endpoint */
  readonly host?: string;
}

export interface AwsToken {
  readonly token: string;
  /** A minute before STS stops honouring it. */
  readonly expiresAt: Date;
}

type PresignableRequest = Parameters<SignatureV4['presign']>[0];

/** Presigns GetCallerIdentity on the region's STS endpoint, signing the cluster id header. */
export async function awsToken(options: AwsTokenOptions): Promise<AwsToken> {
  const hostname = options.host ?? `sts.${options.region}.${partitionOf(options.region).dnsSuffix}`;
  const signingDate = options.now ?? new Date();
  const signer = new SignatureV4({ credentials: options.credentials, region: options.region, service: 'sts', sha256: Sha256 });
  const request: PresignableRequest = {
    method: 'GET',
    protocol: 'https:',
    hostname,
    path: '/',
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { host: hostname, [clusterIdHeader]: options.clusterId },
  };
  // X-Amz-Expires is ignored by STS (it honours a presigned GetCallerIdentity for 15 minutes); 60 as aws-iam-authenticator sends.
  const signed = await signer.presign(request, { expiresIn: 60, signingDate });
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(signed.query ?? {})) {
    for (const one of [value ?? ''].flat()) query.append(key, one);
  }
  const url = `https://${hostname}/?${query.toString()}`;
  return {
    token: `${awsTokenPrefix}${Buffer.from(url).toString('base64url')}`,
    expiresAt: new Date(signingDate.getTime() + (presignedLifetimeSeconds - 60) * 1000),
  };
}

/** What kubectl reads from an exec credential plugin's stdout. */
export function execCredential(token: AwsToken): Record<string, unknown> {
  return {
    kind: 'ExecCredential',
    apiVersion: 'client.authentication.k8s.io/v1',
    spec: { interactive: false },
    status: { expirationTimestamp: token.expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z'), token: token.token },
  };
}

/** The credentials of the default provider chain (optionally a named profile). */
export function defaultCredentials(profile?: string): () => Promise<AwsCredentials> {
  return fromNodeProviderChain(profile ? { profile } : {});
}
