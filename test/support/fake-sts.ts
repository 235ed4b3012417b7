/**
 * A stand-in for AWS STS's GetCallerIdentity, for tests of IAM sign-in (STS cannot run here).
 * It does what STS does with a presigned request: finds the access key, recomputes the SigV4
 * signature over the request as it arrived (the cluster id header the API sends included) and
 * answers 403 unless it matches and the request is less than 15 minutes old; otherwise the
 * caller's identity, as STS's JSON.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { CallSts, StsRequest } from '../../functions/domain/authentication/aws-iam-token.ts';

export interface FakePrincipal {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** What GetCallerIdentity returns as Arn, e.g. an assumed-role session ARN. */
  readonly arn: string;
  readonly userId: string;
}

export interface FakeSts {
  readonly callSts: CallSts;
  readonly calls: StsRequest[];
}

type PresignableRequest = Parameters<SignatureV4['presign']>[0];

function amzDate(value: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) throw new Error('bad date');
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

export function fakeSts(principals: readonly FakePrincipal[], now: () => number = Date.now): FakeSts {
  const calls: StsRequest[] = [];
  const forbidden = (code: string) => ({ status: 403, body: JSON.stringify({ Error: { Code: code, Message: code } }) });
  const callSts: CallSts = async (request) => {
    calls.push(request);
    const url = new URL(request.url);
    const query = url.searchParams;
    const [accessKeyId, , region] = (query.get('X-Amz-Credential') ?? '').split('/');
    const principal = principals.find((p) => p.accessKeyId === accessKeyId);
    if (!principal || !region) return forbidden('InvalidClientTokenId');
    const signedAt = amzDate(query.get('X-Amz-Date') ?? '');
    if (now() > signedAt.getTime() + 15 * 60_000) return forbidden('ExpiredToken');
    const signedHeaders = (query.get('X-Amz-SignedHeaders') ?? '').split(';');
    const headers: Record<string, string> = { host: url.host };
    for (const name of signedHeaders) {
      if (name === 'host') continue;
      const value = request.headers[name];
      if (value === undefined) return forbidden('SignatureDoesNotMatch');
      headers[name] = value;
    }
    const unsigned: PresignableRequest = {
      method: 'GET',
      protocol: 'https:',
      hostname: url.hostname,
      path: url.pathname,
      query: { Action: query.get('Action') ?? '', Version: query.get('Version') ?? '' },
      headers,
    };
    const signer = new SignatureV4({
      credentials: {
        accessKeyId: principal.accessKeyId,
        secretAccessKey: principal.secretAccessKey,
        ...(principal.sessionToken ? { sessionToken: principal.sessionToken } : {}),
      },
      region,
      service: 'sts',
      sha256: Sha256,
    });
    const expected = await signer.presign(unsigned, { expiresIn: Number(query.get('X-Amz-Expires') ?? '0'), signingDate: signedAt });
    const expectedQuery = expected.query ?? {};
    const sameParameters =
      [...query.keys()].every((key) => key === 'X-Amz-Signature' || expectedQuery[key] === query.get(key)) &&
      Object.keys(expectedQuery).every((key) => query.has(key));
    if (!sameParameters || expectedQuery['X-Amz-Signature'] !== query.get('X-Amz-Signature')) return forbidden('SignatureDoesNotMatch');
    const account = /::(\d{12}):/.exec(principal.arn)?.[1] ?? '';
    return {
      status: 200,
      body: JSON.stringify({
        GetCallerIdentityResponse: {
          GetCallerIdentityResult: { Account: account, Arn: principal.arn, UserId: principal.userId },
          ResponseMetadata: { RequestId: 'fake' },
        },
      }),
    };
  };
  return { callSts, calls };
}
