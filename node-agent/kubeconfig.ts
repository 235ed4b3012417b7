/**
 * Reads the parts of a kubeconfig the agent needs: the current context's server, its CA, its
 * bearer token — given, in a file, or from an exec credential plugin such as `skiff token` (an
 * EC2 node signs in with its instance role) — and the watch channel's URL (the cluster extension
 * `skiff.io/watch-channel`). Only what kubectl itself would accept is accepted; anything else is
 * a clear error at start-up rather than a confusing TLS failure later.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import type { ExecCredentialConfig } from './exec-credential.ts';

export interface ClusterCredentials {
  /** Base URL without a trailing slash, e.g. `https://127.0.0.1:6443`. */
  readonly server: string;
  /** PEM of the CA that signed the server certificate; undefined means the system CAs. */
  readonly caPem?: string;
  readonly token?: string;
  /** A credential plugin that prints the token (`skiff token` on AWS), run instead of a fixed token. */
  readonly exec?: ExecCredentialConfig;
  /** The watch channel's WebSocket URL (docs/adr/073); agents take their changes from it. */
  readonly watchChannel?: string;
  /**
   * The API as pods reach it, when that is not `server`: an `https://` URL without a path (the
   * cluster extension `skiff.io/in-cluster-server`; on AWS the API's function URL, ADR 147).
   */
  readonly inClusterServer?: string;
  /**
   * The node heartbeat endpoint (docs/adr/196; the cluster extension `skiff.io/heartbeat`): where
   * the Lease renewals and the Node status go. On AWS a Lambda function URL whose requests are
   * signed with the node's AWS credentials (`auth: aws-iam`, SigV4 for service `lambda` in
   * `region`); locally the host's own endpoint, with the bearer token.
   */
  readonly heartbeat?: HeartbeatEndpointConfig;
}

export interface HeartbeatEndpointConfig {
  /** Base URL; the API paths of the two writes are appended to it. */
  readonly url: string;
  /** Sign with AWS credentials (SigV4, service `lambda`) instead of sending the bearer token. */
  readonly awsIam?: { readonly region: string };
}

/** The cluster extension that names the watch channel. */
export const watchChannelExtension = 'skiff.io/watch-channel';
/** The cluster extension that names the node heartbeat endpoint. */
export const heartbeatExtension = 'skiff.io/heartbeat';
/** The cluster extension that names the API's address for pods (KUBERNETES_SERVICE_HOST/_PORT). */
export const inClusterServerExtension = 'skiff.io/in-cluster-server';

const kubeconfigSchema = z.object({
  'current-context': z.string().optional(),
  clusters: z
    .array(
      z.object({
        name: z.string(),
        cluster: z.object({
          server: z.string(),
          'certificate-authority-data': z.string().optional(),
          'certificate-authority': z.string().optional(),
          'insecure-skip-tls-verify': z.boolean().optional(),
          extensions: z.array(z.object({ name: z.string(), extension: z.unknown() })).optional(),
        }),
      }),
    )
    .default([]),
  users: z
    .array(
      z.object({
        name: z.string(),
        user: z
          .object({
            token: z.string().optional(),
            tokenFile: z.string().optional(),
            exec: z
              .object({
                apiVersion: z.enum(['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1']),
                command: z.string().min(1),
                args: z.array(z.string()).nullish(),
                env: z.array(z.object({ name: z.string(), value: z.string() })).nullish(),
              })
              .optional(),
          })
          .nullish()
          .transform((u) => u ?? {}),
      }),
    )
    .default([]),
  contexts: z.array(z.object({ name: z.string(), context: z.object({ cluster: z.string(), user: z.string().optional() }) })).default([]),
});

export class KubeconfigError extends Error {
  override name = 'KubeconfigError';
}

/** Parses kubeconfig text; `baseDir` resolves relative file references as kubectl does. */
export function parseKubeconfig(text: string, baseDir = '.'): ClusterCredentials {
  const parsed = kubeconfigSchema.safeParse(parse(text));
  if (!parsed.success) throw new KubeconfigError(`invalid kubeconfig: ${parsed.error.message}`);
  const config = parsed.data;
  const contextName = config['current-context'] ?? config.contexts[0]?.name;
  const context = config.contexts.find((c) => c.name === contextName);
  if (!context) throw new KubeconfigError(`kubeconfig has no context ${JSON.stringify(contextName ?? '')}`);
  const cluster = config.clusters.find((c) => c.name === context.context.cluster)?.cluster;
  if (!cluster) throw new KubeconfigError(`kubeconfig has no cluster ${JSON.stringify(context.context.cluster)}`);
  if (cluster['insecure-skip-tls-verify']) {
    throw new KubeconfigError('insecure-skip-tls-verify is not supported by the node agent; give the CA instead');
  }
  const user = config.users.find((u) => u.name === context.context.user)?.user ?? {};
  const caPem = cluster['certificate-authority-data']
    ? Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8')
    : cluster['certificate-authority']
      ? readFileSync(resolve(baseDir, cluster['certificate-authority']), 'utf8')
      : undefined;
  const token = user.token ?? (user.tokenFile ? readFileSync(resolve(baseDir, user.tokenFile), 'utf8').trim() : undefined);
  // kubectl resolves a relative plugin path against the kubeconfig's folder when it has a slash.
  const exec = user.exec && {
    apiVersion: user.exec.apiVersion,
    command: user.exec.command.includes('/') ? resolve(baseDir, user.exec.command) : user.exec.command,
    args: user.exec.args ?? [],
    env: Object.fromEntries((user.exec.env ?? []).map((variable) => [variable.name, variable.value])),
  };
  const channel = cluster.extensions?.find((extension) => extension.name === watchChannelExtension)?.extension;
  const watchChannel = z.object({ url: z.string().regex(/^wss?:\/\//) }).safeParse(channel);
  if (channel !== undefined && !watchChannel.success) throw new KubeconfigError(`the ${watchChannelExtension} extension needs a ws:// or wss:// url`);
  const heartbeatGiven = cluster.extensions?.find((extension) => extension.name === heartbeatExtension)?.extension;
  const heartbeat = heartbeatGiven === undefined ? undefined : heartbeatEndpoint(heartbeatGiven);
  const inCluster = cluster.extensions?.find((extension) => extension.name === inClusterServerExtension)?.extension;
  const inClusterServer = inCluster === undefined ? undefined : pathlessHttpsUrl(inCluster);
  return {
    server: cluster.server.replace(/\/+$/, ''),
    ...(caPem !== undefined ? { caPem } : {}),
    ...(token !== undefined ? { token } : exec ? { exec } : {}),
    ...(watchChannel.success ? { watchChannel: watchChannel.data.url } : {}),
    ...(inClusterServer ? { inClusterServer } : {}),
    ...(heartbeat ? { heartbeat } : {}),
  };
}

const heartbeatSchema = z.object({
  url: z.string().regex(/^https?:\/\//),
  auth: z.enum(['bearer', 'aws-iam']).default('bearer'),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/)
    .optional(),
});

function heartbeatEndpoint(extension: unknown): HeartbeatEndpointConfig {
  const given = heartbeatSchema.safeParse(extension);
  if (!given.success) throw new KubeconfigError(`the ${heartbeatExtension} extension needs an http(s):// url, and auth bearer or aws-iam`);
  const url = given.data.url.replace(/\/+$/, '');
  if (given.data.auth === 'bearer') return { url };
  if (!given.data.region) throw new KubeconfigError(`the ${heartbeatExtension} extension with auth aws-iam needs the region to sign for`);
  if (!url.startsWith('https://')) throw new KubeconfigError(`the ${heartbeatExtension} extension with auth aws-iam needs an https:// url`);
  return { url, awsIam: { region: given.data.region } };
}

/** Host and port are all an in-cluster client takes: a path, query or credentials could not reach it. */
function pathlessHttpsUrl(extension: unknown): string {
  const given = z.object({ url: z.string() }).safeParse(extension);
  const url = given.success && URL.canParse(given.data.url) ? new URL(given.data.url) : undefined;
  if (url?.protocol !== 'https:' || url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    throw new KubeconfigError(`the ${inClusterServerExtension} extension needs an https:// url without a path`);
  }
  return url.origin;
}

export function loadKubeconfig(path: string): ClusterCredentials {
  return parseKubeconfig(readFileSync(path, 'utf8'), dirname(path));
}
