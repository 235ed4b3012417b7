/**
 * The roots that verify a certificate AWS issues for its own endpoints (Lambda function URLs,
 * API Gateway's default domains): Amazon Trust Services' Amazon Root CA 1–4 and Starfield
 * Services Root Certificate Authority – G2, which cross-signs them. They are taken from the
 * root store Node.js ships (Mozilla's), so no certificate is copied into the project.
 * A pod's `ca.crt` holds them when the cluster publishes no CA of its own (docs/adr/147).
 */
import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';

const amazonRootNames = ['Amazon Root CA 1', 'Amazon Root CA 2', 'Amazon Root CA 3', 'Amazon Root CA 4', 'Starfield Services Root Certificate Authority - G2'];

function commonName(subject: string): string | undefined {
  return subject
    .split('\n')
    .find((part) => part.startsWith('CN='))
    ?.slice(3);
}

/** The PEM bundle of Amazon Trust Services' roots the store has (all five in Node.js' own), in a fixed order. */
export function amazonTrustServicesRoots(roots: readonly string[] = rootCertificates): string {
  const byName = new Map<string, string>();
  for (const pem of roots) {
    const name = commonName(new X509Certificate(pem).subject);
    if (name && amazonRootNames.includes(name)) byName.set(name, pem.trim());
  }
  return `${amazonRootNames.flatMap((name) => byName.get(name) ?? []).join('\n')}\n`;
}
