/**
 * The node agent's public face: the only module of `node-agent/` that code outside it imports
 * (the `skiff` CLI, the local host, the benchmark). Everything else in the folder is the agent's
 * own business and may change shape freely.
 */
export { runAgentCli } from './cli.ts';
export { podsPerInstance, supportsTrunking } from './ec2/ecs-capacity.ts';
export { buildLease, buildNode, leaseRenewSeconds, leaseRenewSecondsOverChannel, nodeLeaseNamespace } from './node-object.ts';
export { applyNftScript } from './proxy/cluster-ip-routing.ts';
export { clusterIpRuleset } from './proxy/cluster-ip-rules.ts';
export { killRecordedContainers } from './runtime/process-runtime.ts';
