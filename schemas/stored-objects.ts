/**
 * Stored objects typed by their kind's schema, for the code that reads them back: controllers,
 * the scheduler and the pod rules they share.
 *
 * Every object in the store went in through admission with its kind's schema (docs/adr/010), so
 * a stored Pod has a shape `podSchema` accepts. The types here are the schemas' *input* side:
 * what a writer may leave out (a field with a default) stays optional, so a reader still says
 * what absence means. Narrowing is checked on `kind`, not parsed again: the scheduler reads every
 * pending pod and every node on each pass, and parsing a pod's spec with zod costs about a tenth
 * of a millisecond.
 */
import type { z } from 'zod';
import type { cronJobSchema } from './cron-job.ts';
import type { daemonSetSchema } from './daemon-set.ts';
import type { deploymentSchema } from './deployment.ts';
import type { jobSchema } from './job.ts';
import type { leaseSchema } from './lease.ts';
import type { DeepReadonly, KubeObject } from './meta.ts';
import type { nodeSchema } from './node.ts';
import type { podSchema } from './pod.ts';
import type { replicaSetSchema } from './replica-set.ts';
import type { serviceSchema } from './service.ts';

/** A stored object of the kind `S` describes: the object vocabulary plus the kind's own fields. */
export type StoredObject<S extends z.ZodType> = KubeObject & DeepReadonly<Omit<z.input<S>, 'apiVersion' | 'kind' | 'metadata'>>;

export type StoredPod = StoredObject<typeof podSchema>;
export type StoredNode = StoredObject<typeof nodeSchema>;
export type StoredLease = StoredObject<typeof leaseSchema>;
export type StoredDeployment = StoredObject<typeof deploymentSchema>;
export type StoredReplicaSet = StoredObject<typeof replicaSetSchema>;
export type StoredService = StoredObject<typeof serviceSchema>;
export type StoredJob = StoredObject<typeof jobSchema>;
export type StoredDaemonSet = StoredObject<typeof daemonSetSchema>;
export type StoredCronJob = StoredObject<typeof cronJobSchema>;

function narrowing<T extends KubeObject>(kind: string): (object: KubeObject) => T {
  return (object) => {
    if (object.kind !== kind) throw new TypeError(`expected a ${kind}, got ${object.kind || 'an object without kind'}`);
    return object as T;
  };
}

export const storedPod = narrowing<StoredPod>('Pod');
export const storedNode = narrowing<StoredNode>('Node');
export const storedLease = narrowing<StoredLease>('Lease');
export const storedDeployment = narrowing<StoredDeployment>('Deployment');
export const storedReplicaSet = narrowing<StoredReplicaSet>('ReplicaSet');
export const storedService = narrowing<StoredService>('Service');
export const storedJob = narrowing<StoredJob>('Job');
export const storedDaemonSet = narrowing<StoredDaemonSet>('DaemonSet');
export const storedCronJob = narrowing<StoredCronJob>('CronJob');
