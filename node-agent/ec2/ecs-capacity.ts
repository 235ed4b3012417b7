/**
 * How many pods an ECS container instance holds: each `awsvpc` task needs a network interface.
 * Without ENI trunking that is the instance type's interface limit less the primary one; with
 * trunking (the `awsvpcTrunking` account setting, on supported types) ECS attaches a trunk
 * interface and publishes a higher task limit per type. The table covers the Graviton families
 * the node group is meant for (ADR 132); another type needs `--pods` (or the construct's
 * `podsPerNode`).
 */

/** Network interfaces of each size, as EC2 documents them for the Graviton general-purpose, compute and memory families. */
const graviton: Readonly<Record<string, { readonly enis: number; readonly trunked?: number }>> = {
  medium: { enis: 2, trunked: 4 },
  large: { enis: 3, trunked: 10 },
  xlarge: { enis: 4, trunked: 20 },
  '2xlarge': { enis: 4, trunked: 40 },
  '4xlarge': { enis: 8, trunked: 60 },
  '8xlarge': { enis: 8, trunked: 60 },
  '12xlarge': { enis: 8, trunked: 60 },
  '16xlarge': { enis: 15, trunked: 120 },
  metal: { enis: 15, trunked: 120 },
};

/** Burstable Graviton: ECS does not trunk these. */
const burstable: Readonly<Record<string, number>> = { nano: 2, micro: 2, small: 3, medium: 3, large: 3, xlarge: 4, '2xlarge': 4 };

const trunkedFamilies = new Set(['c6g', 'c6gd', 'c6gn', 'm6g', 'm6gd', 'r6g', 'r6gd', 'c7g', 'c7gd', 'm7g', 'm7gd', 'r7g', 'r7gd']);

/** Pods (awsvpc tasks) an instance type holds, or undefined for a type the table does not know. */
export function podsPerInstance(instanceType: string, trunking: boolean): number | undefined {
  const [family = '', size = ''] = instanceType.split('.');
  if (family === 't4g') {
    const enis = burstable[size];
    return enis === undefined ? undefined : enis - 1;
  }
  if (!trunkedFamilies.has(family)) return undefined;
  const limits = graviton[size];
  if (!limits) return undefined;
  return trunking && limits.trunked !== undefined ? limits.trunked : limits.enis - 1;
}

/** Whether ECS can trunk this type's interfaces (what the account setting would give it). */
export function supportsTrunking(instanceType: string): boolean {
  const [family = '', size = ''] = instanceType.split('.');
  return trunkedFamilies.has(family) && graviton[size]?.trunked !== undefined;
}
