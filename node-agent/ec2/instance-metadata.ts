/**
 * The EC2 instance metadata service (IMDSv2) as the agent reads it: a session token from
 * `PUT /latest/api/token`, then `GET /latest/meta-data/<path>` with that token. The endpoint is
 * the SDK's `AWS_EC2_METADATA_SERVICE_ENDPOINT` when set (tests point it at a local server).
 */
import http from 'node:http';

export interface InstanceMetadata {
  /** A metadata value, or undefined when the path does not exist (404). */
  get(path: string): Promise<string | undefined>;
}

export interface InstanceMetadataOptions {
  /** @default $AWS_EC2_METADATA_SERVICE_ENDPOINT or http://169.254.169.254 */
  readonly endpoint?: string;
  /** @default 2000 */
  readonly timeoutMs?: number;
}

const tokenTtlSeconds = 21_600;

export function instanceMetadata(options: InstanceMetadataOptions = {}): InstanceMetadata {
  const endpoint = new URL(options.endpoint ?? process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? 'http://169.254.169.254');
  const timeoutMs = options.timeoutMs ?? 2000;
  let session: { token: string; expiresAtMs: number } | undefined;

  const call = (method: 'GET' | 'PUT', path: string, headers: Record<string, string>) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const url = new URL(path, endpoint);
      const request = http.request(url, { method, headers, timeout: timeoutMs }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        response.on('error', reject);
      });
      request.on('timeout', () => request.destroy(new Error(`instance metadata ${path} timed out`)));
      request.on('error', reject);
      request.end();
    });

  async function token(): Promise<string> {
    if (session && session.expiresAtMs - 60_000 > Date.now()) return session.token;
    const response = await call('PUT', '/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': String(tokenTtlSeconds) });
    if (response.status !== 200) throw new Error(`instance metadata token: HTTP ${response.status}`);
    session = { token: response.body, expiresAtMs: Date.now() + tokenTtlSeconds * 1000 };
    return session.token;
  }

  return {
    async get(path) {
      let response = await call('GET', `/latest/meta-data/${path}`, { 'x-aws-ec2-metadata-token': await token() });
      if (response.status === 401) {
        session = undefined;
        response = await call('GET', `/latest/meta-data/${path}`, { 'x-aws-ec2-metadata-token': await token() });
      }
      if (response.status === 404) return undefined;
      if (response.status !== 200) throw new Error(`instance metadata ${path}: HTTP ${response.status}`);
      return response.body;
    },
  };
}
