/**
 * A cluster started with its own service range (`skiff up --service-cidr`, what
 * `npm start -- --service-cidr` runs), driven with the real kubectl: the `kubernetes` Service on
 * the range's first address, ClusterIPs from the range, kube-apiserver's refusal of one outside
 * it; and the CLI refusing a range kube-apiserver would refuse, before it starts anything.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cidrContains, parseCidr } from '../../functions/core/ipv4-range.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { waitFor } from '../support/wait.ts';

const skiff = fileURLToPath(new URL('../../bin/skiff.js', import.meta.url));

describe('a cluster with --service-cidr 172.20.0.0/16', { timeout: 180_000 }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startTestCluster({ nodes: 0, serviceCidr: '172.20.0.0/16' });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('puts the kubernetes Service on the first address of the range', async () => {
    const ip = await waitFor('the kubernetes Service', async () => {
      const result = await cluster.kubectl(['get', 'service', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}']);
      return result.code === 0 && result.stdout !== '' ? result.stdout : undefined;
    });
    assert.equal(ip, '172.20.0.1');
  });

  it('gives new Services addresses of the range and refuses one outside it with kube-apiserver’s message', async () => {
    await cluster.kubectlOk(['create', 'service', 'clusterip', 'in-range', '--tcp=80:8080']);
    const ip = await cluster.kubectlOk(['get', 'service', 'in-range', '-o', 'jsonpath={.spec.clusterIP}']);
    const range = parseCidr('172.20.0.0/16');
    assert.ok(range && cidrContains(range, ip), `${ip} is in 172.20.0.0/16`);
    await cluster.kubectlOk(['create', 'service', 'clusterip', 'chosen', '--tcp=80:8080', '--clusterip=172.20.5.5']);

    const refused = await cluster.kubectl(['create', 'service', 'clusterip', 'outside', '--tcp=80:8080', '--clusterip=10.96.0.20']);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /spec\.clusterIPs: Invalid value: \[\]string\{"10\.96\.0\.20"\}: failed to allocate IP 10\.96\.0\.20: the provided IP \(10\.96\.0\.20\) is not in the valid range\. The range of valid IPs is 172\.20\.0\.0\/16/,
    );
  });
});

describe('skiff up --service-cidr checks the range first', () => {
  const up = (cidr: string) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [skiff, 'up', '--service-cidr', cidr, '--data-dir', '/nonexistent/never-made'],
        { timeout: 30_000 },
        (error, _stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stderr }),
      );
    });

  for (const [cidr, message] of [
    ['10.0.0.0/8', /too large; for 32-bit addresses, the mask must be >= 12/],
    ['10.96.0.0/30', /at least 16 IP addresses/],
    ['not-a-range', /is not a valid cidr/],
  ] as const) {
    it(`refuses ${cidr} with exit code 2`, async () => {
      const result = await up(cidr);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
    });
  }
});
