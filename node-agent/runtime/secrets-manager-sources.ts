/**
 * Where the `ecs` runtime keeps the Secrets and ConfigMaps a pod's environment refers to, so
 * that their values reach containers by reference only: one Secrets Manager secret per object,
 * `<prefix>/<namespace>/<secrets|configmaps>/<name>`, holding its data as a JSON object. Task
 * definitions name the secret's ARN and a key; ECS reads the value when the container starts,
 * so no task definition, StartTask call or DescribeTasks answer carries it (ADR 131).
 *
 * A version is written only when the object changed since this agent last wrote it; its client
 * request token is derived from the object's uid, resourceVersion and data, so agents writing
 * the same object at once make one version, not two.
 */
import { createHash } from 'node:crypto';
import { CreateSecretCommand, PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type RetryPolicy, withRetry } from '../ec2/aws-retry.ts';
import { canonicalJson, type SourceLocations, sourceKey } from './ecs-task-definition.ts';
import type { LaunchSource } from './runtime.ts';

export interface EnvSourceStore {
  /** Stores what changed and answers, per `kind/name`, the ARN the task definition refers to. */
  store(namespace: string, sources: readonly LaunchSource[]): Promise<SourceLocations>;
}

export interface SecretsManagerSourcesOptions {
  readonly client: SecretsManagerClient;
  /** `skiff/<cluster>`: the instance role may write only under it. */
  readonly prefix: string;
  /** Tags of every secret created (the cluster's name, for cost reports). @default {} */
  readonly tags?: Readonly<Record<string, string>>;
  /** KMS key of the secrets. @default - Secrets Manager's own key (aws/secretsmanager) */
  readonly kmsKeyId?: string;
  readonly retry?: RetryPolicy;
}

export function secretName(prefix: string, namespace: string, source: Pick<LaunchSource, 'kind' | 'name'>): string {
  return `${prefix}/${namespace}/${source.kind === 'secret' ? 'secrets' : 'configmaps'}/${source.name}`;
}

/** 64 hex characters (Secrets Manager takes 32–64): the same for the same object version and data. */
export function versionToken(source: LaunchSource): string {
  return createHash('sha256')
    .update(`${source.uid}\n${source.resourceVersion}\n${canonicalJson(source.data)}`)
    .digest('hex');
}

export class SecretsManagerSources implements EnvSourceStore {
  /** Secret name → the token this agent last wrote or found, and the secret's ARN. */
  private readonly written = new Map<string, { token: string; arn: string }>();
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(private readonly options: SecretsManagerSourcesOptions) {}

  async store(namespace: string, sources: readonly LaunchSource[]): Promise<SourceLocations> {
    const entries = await Promise.all(sources.map(async (source) => [sourceKey(source), await this.storeOne(namespace, source)] as const));
    return new Map(entries);
  }

  private storeOne(namespace: string, source: LaunchSource): Promise<string> {
    const name = secretName(this.options.prefix, namespace, source);
    const token = versionToken(source);
    const known = this.written.get(name);
    if (known?.token === token) return Promise.resolve(known.arn);
    const key = `${name}\n${token}`;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.write(name, token, source).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async write(name: string, token: string, source: LaunchSource): Promise<string> {
    const secretString = JSON.stringify(source.data);
    const put = () =>
      withRetry(
        () => this.options.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: secretString, ClientRequestToken: token })),
        this.options.retry,
      );
    let arn: string | undefined;
    try {
      arn = (await put()).ARN;
    } catch (error) {
      if (errorName(error) !== 'ResourceNotFoundException') throw error;
      try {
        arn = (
          await withRetry(
            () =>
              this.options.client.send(
                new CreateSecretCommand({
                  Name: name,
                  SecretString: secretString,
                  ClientRequestToken: token,
                  Description: `Data of ${source.kind === 'secret' ? 'Secret' : 'ConfigMap'} ${name.slice(this.options.prefix.length + 1)}, read by ECS when a pod's container starts`,
                  ...(this.options.kmsKeyId ? { KmsKeyId: this.options.kmsKeyId } : {}),
                  Tags: Object.entries(this.options.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
                }),
              ),
            this.options.retry,
          )
        ).ARN;
      } catch (createError) {
        // Another agent created it a moment ago: write our version on top.
        if (errorName(createError) !== 'ResourceExistsException') throw createError;
        arn = (await put()).ARN;
      }
    }
    if (!arn) throw new Error(`Secrets Manager returned no ARN for ${name}`);
    this.written.set(name, { token, arn });
    return arn;
  }
}

function errorName(error: unknown): string {
  return (error as { name?: string } | undefined)?.name ?? '';
}
