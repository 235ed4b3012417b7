/**
 * The API core over the local HTTPS server and a DynamoDB Local store, without controllers or
 * agents: for tests of what the API does with requests.
 *
 *   const api = await startTestApi();
 *   after(() => api.stop());
 *   await rawRequest(api.url, { path: '/api/v1/namespaces', token: api.token });
 */
import { randomBytes } from 'node:crypto';
import type { ApiDependencies } from '../../functions/api/app.ts';
import { createApi } from '../../functions/api/app.ts';
import type { ApiHandler } from '../../functions/api/http.ts';
import { ensureSystemNamespaces } from '../../functions/controllers/namespaces/system-namespaces.ts';
import { alwaysAllowAuthorizer } from '../../functions/domain/authorization/authorizer.ts';
import { startHttpsApiServer } from '../../functions/local/https-server.ts';
import { createServingCertificate } from '../../functions/local/tls.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../functions/store/dynamodb-store.ts';
import { type TestDynamoDb, useDynamoDb } from './dynamodb.ts';

export interface TestApi {
  readonly url: string;
  readonly token: string;
  readonly store: DynamoDbStore;
  readonly db: TestDynamoDb;
  stop(): Promise<void>;
}

let certificate: ReturnType<typeof createServingCertificate> | undefined;

export interface TestApiOptions extends Partial<Pick<ApiDependencies, 'podLogs'>> {
  /** Wraps the API core before the HTTPS server gets it (to watch what passes between them). */
  readonly wrap?: (handler: ApiHandler) => ApiHandler;
}

export async function startTestApi(options: TestApiOptions = {}): Promise<TestApi> {
  const db = await useDynamoDb();
  const store = createDynamoDbStore({ client: db.client, tables: db.tables });
  await ensureSystemNamespaces(store);
  const token = randomBytes(16).toString('hex');
  const { wrap, ...dependencies } = options;
  const core = createApi({
    store,
    authenticators: [async (presented) => (presented === token ? { username: 'test-admin', groups: ['system:masters'] } : undefined)],
    authorizer: alwaysAllowAuthorizer,
    ...dependencies,
  });
  const api = wrap ? wrap(core) : core;
  certificate ??= createServingCertificate({ ips: ['127.0.0.1'], dnsNames: ['localhost'] });
  const server = await startHttpsApiServer({ handler: api, certPem: certificate.certPem, keyPem: certificate.keyPem, port: 0 });
  return {
    url: `https://127.0.0.1:${server.port}`,
    token,
    store,
    db,
    async stop() {
      await server.close();
      store.close();
      await db.cleanup();
    },
  };
}
