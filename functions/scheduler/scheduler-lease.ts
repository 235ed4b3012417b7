/**
 * One scheduler at a time: before binding, a scheduler holds the `kube-system/kube-scheduler`
 * Lease, taken and released with conditional writes. Two schedulers (two Lambda invocations, or
 * a Lambda and a local host) therefore never plan from the same view of a node's free capacity,
 * so they cannot overcommit it together. See docs/adr/050-scheduler-lease.md.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeObject } from '../../schemas/meta.ts';
import { types } from '../../schemas/registry.ts';
import { storedLease } from '../../schemas/stored-objects.ts';
import { AlreadyExistsError, ConflictError } from '../core/errors.ts';
import { kubeMicroTime } from '../core/kube-time.ts';
import type { Admission } from '../domain/object-admission/admission.ts';
import { getIfExists } from '../store/list-all.ts';

export const schedulerLeaseNamespace = 'kube-system';
export const schedulerLeaseName = 'kube-scheduler';
export const leaseDurationSeconds = 15;

/** This process's identity as a lease holder. */
export const schedulerIdentity = `${hostname()}_${randomUUID()}`;

/** A holder whose renew time plus duration has passed no longer holds the lease. */
export function leaseFree(lease: KubeObject | undefined, identity: string, now: Date): boolean {
  const spec = (lease && storedLease(lease).spec) ?? {};
  if (!spec.holderIdentity || spec.holderIdentity === identity) return true;
  const renewed = spec.renewTime ? Date.parse(spec.renewTime) : Number.NaN;
  if (Number.isNaN(renewed)) return true;
  return renewed + (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000 <= now.getTime();
}

export class LeaseHeldError extends ConflictError {
  override name = 'LeaseHeldError';
}

/** Takes (or renews) the lease; throws LeaseHeldError when another live scheduler has it. */
export async function acquireSchedulerLease(admission: Admission, identity: string, now: Date): Promise<KubeObject> {
  const current = await getIfExists(admission.store, types.leases, schedulerLeaseNamespace, schedulerLeaseName);
  if (!leaseFree(current, identity, now)) {
    throw new LeaseHeldError({ resource: 'leases', group: 'coordination.k8s.io', name: schedulerLeaseName }, 'another scheduler holds the lease');
  }
  const spec = (current && storedLease(current).spec) ?? {};
  const taking = spec.holderIdentity !== identity;
  const next: KubeObject = {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: current?.metadata ?? { name: schedulerLeaseName, namespace: schedulerLeaseNamespace },
    spec: {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds,
      renewTime: kubeMicroTime(now),
      ...(taking ? { acquireTime: kubeMicroTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + (current ? 1 : 0) } : {}),
    },
  };
  try {
    return current ? await admission.update(types.leases, next, current) : await admission.create(types.leases, next);
  } catch (error) {
    if (error instanceof AlreadyExistsError) throw new ConflictError({ resource: 'leases', group: 'coordination.k8s.io', name: schedulerLeaseName });
    throw error;
  }
}

/** Gives the lease up so another scheduler need not wait for it to expire. */
export async function releaseSchedulerLease(admission: Admission, lease: KubeObject): Promise<void> {
  const spec = storedLease(lease).spec ?? {};
  await admission.update(types.leases, { ...lease, spec: { ...spec, holderIdentity: '' } }, lease).catch(() => undefined);
}

/**
 * Renews a lease this scheduler holds, conditional on it being unchanged since this scheduler
 * last wrote it: if it lapsed and anyone else took it meanwhile (even to release it again), the
 * view this pass planned from is stale, so the renewal fails with a Conflict.
 */
export async function renewSchedulerLease(admission: Admission, lease: KubeObject, now: Date): Promise<KubeObject> {
  const spec = storedLease(lease).spec ?? {};
  return admission.update(types.leases, { ...lease, spec: { ...spec, renewTime: kubeMicroTime(now) } }, lease);
}
