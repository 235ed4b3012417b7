/**
 * Secrets Manager for tests (it cannot run here): a SecretsManagerClient answered by
 * aws-sdk-client-mock from an in-memory model of CreateSecret and PutSecretValue as documented —
 * ARNs with the six-character suffix, versions by client request token (a repeated token with
 * the same value is ignored, with another value refused), ResourceNotFoundException for a
 * secret that does not exist, ResourceExistsException for a second create.
 */
import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand,
  type CreateSecretCommandInput,
  PutSecretValueCommand,
  type PutSecretValueCommandInput,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';

interface StoredSecret {
  readonly arn: string;
  readonly tags: readonly { Key?: string; Value?: string }[];
  readonly versions: Map<string, string>;
  current: string;
}

export class FakeSecretsManager {
  readonly client: SecretsManagerClient;
  readonly mock: AwsClientStub<SecretsManagerClient>;
  private readonly secrets = new Map<string, StoredSecret>();

  constructor(
    readonly region = 'eu-west-1',
    readonly account = '123456789012',
  ) {
    this.client = new SecretsManagerClient({ region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    this.mock = mockClient(this.client);
    this.mock.on(CreateSecretCommand).callsFake((input: CreateSecretCommandInput) => this.create(input));
    this.mock.on(PutSecretValueCommand).callsFake((input: PutSecretValueCommandInput) => this.put(input));
  }

  /** The current value of a secret, by name. */
  valueOf(name: string): string | undefined {
    const secret = this.secrets.get(name);
    return secret ? secret.versions.get(secret.current) : undefined;
  }

  arnOf(name: string): string | undefined {
    return this.secrets.get(name)?.arn;
  }

  names(): string[] {
    return [...this.secrets.keys()];
  }

  private create(input: CreateSecretCommandInput): object {
    const name = input.Name ?? '';
    if (this.secrets.has(name)) throw this.error('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
    const arn = `arn:aws:secretsmanager:${this.region}:${this.account}:secret:${name}-${randomBytes(3).toString('hex')}`;
    const token = input.ClientRequestToken ?? randomBytes(16).toString('hex');
    this.secrets.set(name, { arn, tags: input.Tags ?? [], versions: new Map([[token, input.SecretString ?? '']]), current: token });
    return { ARN: arn, Name: name, VersionId: token };
  }

  private put(input: PutSecretValueCommandInput): object {
    const id = input.SecretId ?? '';
    const secret = this.secrets.get(id) ?? [...this.secrets.values()].find((s) => s.arn === id);
    if (!secret) throw this.error('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    const token = input.ClientRequestToken ?? randomBytes(16).toString('hex');
    const existing = secret.versions.get(token);
    if (existing !== undefined) {
      if (existing !== input.SecretString) throw this.error('ResourceExistsException', 'You can not use the same ClientRequestToken with a different value.');
      return { ARN: secret.arn, VersionId: token };
    }
    secret.versions.set(token, input.SecretString ?? '');
    secret.current = token;
    return { ARN: secret.arn, VersionId: token };
  }

  private error(name: string, message: string): SecretsManagerServiceException {
    return new SecretsManagerServiceException({ name, $fault: 'client', message, $metadata: { httpStatusCode: 400 } });
  }
}
