/**
 * Names and tags of the ELBv2 resources Skiff makes (docs/adr/096-alb-provider.md). Pure; the CDK
 * app uses the same prefix to scope the controllers' permissions to this cluster's resources.
 *
 * A name is `<cluster prefix>-<owner id>-<suffix>`: `sk` and 5 characters of a hash of the cluster
 * name, 8 of a hash of the owner (`service/<namespace>/<name>` or `ingressclass/<class>`), and a
 * suffix naming the resource. Load balancer and target group names are unique per account and
 * region and at most 32 characters: the same inputs always give the same name, so a reconcile
 * that crashed after a create finds what it made by name, and the tags below prove it is ours.
 */
import { createHash } from 'node:crypto';

export const clusterTag = 'skiff.io/cluster';
export const ownerTag = 'skiff.io/owner';
export const resourceTag = 'skiff.io/resource';

const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `length` characters of [a-z0-9] from a SHA-256 of `text`. */
export function shortHash(text: string, length: number): string {
  const digest = createHash('sha256').update(text).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[(digest[i] ?? 0) % alphabet.length];
  return out;
}

/** The start of every ELBv2 name of this cluster: `sk` and 5 hash characters. */
export function clusterPrefix(clusterName: string): string {
  return `sk${shortHash(`cluster:${clusterName}`, 5)}`;
}

export type Owner = { readonly kind: 'service'; readonly namespace: string; readonly name: string } | { readonly kind: 'ingressclass'; readonly name: string };

export function ownerKey(owner: Owner): string {
  return owner.kind === 'service' ? `service/${owner.namespace}/${owner.name}` : `ingressclass/${owner.name}`;
}

/** The start of every ELBv2 name of one owner: what a sweep for its leftovers looks for. */
export function ownerPrefix(clusterName: string, owner: Owner): string {
  return `${clusterPrefix(clusterName)}-${shortHash(`${clusterName}|${ownerKey(owner)}`, 8)}-`;
}

export type LoadBalancerKind = 'application' | 'network';
export type Scheme = 'internet-facing' | 'internal';

/**
 * A load balancer's name. Type and scheme cannot change on a load balancer, so they are part of
 * the name: changing either makes a new one, and the old one is swept. `index` numbers the
 * load balancers an IngressClass spreads its rules over.
 */
export function loadBalancerName(clusterName: string, owner: Owner, kind: LoadBalancerKind, scheme: Scheme, index = 0): string {
  return `${ownerPrefix(clusterName, owner)}${kind === 'application' ? 'a' : 'n'}${scheme === 'internal' ? 'p' : 'i'}${index}`;
}

/** A target group's name, from what it serves (`80/TCP`, `0:shop/web:80`). */
export function targetGroupName(clusterName: string, owner: Owner, resource: string): string {
  return `${ownerPrefix(clusterName, owner)}${shortHash(resource, 8)}`;
}

export interface Tag {
  readonly Key: string;
  readonly Value: string;
}

export function ownerTags(clusterName: string, owner: Owner, resource: string): Tag[] {
  return [
    { Key: clusterTag, Value: clusterName },
    { Key: ownerTag, Value: ownerKey(owner) },
    { Key: resourceTag, Value: resource },
  ];
}

/** True when the tags say the resource belongs to this cluster and owner. */
export function ownedBy(tags: readonly { Key?: string; Value?: string }[] | undefined, clusterName: string, owner: Owner): boolean {
  const value = (key: string) => tags?.find((t) => t.Key === key)?.Value;
  return value(clusterTag) === clusterName && value(ownerTag) === ownerKey(owner);
}
