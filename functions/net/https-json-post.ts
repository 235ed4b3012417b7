/**
 * One JSON POST over HTTPS, as kube-apiserver's webhook client makes it: the server certificate
 * verified against a given CA (the system roots when none is given) for a given server name, the
 * whole exchange bounded by a deadline. Errors are worded as Go's HTTP client words them
 * (`Post "URL": dial tcp ADDR: connect: connection refused`, `context deadline exceeded`), since
 * kube-apiserver puts them in the messages clients see.
 */
import https from 'node:https';

export interface JsonPostOptions {
  /** PEM of the CA that signed the server's certificate; Node's bundled roots when absent. */
  readonly ca?: string;
  /** The name the certificate must be for, when it is not the URL's host (a Service's DNS name). */
  readonly serverName?: string;
  readonly timeoutMs: number;
}

export interface JsonPostResponse {
  readonly status: number;
  readonly body: string;
}

/** A webhook's answer larger than this is refused rather than buffered: a review holds at most two objects of the store's 400 KB limit and a patch. */
const maxResponseBytes = 8 * 1024 * 1024;

export class JsonPostError extends Error {
  override name = 'JsonPostError';
}

function describe(error: NodeJS.ErrnoException, url: URL): string {
  const address = `${url.hostname.replace(/^\[|\]$/g, '')}:${url.port || '443'}`;
  switch (error.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${address}: connect: connection refused`;
    case 'ECONNRESET':
      return `read tcp ${address}: read: connection reset by peer`;
    case 'ENOTFOUND':
      return `dial tcp: lookup ${url.hostname}: no such host`;
    case 'EHOSTUNREACH':
      return `dial tcp ${address}: connect: no route to host`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `tls: failed to verify certificate: x509: ${error.message}`;
    default:
      return error.message;
  }
}

export function postJson(url: URL, body: string, options: JsonPostOptions): Promise<JsonPostResponse> {
  return new Promise((resolve, reject) => {
    const fail = (detail: string) => reject(new JsonPostError(`Post "${url.href}": ${detail}`));
    const request = https.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(body) },
        ...(options.ca !== undefined ? { ca: options.ca } : {}),
        ...(options.serverName !== undefined ? { servername: options.serverName } : {}),
        // A webhook connection is not reused across calls: each call has its own CA and deadline.
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxResponseBytes) {
            request.destroy();
            fail('response body too large');
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', (error: NodeJS.ErrnoException) => fail(describe(error, url)));
      },
    );
    const timer = setTimeout(() => {
      request.destroy();
      fail('context deadline exceeded');
    }, options.timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) => fail(describe(error, url)));
    request.on('close', () => clearTimeout(timer));
    request.end(body);
  });
}
