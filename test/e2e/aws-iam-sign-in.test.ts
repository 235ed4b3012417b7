/**
 * IAM sign-in end to end with the real kubectl: a kubeconfig from `renderAwsKubeconfig` (what
 * `skiff kubeconfig` writes) makes kubectl run `skiff token` as its exec credential plugin with
 * the caller's AWS credentials; the API verifies the token with STS (a stand-in that checks the
 * signature as STS does: test/support/fake-sts.ts) and maps the principal through
 * kube-system/aws-auth, written by the same bootstrap the stack's custom resource runs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { renderAwsKubeconfig } from '../../bin/aws-kubeconfig.ts';
import { createApi } from '../../functions/api/app.ts';
import { awsIamAuthenticator } from '../../functions/domain/authentication/aws-iam-token.ts';
import { storedIamIdentityMapping } from '../../functions/domain/authentication/iam-identity-mapping.ts';
import { superuserAuthorizer } from '../../functions/domain/authorization/authorizer.ts';
import { bootstrapCluster } from '../../functions/lambda/bootstrap-handler.ts';
import { type HttpsApiServer, startHttpsApiServer } from '../../functions/local/https-server.ts';
import { createServingCertificate } from '../../functions/local/tls.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../functions/store/dynamodb-store.ts';
import { type TestDynamoDb, useDynamoDb } from '../support/dynamodb.ts';
import { fakeSts } from '../support/fake-sts.ts';

const skiffScript = fileURLToPath(new URL('../../bin/skiff.js', import.meta.url));
const alice = {
  accessKeyId: 'AKIAALICEEXAMPLE0001',
  secretAccessKey: 'alice-secret-access-key-000',
  arn: 'arn:aws:iam::111122223333:user/alice',
  userId: 'AIDAALICE',
};
const mallory = {
  accessKeyId: 'AKIAMALLORYEXAMPLE01',
  secretAccessKey: 'mallory-secret-access-key-0',
  arn: 'arn:aws:iam::111122223333:user/mallory',
  userId: 'AIDAMAL',
};

describe('IAM sign-in with kubectl', { timeout: 180_000 }, () => {
  let db: TestDynamoDb;
  let store: DynamoDbStore;
  let server: HttpsApiServer;
  const scratch = mkdtempSync(join(tmpdir(), 'skiff-iam-e2e-'));
  const kubeconfig = join(scratch, 'kubeconfig');
  const sts = fakeSts([alice, mallory]);

  before(async () => {
    db = await useDynamoDb();
    store = createDynamoDbStore({ client: db.client, tables: db.tables });
    await bootstrapCluster(store, { AdminPrincipalArns: [alice.arn], NodeRoleArns: [] });
    const certificate = createServingCertificate({ ips: ['127.0.0.1'], dnsNames: ['localhost'] });
    const api = createApi({
      store,
      authorizer: superuserAuthorizer,
      authenticators: [awsIamAuthenticator({ clusterId: 'skiff-e2e', region: 'eu-west-1', callSts: sts.callSts, mapping: storedIamIdentityMapping(store) })],
    });
    server = await startHttpsApiServer({ handler: api, certPem: certificate.certPem, keyPem: certificate.keyPem, port: 0 });
    writeFileSync(
      kubeconfig,
      renderAwsKubeconfig(
        { stackName: 'e2e', server: `https://127.0.0.1:${server.port}/`, clusterId: 'skiff-e2e', region: 'eu-west-1' },
        { command: process.execPath, commandArgs: [skiffScript], caCertPem: certificate.caCertPem },
      ),
    );
  });

  after(async () => {
    await server?.close();
    store?.close();
    await db?.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  function kubectl(args: string[], principal: typeof alice): Promise<{ code: number; stdout: string; stderr: string }> {
    // Only the principal's keys: no profile, no instance metadata, nothing of the machine's.
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: scratch,
      AWS_ACCESS_KEY_ID: principal.accessKeyId,
      AWS_SECRET_ACCESS_KEY: principal.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: join(scratch, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(scratch, 'no-aws-credentials'),
    };
    return new Promise((resolve) => {
      execFile('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(scratch, 'cache'), ...args], { env, timeout: 60_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    });
  }

  it('lets a mapped IAM user in through the exec plugin', async () => {
    const result = await kubectl(['get', 'namespaces', '-o', 'name'], alice);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split('\n').sort(), [
      'namespace/default',
      'namespace/kube-node-lease',
      'namespace/kube-public',
      'namespace/kube-system',
    ]);
    assert.ok(sts.calls.length >= 1);
    assert.ok(sts.calls.every((call) => call.headers['x-k8s-aws-id'] === 'skiff-e2e'));
  });

  it('refuses a principal aws-auth does not name, as kubectl shows a 401', async () => {
    const result = await kubectl(['get', 'namespaces'], mallory);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Unauthorized|must be logged in/);
  });
});
