/**
 * ServiceAccount tokens as Kubernetes issues them (TokenRequest, `kubectl create token`): JWTs
 * signed by the cluster's key (ES256), expiring, for an audience, optionally bound to a Pod or
 * Secret, with Kubernetes' claims (`sub`, `kubernetes.io.serviceaccount`, `.pod`...). The
 * authenticator accepts a token only when its signature, issuer, audience and times are right,
 * and the account (and the bound object) still exist with the same uid.
 *
 * The signing key is derived from a secret seed (random bytes kept by the host: a file locally,
 * Secrets Manager on AWS), so every API instance signs with the same key without sharing key
 * files; the key id is the SHA-256 of the public key, as kube-apiserver's.
 */
import { createECDH, createHash, createPrivateKey, createPublicKey, type KeyObject, randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { types } from '../../../schemas/registry.ts';
import { isApiError } from '../../core/errors.ts';
import type { ObjectStore } from '../../store/store.ts';
import { serviceAccountGroups, serviceAccountUsername, type UserInfo } from '../authorization/user-info.ts';
import type { TokenAuthenticator } from './token-authenticators.ts';

/** The API server's own audience and issuer: what in-cluster clients send their tokens to. */
export const API_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';
export const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const ALGORITHM = 'ES256';

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** Where the hosts keep the key: the newest signs, every one listed verifies (rotation). */
export interface ServiceAccountKeySource {
  signingKey(): Promise<SigningKey>;
  verificationKeys(): Promise<readonly SigningKey[]>;
}

// The order of the P-256 group: private keys are scalars in [1, n-1].
const p256Order = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** The P-256 key a seed stands for (the same seed gives the same key in every process). */
export function signingKeyFromSeed(seed: string): SigningKey {
  if (seed.length < 32) throw new Error('the service account key seed must be at least 32 characters');
  const digest = createHash('sha256').update('skiff service account signing key\0').update(seed).digest('hex');
  const scalar = (BigInt(`0x${digest}`) % (p256Order - 1n)) + 1n;
  const d = Buffer.from(scalar.toString(16).padStart(64, '0'), 'hex');
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const point = ecdh.getPublicKey();
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    d: d.toString('base64url'),
    x: point.subarray(1, 33).toString('base64url'),
    y: point.subarray(33, 65).toString('base64url'),
  };
  const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
  const publicKey = createPublicKey(privateKey);
  const kid = createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64url');
  return { kid, privateKey, publicKey };
}

export interface BoundObject {
  readonly kind: 'Pod' | 'Secret' | 'Node';
  readonly name: string;
  readonly uid: string;
}

export interface TokenRequestInput {
  readonly namespace: string;
  readonly serviceAccount: { readonly name: string; readonly uid: string };
  readonly audiences: readonly string[];
  readonly expirationSeconds: number;
  readonly boundObject?: BoundObject;
  /** The node the bound pod runs on, when known (Kubernetes adds it to pod-bound tokens). */
  readonly node?: { readonly name: string; readonly uid: string };
  readonly now: Date;
}

export interface IssuedToken {
  readonly token: string;
  readonly expiresAt: Date;
}

export async function issueServiceAccountToken(key: SigningKey, input: TokenRequestInput): Promise<IssuedToken> {
  const issuedAt = Math.floor(input.now.getTime() / 1000);
  const expires = issuedAt + input.expirationSeconds;
  const bound = input.boundObject;
  const kubernetes = {
    namespace: input.namespace,
    serviceaccount: { name: input.serviceAccount.name, uid: input.serviceAccount.uid },
    ...(bound?.kind === 'Pod' ? { pod: { name: bound.name, uid: bound.uid } } : {}),
    ...(bound?.kind === 'Secret' ? { secret: { name: bound.name, uid: bound.uid } } : {}),
    ...(bound?.kind === 'Node' ? { node: { name: bound.name, uid: bound.uid } } : input.node ? { node: input.node } : {}),
  };
  const token = await new SignJWT({ 'kubernetes.io': kubernetes })
    .setProtectedHeader({ alg: ALGORITHM, kid: key.kid })
    .setIssuer(ISSUER)
    .setSubject(serviceAccountUsername(input.namespace, input.serviceAccount.name))
    .setAudience([...input.audiences])
    .setIssuedAt(issuedAt)
    .setNotBefore(issuedAt)
    .setExpirationTime(expires)
    .setJti(randomUUID())
    .sign(key.privateKey);
  return { token, expiresAt: new Date(expires * 1000) };
}

interface ClaimedObject {
  readonly name?: unknown;
  readonly uid?: unknown;
}

interface KubernetesClaims {
  readonly namespace?: unknown;
  readonly serviceaccount?: ClaimedObject;
  readonly pod?: ClaimedObject;
  readonly secret?: ClaimedObject;
  readonly node?: ClaimedObject;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** Three base64url parts whose header names a signing algorithm: worth verifying. */
function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

export interface ServiceAccountAuthenticatorOptions {
  readonly keys: ServiceAccountKeySource;
  readonly store: ObjectStore;
  readonly now?: () => Date;
  /** How long a found account or pod is trusted without reading it again. @default 5000 */
  readonly lookupCacheMs?: number;
}

/**
 * Authenticates ServiceAccount tokens for the API (audience `API_AUDIENCE`). Anything else — not
 * a JWT, another signer, another audience, expired, an account or bound pod that is gone or was
 * recreated — is not a user (401).
 */
export function serviceAccountTokenAuthenticator(options: ServiceAccountAuthenticatorOptions): TokenAuthenticator {
  const now = options.now ?? (() => new Date());
  const cacheMs = options.lookupCacheMs ?? 5000;
  const uids = new Map<string, { readonly uid: string | undefined; readonly at: number }>();

  /** The uid of a live object (undefined when missing or being deleted), cached briefly. */
  async function liveUid(type: typeof types.serviceaccounts, namespace: string | undefined, name: string): Promise<string | undefined> {
    const cacheKey = `${type.id}/${namespace ?? ''}/${name}`;
    const cached = uids.get(cacheKey);
    if (cached && now().getTime() - cached.at < cacheMs) return cached.uid;
    let uid: string | undefined;
    try {
      const object = await options.store.get(type, namespace, name);
      uid = object.metadata.deletionTimestamp ? undefined : object.metadata.uid;
    } catch (error) {
      if (!isApiError(error, 404)) throw error;
    }
    uids.set(cacheKey, { uid, at: now().getTime() });
    if (uids.size > 10_000) uids.clear();
    return uid;
  }

  return async (token) => {
    if (!looksLikeJwt(token)) return undefined;
    const keys = await options.keys.verificationKeys();
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(
        token,
        async (header) => {
          const key = keys.find((candidate) => candidate.kid === header.kid) ?? (header.kid === undefined ? keys[0] : undefined);
          if (!key) throw new joseErrors.JWKSNoMatchingKey();
          return key.publicKey;
        },
        { issuer: ISSUER, audience: API_AUDIENCE, algorithms: [ALGORITHM], currentDate: now(), requiredClaims: ['exp', 'sub'] },
      ));
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) return undefined;
      throw error;
    }
    const claims = (payload['kubernetes.io'] ?? {}) as KubernetesClaims;
    const namespace = text(claims.namespace);
    const account = { name: text(claims.serviceaccount?.name), uid: text(claims.serviceaccount?.uid) };
    if (!namespace || !account.name || payload.sub !== serviceAccountUsername(namespace, account.name)) return undefined;
    if ((await liveUid(types.serviceaccounts, namespace, account.name)) !== account.uid) return undefined;
    const extra: Record<string, string[]> = {};
    if (claims.pod) {
      const pod = { name: text(claims.pod.name), uid: text(claims.pod.uid) };
      if ((await liveUid(types.pods, namespace, pod.name)) !== pod.uid) return undefined;
      extra['authentication.kubernetes.io/pod-name'] = [pod.name];
      extra['authentication.kubernetes.io/pod-uid'] = [pod.uid];
    }
    if (claims.secret) {
      const secret = { name: text(claims.secret.name), uid: text(claims.secret.uid) };
      if ((await liveUid(types.secrets, namespace, secret.name)) !== secret.uid) return undefined;
    }
    if (claims.node) {
      extra['authentication.kubernetes.io/node-name'] = [text(claims.node.name)];
      extra['authentication.kubernetes.io/node-uid'] = [text(claims.node.uid)];
    }
    if (typeof payload.jti === 'string') extra['authentication.kubernetes.io/credential-id'] = [`JTI=${payload.jti}`];
    const user: UserInfo = {
      username: serviceAccountUsername(namespace, account.name),
      uid: account.uid,
      groups: [...serviceAccountGroups(namespace)],
      extra,
    };
    return user;
  };
}
