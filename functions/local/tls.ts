/**
 * The local cluster's PKI: a self-signed CA made at first start, and a serving certificate
 * for 127.0.0.1/localhost signed by it. Both persist in the data dir, so a kubeconfig keeps
 * working across restarts.
 */

import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import forge from 'node-forge';
import { kubernetesServiceIp } from '../domain/services/service-allocation-plan.ts';

export interface ServingCertificate {
  readonly caCertPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

function newCertificate(publicKey: forge.pki.PublicKey, subject: forge.pki.CertificateField[], issuer: forge.pki.CertificateField[]): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = `01${forge.util.bytesToHex(forge.random.getBytesSync(15))}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + TEN_YEARS_MS);
  cert.setSubject(subject);
  cert.setIssuer(issuer);
  return cert;
}

export function createServingCertificate(hosts: { ips: readonly string[]; dnsNames: readonly string[] }): ServingCertificate & { caKeyPem: string } {
  const caKeys = forge.pki.rsa.generateKeyPair(2048);
  const caName = [{ name: 'commonName', value: 'skiff-local-ca' }];
  const ca = newCertificate(caKeys.publicKey, caName, caName);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());

  const serverKeys = forge.pki.rsa.generateKeyPair(2048);
  const server = newCertificate(serverKeys.publicKey, [{ name: 'commonName', value: 'skiff-apiserver' }], caName);
  server.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [...hosts.dnsNames.map((value) => ({ type: 2, value })), ...hosts.ips.map((ip) => ({ type: 7, ip }))],
    },
  ]);
  server.sign(caKeys.privateKey, forge.md.sha256.create());
  return {
    caCertPem: forge.pki.certificateToPem(ca),
    caKeyPem: forge.pki.privateKeyToPem(caKeys.privateKey),
    certPem: forge.pki.certificateToPem(server),
    keyPem: forge.pki.privateKeyToPem(serverKeys.privateKey),
  };
}

/** Loads the PKI from `<dir>`, creating it on first use. */
export async function ensureServingCertificate(dir: string, kubernetesServiceAddress: string = kubernetesServiceIp()): Promise<ServingCertificate> {
  const files = { ca: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), cert: join(dir, 'apiserver.crt'), key: join(dir, 'apiserver.key') };
  if (!existsSync(files.ca) || !existsSync(files.cert) || !existsSync(files.key)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // As kube-apiserver's: also valid for in-cluster clients, which reach it as the `kubernetes` Service.
    const made = createServingCertificate({
      ips: ['127.0.0.1', '::1', kubernetesServiceAddress],
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    });
    await writeFile(files.ca, made.caCertPem);
    await writeFile(files.caKey, made.caKeyPem, { mode: 0o600 });
    await writeFile(files.cert, made.certPem);
    await writeFile(files.key, made.keyPem, { mode: 0o600 });
  }
  return {
    caCertPem: await readFile(files.ca, 'utf8'),
    certPem: await readFile(files.cert, 'utf8'),
    keyPem: await readFile(files.key, 'utf8'),
  };
}
