/**
 * The API core over the local HTTPS server and a DynamoDB Local store (or the in-memory store,
 * for tests that need many objects fast), without controllers or agents: for tests of what the
 * API does with requests.
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
import { createDynamoDbStore } from '../../functions/store/dynamodb-store.ts';
import { createMemoryStore } from '../../functions/store/memory-store.ts';
import type { ObjectStore } from '../../functions/store/store.ts';
import { useDynamoDb } from './dynamodb.ts';

export interface TestApi {
  readonly url: string;
  readonly token: string;
  /** The CA that signed the server's certificate, for clients that verify it (the agent). */
  readonly caPem: string;
  readonly store: ObjectStore;
  stop(): Promise<void>;
}

let certificate: ReturnType<typeof createServingCertificate> | undefined;

export interface TestApiOptions extends Partial<Pick<ApiDependencies, 'podLogs' | 'admissionSettings'>> {
  /** Wraps the API core before the HTTPS server gets it (to watch what passes between them). */
  readonly wrap?: (handler: ApiHandler) => ApiHandler;
  /** The in-memory store instead of DynamoDB Local. */
  readonly memory?: boolean;
}

export async function startTestApi(options: TestApiOptions = {}): Promise<TestApi> {
  const { wrap, memory, ...dependencies } = options;
  const db = memory ? undefined : await useDynamoDb();
  const store: ObjectStore & { close(): void } = db ? createDynamoDbStore({ client: db.client, tables: db.tables }) : createMemoryStore();
  await ensureSystemNamespaces(store);
  const token = randomBytes(16).toString('hex');
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
    caPem: certificate.caCertPem,
    store,
    async stop() {
      await server.close();
      store.close();
      await db?.cleanup();
    },
  };
}
