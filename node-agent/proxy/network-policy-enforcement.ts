/**
 * Keeps the node's NetworkPolicy table in step with the cluster's pods, namespaces and
 * NetworkPolicies (docs/adr/209): rebuilt from complete lists on every change, written whole in
 * one `nft -f` transaction when it differs from the one in the kernel. Changes that come together
 * are applied once.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Log } from '../../functions/logging/log.ts';
import type { KubeObject } from '../../schemas/meta.ts';
import { types } from '../../schemas/registry.ts';
import { applyNftScript } from './cluster-ip-routing.ts';
import { coalescedRewrites } from './coalesced-rewrites.ts';
import { namespaceLabels, networkPolicyRuleset, type PolicyTarget, policyPods } from './network-policy-rules.ts';
import type { ServiceProxySource } from './service-proxy.ts';

export interface NetworkPolicyEnforcementOptions extends PolicyTarget {
  /** A client that may list and watch every pod, namespace and NetworkPolicy. */
  readonly client: ServiceProxySource;
  readonly nft: string;
  readonly log?: Log;
  /** How long `admit` waits at most (the pod, or the lists, not seen yet). @default 3000 */
  readonly admitTimeoutMs?: number;
}

export interface NetworkPolicyEnforcement {
  /** Resolves once a table built from complete lists of the three kinds is in the kernel. */
  readonly ready: Promise<void>;
  /** How many times the table was written. */
  applied(): number;
  /**
   * A pod of this node has its address (its sandbox is up, its status not written yet): resolves
   * once the table in the kernel treats it by that address, so its containers start isolated as
   * the policies say; or after `admitTimeoutMs`, logged. Never rejects.
   */
  admit(pod: { readonly namespace: string; readonly name: string; readonly ip: string }): Promise<void>;
  stop(): Promise<void>;
}

const bridgeNetfilter = '/proc/sys/net/bridge/bridge-nf-call-iptables';

/**
 * Packets between two pods of one bridge are switched, not routed: only with br_netfilter on do
 * they pass the `ip` family's forward hook. Kubernetes asks the same of every node (kube-proxy and
 * the CNIs need it); without it, a pod's traffic to a pod of its own node is not filtered.
 */
export function ensureBridgeNetfilter(log?: Log): boolean {
  try {
    if (!existsSync(bridgeNetfilter)) execFileSync('modprobe', ['br_netfilter'], { stdio: 'ignore', timeout: 10_000 });
    if (readFileSync(bridgeNetfilter, 'utf8').trim() !== '1') writeFileSync(bridgeNetfilter, '1');
    return true;
  } catch (error) {
    log?.warn('br_netfilter is off: NetworkPolicies do not filter traffic between pods of one node', {
      error: error instanceof Error ? error.message : String(error),
    });
    return false;
  }
}

function keyOf(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`;
}

export function startNetworkPolicyEnforcement(options: NetworkPolicyEnforcementOptions): NetworkPolicyEnforcement {
  const abort = new AbortController();
  const objects = { pods: new Map<string, KubeObject>(), namespaces: new Map<string, KubeObject>(), policies: new Map<string, KubeObject>() };
  const listed = { pods: false, namespaces: false, policies: false };
  const complete = () => listed.pods && listed.namespaces && listed.policies;
  let writes = 0;
  let inKernel: string | undefined;
  /** Addresses of this node's new pods before their status says them, by `namespace/name`. */
  const provisional = new Map<string, string>();
  const admitting = new Map<string, (() => void)[]>();
  const withProvisionalAddresses = (): { pods: KubeObject[]; included: string[] } => {
    const included: string[] = [];
    const pods = [...objects.pods].map(([key, pod]) => {
      const ip = provisional.get(key);
      if (ip === undefined) return pod;
      const status = (pod as { readonly status?: { readonly podIP?: string } }).status;
      included.push(key);
      if (status?.podIP) {
        provisional.delete(key);
        return pod;
      }
      return { ...pod, status: { ...status, podIP: ip } } as KubeObject;
    });
    return { pods, included };
  };
  const admitted = (keys: readonly string[]) => {
    for (const key of keys) {
      for (const resolve of admitting.get(key) ?? []) resolve();
      admitting.delete(key);
    }
  };
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolvePromise) => {
    markReady = resolvePromise;
  });
  const rewrites = coalescedRewrites(
    async () => {
      const { pods, included } = withProvisionalAddresses();
      const script = networkPolicyRuleset(options, {
        pods: policyPods(pods),
        namespaces: namespaceLabels(objects.namespaces.values()),
        policies: objects.policies.values(),
      });
      // Most pod changes (a status, a restart count) change no address, label or port.
      if (script === inKernel) {
        admitted(included);
        return;
      }
      try {
        await applyNftScript(options.nft, script);
        inKernel = script;
        writes += 1;
        markReady();
        admitted(included);
      } catch (error) {
        options.log?.warn('NetworkPolicy rules not applied', { error: error instanceof Error ? error.message : String(error) });
      }
    },
    { signal: abort.signal, canStart: complete },
  );
  const changed = rewrites.request;
  const handlers = (kind: keyof typeof objects) => ({
    onList(items: readonly KubeObject[]) {
      objects[kind].clear();
      for (const item of items) objects[kind].set(keyOf(item), item);
      listed[kind] = true;
      changed();
    },
    onEvent(event: { readonly type: string; readonly object: KubeObject }) {
      if (event.type === 'DELETED') {
        objects[kind].delete(keyOf(event.object));
        if (kind === 'pods') provisional.delete(keyOf(event.object));
      } else if (event.type === 'ADDED' || event.type === 'MODIFIED') objects[kind].set(keyOf(event.object), event.object);
      else return;
      changed();
    },
    onError: (error: unknown) => options.log?.warn('NetworkPolicy watch error', { kind, error: error instanceof Error ? error.message : String(error) }),
  });
  const loops = [
    options.client.listAndWatch(types.pods, {}, handlers('pods'), abort.signal),
    options.client.listAndWatch(types.namespaces, {}, handlers('namespaces'), abort.signal),
    options.client.listAndWatch(types.networkpolicies, {}, handlers('policies'), abort.signal),
  ].map((loop) => loop.catch(() => undefined));
  return {
    ready,
    applied: () => writes,
    admit(pod) {
      const key = `${pod.namespace}/${pod.name}`;
      provisional.set(key, pod.ip);
      return new Promise<void>((resolvePromise) => {
        const timer = setTimeout(() => {
          options.log?.warn('pod starts before the NetworkPolicy rules hold its address', { pod: key, ip: pod.ip });
          done();
        }, options.admitTimeoutMs ?? 3000);
        const done = () => {
          clearTimeout(timer);
          resolvePromise();
        };
        admitting.set(key, [...(admitting.get(key) ?? []), done]);
        changed();
      });
    },
    async stop() {
      abort.abort();
      await Promise.all(loops);
      await rewrites.current();
    },
  };
}
