/**
 * A real admission webhook server for tests: HTTPS on loopback with a certificate from a CA made
 * for the test (for 127.0.0.1 and the names given), answering each AdmissionReview with what the
 * test's `answer` returns, and keeping every review it was sent.
 *
 *   const hooks = await startWebhookServer((review) => allow(review));
 *   after(() => hooks.close());
 *   clientConfig: { url: `${hooks.url}/validate`, caBundle: hooks.caBundle }
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServingCertificate } from '../../functions/local/tls.ts';

export interface ReviewRequest {
  readonly uid: string;
  readonly operation: string;
  readonly name?: string;
  readonly namespace?: string;
  readonly subResource?: string;
  readonly kind: { group: string; version: string; kind: string };
  readonly resource: { group: string; version: string; resource: string };
  readonly userInfo: { username: string; groups?: string[] };
  readonly object: Record<string, any> | null;
  readonly oldObject: Record<string, any> | null;
  readonly dryRun: boolean;
  readonly options?: Record<string, unknown>;
  readonly [field: string]: unknown;
}

export interface ReceivedReview {
  /** The path the review was POSTed to, query included. */
  readonly path: string;
  readonly request: ReviewRequest;
}

/** What the server answers: an AdmissionReview's `response` (the uid is filled in), or `hang` to never answer. */
export type Answer = Record<string, unknown> | 'hang';

export interface WebhookServer {
  /** `https://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The test CA's PEM, base64, as `clientConfig.caBundle` carries it. */
  readonly caBundle: string;
  readonly received: ReceivedReview[];
  close(): Promise<void>;
}

/** A JSON patch as a webhook sends it: base64 in `patch`, with `patchType: JSONPatch`. */
export function jsonPatchAnswer(operations: readonly unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(operations)).toString('base64'), ...extra };
}

let certificate: ReturnType<typeof createServingCertificate> | undefined;

export async function startWebhookServer(
  answer: (request: ReviewRequest, path: string) => Answer,
  options: { dnsNames?: readonly string[] } = {},
): Promise<WebhookServer> {
  // One CA and certificate for every server of a test process: RSA key generation in JS is slow.
  certificate ??= createServingCertificate({ ips: ['127.0.0.1'], dnsNames: ['localhost', ...(options.dnsNames ?? [])] });
  const received: ReceivedReview[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = https.createServer({ cert: certificate.certPem, key: certificate.keyPem }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request: ReviewRequest };
      received.push({ path: request.url ?? '', request: review.request });
      const answered = answer(review.request, request.url ?? '');
      if (answered === 'hang') return;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, ...answered } }));
    });
  });
  server.on('secureConnection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    caBundle: Buffer.from(certificate.caCertPem).toString('base64'),
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
