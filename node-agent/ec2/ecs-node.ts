/**
 * What `skiff agent --runtime ecs` needs before it can register its Node: which container
 * instance the ECS agent on this machine registered (its introspection API on localhost:51678),
 * that instance's size as ECS counts it, and the `ecs` runtime over AWS SDK clients. The SDK
 * clients make one attempt per call; the runtime's own retry policy handles throttling.
 */
import { ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import type { Log } from '../../functions/logging/log.ts';
import { describeContainerInstance, EcsRuntime } from '../runtime/ecs-runtime.ts';
import { SecretsManagerSources } from '../runtime/secrets-manager-sources.ts';
import { podsPerInstance } from './ecs-capacity.ts';
import { instanceMetadata } from './instance-metadata.ts';

export interface EcsNodeSettings {
  readonly nodeName: string;
  /** @default what the ECS agent on this machine registered */
  readonly cluster?: string;
  /** @default what the ECS agent on this machine registered */
  readonly containerInstanceArn?: string;
  readonly subnets: readonly string[];
  readonly securityGroups: readonly string[];
  readonly logGroup: string;
  readonly executionRoleArn: string;
  readonly taskRoleArn?: string;
  /** Secrets Manager names of the pods' Secrets and ConfigMaps start with this (`skiff/<cluster>`). */
  readonly secretPrefix: string;
  /** @default the ECS cluster's name */
  readonly familyPrefix?: string;
  /** Where the links of the ServiceAccount token slots go (ADR 145): beside the pods' own directories. */
  readonly tokenSlotsDir: string;
  /** @default http://127.0.0.1:51678 */
  readonly introspectionEndpoint?: string;
  /** @default what the instance metadata says */
  readonly instanceType?: string;
  readonly log?: Log;
}

export interface EcsNode {
  readonly runtime: EcsRuntime;
  /** The instance's size as ECS registered it, as Node capacity quantities. */
  readonly cpu: string;
  readonly memory: string;
  readonly trunking: boolean;
  /** Pods the instance's network interfaces allow; undefined for an instance type not in the table. */
  readonly pods?: number;
}

const metadataSchema = z.object({ Cluster: z.string().optional(), ContainerInstanceArn: z.string().optional(), Version: z.string().optional() });

/** Asks the ECS agent which cluster and container instance it registered, waiting until it has. */
export async function discoverContainerInstance(
  endpoint = 'http://127.0.0.1:51678',
  options: { attempts?: number; delayMs?: number } = {},
): Promise<{ cluster: string; containerInstanceArn: string }> {
  const attempts = options.attempts ?? 120;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    try {
      const response = await fetch(new URL('/v1/metadata', endpoint), { signal: AbortSignal.timeout(2000) });
      if (response.ok) {
        const metadata = metadataSchema.parse(await response.json());
        if (metadata.Cluster && metadata.ContainerInstanceArn) return { cluster: metadata.Cluster, containerInstanceArn: metadata.ContainerInstanceArn };
        last = 'the ECS agent has not registered its container instance yet';
      } else last = `HTTP ${response.status}`;
    } catch (error) {
      last = String(error);
    }
    if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 5000));
  }
  throw new Error(`the ECS agent at ${endpoint} did not say which container instance it registered: ${last}`);
}

/** ARNs carry their region: `arn:aws:ecs:<region>:<account>:...`. */
export function regionOfArn(arn: string): string | undefined {
  return arn.split(':')[3] || undefined;
}

export async function createEcsNode(settings: EcsNodeSettings): Promise<EcsNode> {
  const found =
    settings.cluster && settings.containerInstanceArn
      ? { cluster: settings.cluster, containerInstanceArn: settings.containerInstanceArn }
      : await discoverContainerInstance(settings.introspectionEndpoint);
  const region = process.env.AWS_REGION ?? regionOfArn(found.containerInstanceArn);
  if (!region) throw new Error('no AWS region: set AWS_REGION');
  const ecs = new ECSClient({ region, maxAttempts: 1 });
  const secretsManager = new SecretsManagerClient({ region, maxAttempts: 1 });
  const facts = await describeContainerInstance(ecs, found.cluster, found.containerInstanceArn);
  const clusterName = found.cluster.slice(found.cluster.lastIndexOf('/') + 1);
  const runtime = await EcsRuntime.create({
    client: ecs,
    cluster: found.cluster,
    containerInstanceArn: found.containerInstanceArn,
    nodeName: settings.nodeName,
    subnets: settings.subnets,
    securityGroups: settings.securityGroups,
    taskDefinitions: {
      familyPrefix: settings.familyPrefix ?? clusterName,
      logGroup: settings.logGroup,
      region,
      executionRoleArn: settings.executionRoleArn,
      ...(settings.taskRoleArn ? { taskRoleArn: settings.taskRoleArn } : {}),
      tokenSlotsDir: settings.tokenSlotsDir,
    },
    sources: new SecretsManagerSources({ client: secretsManager, prefix: settings.secretPrefix, tags: { 'skiff.io/cluster': clusterName } }),
    ...(facts.agentVersion ? { agentVersion: facts.agentVersion } : {}),
    ...(settings.log ? { log: settings.log } : {}),
  });
  const instanceType =
    settings.instanceType ??
    (await instanceMetadata()
      .get('instance-type')
      .catch(() => undefined));
  const pods = instanceType ? podsPerInstance(instanceType, facts.trunking) : undefined;
  settings.log?.info('ECS container instance', { containerInstance: found.containerInstanceArn, instanceType, trunking: facts.trunking, pods });
  return {
    runtime,
    cpu: `${Math.floor((facts.cpuUnits * 1000) / 1024)}m`,
    memory: `${facts.memoryMiB}Mi`,
    trunking: facts.trunking,
    ...(pods !== undefined ? { pods } : {}),
  };
}
